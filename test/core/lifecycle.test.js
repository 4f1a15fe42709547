// close() and waiting: explicit release, cancellation, cross-process wake-ups, a free event loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segment } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit, waitForLine } from '../helpers.js';

test('close() is idempotent, later calls throw, views become empty', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 8, cols: 2 });
  const ro = Segment.open(name, { readonly: true });
  const v = seg.view();
  const rv = ro.view();
  assert.equal(v.length, 16);
  assert.equal(rv.length, 16);
  seg.close();
  seg.close();
  ro.close();
  assert.equal(seg.closed, true);
  assert.equal(v.length, 0, 'writer view detached');
  assert.equal(v.byteLength, 0);
  assert.equal(rv.length, 0, 'reader (private) view detached');
  assert.equal(v[0], undefined, 'reads past a detached view are undefined, not a fault');
  for (const [what, call] of Object.entries({
    info: () => seg.info(), view: () => seg.view(), sequence: () => seg.sequence(), readFrame: () => seg.readFrame(),
    writeFrame: () => seg.writeFrame(new Float32Array(16)), beginFrame: () => seg.beginFrame(), lock: () => seg.lock(),
    unlock: () => seg.unlock(), nameStatus: () => seg.nameStatus(),
  }))
    assert.throws(call, /closed/, what);
  // the Promise-returning calls fail too (synchronously or by rejecting)
  for (const call of [() => seg.waitForFrame(0), () => seg.readFrameAsync(), () => seg.lockAsync()])
    await assert.rejects(async () => call(), /closed/);
  // the segment itself is untouched: close never unlinks
  const again = Segment.open(name);
  assert.equal(again.info().rows, 8);
  again.close();
});

test('a waitForFrame pending at close() rejects with ECANCELED', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  const pending = seg.waitForFrame(seg.sequence(), { timeoutMs: 30_000 });
  const read = seg.readFrameAsync(); // in flight on a worker while we close: must not crash
  seg.close();
  await assert.rejects(pending, { name: 'ShmswarmError', code: 'ECANCELED' });
  await read.catch(() => {});
});

test('waitForFrame times out with ETIMEDOUT', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  t.after(() => seg.close());
  await assert.rejects(seg.waitForFrame(0, { timeoutMs: 20 }), { name: 'ShmswarmError', code: 'ETIMEDOUT', segment: name });
});

test('waitForFrame resolves on a frame written by another process', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 4, cols: 2 });
  t.after(() => seg.close());
  const waiting = seg.waitForFrame(0, { timeoutMs: 30_000 });
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)});
    // write only once the parent is registered as a waiter, so the futex path is what wakes it
    while (s.info().waiters === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    s.writeFrame(new Float32Array(8).fill(9));
    s.close();`);
  t.after(() => child.kill('SIGKILL'));
  const [seq, r] = await Promise.all([waiting, waitExit(child)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seq, 2);
  assert.ok(seg.readFrame().data.every((x) => x === 9));
  assert.equal(await seg.waitForFrame(0, { timeoutMs: 10 }), 2, 'an already newer frame resolves at once');
});

test('the event loop stays free while waiting: a timer keeps ticking and publishes the frame', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  const reader = Segment.open(name, { readonly: true });
  t.after(() => { seg.close(); reader.close(); });
  let ticks = 0;
  // Only a running event loop can publish: a blocking wait would end in ETIMEDOUT instead.
  const timer = setInterval(() => {
    if (++ticks === 5) seg.writeFrame([1]);
  }, 1);
  t.after(() => clearInterval(timer));
  assert.equal(await reader.waitForFrame(0, { timeoutMs: 30_000 }), 2);
  assert.ok(ticks >= 5);
  const f = await reader.readFrameAsync({ since: 0 });
  assert.equal(f.sequence, 2);
  assert.equal(await reader.readFrameAsync({ since: 2 }), null, 'nothing newer: null, nothing copied');
});

test('Segment.unlink removes the name; existing mappings stay valid; nameStatus tells', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, cols: 1, dtype: 'i32' });
  t.after(() => seg.close());
  seg.writeFrame([7, 8]);
  assert.equal(seg.nameStatus(), 'same');
  Segment.unlink(name);
  assert.equal(seg.nameStatus(), 'gone');
  assert.deepEqual([...seg.readFrame().data], [7, 8]);
  const other = Segment.create(name, { rows: 2, cols: 1, dtype: 'i32' });
  assert.equal(seg.nameStatus(), 'replaced');
  other.close();
  assert.throws(() => Segment.unlink('/shmswarm-test-surely-absent-' + process.pid), { code: 'ENOENT' });
});

// Unmapping a held robust mutex would hide it from the kernel's dead-owner walk: the segment would
// stay locked for every other process, even after this one exits.
for (const [label, code, torn] of [['holding lock()', 's.lock();', false], ['mid-frame', 's.beginFrame().fill(3);', true]]) {
  test(`close() ${label} releases the mutex for other processes`, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 4, cols: 2 });
    t.after(() => seg.close());
    const child = spawnNode(`
      const s = Segment.open(${JSON.stringify(name)});
      ${code}
      s.close();
      console.log('closed');
      setInterval(() => {}, 1000);`);
    t.after(() => child.kill('SIGKILL'));
    const exit = waitExit(child);
    await waitForLine(child, /^closed$/);
    assert.deepEqual(seg.lock({ timeoutMs: 5000 }), { recovered: false }, 'free while the closer lives');
    seg.unlock();
    child.kill('SIGKILL');
    await exit;
    assert.deepEqual(seg.lock({ timeoutMs: 5000 }), { recovered: false }, 'and after it died');
    seg.unlock();
    const f = seg.readFrame({ lock: true });
    assert.equal(f.sequence % 2, 0);
    assert.equal(f.torn, torn);
  });
}

test('closeAndUnlink removes its own name, never a segment re-created under it', (t) => {
  const name = uniqueName(t, 'cau');
  const a = Segment.create(name, { rows: 2, cols: 2 });
  assert.equal(a.closeAndUnlink(), true);
  assert.equal(a.closed, true);
  assert.throws(() => Segment.open(name), { code: 'ENOENT' });
  assert.equal(a.closeAndUnlink(), false, 'closed already: nothing to do');
  const b = Segment.create(name, { rows: 2, cols: 2 });
  Segment.unlink(name);
  const c = Segment.create(name, { rows: 3, cols: 2 }); // someone else's now
  t.after(() => c.close());
  assert.equal(b.closeAndUnlink(), false);
  assert.equal(c.nameStatus(), 'same');
});
