// waitForFrame's two ways to sleep: IORING_OP_FUTEX_WAIT completed on the event loop's thread
// (native/futex_ring.cc) and the worker thread (SHMSWARM_WAIT=thread, or where io_uring cannot).
// Every test runs its waiting side in a child process with the path forced, once per path, and
// checks through waitStats() which path served the waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, truncateSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Segment } from '../../dist/core/index.js';
import { native } from '../../dist/core/binding.js';
import { ROOT, DIST, uniqueName, spawnNode, waitExit, waitForLine, sleep } from '../helpers.js';
import { buildProgram } from '../native-c/build.js';

const BINDING = join(ROOT, 'dist', 'core', 'binding.js');

// The ring is expected where the kernel has IORING_OP_FUTEX_WAIT (6.7) and io_uring is allowed.
function ringExpected() {
  const [major, minor] = release().split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 7)) return false;
  try {
    return readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '0';
  } catch {
    return true; // the sysctl came with 6.6; without it nothing disables io_uring
  }
}

const PATHS = ['ring', 'thread'];
const envFor = (path) => ({ SHMSWARM_WAIT: path });

// A child that waits: `body` runs with `seg` open read-write, prints one JSON line and ends on
// its own (no process.exit), so a handle left keeping the loop alive shows up as a hang.
function waiter(name, path, body, options = {}) {
  const code = `
    const { native } = await import(${JSON.stringify(BINDING)});
    const seg = Segment.open(${JSON.stringify(name)});
    const result = {};
    ${body}
    result.stats = native().waitStats();
    console.log(JSON.stringify(result));`;
  return collect(spawnNode(code, { env: { ...envFor(path), ...options.env } }));
}

// All of a child's stdout from the start (waitExit sees only what comes after it is called).
function collect(child) {
  child.collected = '';
  child.stdout.on('data', (d) => (child.collected += d));
  return child;
}

async function finish(child, timeoutMs = 30_000) {
  const r = await waitExit(child, timeoutMs);
  assert.equal(r.code, 0, `child failed: ${r.stderr}`);
  const line = child.collected.trim().split('\n').pop();
  return JSON.parse(line);
}

// Which path served the child's waits: all of them on the one asked for.
function assertServedBy(stats, path) {
  if (path === 'thread') {
    assert.equal(stats.ring, 0, 'SHMSWARM_WAIT=thread: no wait on the ring');
    assert.ok(stats.thread > 0, 'waits went to the worker thread');
    return;
  }
  if (!ringExpected()) {
    assert.equal(stats.ringState, 'unavailable', 'no IORING_OP_FUTEX_WAIT here: the fallback');
    return;
  }
  assert.equal(stats.ringState, 'ready', `ring unavailable: ${stats.reason}`);
  assert.ok(stats.ring > 0, 'waits went to the ring');
  assert.equal(stats.thread, 0, 'no wait fell back to the worker thread');
}

