#!/bin/sh
# Bounded libFuzzer run on shmswarm_validate: sh fuzz/run.sh [seconds=60] (npm run fuzz -- 600).
# Needs clang with libFuzzer (Debian: apt-get install clang); exits 77 (skipped) without it.
# The seeds in fuzz/corpus stay small and untouched: new inputs go to a temporary directory,
# and a crashing input is kept in $TMPDIR/shmswarm-fuzz-artifacts/ and its path printed.
set -eu
cd "$(dirname "$0")/.."
SECS="${1:-60}"
CLANG="${CLANG:-clang}"
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "fuzz skipped: $CLANG not found (Debian/Ubuntu: apt-get install clang)" >&2
  exit 77
fi
WORK="${TMPDIR:-/tmp}/shmswarm-fuzz-$$"
ART="${TMPDIR:-/tmp}/shmswarm-fuzz-artifacts"
mkdir -p "$WORK/corpus" "$ART"
trap 'rm -rf "$WORK"' EXIT
if ! "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude \
    fuzz/fuzz_validate.c -o "$WORK/fuzz_validate" -lpthread 2>"$WORK/build.log"; then
  echo "fuzz skipped: $CLANG cannot build with -fsanitize=fuzzer:" >&2
  sed 's/^/  /' "$WORK/build.log" >&2
  exit 77
fi
"$WORK/fuzz_validate" -max_total_time="$SECS" -max_len=8192 -timeout=5 -print_final_stats=1 \
  -artifact_prefix="$ART/" "$WORK/corpus" fuzz/corpus
