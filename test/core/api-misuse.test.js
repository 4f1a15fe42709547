// The library's answers to misuse: per-call timeouts, options checked before anything is opened,
// frames that are not numbers, rejections instead of throws, closed handles, option messages,
// boolean options, and what watch says of a writer stalled mid-frame. Real segments in /dev/shm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { Segment, RawSegment, ShmswarmError } from '../../dist/core/index.js';
import { Watcher } from '../../dist/core/watch.js';
import { uniqueName, spawnNode, waitForLine } from '../helpers.js';

const openFds = () => readdirSync('/proc/self/fd').length;
const mappingsOf = (name) => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(name) || l.includes(`${name} (deleted)`)).length;

/**
 * A process that holds the segment's lock on request: "lock" → locks, prints "locked";
 * "release-after MS" → prints "armed", unlocks MS later and prints "released".
 */
async function lockHolder(t, name) {
  const child = spawnNode(
    `const s = Segment.open(${JSON.stringify(name)});
    const { createInterface } = await import('node:readline');
    createInterface({ input: process.stdin }).on('line', (line) => {
      const [cmd, ms] = line.split(' ');
      if (cmd === 'lock') { s.lock({ timeoutMs: 5000 }); console.log('locked'); }
      if (cmd === 'release-after') { console.log('armed'); setTimeout(() => { s.unlock(); console.log('released'); }, Number(ms)); }
    });
    console.log('ready');`,
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /^ready$/);
  /** Send a command and wait for its reply line. */
  return async (command, reply) => {
    const answered = waitForLine(child, reply);
    child.stdin.write(command + '\n');
    await answered;
  };
}

test('a per-call timeoutMs applies to that call only; without one, reads and locks wait the handle\'s timeoutMs', async (t) => {
  const name = uniqueName(t, 'timeouts');
  const writer = Segment.create(name, { rows: 2, cols: 2, timeoutMs: 10_000 });
  t.after(() => writer.close());
  writer.writeFrame([1, 2, 3, 4]);
  const reader = Segment.open(name, { timeoutMs: 10_000 });
  t.after(() => reader.close());
  const send = await lockHolder(t, name);

  // Sync: the 50 ms of one read must not stick to the handle. The lock is released after 1.5 s,
  // longer than the 1 s default: only the handle's 10 s lets the next read get it.
  await send('lock', /^locked$/);
  assert.throws(() => reader.readFrame({ lock: true, timeoutMs: 50 }), { code: 'ETIMEDOUT' });
  await send('release-after 1500', /^armed$/);
  assert.equal(reader.readFrame({ lock: true }).locked, true);

  // readFrameAsync without timeoutMs waits the handle's 10 s, not 1 s.
  await send('lock', /^locked$/);
  const waiting = reader.readFrameAsync({ lock: true });
  await send('release-after 1500', /^armed$/);
  assert.equal((await waiting).locked, true);

  // readFrameAsync's own 50 ms does not stick to the handle either.
  await send('lock', /^locked$/);
  await assert.rejects(reader.readFrameAsync({ lock: true, timeoutMs: 50 }), { code: 'ETIMEDOUT' });
  await send('release-after 1500', /^armed$/);
  assert.equal(reader.readFrame({ lock: true }).locked, true);

  // lock() and lockAsync() without timeoutMs wait the handle's 10 s, not 1 s.
  await send('lock', /^locked$/);
  await send('release-after 1500', /^armed$/);
  reader.lock();
  reader.unlock();
  await send('lock', /^locked$/);
  await send('release-after 1500', /^armed$/);
  await reader.lockAsync();
  reader.unlock();

  // The writer waits its own handle's timeout too: create's timeoutMs.
  await send('lock', /^locked$/);
  await send('release-after 1500', /^armed$/);
  writer.writeFrame([5, 6, 7, 8]);
  assert.deepEqual([...reader.readFrame().data], [5, 6, 7, 8]);
});

