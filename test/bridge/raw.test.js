// Raw mode against the seed's own two-object layout: a bare N×3 float32 matrix and a separate,
// plain (non-robust) process-shared mutex that the writer initialises itself. seed_writer.cpp
// fills each frame in two halves with a pause between, so an unsynchronised reader can catch it
// mid-frame; with the mutex no read may ever be torn.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { RawSegment, openFrameSource } from '../../dist/core/index.js';
import { parseShape } from '../../dist/core/raw.js';
import { runCli, sleep, spawnCli, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { buildExamples, cliHas, rampK } from './build.js';

const AGENTS = 300;

async function startSeedWriter(t, extra = []) {
  const data = uniqueName(t, 'position_data');
  const mutex = uniqueName(t, 'mutex_lock');
  const { seed_writer } = buildExamples();
  const child = spawn(seed_writer, [data, mutex, '--agents', String(AGENTS), '--mid-us', '200', '--between-us', '300', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  return { data, mutex, child };
}

test('seed writer → RawSegment with its mutex: 2000 reads, never a torn frame', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t);
  await waitForLine(child, /^ready /);
  const raw = RawSegment.open(data, { shape: `${AGENTS}x3`, dtype: 'f32', mutex, timeoutMs: 2000 });
  t.after(() => raw.close());
  assert.deepEqual([raw.kind, raw.rows, raw.cols, raw.dtype], ['raw', AGENTS, 3, 'f32']);
  const into = new Float32Array(AGENTS * 3);
  const ks = new Set();
  for (let i = 0; i < 2000; i++) {
    const f = raw.readFrame({ into });
    assert.ok(f.locked && !f.unsynced);
    const k = rampK(f.data);
    assert.notEqual(k, null, `read ${i} returned a torn frame`);
    ks.add(k);
  }
  for (let i = 0; i < 100; i++) {
    const f = await raw.readFrameAsync();
    assert.ok(f.locked);
    assert.notEqual(rampK(f.data), null, `async read ${i} returned a torn frame`);
  }
  t.diagnostic(`2000 locked reads saw ${ks.size} distinct frames`);
});

test('seed writer → RawSegment without a mutex: every frame is flagged unsynced', async (t) => {
  const { data, child } = await startSeedWriter(t);
  await waitForLine(child, /^ready /);
  const raw = RawSegment.open(data, { shape: [AGENTS, 3] });
  t.after(() => raw.close());
  let torn = 0;
  for (let i = 0; i < 1000; i++) {
    const f = raw.readFrame();
    assert.ok(f.unsynced && !f.locked);
    if (rampK(f.data) === null) torn++;
  }
  assert.equal(raw.info().raw.synced, false);
  // Not asserted (it depends on scheduling): how often an unsynchronised read tears.
  t.diagnostic(`${torn} of 1000 unsynchronised reads were torn`);
});

test('a writer stopped (SIGSTOP) while holding the mutex: ETIMEDOUT, no hang, mutex left alone', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t, ['--stall-after', '3']);
  await waitForLine(child, /^stalled /);
  const raw = RawSegment.open(data, { shape: `${AGENTS}x3`, mutex, timeoutMs: 200 });
  t.after(() => raw.close());
  assert.throws(() => raw.readFrame(), (e) => {
    assert.equal(e.code, 'ETIMEDOUT');
    assert.equal(e.segment, mutex);
    assert.match(e.message, /still held after 200 ms/);
    return true;
  });
  await assert.rejects(raw.readFrameAsync({ timeoutMs: 100 }), { code: 'ETIMEDOUT' });
  // lockFree reads the bytes without the mutex, and says so.
  assert.equal(raw.readFrame({ lockFree: true }).unsynced, true);
  // Resumed, the writer unlocks and goes on; the reader gets whole frames again.
  child.kill('SIGCONT');
  const f = raw.readFrame({ timeoutMs: 5000 });
  assert.notEqual(rampK(f.data), null);
});

