// Reads and lock waits that run on a thread-pool thread, against what JS can do meanwhile:
// detach or shrink the destination, close the handle, terminate the worker_threads Worker that
// started them. Each case runs in a Node process of its own, since the failures were a segfault
// and a fatal abort. A C helper (test/native-c/helper.c) holds the segment's lock from another
// process, so that the read has to wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Segment } from '../../dist/core/index.js';
import { DIST, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { buildHelper } from '../native-c/build.js';

const helper = buildHelper();
const ROWS = 1 << 20; // × 4 f32 fields: a 16 MiB frame
// The segment's own robust mutex, used as a raw object's foreign mutex: block B = 64 + D, mutex at B + 384.
const MUTEX_OFFSET = 64 + ROWS * 16 + 384;

/** A segment whose lock another process holds until `holder` is killed. */
async function heldSegment(t, label) {
  const name = uniqueName(t, label);
  Segment.create(name, { rows: ROWS, fields: 'a,b,c,d' }).close();
  const holder = spawn(helper, ['hold', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => holder.kill('SIGKILL'));
  await waitForLine(holder, /holding/);
  return { name, holder };
}

/** An ES module snippet in a child Node (--expose-gc), with the library's exports in scope. */
function runModule(t, code) {
  const prelude = `import * as shmswarm from ${JSON.stringify(DIST)};\nconst { Segment, RawSegment } = shmswarm;\n`;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', prelude + code], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

const DETACH = {
  'transferred away and collected': 'structuredClone(ab, { transfer: [ab] }); for (let i = 0; i < 3; i++) globalThis.gc();',
  'shrunk to nothing (ArrayBuffer#resize)': 'ab.resize(0);',
};
const READER = {
  Segment: 'Segment.open(name)',
  RawSegment: `RawSegment.open(name, { shape: [${ROWS}, 4], offset: 64, mutex: name, mutexOffset: ${MUTEX_OFFSET} })`,
};

for (const [how, detach] of Object.entries(DETACH)) {
  for (const [kind, open] of Object.entries(READER)) {
    test(`${kind}.readFrameAsync: the caller's array ${how} while the read waits for the lock: a TypeError, never a write into freed memory`, async (t) => {
      const { name, holder } = await heldSegment(t, 'detach');
      const child = runModule(
        t,
        `const name = ${JSON.stringify(name)};
        const reader = ${open};
        const ab = new ArrayBuffer(${ROWS * 16}, { maxByteLength: ${ROWS * 16} });
        const p = reader.readFrameAsync({ lock: true, into: new Float32Array(ab), timeoutMs: 20000 });
        ${detach}
        console.log('detached');
        await p.then((f) => console.log('resolved', f.data.length), (e) => console.log('rejected', e.constructor.name, e.message));
        reader.close();`,
      );
      await waitForLine(child, /detached/);
      holder.kill('SIGKILL'); // the read then takes the dead holder's lock over and copies
      const r = await waitExit(child);
      assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /rejected TypeError the destination array was detached or resized while the read was pending/);
    });
  }
}

test('readFrameAsync into an array made by the library, an untouched caller array and one over a SharedArrayBuffer: delivered whole', async (t) => {
  const name = uniqueName(t, 'deliver');
  const seg = Segment.create(name, { rows: 1000, fields: 'a,b' });
  t.after(() => seg.close());
  seg.writeFrame(Float32Array.from({ length: 2000 }, (_, i) => i));
  const own = await seg.readFrameAsync({ lock: true });
  assert.equal(own.data[1999], 1999);
  const into = new Float32Array(2000);
  const f = await seg.readFrameAsync({ lock: true, into });
  assert.equal(f.data, into);
  assert.equal(into[1234], 1234);
  const shared = new Float32Array(new SharedArrayBuffer(8000));
  assert.equal((await seg.readFrameAsync({ into: shared })).data[1999], 1999);
});

test('terminating a worker thread with a locked readFrameAsync, a lockAsync and a waitForFrame pending: no abort, and no wait for their 20 s timeouts', async (t) => {
  const { name } = await heldSegment(t, 'terminate');
  for (const ops of ['rw', 'lw', 'r', 'l']) {
    const child = runModule(
      t,
      `import { Worker } from 'node:worker_threads';
      const worker = new Worker(\`
        import { parentPort, workerData } from 'node:worker_threads';
        const { Segment } = await import(workerData.dist);
        const s = Segment.open(workerData.name);
        const ignore = () => {};
        if (workerData.ops.includes('r')) s.readFrameAsync({ lock: true, timeoutMs: 20000 }).catch(ignore);
        if (workerData.ops.includes('l')) s.lockAsync({ timeoutMs: 20000 }).catch(ignore);
        if (workerData.ops.includes('w')) s.waitForFrame(s.sequence(), { timeoutMs: 20000 }).catch(ignore);
        parentPort.postMessage('waiting');
      \`, { eval: true, workerData: { name: ${JSON.stringify(name)}, ops: ${JSON.stringify(ops)}, dist: ${JSON.stringify(DIST)} } });
      await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const t0 = performance.now();
      await worker.terminate();
      console.log('terminated in', Math.round(performance.now() - t0));`,
    );
    const r = await waitExit(child, 25_000);
    assert.equal(r.signal, null, `${ops}: ${r.signal} ${r.stderr}`);
    assert.equal(r.code, 0, `${ops}: ${r.stderr}`);
    const ms = Number(/terminated in (\d+)/.exec(r.stdout)?.[1]);
    // One wait slice (500 ms) at most is left to run out; the timeouts are 20 s.
    assert.ok(ms < 5000, `${ops}: terminate() took ${ms} ms`);
  }
});

test('close() ends a locked readFrameAsync that waits for the lock: ECANCELED long before its timeout', async (t) => {
  const { name } = await heldSegment(t, 'close');
  const seg = Segment.open(name);
  const t0 = performance.now();
  const p = seg.readFrameAsync({ lock: true, timeoutMs: 20000 });
  setTimeout(() => seg.close(), 100);
  await assert.rejects(p, { code: 'ECANCELED' });
  assert.ok(performance.now() - t0 < 5000, `${Math.round(performance.now() - t0)} ms`);
});

test('a lock-free-only read of a segment whose writer died mid-frame is told that, not that a writer kept overwriting it', async (t) => {
  const name = uniqueName(t, 'deadmid');
  Segment.create(name, { rows: 64, fields: 'a,b,c' }).close();
  const dead = spawn(helper, ['die-mid-frame', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitExit(dead);
  const reader = Segment.open(name, { readonly: true });
  t.after(() => reader.close());
  assert.throws(() => reader.readFrame({ lockFree: true }), (e) => {
    assert.equal(e.code, 'ENOFRAME');
    assert.match(e.message, /writer \(pid \d+\) died in the middle of a frame/);
    assert.doesNotMatch(e.message, /kept overwriting/);
    return true;
  });
});

test('lockAsync started while this thread holds the lock is granted once this thread unlocks (as a locked readFrameAsync is)', async (t) => {
  const name = uniqueName(t, 'selflock');
  const seg = Segment.create(name, { rows: 4, fields: 'a,b' });
  t.after(() => seg.close());
  seg.lock();
  const pending = seg.lockAsync({ timeoutMs: 5000 });
  setTimeout(() => seg.unlock(), 50);
  assert.equal((await pending).recovered, false);
  // This thread holds it again now; the sync lock says so at once.
  assert.throws(() => seg.lock({ timeoutMs: 5000 }), { code: 'EDEADLK' });
  seg.unlock();
});

test('a lock wait whose timeout is just over one 500 ms slice ends in ETIMEDOUT, not EBUSY', async (t) => {
  const { name } = await heldSegment(t, 'slice');
  const seg = Segment.open(name);
  t.after(() => seg.close());
  for (const timeoutMs of [501, 505, 1001]) {
    await assert.rejects(seg.readFrameAsync({ lock: true, timeoutMs }), { code: 'ETIMEDOUT' }, `readFrameAsync ${timeoutMs}`);
    await assert.rejects(seg.lockAsync({ timeoutMs }), { code: 'ETIMEDOUT' }, `lockAsync ${timeoutMs}`);
  }
});