for (const path of PATHS) {
  test(`[${path}] waitForFrame in another process resolves with each frame the parent publishes`, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 8, cols: 2 });
    t.after(() => seg.close());
    const child = waiter(name, path, `
      let seq = seg.sequence();
      result.got = [];
      console.log('ready');
      for (let i = 0; i < 5; i++) {
        seq = await seg.waitForFrame(seq, { timeoutMs: 20000 });
        result.got.push(seq);
        console.log('got ' + seq);
      }`);
    await waitForLine(child, /^ready$/);
    const frame = new Float32Array(16);
    for (let i = 1; i <= 5; i++) {
      await sleep(5); // let the child go to sleep in the wait first (not needed for correctness)
      seg.writeFrame(frame.fill(i));
      await waitForLine(child, new RegExp(`^got ${2 * i}$`));
    }
    const r = await finish(child);
    assert.deepEqual(r.got, [2, 4, 6, 8, 10]);
    assertServedBy(r.stats, path);
    assert.equal(seg.info().waiters, 0, 'every wait unregistered');
  });

  test(`[${path}] no lost wake-up: 2,000 waits against a writer with random small gaps`, async (t) => {
    const name = uniqueName(t);
    Segment.create(name, { rows: 16, cols: 4 }).close();
    const writer = spawnNode(`
      const s = Segment.open(${JSON.stringify(name)});
      const buf = new Float32Array(s.length);
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const gaps = [0, 0, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
      let stop = false, k = 0;
      process.stdin.on('end', () => { stop = true; });
      process.stdin.resume();
      console.log('writing');
      (function batch() {
        for (let j = 0; j < 50; j++) {
          buf.fill(++k);
          s.writeFrame(buf);
          const gap = gaps[Math.floor(Math.random() * gaps.length)];
          if (gap) Atomics.wait(pause, 0, 0, gap);
        }
        if (stop) { s.close(); console.log('wrote ' + k); return; }
        setImmediate(batch);
      })();`, { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => writer.kill());
    await waitForLine(writer, /^writing$/);
    const child = waiter(name, path, `
      let seq = seg.sequence();
      result.bad = [];
      result.timeouts = 0;
      for (let i = 0; i < 2000; i++) {
        let next;
        try {
          // a lost wake-up is a wait that outlives a writer publishing every ms or faster
          next = await seg.waitForFrame(seq, { timeoutMs: 5000 });
        } catch (e) {
          if (e.code === 'ETIMEDOUT') { result.timeouts++; continue; }
          throw e;
        }
        if (!(next > seq) || next % 2 !== 0) result.bad.push(seq + ' then ' + next);
        seq = next;
      }
      result.last = seq;`);
    const r = await finish(child, 120_000);
    writer.stdin.end();
    const w = await waitExit(writer);
    assert.equal(w.code, 0, w.stderr);
    assert.deepEqual(r.bad, [], 'every wait returned a newer, published frame');
    assert.equal(r.timeouts, 0, 'no wait timed out while frames kept coming');
    assertServedBy(r.stats, path);
  });

  test(`[${path}] a wait times out with ETIMEDOUT and leaves no waiter registered`, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 1, cols: 1 });
    t.after(() => seg.close());
    const child = waiter(name, path, `
      const t0 = performance.now();
      try { await seg.waitForFrame(seg.sequence(), { timeoutMs: 150 }); result.error = null; }
      catch (e) { result.error = { name: e.name, code: e.code, segment: e.segment }; }
      result.elapsed = performance.now() - t0;
      result.waiters = seg.info().waiters;`);
    const r = await finish(child);
    assert.deepEqual(r.error, { name: 'ShmswarmError', code: 'ETIMEDOUT', segment: name });
    assert.ok(r.elapsed >= 149, `timed out after ${r.elapsed} ms, not before the timeout`);
    assert.equal(r.waiters, 0);
    assertServedBy(r.stats, path);
  });

  test(`[${path}] close() with several waits pending rejects them all with ECANCELED; the process ends`, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 1, cols: 1 });
    t.after(() => seg.close());
    const child = waiter(name, path, `
      const seq = seg.sequence();
      const other = Segment.open(${JSON.stringify(name)});
      const waits = [1, 2, 3, 4, 5].map(() => seg.waitForFrame(seq, { timeoutMs: 60000 }));
      const kept = other.waitForFrame(seq, { timeoutMs: 60000 });
      await new Promise((r) => setTimeout(r, 50));
      result.waitersBefore = other.info().waiters;
      seg.close();
      result.codes = (await Promise.allSettled(waits)).map((s) => s.status === 'rejected' ? s.reason.code : 'resolved ' + s.value);
      result.waitersAfterClose = other.info().waiters;
      // the other handle's wait on the same segment is not cancelled by this close
      console.log('closed');
      result.kept = await kept;
      other.close();`);
    await waitForLine(child, /^closed$/);
    seg.writeFrame(new Float32Array(1));
    const r = await finish(child, 20_000); // ends on its own: nothing keeps its loop alive
    assert.deepEqual(r.codes, Array(5).fill('ECANCELED'));
    if (path === 'ring') {
      // The worker threads register per sleep, four at a time (libuv's pool): only the ring counts exactly.
      assert.equal(r.waitersBefore, 6);
      assert.equal(r.waitersAfterClose, 1, 'only the other handle still waits');
    }
    assert.equal(r.kept, 2);
    assertServedBy(r.stats, path);
  });

  test(`[${path}] waits on two segments at once resolve independently`, async (t) => {
    const a = uniqueName(t, 'a');
    const b = uniqueName(t, 'b');
    const sa = Segment.create(a, { rows: 1, cols: 1 });
    const sb = Segment.create(b, { rows: 1, cols: 1 });
    t.after(() => {
      sa.close();
      sb.close();
    });
    const child = waiter(a, path, `
      const other = Segment.open(${JSON.stringify(b)});
      const order = [];
      const pa = seg.waitForFrame(0, { timeoutMs: 20000 }).then((s) => order.push('a' + s));
      const pb = other.waitForFrame(0, { timeoutMs: 20000 }).then((s) => order.push('b' + s));
      const pb2 = other.waitForFrame(0, { timeoutMs: 20000 }).then((s) => order.push('b' + s));
      console.log('ready');
      await Promise.all([pa, pb, pb2]);
      result.order = order;
      other.close();`);
    await waitForLine(child, /^ready$/);
    await sleep(20);
    sb.writeFrame(new Float32Array(1));
    await sleep(50);
    sb.writeFrame(new Float32Array(1));
    sa.writeFrame(new Float32Array(1));
    const r = await finish(child);
    assert.deepEqual(r.order.slice(0, 2), ['b2', 'b2'], 'b woke first, both of its waits');
    assert.ok(r.order[2] === 'a2', `then a: ${r.order}`);
    assertServedBy(r.stats, path);
  });

  test(`[${path}] a process with a wait pending ends cleanly on process.exit, and without it at the timeout`, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 1, cols: 1 });
    t.after(() => seg.close());
    const exiting = spawnNode(`
      const s = Segment.open(${JSON.stringify(name)});
      s.waitForFrame(s.sequence(), { timeoutMs: 60000 }).then(() => console.log('resolved'));
      setTimeout(() => { console.log('exiting'); process.exit(7); }, 50);`, { env: envFor(path) });
    const e = await waitExit(exiting, 20_000);
    assert.equal(e.signal, null, e.stderr);
    assert.equal(e.code, 7, e.stderr);
    assert.equal(e.stdout, 'exiting\n');
    assert.equal(seg.info().waiters, 0, 'the exiting process unregistered its wait');
    const lingering = spawnNode(`
      const s = Segment.open(${JSON.stringify(name)});
      s.waitForFrame(s.sequence(), { timeoutMs: 200 }).catch((e) => console.log(e.code));`, { env: envFor(path) });
    const l = await waitExit(lingering, 20_000);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, 'ETIMEDOUT\n', 'a pending wait keeps the process until its timeout, like a timer');
  });

  // The pending wait's timeout is 10 minutes: terminate() must not wait it out (a hang guard, not a timing).
  test(`[${path}] a worker_threads Worker waits on its own loop, and can be terminated mid-wait`, { timeout: 120_000 }, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 1, cols: 1 });
    t.after(() => seg.close());
    const worker = new Worker(`
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const { Segment } = await import(${JSON.stringify(DIST)});
        const { native } = await import(${JSON.stringify(BINDING)});
        const s = Segment.open(${JSON.stringify(name)});
        let seq = s.sequence();
        parentPort.postMessage('ready');
        const got = [];
        for (let i = 0; i < 3; i++) { seq = await s.waitForFrame(seq, { timeoutMs: 20000 }); got.push(seq); parentPort.postMessage('got'); }
        parentPort.postMessage({ got, stats: native().waitStats() });
        s.waitForFrame(seq, { timeoutMs: 600000 }); // left pending: terminate() must cope
        parentPort.postMessage('pending');
      })();`, { eval: true, env: { ...process.env, ...envFor(path) } });
    const messages = [];
    let notify = null;
    worker.on('message', (m) => {
      messages.push(m);
      notify?.();
    });
    const next = async (want) => {
      while (!messages.some(want)) await new Promise((r) => (notify = r));
      return messages.splice(messages.findIndex(want), 1)[0];
    };
    await next((m) => m === 'ready');
    for (let i = 0; i < 3; i++) {
      await sleep(5);
      seg.writeFrame(new Float32Array(1));
      await next((m) => m === 'got');
    }
    const done = await next((m) => typeof m === 'object');
    assert.deepEqual(done.got, [2, 4, 6]);
    assertServedBy(done.stats, path);
    await next((m) => m === 'pending');
    assert.equal(await worker.terminate(), 1);
    // terminate() dropped the wait with the Worker's environment and unregistered it (a worker
    // thread notices its cancellation within a 50 ms slice: allow it that, boundedly)
    for (let i = 0; i < 100 && seg.info().waiters !== 0; i++) await sleep(20);
    assert.equal(seg.info().waiters, 0);
  });
}

