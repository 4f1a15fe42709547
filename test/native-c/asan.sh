#!/bin/sh
# Build test/native-c/core_test.c with AddressSanitizer and UndefinedBehaviorSanitizer and run it.
# Uses $CC, else clang, else gcc. Exit 77 (skipped) when no compiler here can build with the
# sanitizers (e.g. gcc without libasan/libubsan), 1 on a failed test or a sanitizer report.
set -eu
cd "$(dirname "$0")/../.."
CC="${CC:-$(command -v clang || command -v gcc || echo cc)}"
OUT="${TMPDIR:-/tmp}/shmswarm-asan-$$"
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
FLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
if ! echo 'int main(void){return 0;}' | "$CC" $FLAGS -x c - -o "$OUT/probe" 2>"$OUT/probe.log"; then
  echo "test:native:asan skipped: $CC cannot build with -fsanitize=address,undefined:" >&2
  sed 's/^/  /' "$OUT/probe.log" >&2
  exit 77
fi
"$CC" $FLAGS -Wall -Wextra -Wno-unused-parameter -Iinclude test/native-c/core_test.c -o "$OUT/core_test" -lpthread
echo "# $("$CC" --version | head -n 1), $FLAGS"
# handle_sigbus=0: the core's own SIGBUS guard must see the faults it turns into EBUS.
ASAN_OPTIONS="detect_leaks=1:handle_sigbus=0:${ASAN_OPTIONS:-}" \
UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}" \
  "$OUT/core_test"
