#!/usr/bin/env bash
# "Record once, replay in CI" (docs/CI.md), run for real: a recording made once on a
# developer's machine (`shmswarm record /swarm run.arrows`) is replayed into a fresh segment, a
# consumer under test reads it, and everything is cleaned up — also when a step fails.
#
#   bash examples/ci/replay.sh                      # the recording kept in the repo
#   bash examples/ci/replay.sh path/to/run.arrows   # another one (.arrows or .mcap)
#
# Exit status: 0 when the consumer saw what the recording holds, non-zero otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REC="${1:-$ROOT/examples/ci/swarm-run.arrows}"
# In your own pipeline: ./node_modules/.bin/shmswarm, or shmswarm when installed globally.
SHMSWARM=(node "$ROOT/bin/shmswarm")
shmswarm() { "${SHMSWARM[@]}" "$@"; }

NAME="/ci-replay-$$"
WORK="$(mktemp -d)"
PID=""

cleanup() {
  local status=$?
  # replay removes its segment when it stops (SIGTERM included); unlink covers a crash.
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  shmswarm unlink "$NAME" 2>/dev/null || true
  if [ "$status" -ne 0 ] && [ -s "$WORK/replay.log" ]; then echo "--- replay.log" >&2; tail -n 20 "$WORK/replay.log" >&2; fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { echo "replay: $*" >&2; }

step "$(shmswarm info "$REC" --json | tr -d '\n ' | head -c 200)…"
# The shape the consumer expects, from the recording itself.
SHAPE="$(shmswarm info "$REC" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const i=JSON.parse(s);console.log(`${i.rows}x${i.cols} ${i.fields.join(",")} ${i.frames}`)})')"
read -r DIMS FIELDS FRAMES <<<"$SHAPE"

step "replay $REC -> $NAME (as recorded, looping)"
# Started directly, so $! is the replayer itself.
"${SHMSWARM[@]}" replay "$REC" "$NAME" --loop >"$WORK/replay.log" 2>&1 &
PID=$!
shmswarm wait "$NAME" --timeout 20 --frames 1

# The consumer under test. Here: `dump --follow` collecting 20 frames, as a program of yours
# would read them; then the same assertions a live producer gets.
step "consumer: 20 frames"
shmswarm dump "$NAME" --follow --csv --frames 20 >"$WORK/frames.csv"
ROWS="${DIMS%x*}"
LINES="$(wc -l <"$WORK/frames.csv")"
[ "$LINES" -eq $((1 + 20 * ROWS)) ] || { echo "replay: the consumer saw $LINES lines, not $((1 + 20 * ROWS))" >&2; exit 1; }
shmswarm check "$NAME" --shape "$DIMS" --dtype f32 --fields "$FIELDS" --min-rate 10 --within 2 --finite --writer-alive
step "the consumer read a recording of $FRAMES frames replayed as recorded; all checks hold"