test('open and create with a bad option throw before opening anything: no descriptor or mapping left after 50 tries', (t) => {
  const name = uniqueName(t, 'noleak');
  const seg = Segment.create(name, { rows: 1000, cols: 4 });
  t.after(() => seg.close());
  const fds = openFds();
  const maps = mappingsOf(name);
  for (let i = 0; i < 50; i++) assert.throws(() => Segment.open(name, { timeoutMs: -1 }), RangeError);
  assert.equal(openFds(), fds, 'file descriptors leaked by open({ timeoutMs: -1 })');
  assert.equal(mappingsOf(name), maps, 'mappings leaked by open({ timeoutMs: -1 })');
  const badOpens = [
    { timeoutMs: -1 },
    { timeoutMs: NaN },
    { timeoutMs: '5' },
    { initWaitMs: -1 },
    { readonly: 'yes' },
    { dtype: 'f16' },
    { dtype: 'f64' }, // a real dtype, not this segment's: refused after opening, and closed
  ];
  for (let i = 0; i < 50; i++) {
    for (const options of badOpens) assert.throws(() => Segment.open(name, options), (e) => e instanceof TypeError || e instanceof RangeError || e.code === 'EINCOMPATIBLE');
    assert.throws(() => Segment.create(name, { rows: 1, cols: 1, timeoutMs: -1, replace: true }), RangeError);
    assert.throws(() => Segment.create(name, { rows: 1, cols: 1, replace: 'yes' }), TypeError);
  }
  assert.equal(openFds(), fds, 'file descriptors leaked');
  assert.equal(mappingsOf(name), maps, 'mappings leaked');
  assert.throws(() => Segment.open(name, { dtype: 'f64' }), (e) => e instanceof ShmswarmError && e.code === 'EINCOMPATIBLE' && e.segment === name && /f32/.test(e.message));
  const typed = Segment.open(name, { dtype: 'float32', readonly: true });
  assert.ok(typed.view() instanceof Float32Array);
  typed.close();
});

test('writeFrame refuses anything but typed arrays and arrays of numbers (bigints for i64), publishing nothing', (t) => {
  const name = uniqueName(t, 'frames');
  const seg = Segment.create(name, { rows: 3, cols: 2 });
  t.after(() => seg.close());
  seg.writeFrame([1, 2, 3, 4, 5, 6]);
  const seq = seg.sequence();
  const refused = [
    [['1', 'a', 3, 4, 5, 6], /element 0 is "1"/],
    [[1, 2, 3, 4, 5, undefined], /element 5 is undefined/],
    [[1, 2, 3, 4, 5, 6n], /element 5 is 6n/],
    // eslint-disable-next-line no-sparse-arrays
    [[1, , 3, 4, 5, 6], /element 1 is undefined/],
    [{ length: 6 }, /got an object \(Object\)/],
    ['123456', /got "123456"/],
    [null, /got null/],
    [new DataView(new ArrayBuffer(24)), /got an object \(DataView\)/],
    [new BigInt64Array(6), /got a BigInt64Array/],
  ];
  for (const [src, message] of refused) assert.throws(() => seg.writeFrame(src), { name: 'TypeError', message }, String(src));
  assert.equal(seg.sequence(), seq, 'a refused frame was published');
  assert.deepEqual([...seg.readFrame().data], [1, 2, 3, 4, 5, 6]);
  seg.writeFrame(new Float64Array([1.5, 2, 3, 4, 5, 6]));
  seg.writeFrame(new Int32Array([7, 8, 9, 10, 11, 12]));
  assert.deepEqual([...seg.readFrame().data], [7, 8, 9, 10, 11, 12]);

  const bigName = uniqueName(t, 'frames64');
  const big = Segment.create(bigName, { rows: 1, cols: 2, dtype: 'i64' });
  t.after(() => big.close());
  big.writeFrame([1n, -2n]);
  assert.deepEqual([...big.readFrame().data], [1n, -2n]);
  assert.throws(() => big.writeFrame([1, 2]), { name: 'TypeError', message: /bigints for dtype i64; element 0 is 1/ });
  assert.throws(() => big.writeFrame(new Float64Array(2)), { name: 'TypeError', message: /got a Float64Array/ });
});

test('since and afterSequence must be sequence numbers: NaN, strings and fractions are refused, not read as "none seen"', async (t) => {
  const name = uniqueName(t, 'since');
  const seg = Segment.create(name, { rows: 1, cols: 2 });
  t.after(() => seg.close());
  seg.writeFrame([1, 2]);
  for (const since of [NaN, 'x', String(seg.sequence()), 1.5, null]) {
    assert.throws(() => seg.readFrame({ since }), TypeError, String(since));
    await assert.rejects(seg.readFrameAsync({ since }), TypeError, String(since));
    await assert.rejects(seg.waitForFrame(since, { timeoutMs: 10 }), TypeError, String(since));
  }
  for (const since of [-2, 1e300]) {
    assert.throws(() => seg.readFrame({ since }), RangeError);
    await assert.rejects(seg.waitForFrame(since, { timeoutMs: 10 }), RangeError);
  }
  assert.equal(seg.readFrame({ since: seg.sequence() }), null);
  assert.equal(seg.readFrame({ since: -1 }).sequence, seg.sequence(), '-1 is "none seen"');
  assert.equal(await seg.waitForFrame(0, { timeoutMs: 10 }), seg.sequence());
});

