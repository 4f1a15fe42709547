// runSimulation on a virtual clock: when frames are published and when it returns, with no real
// waiting and no timings asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../dist/core/simulate/index.js';

/** A clock whose sleeps move time on at once, a segment stub and a writer that notes when it ran. */
function rig() {
  const state = { now: 0, sleeps: [], written: [], name: 'same', nameChecks: [] };
  const clock = {
    now: () => state.now,
    sleep: async (ms, signal) => {
      state.sleeps.push(ms);
      if (!signal?.aborted) state.now += ms;
    },
  };
  const segment = { info: () => ({ frames: 0 }), nameStatus: () => (state.nameChecks.push(state.now), state.name) };
  const writer = { write: (_seg, k) => state.written.push([k, state.now]) };
  return { state, clock, segment, writer };
}

test('--frames n returns as frame n is published: n - 1 periods, not n', async () => {
  const { state, clock, segment, writer } = rig();
  const r = await runSimulation(segment, writer, { rate: 1, frames: 3, clock });
  assert.deepEqual(state.written, [[1, 0], [2, 1000], [3, 2000]]);
  assert.equal(state.now, 2000, 'no sleep after the last frame');
  assert.deepEqual(state.sleeps, [1000, 1000]);
  assert.deepEqual(r, { frames: 3, seconds: 2, rate: 1, stoppedBy: 'frames' });
});

test('a very slow rate: one frame returns at once, two return as the second is published', async () => {
  let { state, clock, segment, writer } = rig();
  let r = await runSimulation(segment, writer, { rate: 0.001, frames: 1, clock });
  assert.deepEqual([state.written, state.sleeps, state.now], [[[1, 0]], [], 0]);
  assert.deepEqual(r, { frames: 1, seconds: 0, rate: null, stoppedBy: 'frames' });
  ({ state, clock, segment, writer } = rig());
  r = await runSimulation(segment, writer, { rate: 0.001, frames: 2, clock });
  assert.deepEqual(state.written, [[1, 0], [2, 1_000_000]]);
  assert.equal(state.now, 1_000_000);
  assert.equal(r.rate, 0.001);
});

test('--duration still ends on time, and a stop signal before the first frame writes none', async () => {
  let { state, clock, segment, writer } = rig();
  let r = await runSimulation(segment, writer, { rate: 10, durationMs: 250, clock });
  assert.deepEqual(state.written.map(([, at]) => at), [0, 100, 200]);
  assert.equal(state.now, 250);
  assert.equal(r.stoppedBy, 'duration');
  ({ state, clock, segment, writer } = rig());
  r = await runSimulation(segment, writer, { rate: 10, frames: 5, signal: AbortSignal.abort(), clock });
  assert.deepEqual(r, { frames: 0, seconds: 0, rate: null, stoppedBy: 'signal' });
});

test('behind schedule (a frame takes longer than a period) it still yields, so a stop is seen', async () => {
  const { state, clock, segment } = rig();
  const writer = { write: (_seg, k) => { state.written.push([k, state.now]); state.now += 50; } }; // 50 ms a frame at 60 Hz
  const ac = new AbortController();
  setImmediate(() => ac.abort());
  const r = await runSimulation(segment, writer, { rate: 60, frames: 10_000, signal: ac.signal, clock });
  assert.equal(r.stoppedBy, 'signal');
  assert.ok(r.frames < 10, `${r.frames} frames written before the stop was seen`);
});

test('a segment removed or replaced under the writer stops it at the next name check (once a second)', async () => {
  for (const [status, stoppedBy] of [['gone', 'removed'], ['replaced', 'replaced']]) {
    for (const rate of [10, 0]) {
      const { state, clock, segment } = rig();
      // Frames take 1 ms each, so rate 0 also moves the virtual clock on.
      const writer = { write: (_seg, k) => { state.written.push([k, state.now]); state.now += 1; if (state.now >= 2500) state.name = status; } };
      const r = await runSimulation(segment, writer, { rate, frames: 100_000, clock });
      assert.equal(r.stoppedBy, stoppedBy, `rate ${rate}`);
      assert.ok(state.now >= 2500 && state.now <= 3002, `stopped at ${state.now} ms (rate ${rate})`);
      // Checked about once a second: never after every frame.
      assert.ok(state.nameChecks.length <= 4, `${state.nameChecks.length} name checks (rate ${rate})`);
    }
  }
});

test('nameCheckMs sets how often the name is checked; a name that stays is never a reason to stop', async () => {
  const { state, clock, segment, writer } = rig();
  const r = await runSimulation(segment, writer, { rate: 100, frames: 500, clock, nameCheckMs: 250 });
  assert.equal(r.stoppedBy, 'frames');
  assert.deepEqual(state.nameChecks.slice(0, 3), [250, 500, 750]);
  assert.equal(state.nameChecks.length, 19);
});
