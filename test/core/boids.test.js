// The boids simulation and the other simulate patterns as pure code: determinism, the bounded
// world, speed limits, flocking behaviour, ramp and random patterns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Boids, BOIDS_PARAMS, worldSize, fillRamp, rampFrameNumber, RandomPattern, mulberry32,
  checkSimulationTarget, simulationFields,
} from '../../dist/core/simulate/index.js';

test('mulberry32 is reproducible and spreads over [0, 1)', () => {
  const a = mulberry32(42), b = mulberry32(42), c = mulberry32(43);
  const xs = Array.from({ length: 1000 }, a);
  assert.deepEqual(xs, Array.from({ length: 1000 }, b));
  assert.notEqual(xs[0], c());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

for (const dims of [2, 3]) {
  test(`boids ${dims}-D: same seed gives identical frames, another seed different ones`, () => {
    const a = new Boids({ agents: 500, dims, seed: 7 });
    const b = new Boids({ agents: 500, dims, seed: 7 });
    const c = new Boids({ agents: 500, dims, seed: 8 });
    for (let i = 0; i < 50; i++) (a.step(), b.step(), c.step());
    assert.deepEqual(a.state, b.state);
    assert.notDeepEqual(a.state, c.state);
  });

  test(`boids ${dims}-D: agents stay inside the world with speeds in range`, () => {
    const boids = new Boids({ agents: 2000, dims, seed: 3 });
    const cols = 2 * dims;
    assert.equal(boids.cols, cols);
    assert.equal(boids.state.length, 2000 * cols);
    for (let i = 0; i < 200; i++) boids.step();
    const s = boids.state;
    for (let r = 0; r < 2000; r++) {
      let speed2 = 0;
      for (let d = 0; d < dims; d++) {
        const x = s[r * cols + d];
        assert.ok(x >= 0 && x <= boids.world, `agent ${r} coordinate ${d} = ${x} outside [0, ${boids.world}]`);
        speed2 += s[r * cols + dims + d] ** 2;
      }
      const speed = Math.sqrt(speed2);
      assert.ok(speed <= BOIDS_PARAMS.maxSpeed * 1.0001 && speed >= BOIDS_PARAMS.minSpeed * 0.9999, `agent ${r} speed ${speed}`);
    }
  });
}

test('boids flock: neighbours come to fly in the same direction (alignment)', () => {
  const boids = new Boids({ agents: 1000, dims: 2, seed: 5 });
  // Mean cosine between each agent's velocity and its nearest-in-index-order neighbours' is a
  // poor measure; use the local order parameter: |mean velocity| / mean speed over agents within 1.
  const order = () => {
    const s = boids.state;
    let total = 0, n = 0;
    for (let i = 0; i < 1000; i += 10) {
      let vx = 0, vy = 0, speed = 0;
      for (let j = 0; j < 1000; j++) {
        const dx = s[i * 4] - s[j * 4], dy = s[i * 4 + 1] - s[j * 4 + 1];
        if (dx * dx + dy * dy >= 1) continue;
        vx += s[j * 4 + 2];
        vy += s[j * 4 + 3];
        speed += Math.hypot(s[j * 4 + 2], s[j * 4 + 3]);
      }
      total += Math.hypot(vx, vy) / speed;
      n++;
    }
    return total / n;
  };
  const before = order();
  for (let i = 0; i < 300; i++) boids.step();
  const after = order();
  assert.ok(after > before + 0.2 && after > 0.7, `local order ${before.toFixed(2)} -> ${after.toFixed(2)}`);
});

test('boids keep agents apart (separation): few pairs closer than a tenth of the protected radius', () => {
  const boids = new Boids({ agents: 1000, dims: 2, seed: 9 });
  for (let i = 0; i < 300; i++) boids.step();
  const s = boids.state;
  const lim = (BOIDS_PARAMS.protectedRadius / 10) ** 2;
  let close = 0;
  for (let i = 0; i < 1000; i++)
    for (let j = i + 1; j < 1000; j++) if ((s[i * 4] - s[j * 4]) ** 2 + (s[i * 4 + 1] - s[j * 4 + 1]) ** 2 < lim) close++;
  assert.ok(close < 50, `${close} pairs closer than ${Math.sqrt(lim)}`);
});

test('the world grows with the agent count so density stays the same', () => {
  assert.ok(worldSize(100_000, 2) > worldSize(1000, 2) * 9);
  assert.ok(worldSize(100_000, 3) > worldSize(1000, 3) * 4);
  assert.equal(worldSize(1, 2), 4);
  const one = new Boids({ agents: 1, dims: 3, seed: 1 });
  for (let i = 0; i < 10; i++) one.step();
  assert.ok(one.state.every(Number.isFinite));
  assert.throws(() => new Boids({ agents: 0, dims: 2 }), RangeError);
  assert.throws(() => new Boids({ agents: 10, dims: 4 }), RangeError);
});

test('ramp: frame k holds k + r*cols + c, and a torn or shifted frame is detected', () => {
  const f = new Float32Array(12);
  fillRamp(f, 5);
  assert.deepEqual(Array.from(f), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.equal(rampFrameNumber(f), 5);
  f[7] = 6 + 7; // agent 1 from frame 6: a mixed frame
  assert.equal(rampFrameNumber(f), null);
});

test('random: reproducible uniform noise', () => {
  const a = new RandomPattern(100, 3), b = new RandomPattern(100, 3);
  assert.deepEqual(a.step(), b.step());
  const x = Array.from(a.step());
  assert.ok(x.every((v) => v >= 0 && v < 1));
});

test('checkSimulationTarget: compatible, incompatible and live-writer segments', () => {
  const base = { name: '/s', kind: 'shmswarm', rows: 10, cols: 4, dtype: 'f32', fields: simulationFields(2), writerPid: null, writerAlive: false };
  assert.deepEqual(checkSimulationTarget(base, { pattern: 'boids' }, 1), { reason: null, dims: 2 });
  assert.deepEqual(checkSimulationTarget(base, { pattern: 'boids', agents: 10, dims: 2 }, 1), { reason: null, dims: 2 });
  const three = { ...base, cols: 6, fields: simulationFields(3) };
  assert.equal(checkSimulationTarget(three, { pattern: 'boids' }, 1).dims, 3);
  const why = (info, want) => checkSimulationTarget(info, want, 1).reason;
  assert.match(why(base, { pattern: 'boids', agents: 11 }), /has 10 agents, not 11/);
  assert.match(why(base, { pattern: 'boids', dims: 3 }), /x,y,z,vx,vy,vz/);
  assert.match(why({ ...base, dtype: 'f64' }, { pattern: 'boids' }), /holds f64/);
  assert.match(why({ ...base, kind: 'wa1' }, { pattern: 'ramp' }), /not a shmswarm segment/);
  assert.match(why({ ...base, writerPid: 99, writerAlive: true }, { pattern: 'boids' }), /live writer \(pid 99\)/);
  // Its own earlier frames do not count as another writer; a dead writer's segment is free.
  assert.equal(why({ ...base, writerPid: 1, writerAlive: true }, { pattern: 'boids' }), null);
  assert.equal(why({ ...base, writerPid: 99, writerAlive: false }, { pattern: 'boids' }), null);
  const other = { ...base, cols: 3, fields: ['a', 'b', 'c'] };
  assert.match(why(other, { pattern: 'boids' }), /boids needs/);
  assert.equal(why(other, { pattern: 'ramp' }), null);
  assert.equal(why(other, { pattern: 'random' }), null);
});