test('two handles of one segment in this process wait at once; waitStats counts both waits', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  t.after(() => seg.close());
  const before = native().waitStats();
  const seq = seg.sequence();
  const h = Segment.open(name);
  t.after(() => h.close());
  const waits = [seg.waitForFrame(seq, { timeoutMs: 20_000 }), h.waitForFrame(seq, { timeoutMs: 20_000 })];
  await sleep(10);
  Segment.open(name).writeFrame(new Float32Array(1));
  assert.deepEqual(await Promise.all(waits), [2, 2]);
  const after = native().waitStats();
  assert.equal(after.ring + after.thread - before.ring - before.thread, 2);
});

test('a handle without write access waits on the worker thread (it cannot register)', {
  skip: process.getuid?.() !== 0 && 'needs root to run a child as another user',
}, async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 1, mode: 0o644 });
  t.after(() => seg.close());
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { Segment } = await import(${JSON.stringify(DIST)});
    const { native } = await import(${JSON.stringify(BINDING)});
    const s = Segment.open(${JSON.stringify(name)}, { readonly: true });
    console.log('ready');
    const seq = await s.waitForFrame(s.sequence(), { timeoutMs: 20000 });
    console.log(JSON.stringify({ seq, stats: native().waitStats() }));
    s.close();`], { uid: 65534, gid: 65534, env: { ...process.env, ...envFor('ring') }, stdio: ['ignore', 'pipe', 'pipe'] });
  collect(child);
  await waitForLine(child, /^ready$/);
  await sleep(20);
  seg.writeFrame(new Float32Array(1));
  const r = await finish(child);
  assert.equal(r.seq, 2);
  assert.equal(r.stats.ring, 0);
  assert.equal(r.stats.thread, 1);
});

// io_uring_setup failing (ENOSYS here through a seccomp filter; EPERM or io_uring_disabled
// elsewhere) makes the environment fall back to the worker thread for good, silently.
const SECCOMP_NO_URING = `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
# ld [nr]; jeq 425 (io_uring_setup, every architecture) ? ERRNO(ENOSYS) : ALLOW
prog = [(0x20, 0, 0, 0), (0x15, 0, 1, 425), (0x06, 0, 0, 0x00050000 | 38), (0x06, 0, 0, 0x7fff0000)]
buf = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *f) for f in prog))
class Fprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
fp = Fprog(len(prog), ctypes.addressof(buf))
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fp), 0, 0) != 0:
    sys.exit('seccomp: errno %d' % ctypes.get_errno())
