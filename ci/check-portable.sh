#!/usr/bin/env bash
# check-portable.sh - show, on Linux, that the emulator builds and runs on
# macOS with libyaml and the C library alone.  No Mac is needed: each check
# proves one part of it.
#
#   ci/check-portable.sh libs [BUILD]      firedrill-emulate and the
#                                          stand-in need only libyaml, libc
#   ci/check-portable.sh symbols [BUILD]   every C library function they
#                                          call is one macOS has
#                                          (ci/macos-libc-symbols.txt)
#   ci/check-portable.sh macos-build DIR   `make emulator` into DIR as a Mac
#                                          compiles it (see below)
#   ci/check-portable.sh all [BUILD]       the three, macos-build in a
#                                          scratch folder
#
# BUILD is the build folder (default: build; relative to the repository,
# or absolute).  A sanitizer build links the
# sanitizers' runtimes, so libs and symbols say so and pass over it.
#
# macos-build compiles the emulator's macOS code paths on Linux: __linux__
# undefined and __APPLE__ defined, with declarations of the three Darwin
# calls it makes (_NSGetExecutablePath, _NSGetArgv, _NSGetArgc, as the
# macOS SDK declares them) and, to link and run, definitions of them that
# answer from /proc.  It fails on any warning, on any engine, validator,
# cJSON or curl file (source, header or library) in the build, and on any
# external symbol of the objects that macOS lacks; tests/bats/26-portable
# then runs what it built.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
list="$top/ci/macos-libc-symbols.txt"
CC=${CC:-cc}

is_sanitized() {
	nm -D --undefined-only "$1" | grep -q '__asan_init\|__ubsan_handle'
}

# programs BUILD: the two programs of a build folder (relative to the
# repository, or absolute).
programs() {
	local build=$1
	case "$build" in /*) ;; *) build="$top/$build";; esac
	echo "$build/bin/firedrill-emulate"
	echo "$build/libexec/firedrill/firedrill-standin"
}

check_built() {
	local p
	for p in $(programs "$1"); do
		[ -x "$p" ] || { echo "$p: not built (make emulator)" >&2
				 return 1; }
	done
}

# libs BUILD: the shared libraries the programs need, by name.
check_libs() {
	local build=${1:-build} p bad=0 lib
	check_built "$build"
	for p in $(programs "$build"); do
		if is_sanitized "$p"; then
			echo "libs: $p is a sanitizer build; passed over"
			continue
		fi
		while read -r lib; do
			case "$lib" in
			libyaml-0.so.*|libc.so.*|ld-linux*|linux-vdso*) ;;
			*) echo "$p needs $lib: only libyaml and the C" \
				"library are on the test Mac" >&2
			   bad=1;;
			esac
		done < <(readelf -d "$p" |
			 sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	done
	[ "$bad" -eq 0 ] && echo "libs: libyaml and the C library only"
	return "$bad"
}

# unlisted MODE: the symbols on stdin that the list does not allow, one a
# line with why.  MODE linux allows the [linux-only] section, macos not.
# glibc's _FORTIFY (__NAME_chk) and ISO C (__isoc99_NAME) spellings of a
# listed NAME are allowed as NAME: macOS has the same functions.
unlisted() {
	awk -v mode="$1" -v list="$list" '
	BEGIN {
		while ((getline line < list) > 0) {
			sub(/#.*/, "", line)
			if (split(line, f, " ") == 0) continue
			if (f[1] ~ /^\[/) sect = f[1]
			else ok[f[1]] = sect
		}
	}
	{
		s = $1
		sub(/@.*/, "", s)
		if (s == "" || seen[s]++) next
		base = s
		if (base ~ /^__isoc(99|2[3x])_/)
			sub(/^__isoc(99|2[3x])_/, "", base)
		else if (base ~ /^__.+_chk$/) {
			sub(/^__/, "", base)
			sub(/_chk$/, "", base)
		}
		sect = (s in ok) ? ok[s] : (base in ok) ? ok[base] : ""
		if (sect == "")
			print s ": not in ci/macos-libc-symbols.txt"
		else if (sect == "[linux-only]" && mode == "macos")
			print s ": Linux only, yet called on the macOS path"
	}'
}

