// `shmswarm simulate` as a real process: patterns, determinism, the attach/refuse rules, stopping
// by frames, duration and signals. Nothing here asserts how fast anything runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, truncateSync } from 'node:fs';
import { constants } from 'node:os';
import { runCli, spawnCli, uniqueName, waitExit, sleep } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';
import { rampFrameNumber } from '../../dist/core/simulate/index.js';

/** Open `name` read-only once it exists and has at least `frames` frames. */
async function waitFrames(name, frames = 1, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const seg = Segment.open(name, { readonly: true });
      if (seg.info().frames >= frames) return seg;
      seg.close();
    } catch (e) {
      if (e.code !== 'ENOENT' && e.code !== 'EUNINIT') throw e;
    }
    if (Date.now() > deadline) throw new Error(`${name} did not reach ${frames} frames`);
    await sleep(20);
  }
}

function readLast(name) {
  const seg = Segment.open(name, { readonly: true });
  try {
    return { info: seg.info(), frame: seg.readFrame() };
  } finally {
    seg.close();
  }
}

function spawnSim(t, args) {
  const child = spawnCli(['simulate', ...args]);
  t.after(() => child.kill('SIGKILL'));
  return child;
}

test('creates the segment (x,y,vx,vy f32), writes --frames and reports on stderr', (t) => {
  const name = uniqueName(t, 'sim');
  const r = runCli(['simulate', name, '--agents', '300', '--frames', '12', '--rate', '0']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /wrote 12 frames in [\d.]+ s \([\d.]+ frames\/s\)/);
  const { info, frame } = readLast(name);
  assert.equal(info.rows, 300);
  assert.deepEqual(info.fields, ['x', 'y', 'vx', 'vy']);
  assert.equal(info.dtype, 'f32');
  assert.equal(info.frames, 12);
  assert.equal(info.sequence % 2, 0);
  assert.ok(frame.data.every(Number.isFinite));
});

test('--dims 3 writes x,y,z,vx,vy,vz; --rate follows a schedule; --duration stops it', (t) => {
  const name = uniqueName(t, 'sim3');
  const r = runCli(['simulate', name, '--dims', '3', '--agents', '100', '--rate', '200', '--duration', '0.3']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /time up; wrote \d+ frames/);
  const { info } = readLast(name);
  assert.deepEqual(info.fields, ['x', 'y', 'z', 'vx', 'vy', 'vz']);
  assert.ok(info.frames > 0);
});