test('waitForFrame never throws: a closed handle, bad options and a shrunk segment are rejections', async (t) => {
  const name = uniqueName(t, 'rejects');
  const seg = Segment.create(name, { rows: 1000, cols: 4 });
  seg.writeFrame(new Float32Array(4000));
  const reader = Segment.open(name, { readonly: true });
  t.after(() => reader.close());
  const calls = {
    'bad timeout': [() => seg.waitForFrame(0, { timeoutMs: -1 }), RangeError],
    'bad lowLatency': [() => seg.waitForFrame(0, { lowLatency: 1 }), TypeError],
    'bad options': [() => seg.waitForFrame(0, 5), TypeError],
  };
  for (const [what, [call, expected]] of Object.entries(calls)) {
    let pending;
    assert.doesNotThrow(() => (pending = call()), what);
    await assert.rejects(pending, expected, what);
  }
  truncateSync('/dev/shm' + name, 0);
  let shrunk;
  assert.doesNotThrow(() => (shrunk = reader.waitForFrame(0, { timeoutMs: 100 })));
  await assert.rejects(shrunk, { code: 'EBUS' });
  seg.close();
  let closed;
  assert.doesNotThrow(() => (closed = seg.waitForFrame(0)));
  await assert.rejects(closed, { code: 'ECLOSED', segment: name });
});

test('calls on a closed handle throw ShmswarmError ECLOSED naming the segment; endFrame without beginFrame ENOTBEGUN', async (t) => {
  const name = uniqueName(t, 'closed');
  const seg = Segment.create(name, { rows: 2, cols: 2 });
  assert.throws(() => seg.endFrame(), (e) => e instanceof ShmswarmError && e.code === 'ENOTBEGUN' && e.segment === name);
  seg.beginFrame();
  seg.endFrame();
  assert.throws(() => seg.endFrame(), { code: 'ENOTBEGUN' });
  seg.close();
  const closed = (e) => e instanceof ShmswarmError && e.code === 'ECLOSED' && e.segment === name && e.message.includes(name);
  const sync = {
    info: () => seg.info(),
    sequence: () => seg.sequence(),
    view: () => seg.view(),
    writeFrame: () => seg.writeFrame([1, 2, 3, 4]),
    readFrame: () => seg.readFrame(),
    beginFrame: () => seg.beginFrame(),
    endFrame: () => seg.endFrame(),
    lock: () => seg.lock(),
    unlock: () => seg.unlock(),
    nameStatus: () => seg.nameStatus(),
  };
  for (const [what, call] of Object.entries(sync)) assert.throws(call, closed, what);
  await assert.rejects(seg.readFrameAsync(), closed);
  await assert.rejects(seg.lockAsync(), closed);
  await assert.rejects(seg.waitForFrame(0), closed);
  assert.equal(seg.closeAndUnlink(), false);

  const rawName = uniqueName(t, 'closedraw');
  writeFileSync('/dev/shm' + rawName, Buffer.alloc(16));
  const raw = RawSegment.open(rawName, { shape: '2x2' });
  raw.close();
  assert.throws(() => raw.readFrame(), (e) => e instanceof ShmswarmError && e.code === 'ECLOSED' && e.segment === rawName);
  await assert.rejects(raw.readFrameAsync(), { code: 'ECLOSED' });
});