test('readFrameAsync waits for a held mutex off the event loop, and close() cancels it', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t, ['--stall-after', '3']);
  await waitForLine(child, /^stalled /);
  const raw = RawSegment.open(data, { shape: `${AGENTS}x3`, mutex });
  t.after(() => raw.close());
  // The wait happens on a worker thread: timers keep firing while the mutex is held.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  t.after(() => clearInterval(timer));
  const pending = raw.readFrameAsync({ timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(ticks >= 10, `the event loop ran ${ticks} 5 ms timers in 300 ms`);
  // close() does not wait out the 60 s timeout: the pending read is cancelled.
  raw.close();
  await assert.rejects(pending, { code: 'ECANCELED' });
  assert.throws(() => raw.readFrame(), /closed/);
  // The mutex was never taken by the cancelled read: resumed, the writer goes on and a new reader gets whole frames.
  child.kill('SIGCONT');
  const again = RawSegment.open(data, { shape: `${AGENTS}x3`, mutex });
  t.after(() => again.close());
  const f = await again.readFrameAsync({ timeoutMs: 5000 });
  assert.ok(f.locked);
  assert.notEqual(rampK(f.data), null);
});

test('a locked async read that faults (data object shrunk) unlocks the foreign mutex: EBUS twice, never a held mutex', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t);
  await waitForLine(child, /^ready /);
  const raw = RawSegment.open(data, { shape: `${AGENTS}x3`, mutex, timeoutMs: 2000 });
  t.after(() => raw.close());
  await raw.readFrameAsync({ timeoutMs: 5000 }); // the writer has published
  // Stop the writer where it does not hold the mutex: a stop inside its frame is undone and retried.
  for (let tries = 0; ; tries++) {
    child.kill('SIGSTOP');
    try {
      raw.readFrame({ lock: true, timeoutMs: 50 });
      break;
    } catch (e) {
      if (e.code !== 'ETIMEDOUT' || tries > 200) throw e;
      child.kill('SIGCONT');
      await sleep(1);
    }
  }
  truncateSync('/dev/shm' + data, 0);
  // The copy faults with the mutex held; the worker thread must still unlock it, or the next
  // read waits out its timeout on a mutex nobody will ever release.
  await assert.rejects(raw.readFrameAsync(), (e) => e.code === 'EBUS' && e.segment === mutex || assert.fail(`first read: ${e.code} ${e.message}`));
  await assert.rejects(raw.readFrameAsync(), (e) => e.code === 'EBUS' || assert.fail(`second read: ${e.code} ${e.message} (the first left the mutex locked)`));
  assert.throws(() => raw.readFrame({ lock: true }), { code: 'EBUS' });
});