os.execv(sys.argv[1], sys.argv[1:])
`;

test('without io_uring (io_uring_setup fails) waits fall back to the worker thread', {
  skip: spawnSync('python3', ['-c', 'import ctypes'], { encoding: 'utf8' }).status !== 0 && 'python3 is not installed',
}, async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  t.after(() => seg.close());
  const child = spawn('python3', ['-c', SECCOMP_NO_URING, process.execPath, '--input-type=module', '-e', `
    const { Segment } = await import(${JSON.stringify(DIST)});
    const { native } = await import(${JSON.stringify(BINDING)});
    const s = Segment.open(${JSON.stringify(name)});
    console.log('ready');
    const got = [await s.waitForFrame(s.sequence(), { timeoutMs: 20000 })];
    let error = null;
    try { await s.waitForFrame(got[0], { timeoutMs: 50 }); } catch (e) { error = e.code; }
    console.log(JSON.stringify({ got, error, stats: native().waitStats() }));
    s.close();`], { env: { ...process.env, ...envFor('ring') }, stdio: ['ignore', 'pipe', 'pipe'] });
  collect(child);
  await waitForLine(child, /^ready$/);
  await sleep(20);
  seg.writeFrame(new Float32Array(1));
  const r = await finish(child);
  assert.deepEqual(r.got, [2]);
  assert.equal(r.error, 'ETIMEDOUT');
  assert.equal(r.stats.ringState, 'unavailable');
  assert.match(r.stats.reason, /^io_uring_setup: ENOSYS/);
  assert.equal(r.stats.ring, 0);
  assert.equal(r.stats.thread, 2);
});

test('C: shmswarm_wait_begin/check/end keep §11 (2,000 frames, a raw FUTEX_WAIT per "sleep"; a lost wake-up fails within 5 s)', (t) => {
  const name = uniqueName(t);
  const r = spawnSync(buildProgram('wait_split'), [name], { encoding: 'utf8', timeout: 60_000 });
  assert.doesNotMatch(r.stderr, /lost wake-up/, 'the writer must wake a registered waiter');
  assert.equal(r.status, 0, `${r.stderr}${r.error ?? ''}`);
  assert.match(r.stdout, /^ok \d+ waits/);
});

test('lowLatency gives the waiting thread a 100 µs scheduler slice, and only that thread', async (t) => {
  const name = uniqueName(t, 'slice');
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  t.after(() => seg.close());
  await assert.rejects(seg.waitForFrame(0, { lowLatency: 'yes' }), TypeError);
  // Per-thread slices (sched_attr.sched_runtime of a fair thread) arrived in Linux 6.12.
  const [maj, min] = release().split('.').map(Number);
  if (maj < 6 || (maj === 6 && min < 12) || !/se\.slice/.test(readFileSync('/proc/thread-self/sched', 'utf8'))) {
    t.skip(`kernel ${release()} has no per-thread time slices`);
    return;
  }
  // In a child, so this test process keeps its own slice. A Worker started before is left alone
  // (threads started afterwards inherit the slice, as they inherit a nice value).
  const child = spawnNode(`
    import { readFileSync } from 'node:fs';
    import { Worker } from 'node:worker_threads';
    const slice = () => Number(/se\\.slice\\s*:\\s*(\\d+)/.exec(readFileSync('/proc/thread-self/sched', 'utf8'))[1]);
    const w = new Worker("const { readFileSync } = require('node:fs'); const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => parentPort.postMessage(Number(/se\\\\.slice\\\\s*:\\\\s*(\\\\d+)/.exec(readFileSync('/proc/thread-self/sched', 'utf8'))[1])));", { eval: true, execArgv: [] });
    const ask = () => new Promise((resolve) => { w.once('message', resolve); w.postMessage(0); });
    const workerBefore = await ask();
    const seg = Segment.open(${JSON.stringify(name)});
    const before = slice();
    await seg.waitForFrame(seg.sequence(), { timeoutMs: 20 }).catch((e) => e.code);
    const plain = slice();
    await seg.waitForFrame(seg.sequence(), { timeoutMs: 20, lowLatency: true }).catch((e) => e.code);
    const after = slice();
    const workerAfter = await ask();
    await w.terminate();
    seg.close();
    console.log(JSON.stringify({ before, plain, after, workerBefore, workerAfter }));
  `);
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.plain, s.before, 'a wait without lowLatency leaves the slice alone');
  assert.notEqual(s.before, 100_000);
  assert.equal(s.after, 100_000);
  assert.equal(s.workerAfter, s.workerBefore, 'a thread started before keeps its slice');
});

test('a wait pending while the object shrinks rejects with EBUS on both paths, and the process lives', async (t) => {
  for (const path of ['ring', 'thread']) {
    const name = uniqueName(t, `shrink-${path}`);
    const seg = Segment.create(name, { rows: 100_000, cols: 6 });
    seg.close();
    const child = spawnNode(`
      const seg = Segment.open(${JSON.stringify(name)});
      const p = seg.waitForFrame(seg.sequence(), { timeoutMs: 3000 });
      console.log('waiting');
      const out = await p.then((v) => 'resolved ' + v, (e) => e.code);
      seg.close();
      console.log(out);
    `, { env: path === 'thread' ? { SHMSWARM_WAIT: 'thread' } : {} });
    t.after(() => child.kill('SIGKILL'));
    const exit = waitExit(child);
    await waitForLine(child, /^waiting$/);
    truncateSync('/dev/shm' + name, 0);
    const r = await exit;
    assert.equal(r.signal, null, `${path}: the child died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    const outcome = r.stdout.trim().split('\n').pop();
    // EBUS when the kernel ends the wait on the vanished page (6.18 does), else the timeout.
    assert.ok(['EBUS', 'ETIMEDOUT'].includes(outcome), `${path}: ${outcome}`);
    t.diagnostic(`${path}: ${outcome}`);
  }
});

test('a wait longer than one native chunk (500 ms) still resolves on a frame, and close() still cancels it', async (t) => {
  const name = uniqueName(t, 'chunks');
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  t.after(() => seg.close());
  const seq = seg.sequence();
  const got = seg.waitForFrame(seq, { timeoutMs: 20_000 });
  await sleep(1200); // past two chunks
  seg.writeFrame(new Float32Array(1));
  assert.equal(await got, seq + 2);
  const other = Segment.open(name);
  const pending = other.waitForFrame(other.sequence(), { timeoutMs: 20_000 });
  await sleep(700); // into the second chunk
  other.close();
  await assert.rejects(pending, { code: 'ECANCELED' });
});
