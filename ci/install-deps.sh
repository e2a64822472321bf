#!/bin/sh
# install-deps.sh - install the Debian packages firedrill builds and tests
# with, when they are missing.  Run as root (or with sudo available);
# otherwise it prints the command to run.  Nothing is downloaded but
# Debian's packages.
set -eu
pkgs="build-essential clang pkg-config libyaml-dev libcjson-dev
libcurl4-openssl-dev libcmocka-dev bats bats-assert bats-support bats-file
hyperfine python3 openssl"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "firedrill: installing missing packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "firedrill: run as root: apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