test('raw options are checked against the object before any read', async (t) => {
  const data = uniqueName(t, 'rawcheck');
  const lock = uniqueName(t, 'rawlock');
  writeFileSync('/dev/shm' + data, Buffer.alloc(3600));
  writeFileSync('/dev/shm' + lock, Buffer.alloc(16)); // too small for a pthread_mutex_t
  assert.deepEqual(parseShape('300x3'), [300, 3]);
  assert.deepEqual(parseShape([2, 5]), [2, 5]);
  assert.throws(() => parseShape('300'), TypeError);
  assert.throws(() => parseShape('0x3'), TypeError);
  assert.throws(() => RawSegment.open(data, { shape: 'ax3' }), TypeError);
  assert.throws(() => RawSegment.open(data, { shape: '300x3', dtype: 'f16' }), RangeError);
  assert.throws(() => RawSegment.open(data, { shape: '300x3', offset: -4 }), TypeError);
  assert.throws(() => RawSegment.open(data, { shape: '300x4' }), (e) => e.code === 'ETRUNCATED' && /3600 bytes cannot hold 300x4 f32/.test(e.message));
  assert.throws(() => RawSegment.open(data, { shape: '300x3', offset: 4 }), { code: 'ETRUNCATED' });
  assert.throws(() => RawSegment.open(data, { shape: '300x3', dtype: 'f64' }), { code: 'ETRUNCATED' });
  assert.throws(() => RawSegment.open(data, { shape: '300x3', mutex: lock }), (e) => e.code === 'ETRUNCATED' && e.segment === lock);
  assert.throws(() => RawSegment.open(data + '-none', { shape: '1x1' }), { code: 'ENOENT' });
  assert.throws(() => RawSegment.open(data, { shape: '300x3', mutex: lock + '-none' }), { code: 'ENOENT' });
  assert.throws(() => RawSegment.open(data, { shape: '300x3', fields: 'x,y' }), RangeError);
  const raw = RawSegment.open(data, { shape: '300x3', fields: 'x,y,z' });
  assert.throws(() => raw.readFrame({ lock: true }), /has no mutex to lock/);
  assert.throws(() => raw.readFrame({ into: new Float64Array(900) }), TypeError);
  assert.deepEqual(raw.fields, ['x', 'y', 'z']);
  raw.close();
  raw.close(); // idempotent
  assert.throws(() => raw.readFrame(), /closed/);
});

test('offset and dtype place the matrix; info reports what a raw object can tell; since skips unchanged', async (t) => {
  const name = uniqueName(t, 'rawoffset');
  const rows = 4;
  const cols = 2;
  const buf = Buffer.alloc(128 + rows * cols * 8 + 16, 0xee); // garbage around the matrix
  for (let i = 0; i < rows * cols; i++) buf.writeDoubleLE(7 + i, 128 + i * 8);
  writeFileSync('/dev/shm' + name, buf);
  const src = openFrameSource(name, { raw: { shape: [rows, cols], dtype: 'float64', offset: 128 } });
  t.after(() => src.close());
  assert.equal(src.kind, 'raw');
  const f = src.readFrame();
  assert.ok(f.data instanceof Float64Array);
  assert.deepEqual([...f.data], [7, 8, 9, 10, 11, 12, 13, 14]);
  assert.equal(f.unsynced, true);
  assert.equal(src.readFrame({ since: f.sequence }), null, 'unchanged content reads as no new frame');
  buf.writeDoubleLE(99, 128);
  writeFileSync('/dev/shm' + name, buf); // same object, new bytes
  const g = src.readFrame({ since: f.sequence });
  assert.equal(g.data[0], 99);
  assert.ok(g.sequence > f.sequence);
  const info = src.info();
  assert.equal(info.kind, 'raw');
  assert.equal(info.bytes, buf.length);
  assert.equal(info.dataBytes, rows * cols * 8);
  assert.deepEqual(info.raw, { offset: 128, mutex: null, mutexOffset: 0, synced: false });
  assert.equal(info.formatVersion, null);
  assert.equal(info.writerPid, null);
  assert.equal(src.nameStatus(), 'same');
});

