#!/bin/sh
# check-warnings.sh - build everything with gcc and with clang, each with
# -Werror on the project's warning set, so a warning fails the tests.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
for cc in gcc clang; do
	command -v "$cc" >/dev/null || { echo "check-warnings: no $cc" >&2; exit 1; }
	echo "== warnings: $cc -Wall -Wextra -Werror"
	make --no-print-directory -s CC="$cc" BUILD="build-warn-$cc" \
		CFLAGS="-O2 -g -Werror" all \
		$(ls tests/unit/test_*.c | sed "s|tests/unit/\(.*\)\.c|build-warn-$cc/tests/\1|")
	rm -rf "build-warn-$cc"
done
echo "no warnings from gcc or clang"
