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