test('CLI dump --raw --mutex against the seed writer never prints a torn frame', async (t) => {
  if (!cliHas('dump')) return t.todo('the CLI dump command is not built yet (issue 3)');
  const help = runCli(['dump', '--help']).stdout;
  if (!help.includes('--raw')) return t.todo('dump --raw is not built yet (issue 3)');
  const { data, mutex, child } = await startSeedWriter(t);
  await waitForLine(child, /^ready /);
  for (let i = 0; i < 5; i++) {
    const r = runCli(['dump', data, '--raw', '--shape', `${AGENTS}x3`, '--dtype', 'f32', '--mutex', mutex, '--timeout', '5000', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.data.length, AGENTS);
    assert.notEqual(rampK(j.data.flat()), null, `dump ${i} printed a torn frame`);
  }
  const unsynced = runCli(['dump', data, '--raw', '--shape', `${AGENTS}x3`, '--json']);
  assert.equal(unsynced.status, 0, unsynced.stderr);
  assert.match(unsynced.stderr, /without synchroni[sz]ation|unsynchroni[sz]ed/i, 'without --mutex dump says so on stderr');
});

// A lock attempt stores into the bytes it is given: --mutex must name something that can be a
// mutex before anything is written (swapping the data and mutex names is an easy slip).
test('--mutex on bytes that are not a pthread mutex is refused before anything is written', async (t) => {
  const { Segment } = await import('../../dist/core/index.js');
  const data = uniqueName(t, 'data');
  writeFileSync('/dev/shm' + data, Buffer.alloc(48));
  const seg = uniqueName(t, 'segment');
  Segment.create(seg, { rows: 10, fields: 'x,y' }).close();
  const floats = uniqueName(t, 'floats');
  writeFileSync('/dev/shm' + floats, Buffer.from(Float32Array.from({ length: 12 }, (_, i) => i + 1).buffer));
  const owner = uniqueName(t, 'zero-lock');
  writeFileSync('/dev/shm' + owner, Buffer.from(Float32Array.from([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]).buffer));
  // A priority-protect kind makes glibc assert (abort) on a ceiling it dislikes.
  const protect = uniqueName(t, 'prio-protect');
  const pp = Buffer.alloc(48);
  pp[16] = 0xc0;
  writeFileSync('/dev/shm' + protect, pp);
  for (const [mutex, reason] of [[seg, /start a WA-1\/shmswarm segment/], [floats, /not an initialised pthread mutex/], [owner, /not an initialised pthread mutex/], [protect, /priority-protect mutex .* is not supported/]]) {
    const before = readFileSync('/dev/shm' + mutex);
    for (const args of [['dump', data, '--csv'], ['check', data, '--finite', '--within', '0.2'], ['watch', data, '--once']]) {
      const r = runCli([...args, '--raw', '--shape', '4x3', '--mutex', mutex]);
      assert.notEqual(r.status, 0, `${args[0]} --mutex ${mutex}`);
      assert.match(r.stderr, reason, `${args[0]} --mutex ${mutex}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.deepEqual(readFileSync('/dev/shm' + mutex), before, `${args[0]} wrote into ${mutex}`);
    }
  }
  assert.equal(runCli(['info', seg]).status, 0, 'the segment named by mistake still opens');
});

// Zeros pass for an idle pthread mutex: the check above cannot see that the bytes are the matrix.
test('--mutex naming the data object itself: refused where the mutex would lie inside the matrix, fine beside it', (t) => {
  const data = uniqueName(t, 'self');
  writeFileSync('/dev/shm' + data, Buffer.alloc(48 + 64));
  const before = readFileSync('/dev/shm' + data);
  for (const args of [['dump', data, '--csv'], ['info', data], ['check', data, '--finite', '--within', '0.2'], ['watch', data, '--once'], ['wait', data, '--timeout', '0.2']]) {
    for (const placement of [[], ['--offset', '8'], ['--offset', '48', '--mutex-offset', '40']]) {
      const r = runCli([...args, '--raw', '--shape', '2x3', '--mutex', data, ...placement]);
      assert.equal(r.status, 1, `${args[0]} ${placement.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^shmswarm: ${data}: the mutex at offset \\d+ \\(\\d+ bytes\\) lies inside the matrix it guards \\(bytes \\d+-\\d+ of the same object\\)`));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  }
  assert.deepEqual(readFileSync('/dev/shm' + data), before, 'a refused lock wrote into the data');
  // The matrix after the mutex, in one object: a real layout.
  const r = runCli(['dump', data, '--raw', '--shape', '2x3', '--offset', '64', '--mutex', data, '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'c0,c1,c2\n0,0,0\n0,0,0\n');
});

test('a missing raw matrix or --mutex object is named for what it is, with no advice to create a segment', (t) => {
  const data = uniqueName(t, 'data');
  writeFileSync('/dev/shm' + data, Buffer.alloc(48));
  const nodata = uniqueName(t, 'nodata');
  const nomutex = uniqueName(t, 'nomutex');
  for (const args of [['dump'], ['info'], ['watch', '--once'], ['check', '--finite', '--within', '0.2'], ['wait', '--timeout', '0.2']]) {
    const [cmd, ...rest] = args;
    const timedOut = cmd === 'wait' ? 'timed out after 0.20 s: ' : '';
    let r = runCli([cmd, data, ...rest, '--raw', '--shape', '2x3', '--mutex', nomutex]);
    assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
    // watch says how to wait for it instead.
    const wait = cmd === 'watch' ? '; watch --wait waits for it to appear' : '';
    assert.equal(r.stderr, `shmswarm: ${timedOut}mutex object ${nomutex} does not exist${wait}\n`, cmd);
    r = runCli([cmd, nodata, ...rest, '--raw', '--shape', '2x3']);
    assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
    const hint = cmd === 'check' ? `; start its writer first, or wait for it with: shmswarm wait ${nodata} --raw ...` : wait;
    assert.equal(r.stderr, `shmswarm: ${timedOut}raw object ${nodata} does not exist${hint}\n`, cmd);
  }
});

test('a FIFO at a raw name (or as its --mutex) is refused at once, not waited on', (t) => {
  const fifo = uniqueName(t, 'fifo');
  assert.equal(spawnSync('mkfifo', ['/dev/shm' + fifo]).status, 0);
  const data = uniqueName(t, 'data');
  writeFileSync('/dev/shm' + data, Buffer.alloc(48));
  for (const args of [['info', fifo], ['dump', fifo, '--csv'], ['wait', fifo, '--timeout', '1'], ['check', fifo, '--finite', '--within', '0.2'], ['watch', fifo, '--once'], ['dump', data, '--csv', '--mutex', fifo]]) {
    const r = runCli([...args, '--raw', '--shape', '4x3'], { timeout: 10_000 });
    assert.equal(r.signal, null, `${args.join(' ')} hung`);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, /not a regular shared-memory object/, args.join(' '));
  }
});

// A robust mutex keeps __count 1 after its unlock (glibc): the plausibility check must not take
// a real, idle mutex for garbage. The segment's own mutex is robust and process-shared.
test('--mutex on a real robust mutex that has been locked and unlocked works', async (t) => {
  const { Segment } = await import('../../dist/core/index.js');
  const seg = uniqueName(t, 'robust');
  const s = Segment.create(seg, { rows: 4, fields: 'x,y,z' }); // block at 128, its mutex at 128 + 384
  t.after(() => s.close());
  for (let k = 1; k <= 3; k++) s.writeFrame(new Float32Array(12).fill(k));
  const word = readFileSync('/dev/shm' + seg).readUInt32LE(512 + 4);
  t.diagnostic(`__count of the idle robust mutex: ${word}`);
  const data = uniqueName(t, 'data');
  writeFileSync('/dev/shm' + data, Buffer.from(Float32Array.from({ length: 12 }, (_, i) => i).buffer));
  const r = runCli(['dump', data, '--raw', '--shape', '4x3', '--mutex', seg, '--mutex-offset', '512', '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[1], '0,1,2');
  s.writeFrame(new Float32Array(12).fill(9)); // the mutex still works for its owner
});

test('--mutex naming a robust mutex held by a live process: the timeout says so (not "not robust"); killed, the next read takes it over', async (t) => {
  const { Segment } = await import('../../dist/core/index.js');
  const { buildHelper } = await import('../native-c/build.js');
  const seg = uniqueName(t, 'robusthold');
  const s = Segment.create(seg, { rows: 4, fields: 'x,y,z' }); // its robust mutex at 128 + 384
  t.after(() => s.close());
  const holder = spawn(buildHelper(), ['hold', seg], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => holder.kill('SIGKILL'));
  await waitForLine(holder, /holding/);
  const data = uniqueName(t, 'data');
  writeFileSync('/dev/shm' + data, Buffer.from(Float32Array.from({ length: 12 }, (_, i) => i).buffer));
  const args = ['dump', data, '--raw', '--shape', '4x3', '--mutex', seg, '--mutex-offset', '512', '--timeout', '200', '--csv'];
  let r = runCli(args);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /mutex still held after 200 ms by a live holder: it is robust/);
  assert.doesNotMatch(r.stderr, /not robust/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  holder.kill('SIGKILL');
  await waitExit(holder);
  r = runCli(args);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[1], '0,1,2');
  assert.match(r.stderr, new RegExp(`the holder of mutex ${seg} died holding it; the lock was taken over`));
  assert.doesNotMatch(r.stderr, /repaired/, 'nothing of the raw object was repaired');
});

test('--mutex naming a robust mutex left not recoverable: one line saying so (not "not an initialised pthread mutex")', async (t) => {
  const { Segment } = await import('../../dist/core/index.js');
  const { buildHelper } = await import('../native-c/build.js');
  const seg = uniqueName(t, 'unrecov');
  Segment.create(seg, { rows: 4, fields: 'x,y,z' }).close();
  // A holder dies inside a frame; the next taker gets EOWNERDEAD and unlocks without repairing.
  for (const mode of ['die-mid-frame', 'skip-repair']) {
    const r = spawnSync(buildHelper(), [mode, seg], { encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(r.signal, 'SIGALRM', `${mode}: ${r.stderr}`);
  }
  const data = uniqueName(t, 'data');
  writeFileSync('/dev/shm' + data, Buffer.alloc(48));
  const r = runCli(['dump', data, '--raw', '--shape', '4x3', '--mutex', seg, '--mutex-offset', '512', '--csv']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /mutex is not recoverable .* only restarting the writer/);
  assert.doesNotMatch(r.stderr, /not an initialised pthread mutex|re-create the segment/);
});

test('a plain mutex held by a stopped writer: the timeout says it is not robust', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t, ['--stall-after', '3']);
  await waitForLine(child, /^stalled /);
  const r = runCli(['dump', data, '--raw', '--shape', `${AGENTS}x3`, '--mutex', mutex, '--timeout', '200', '--csv']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /still held after 200 ms \(it is not robust: if its holder died, only restarting the writer frees it\)/);
});

test('watch of a raw object whose mutex stays held reports it once, without dropping and re-attaching', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t, ['--stall-after', '3']);
  await waitForLine(child, /^stalled /);
  const watch = spawnCli(['watch', data, '--raw', '--shape', `${AGENTS}x3`, '--mutex', mutex, '--interval', '100', '--json']);
  let out = '';
  watch.stdout.on('data', (d) => (out += d));
  await sleep(4000); // each look waits 1 s for the lock: three or four looks
  watch.kill('SIGTERM');
  assert.equal((await waitExit(watch)).code, 0);
  const looks = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(looks.length >= 2, `${looks.length} looks`);
  const events = looks.flatMap((l) => l.events);
  assert.equal(events.filter((e) => /is back/.test(e)).length, 0, events.join('\n'));
  assert.equal(events.filter((e) => /cannot be read: .*still held/.test(e)).length, 1, events.join('\n'));
});

test('dump -o onto the --mutex object it reads is refused, and the mutex object is untouched', async (t) => {
  const { data, mutex, child } = await startSeedWriter(t);
  await waitForLine(child, /^ready /);
  const before = statSync('/dev/shm' + mutex).ino;
  const r = runCli(['dump', data, '--raw', '--shape', `${AGENTS}x3`, '--mutex', mutex, '--csv', '-o', '/dev/shm' + mutex]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `shmswarm: refusing to write the dump of ${data} over ${mutex}, which it reads\n`);
  assert.equal(statSync('/dev/shm' + mutex).ino, before);
});