test('the same --seed gives an identical frame N; another seed does not', (t) => {
  const names = [uniqueName(t, 'seedA'), uniqueName(t, 'seedB'), uniqueName(t, 'seedC')];
  const seeds = ['7', '7', '8'];
  for (const [i, name] of names.entries()) {
    const r = runCli(['simulate', name, '--agents', '500', '--frames', '40', '--rate', '0', '--seed', seeds[i]]);
    assert.equal(r.status, 0, r.stderr);
  }
  const [a, b, c] = names.map((n) => readLast(n).frame);
  assert.equal(a.frames, 40);
  assert.deepEqual(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
  assert.notDeepEqual(Array.from(a.data), Array.from(c.data));
});

test('ramp: every frame a concurrent reader gets is whole and in place (k + r*cols + c)', async (t) => {
  const name = uniqueName(t, 'ramp');
  const child = spawnSim(t, [name, '--pattern', 'ramp', '--agents', '2000', '--rate', '0', '--duration', '2']);
  const seg = await waitFrames(name, 1);
  let checked = 0;
  try {
    while (child.exitCode === null && checked < 300) {
      const f = seg.readFrame();
      assert.equal(rampFrameNumber(f.data), f.frames, `frame ${f.frames} is not whole or not in place`);
      checked++;
      await sleep(1);
    }
  } finally {
    seg.close();
  }
  child.kill('SIGINT');
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const { frame } = readLast(name);
  assert.equal(rampFrameNumber(frame.data), frame.frames);
  assert.ok(checked > 0);
});

test('ramp fills any f32 segment, continuing its frame counter', (t) => {
  const name = uniqueName(t, 'rampany');
  Segment.create(name, { rows: 3, fields: 'a,b,c' }).close();
  for (const frames of ['2', '3']) assert.equal(runCli(['simulate', name, '--pattern', 'ramp', '--frames', frames, '--rate', '0']).status, 0);
  const { frame } = readLast(name);
  assert.equal(frame.frames, 5);
  assert.deepEqual(Array.from(frame.data), [5, 6, 7, 8, 9, 10, 11, 12, 13]);
});

test('attaches to a compatible segment, also after its writer was killed', async (t) => {
  const name = uniqueName(t, 'attach');
  Segment.create(name, { rows: 64, fields: 'x,y,vx,vy' }).close();
  let r = runCli(['simulate', name, '--frames', '3', '--rate', '0']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readLast(name).info.rows, 64, 'the existing row count is used without --agents');
  const child = spawnSim(t, [name, '--rate', '100']);
  (await waitFrames(name, 10)).close();
  child.kill('SIGKILL');
  await waitExit(child);
  r = runCli(['simulate', name, '--frames', '2', '--rate', '0', '--agents', '64', '--dims', '2']);
  assert.equal(r.status, 0, r.stderr);
  const { info } = readLast(name);
  assert.equal(info.writerAlive, false);
  assert.ok(info.frames >= 12, String(info.frames));
});

test('refuses an incompatible segment and says why, leaving it untouched', (t) => {
  const name = uniqueName(t, 'refuse');
  Segment.create(name, { rows: 10, fields: 'x,y' }).close();
  const cases = [
    [[], /fields x,y; boids needs x,y,vx,vy or x,y,z,vx,vy,vz/],
    [['--pattern', 'ramp', '--agents', '11'], /has 10 agents, not 11/],
    [['--pattern', 'ramp', '--dims', '2'], /not x,y,vx,vy \(for 2 dimensions\)/],
  ];
  for (const [args, why] of cases) {
    const r = runCli(['simulate', name, '--frames', '1', ...args]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^shmswarm: segment \/\S+ /);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  const f64 = uniqueName(t, 'f64');
  Segment.create(f64, { rows: 10, fields: 'x,y,vx,vy', dtype: 'f64' }).close();
  assert.match(runCli(['simulate', f64, '--frames', '1']).stderr, /holds f64; simulate writes f32/);
  assert.equal(readLast(name).info.frames, 0);
});

test('refuses a segment with a live writer', async (t) => {
  const name = uniqueName(t, 'live');
  const child = spawnSim(t, [name, '--agents', '50', '--rate', '50']);
  (await waitFrames(name, 1)).close();
  const r = runCli(['simulate', name, '--frames', '1']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `shmswarm: segment ${name} has a live writer (pid ${child.pid}); stop it first or simulate into another name\n`);
  child.kill('SIGTERM');
  assert.equal((await waitExit(child)).code, 0);
});

// --rate 5000 with boids: every step takes longer than the 0.2 ms period, so it runs behind schedule.
for (const [signal, rate, pattern] of [['SIGINT', '60', 'ramp'], ['SIGTERM', '60', 'ramp'], ['SIGINT', '0', 'ramp'], ['SIGINT', '5000', 'boids'], ['SIGTERM', '5000', 'boids']]) {
  test(`${signal} at --rate ${rate} (${pattern}): exit 0, summary on stderr, segment consistent`, async (t) => {
    const name = uniqueName(t, `sig${signal}${rate}`);
    const child = spawnSim(t, [name, '--agents', '5000', '--rate', rate, '--pattern', pattern]);
    (await waitFrames(name, 3)).close();
    child.kill(signal);
    const r = await waitExit(child);
    assert.equal(r.code, 0, r.stderr);
    const m = /stopped; wrote (\d+) frames? in [\d.]+ s \([\d.]+ frames\/s\)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const { info, frame } = readLast(name);
    assert.equal(info.sequence % 2, 0, 'never left mid-frame');
    assert.equal(info.frames, Number(m[1]));
    if (pattern === 'ramp') assert.equal(rampFrameNumber(frame.data), info.frames);
  });
}

test('--unlink-on-exit removes the segment it wrote', async (t) => {
  const name = uniqueName(t, 'unl');
  const r = runCli(['simulate', name, '--frames', '2', '--rate', '0', '--unlink-on-exit']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync('/dev/shm' + name), false);
  const child = spawnSim(t, [name, '--rate', '30', '--unlink-on-exit']);
  (await waitFrames(name, 1)).close();
  child.kill('SIGINT');
  assert.equal((await waitExit(child)).code, 0);
  assert.equal(existsSync('/dev/shm' + name), false);
});

test('unlinking the segment stops simulate (exit 0, says why); --unlink-on-exit then spares a new segment of that name', async (t) => {
  const name = uniqueName(t, 'gone');
  let child = spawnSim(t, [name, '--agents', '50', '--rate', '100']);
  (await waitFrames(name, 2)).close();
  assert.equal(runCli(['unlink', name, '--force']).status, 0); // its writer runs: --force
  let r = await waitExit(child, 10_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`simulate ${name}: stopped, the segment was removed; wrote \\d+ frames`));
  assert.equal(existsSync('/dev/shm' + name), false, 'simulate did not bring it back');

  child = spawnSim(t, [name, '--agents', '50', '--rate', '100', '--unlink-on-exit']);
  (await waitFrames(name, 2)).close();
  assert.equal(runCli(['unlink', name, '--force']).status, 0); // its writer runs: --force
  assert.equal(runCli(['create', name, '--agents', '3', '--cols', '2']).status, 0);
  r = await waitExit(child, 10_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped, the (segment was removed|name now leads to another segment)/);
  const seg = Segment.open(name, { readonly: true });
  assert.equal(seg.rows, 3, 'the new segment is still there');
  seg.close();
});

test('at a slow --rate the name is still checked about once a second (it never sleeps a whole period first)', async (t) => {
  const name = uniqueName(t, 'slowgone');
  const child = spawnSim(t, [name, '--agents', '10', '--rate', '0.01']); // a frame every 100 s
  (await waitFrames(name, 1)).close();
  assert.equal(runCli(['unlink', name, '--force']).status, 0); // its writer runs: --force
  const r = await waitExit(child, 15_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped, the segment was removed; wrote 1 frame /);
});

test('a segment shrunk under the writer ends it with one line and exit 1, never SIGBUS (every pattern)', async (t) => {
  for (const [pattern, size] of [['boids', 4096], ['ramp', 100], ['random', 0]]) {
    const name = uniqueName(t, `shrink-${pattern}`);
    const child = spawnSim(t, [name, '--pattern', pattern, '--agents', '20000', '--rate', '0']);
    (await waitFrames(name, 2)).close();
    truncateSync('/dev/shm' + name, size);
    const r = await waitExit(child);
    assert.equal(r.signal, null, `${pattern}: killed by ${r.signal}`);
    assert.equal(r.code, 1, `${pattern}: ${r.stderr}`);
    assert.match(r.stderr, /^shmswarm: .*(fault|shrunk)/m, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('usage errors exit 2 before touching anything', (t) => {
  const name = uniqueName(t, 'usage');
  for (const args of [
    [name, '--rate', '-1'], [name, '--pattern', 'waves'], [name, '--dims', '4'], [name, '--agents', '0'],
    [name, '--frames', 'x'], [name, '--duration', '0'], [name, '--seed', '-3'], ['noslash'],
  ]) {
    const r = runCli(['simulate', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^shmswarm: /);
  }
  assert.equal(existsSync('/dev/shm' + name), false);
});

test('--frames 1 ends as its frame is published, however slow the rate (no wait for one more period)', (t) => {
  const name = uniqueName(t, 'slow1');
  // A period of 100 s: waiting it out after the frame would blow the timeout.
  const r = runCli(['simulate', name, '--agents', '10', '--rate', '0.01', '--frames', '1'], { timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /done; wrote 1 frame in [\d.]+ s\n$/);
  assert.equal(readLast(name).info.frames, 1);
  const gone = uniqueName(t, 'slow2');
  const r2 = runCli(['simulate', gone, '--agents', '10', '--rate', '0.001', '--frames', '1', '--unlink-on-exit'], { timeout: 20_000 });
  assert.equal(r2.status, 0, r2.stderr);
  assert.equal(existsSync('/dev/shm' + gone), false, '--unlink-on-exit still cleans up');
});

test('--frames 3 at a rate: done after exactly three frames, with the rate achieved', (t) => {
  const name = uniqueName(t, 'three');
  const r = runCli(['simulate', name, '--agents', '10', '--rate', '20', '--frames', '3'], { timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /done; wrote 3 frames in [\d.]+ s \([\d.]+ frames\/s\)\n$/);
  assert.equal(readLast(name).info.frames, 3);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  test(`${signal} while simulate creates its segment: one line, exit ${128 + constants.signals[signal]}, nothing left`, async (t) => {
    const name = uniqueName(t, `mk${signal}`);
    // 1 GB (64M agents × x,y,vx,vy): creating it outlasts the moment the name appears.
    const child = spawnSim(t, [name, '--agents', '64000000', '--pattern', 'ramp', '--rate', '1']);
    const deadline = Date.now() + 10_000;
    while (!existsSync('/dev/shm' + name)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} never appeared`);
      await sleep(1);
    }
    child.kill(signal);
    const r = await waitExit(child, 60_000);
    assert.equal(r.code, 128 + constants.signals[signal], r.stderr);
    assert.equal(r.stderr, `shmswarm: interrupted; ${name} was not created\n`);
    assert.equal(existsSync('/dev/shm' + name), false);
  });
}

test('simulate --mode sets the permission bits of the segment it creates, as create --mode; --frames and --seed take 1e3', async (t) => {
  const { statSync } = await import('node:fs');
  const name = uniqueName(t, 'mode');
  let r = runCli(['simulate', name, '--mode', '644', '--frames', '1e1', '--rate', '0', '--agents', '1e2', '--seed', '1e3']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync('/dev/shm' + name).mode & 0o777, 0o644);
  const seg = Segment.open(name, { readonly: true });
  assert.deepEqual([seg.rows, seg.info().frames], [100, 10]);
  seg.close();
  // An existing segment keeps its mode, and simulate says so.
  r = runCli(['simulate', name, '--mode', '600', '--frames', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /--mode applies to a segment simulate creates; .* exists with mode 0644, left as it is/);
  assert.equal(statSync('/dev/shm' + name).mode & 0o777, 0o644);
  r = runCli(['simulate', name, '--mode', '999']);
  assert.equal(r.status, 2);
});
