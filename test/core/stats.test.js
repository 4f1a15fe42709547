// Per-field statistics and the rate meter (fed with made-up clock readings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldStats, RateMeter } from '../../dist/core/stats.js';

test('min/mean/max/std per field of an agent-major frame', () => {
  const data = new Float32Array([1, 10, 2, 20, 3, 30, 4, 40]); // 4 agents × x,y
  const [x, y] = fieldStats(data, ['x', 'y']);
  assert.deepEqual(x, { field: 'x', min: 1, mean: 2.5, max: 4, std: Math.sqrt(1.25), nonFinite: 0 });
  assert.equal(y.field, 'y');
  assert.equal(y.mean, 25);
  assert.ok(Math.abs(y.std - Math.sqrt(125)) < 1e-12);
});

test('large offsets keep an exact std (Welford), non-finite values are counted apart', () => {
  const data = Float64Array.from([1e9 + 1, 1e9 + 2, 1e9 + 3, NaN, Infinity]);
  const [s] = fieldStats(data, ['x']);
  assert.equal(s.mean, 1e9 + 2);
  assert.ok(Math.abs(s.std - Math.sqrt(2 / 3)) < 1e-6, String(s.std));
  assert.equal(s.nonFinite, 2);
  const [none] = fieldStats(new Float32Array([NaN, NaN]), ['x']);
  assert.ok(Number.isNaN(none.mean));
});

test('bigint frames and empty field lists', () => {
  const [s] = fieldStats(new BigInt64Array([1n, 3n]), ['n']);
  assert.equal(s.mean, 2);
  assert.deepEqual(fieldStats(new Float32Array(4), []), []);
});

test('rate meter: frames per second and MB/s from the frame counter over wall time', () => {
  const m = new RateMeter(2000);
  assert.equal(m.rate(1000), null);
  m.sample(0, 100);
  assert.equal(m.rate(1000), null);
  m.sample(500, 130);
  assert.deepEqual(m.rate(1000), { framesPerSec: 60, mbPerSec: 0.06 });
  // Redraws without new frames lower the rate: it is the writer's, not the viewer's.
  m.sample(1000, 130);
  assert.equal(m.rate(1000).framesPerSec, 30);
});

test('rate meter: a sliding window, and a counter going back restarts it', () => {
  const m = new RateMeter(1000);
  for (let t = 0; t <= 5000; t += 100) m.sample(t, t < 3000 ? t / 10 : 300 + (t - 3000) / 100);
  // Only the last second counts: 10 frames/s, not the 100 frames/s of the start.
  assert.ok(Math.abs(m.rate(4).framesPerSec - 10) < 1e-9);
  m.sample(5100, 3);
  assert.equal(m.rate(4), null);
});

test('frame clock: rate over the last window, period like ros2 topic hz, missed frames from the counter', async () => {
  const { FrameClock } = await import('../../dist/core/stats.js');
  const c = new FrameClock(1000);
  assert.equal(c.read(0).framesPerSec, null);
  // Frames every 10 ms, seen one by one from t = 0 (frame 5 is already there: neither seen nor missed).
  c.observe(0, 5, 0);
  for (let k = 1; k <= 100; k++) c.observe(k * 10, 5 + k, k * 10);
  let r = c.read(1000);
  assert.equal(r.framesPerSec, 100);
  assert.deepEqual([r.period.meanMs, r.period.minMs, r.period.maxMs, r.period.stdMs], [10, 10, 10, 0]);
  assert.equal(r.seen, 100);
  assert.equal(r.missed, 0);
  // Three frames published between two looks: two missed, and no period from that gap.
  c.observe(1045, 108, 1040);
  r = c.read(1045);
  assert.equal(r.missed, 2);
  assert.equal(r.period.maxMs, 10);
  // The writer stops: the rate is 0 once no frame came for the whole window, not a decay.
  assert.ok(c.read(1500).framesPerSec > 0);
  assert.equal(c.read(2041).framesPerSec, 0);
  assert.equal(c.read(2041).period, null);
});

test('frame clock: a counter that goes back restarts it; without a counter nothing counts as missed', async () => {
  const { FrameClock } = await import('../../dist/core/stats.js');
  const c = new FrameClock(1000);
  c.observe(0, 50, 0);
  c.observe(10, 60, 10);
  assert.equal(c.read(10).missed, 9);
  c.observe(20, 1, 20);
  c.observe(30, 2, 30);
  assert.equal(c.read(30).period.meanMs, 10);
  const raw = new FrameClock(1000, false);
  raw.observe(0, 0, 0);
  raw.observe(100, 3, 100);
  assert.equal(raw.read(100).missed, null);
});