test('option errors say what was given: NaN, Infinity and bigints shown, empty fields named, null options allowed', (t) => {
  const name = uniqueName(t, 'messages');
  const cases = [
    [{ rows: NaN, cols: 2 }, { name: 'TypeError', message: 'rows must be an integer, got NaN' }],
    [{ rows: Infinity, cols: 2 }, { name: 'TypeError', message: 'rows must be an integer, got Infinity' }],
    [{ rows: 10n, cols: 2 }, { name: 'TypeError', message: 'rows must be an integer, got 10n' }],
    [{ rows: '10', cols: 2 }, { name: 'TypeError', message: 'rows must be an integer, got "10"' }],
    [{ rows: 1, fields: [] }, { name: 'TypeError', message: /fields must not be empty/ }],
    [{ rows: 1, fields: new Set(['a']) }, { name: 'TypeError', message: /fields must be a string .* or an array/ }],
    [{ rows: 1, cols: 1, timeoutMs: 10n }, { name: 'TypeError', message: 'timeoutMs must be a number of ms, got 10n' }],
  ];
  for (const [options, expected] of cases) assert.throws(() => Segment.create(name, options), expected);
  assert.throws(() => Segment.create(name, 'rows=1'), { name: 'TypeError', message: /options must be an object, got "rows=1"/ });
  writeFileSync('/dev/shm' + name, Buffer.alloc(16));
  assert.throws(() => RawSegment.open(name, { shape: '2x2', offset: 1n }), { name: 'TypeError', message: /got 1n/ });
  assert.throws(() => RawSegment.open(name, { shape: [2n, 2] }), { name: 'TypeError', message: /got \[2n, 2\]/ });

  const seg = Segment.create(uniqueName(t, 'nullopts'), { rows: 1, cols: 1 });
  t.after(() => seg.close());
  for (const options of [null, undefined]) Segment.open(seg.name, options).close();
  assert.throws(() => Segment.open(seg.name, 5), { name: 'TypeError', message: 'options must be an object, got 5' });
  assert.equal(seg.readFrame(null).data.length, 1);
});

test('boolean options must be booleans: readonly "yes" is refused, not kept as a truthy string', async (t) => {
  const name = uniqueName(t, 'booleans');
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  t.after(() => seg.close());
  for (const v of ['yes', 1, null]) {
    assert.throws(() => Segment.open(name, { readonly: v }), { name: 'TypeError', message: /readonly must be true or false/ });
    assert.throws(() => Segment.create(name, { rows: 1, cols: 1, replace: v }), { name: 'TypeError', message: /replace must be true or false/ });
    assert.throws(() => seg.readFrame({ lock: v }), { name: 'TypeError', message: /lock must be true or false/ });
    assert.throws(() => seg.readFrame({ lockFree: v }), { name: 'TypeError', message: /lockFree must be true or false/ });
    await assert.rejects(seg.readFrameAsync({ lock: v }), TypeError);
    await assert.rejects(seg.waitForFrame(0, { lowLatency: v }), TypeError);
    assert.throws(() => Segment.unlink(name, { force: v }), { name: 'TypeError', message: /force must be true or false/ });
  }
  const reader = Segment.open(name, { readonly: true });
  assert.equal(reader.readonly, true);
  reader.close();
  const writer = Segment.open(name, { readonly: false });
  assert.equal(writer.readonly, false);
  writer.close();
});

test('watch says a writer is stalled mid-frame when the sequence stayed odd since the last look, not that it kept overwriting', (t) => {
  const name = uniqueName(t, 'stalled');
  const seg = Segment.create(name, { rows: 100, cols: 2 });
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(200));
  const watcher = new Watcher(name);
  seg.beginFrame(); // the writer stops here, sequence odd
  try {
    const t0 = Date.now();
    watcher.poll(t0);
    const second = watcher.poll(t0 + 500);
    assert.match(second.message ?? '', /half-written for at least 0\.5 s \(writer stalled mid-frame\?\)/);
    assert.doesNotMatch(second.message, /kept overwriting/);
    assert.equal(second.frameStuck, false);
    const later = watcher.poll(t0 + 3000);
    assert.match(later.message ?? '', /in progress for 3\.0 s: its writer is stopped, or died holding the lock/);
    assert.equal(later.frameStuck, true, 'the CLI adds its repair hint on this flag');
  } finally {
    seg.endFrame();
    watcher.close();
  }
});

test('a name with a lone UTF-16 surrogate is refused: it would reach the system as U+FFFD, another name', () => {
  for (const name of ['/a\uD800', '/\uDFFFb', '/x\uDC00y']) {
    assert.throws(() => Segment.create(name, { rows: 1, cols: 1 }), { name: 'TypeError', message: /lone UTF-16 surrogate/ });
    assert.throws(() => Segment.open(name), { name: 'TypeError' });
  }
  assert.equal(readdirSync('/dev/shm').filter((e) => e.includes('\uFFFD')).length, 0);
});