# symbols BUILD: the programs' undefined dynamic symbols against the list.
check_symbols() {
	local build=${1:-build} p bad
	check_built "$build"
	for p in $(programs "$build"); do
		if is_sanitized "$p"; then
			echo "symbols: $p is a sanitizer build; passed over"
			continue
		fi
		bad=$(nm -D --undefined-only "$p" | awk '{print $NF}' |
		      unlisted linux)
		if [ -n "$bad" ]; then
			echo "$p calls what macOS's C library may lack:" >&2
			echo "$bad" >&2
			return 1
		fi
	done
	echo "symbols: every call is one macOS's C library has"
}

# The Darwin declarations and the Linux stand-ins for them, in dir.
write_darwin_shims() {
	local dir=$1
	mkdir -p "$dir/include/mach-o"
	cat >"$dir/include/mach-o/dyld.h" <<'EOF'
#include <stdint.h>
extern int _NSGetExecutablePath(char *buf, uint32_t *bufsize);
EOF
	cat >"$dir/include/crt_externs.h" <<'EOF'
extern char ***_NSGetArgv(void);
extern int *_NSGetArgc(void);
EOF
	cat >"$dir/darwin_shims.c" <<'EOF'
/* The Darwin calls answered from /proc and from the argv the C library
 * hands to initialisers: the same array main() gets, as on macOS. */
#include <stdint.h>
#include <unistd.h>

static int saved_argc;
static char **saved_argv;

static void save_args(int argc, char **argv, char **envp)
{
	(void)envp;
	saved_argc = argc;
	saved_argv = argv;
}

__attribute__((section(".init_array"), used))
static void (*const save_args_at_start)(int, char **, char **) = save_args;

int _NSGetExecutablePath(char *buf, uint32_t *bufsize)
{
	ssize_t n = readlink("/proc/self/exe", buf, *bufsize);

	if (n < 0 || (uint32_t)n >= *bufsize) {
		*bufsize = 4096;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

char ***_NSGetArgv(void)
{
	return &saved_argv;
}

int *_NSGetArgc(void)
{
	return &saved_argc;
}
EOF
	$CC -O2 -c "$dir/darwin_shims.c" -o "$dir/darwin_shims.o"
}

# External symbols of the objects in dir: undefined in one, defined in none.
object_imports() {
	local objs
	mapfile -t objs < <(find "$1" -name '*.o')
	comm -23 <(nm -u "${objs[@]}" | awk 'NF == 2 {print $2}' | sort -u) \
		 <(nm --defined-only "${objs[@]}" | awk 'NF == 3 {print $3}' |
		   sort -u)
}

# macos-build DIR: make emulator into DIR/build as a Mac compiles it.
check_macos_build() {
	local dir=${1:?macos-build needs a folder} out bad
	local undef="-U__linux__ -U__linux -Ulinux -U__gnu_linux__"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	rm -rf "$dir/build"	# make would keep objects of another compiler
	write_darwin_shims "$dir/darwin"
	out=$(make -C "$top" --no-print-directory BUILD="$dir/build" \
		CC="$CC $undef -D__APPLE__ -I$dir/darwin/include" \
		CFLAGS="-O2 -g -Werror" LDFLAGS="$dir/darwin/darwin_shims.o" \
		emulator 2>&1) || { echo "$out" >&2; return 1; }
	# The commands, and every header the objects were built from.
	if { echo "$out"; find "$dir/build/obj" -name '*.d' -exec cat {} +; } |
	   grep -E -o '[^ ]*(engine/|validator/|cjson|curl)[^ ]*' |
	   sort -u | grep . >&2; then
		echo "macos-build: make emulator used the above; a Mac" \
		     "without cJSON or libcurl cannot build it" >&2
		return 1
	fi
	bad=$(object_imports "$dir/build/obj" | unlisted macos)
	if [ -n "$bad" ]; then
		echo "macos-build: the macOS code calls what macOS lacks:" >&2
		echo "$bad" >&2
		return 1
	fi
	echo "macos-build: the macOS code paths build warning-free and" \
	     "call only what macOS has ($dir/build)"
}

scratch=""
trap '[ -z "$scratch" ] || rm -rf "$scratch"' EXIT

main() {
	local what=${1:-all}
	shift || true
	case "$what" in
	libs) check_libs "$@";;
	symbols) check_symbols "$@";;
	macos-build) check_macos_build "$@";;
	all)
		check_libs "$@"
		check_symbols "$@"
		scratch=$(mktemp -d)
		check_macos_build "$scratch";;
	*) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	   exit 2;;
	esac
}

main "$@"
