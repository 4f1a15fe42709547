#!/usr/bin/env bash
# The "Use in CI" recipe of docs/CI.md, run for real: build a producer, start it in the
# background, `shmswarm wait` until it publishes, `shmswarm check` what it writes, and always
# clean up (stop the producer, unlink its segment) — also when a step fails or is interrupted.
#
#   bash examples/ci/smoke.sh              # against `shmswarm simulate` and the C++ producer
#   bash examples/ci/smoke.sh producer     # only one: simulate | producer
#
# Exit status: 0 when every check holds, non-zero otherwise (the failing step says why).
# SMOKE_WITHIN (seconds, default 2) and SMOKE_MIN_RATE (Hz, default 20) tune the checks.
set -euo pipefail

WITHIN="${SMOKE_WITHIN:-2}"
MIN_RATE="${SMOKE_MIN_RATE:-20}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# In your own pipeline: ./node_modules/.bin/shmswarm, or shmswarm when installed globally.
SHMSWARM=(node "$ROOT/bin/shmswarm")
shmswarm() { "${SHMSWARM[@]}" "$@"; }

WORK="$(mktemp -d)"
PIDS=()
NAMES=()

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Producers remove their own segment on a clean exit; this covers crashes and kills.
  # Only names this script chose are removed.
  for name in "${NAMES[@]}"; do shmswarm unlink "$name" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -s "$log" ] && { echo "--- $(basename "$log")" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { echo "smoke: $*" >&2; }

smoke_simulate() {
  local name="/ci-smoke-$$-simulate"
  NAMES+=("$name")
  step "simulate -> $name"
  # Started directly, not through a shell function or npx, so $! is the producer itself.
  "${SHMSWARM[@]}" simulate "$name" --agents 500 --pattern boids --rate 60 --seed 1 --unlink-on-exit >"$WORK/simulate.log" 2>&1 &
  PIDS+=($!)
  shmswarm wait "$name" --timeout 20 --frames 10
  shmswarm check "$name" --shape 500x4 --dtype f32 --fields x,y,vx,vy \
    --min-rate "$MIN_RATE" --within "$WITHIN" --finite --no-torn --writer-alive
}

smoke_producer() {
  local name="/ci-smoke-$$-producer"
  local src="$ROOT/examples/cpp/producer.cpp"
  [ -f "$src" ] || { echo "smoke: $src is missing: nothing to build" >&2; return 1; }
  command -v g++ >/dev/null || { echo "smoke: g++ is not installed (apt-get install g++)" >&2; return 1; }
  step "build $src"
  g++ -std=c++17 -O2 -I "$ROOT/include" "$src" -o "$WORK/producer" -lpthread -lrt
  NAMES+=("$name")
  step "producer -> $name"
  "$WORK/producer" "$name" --agents 300 --fps 60 >"$WORK/producer.log" 2>&1 &
  PIDS+=($!)
  shmswarm wait "$name" --timeout 20 --frames 10
  # The producer caps every agent's speed at 2: each velocity component stays inside [-2, 2].
  shmswarm check "$name" --shape 300x6 --dtype f32 --fields x,y,z,vx,vy,vz \
    --min-rate "$MIN_RATE" --within "$WITHIN" --finite --no-torn --writer-alive \
    --range vx:-2.001:2.001 --range vy:-2.001:2.001 --range vz:-2.001:2.001
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(simulate producer)
for target in "${targets[@]}"; do
  case "$target" in
    simulate) smoke_simulate ;;
    producer) smoke_producer ;;
    *) echo "smoke: unknown target '$target' (use simulate or producer)" >&2; exit 2 ;;
  esac
done
step "all checks hold"
