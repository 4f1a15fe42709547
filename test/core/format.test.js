// Segment format v1 on the wire: the WA-1 header, the matrix at byte 64, the shmswarm block after
// it, and a round trip through another process. Bytes are read from /dev/shm with fs, not the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Segment, DTYPE_NAMES, parseDtype } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit, waitForLine } from '../helpers.js';

const shmBytes = (name) => readFileSync('/dev/shm' + name);
const roundup = (x, a) => Math.ceil(x / a) * a;

test('WA-1 header bytes 0..63 are exactly what InterProcessCommunication.jl reads', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 5, fields: ['x', 'y', 'z'], dtype: 'f32' });
  t.after(() => seg.close());
  const b = shmBytes(name);
  assert.equal(b.readUInt32LE(0), 0x57412d31, 'magic "WA-1"');
  assert.equal(b.readUInt16LE(4), 9, 'etype Float32');
  assert.equal(b.readUInt16LE(6), 2, 'ndims');
  assert.equal(b.readBigInt64LE(8), 64n, 'data offset');
  assert.equal(b.readBigInt64LE(16), 3n, 'dims[0] = cols (fastest varying)');
  assert.equal(b.readBigInt64LE(24), 5n, 'dims[1] = rows (agents)');
  assert.ok(b.subarray(32, 64).every((x) => x === 0), 'bytes 32..63 are zero');
});

test('the data sits at byte 64, agent-major, and the block at the next 64-byte boundary', (t) => {
  const name = uniqueName(t);
  const rows = 3;
  const cols = 5; // 60 bytes of data: the block is at roundup(124, 64) = 128
  const seg = Segment.create(name, { rows, cols, dtype: 'i32' });
  t.after(() => seg.close());
  const frame = Int32Array.from({ length: rows * cols }, (_, i) => 1000 * Math.floor(i / cols) + (i % cols));
  seg.writeFrame(frame);
  const b = shmBytes(name);
  for (let agent = 0; agent < rows; agent++)
    for (let field = 0; field < cols; field++)
      assert.equal(b.readInt32LE(64 + 4 * (agent * cols + field)), 1000 * agent + field);
  const blockOffset = roundup(64 + rows * cols * 4, 64);
  assert.equal(blockOffset, 128);
  assert.equal(b.subarray(blockOffset, blockOffset + 8).toString('latin1'), 'SHMSWRM1', 'block magic');
  assert.equal(b.readUInt32LE(blockOffset + 8), 1, 'format version');
  assert.equal(b.readUInt32LE(blockOffset + 12) & 0xffff, 40, 'layout: sizeof(pthread_mutex_t) on glibc x86-64');
  assert.equal(b.readUInt32LE(blockOffset + 12) >>> 16, 64, 'layout: cache line');
  assert.equal(b.readBigUInt64LE(blockOffset + 16), BigInt(rows));
  assert.equal(b.readUInt32LE(blockOffset + 24), cols);
  assert.equal(b.readUInt16LE(blockOffset + 28), 5, 'dtype Int32');
  assert.equal(b.readUInt16LE(blockOffset + 30), 4, 'element size');
  assert.equal(b.readBigUInt64LE(blockOffset + 32), 64n);
  assert.equal(b.readBigUInt64LE(blockOffset + 40), BigInt(rows * cols * 4));
  assert.equal(b.readBigUInt64LE(blockOffset + 48), BigInt(blockOffset));
  assert.equal(b.readInt32LE(blockOffset + 64 + 24), process.pid, 'creator pid');
  assert.equal(b.readUInt32LE(blockOffset + 64 + 32), 0x59444552, 'init_state READY');
  assert.equal(b.readBigUInt64LE(blockOffset + 128), 2n, 'sequence after one frame');
  assert.equal(b.readBigUInt64LE(blockOffset + 192), 1n, 'frames');
  assert.equal(b.readInt32LE(blockOffset + 216), process.pid, 'writer pid');
  assert.equal(b.length, blockOffset + 512, 'no field names: the object ends with the block');
});

test('field names follow the 512-byte block, padded to 64 bytes', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, fields: 'x,y,vx,vy' });
  t.after(() => seg.close());
  const b = shmBytes(name);
  const blockOffset = roundup(64 + 2 * 4 * 4, 64);
  assert.equal(b.readUInt32LE(blockOffset + 56), 'x,y,vx,vy'.length);
  assert.equal(b.subarray(blockOffset + 512, blockOffset + 512 + 9).toString('latin1'), 'x,y,vx,vy');
  assert.equal(b.length, blockOffset + 512 + 64);
  assert.equal(seg.info().bytes, b.length);
});

test('create, open in another process, info round trip', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 4, fields: ['x', 'y', 'vx', 'vy'], dtype: 'f64' });
  t.after(() => seg.close());
  seg.writeFrame(Float64Array.from({ length: 16 }, (_, i) => i / 4));
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)}, { readonly: true });
    const f = s.readFrame();
    console.log(JSON.stringify({ info: s.info(), data: [...f.data], sequence: f.sequence }));
    s.close();`);
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const { info, data, sequence } = JSON.parse(r.stdout);
  const mine = seg.info();
  for (const k of ['name', 'kind', 'rows', 'cols', 'dtype', 'elementBytes', 'dataBytes', 'bytes', 'mode', 'ino', 'createdTime', 'creatorPid', 'sequence', 'frames', 'lastWriteTime', 'writerPid', 'formatVersion'])
    assert.deepEqual(info[k], mine[k], k);
  assert.deepEqual(info.fields, ['x', 'y', 'vx', 'vy']);
  assert.equal(info.writerAlive, true);
  assert.equal(info.writerPid, process.pid);
  assert.deepEqual(data, Array.from({ length: 16 }, (_, i) => i / 4));
  assert.equal(sequence, 2);
  assert.equal(mine.kind, 'shmswarm');
  assert.equal(mine.mode, 0o600);
});

test('all ten dtypes round-trip through another process', async (t) => {
  assert.equal(DTYPE_NAMES.length, 10);
  const names = {};
  const written = {};
  for (const dt of DTYPE_NAMES) {
    const name = uniqueName(t, dt);
    names[dt] = name;
    const d = parseDtype(dt);
    const seg = Segment.create(name, { rows: 3, cols: 2, dtype: dt });
    const frame = new d.array(6);
    // extremes of each type, so a wrong width or signedness shows
    const vals = {
      i8: [-128, 127, -1, 0, 1, 2], u8: [0, 255, 1, 2, 3, 4], i16: [-32768, 32767, -1, 0, 1, 2],
      u16: [0, 65535, 1, 2, 3, 4], i32: [-(2 ** 31), 2 ** 31 - 1, -1, 0, 1, 2], u32: [0, 2 ** 32 - 1, 1, 2, 3, 4],
      i64: [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 1n, 2n], u64: [0n, 2n ** 64n - 1n, 1n, 2n, 3n, 4n],
      f32: [-1.5, 3.25, 1e30, -0, 0.5, 2], f64: [Math.PI, -1e300, 5e-324, 0, 1, 2],
    }[dt];
    frame.set(vals);
    seg.writeFrame(frame);
    written[dt] = [...frame].map(String);
    assert.equal(shmBytes(name).readUInt16LE(4), d.code, `${dt} WA-1 code`);
    seg.close();
  }
  const child = spawnNode(`
    const out = {};
    for (const [dt, name] of Object.entries(${JSON.stringify(names)})) {
      const s = Segment.open(name, { readonly: true });
      const f = s.readFrame();
      out[dt] = { dtype: s.dtype, ctor: f.data.constructor.name, data: [...f.data].map(String), view: [...s.view()].map(String) };
      s.close();
    }
    console.log(JSON.stringify(out));`);
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const dt of DTYPE_NAMES) {
    const d = parseDtype(dt);
    const expected = written[dt];
    assert.equal(out[dt].dtype, dt);
    assert.equal(out[dt].ctor, d.array.name);
    assert.deepEqual(out[dt].data, expected, dt);
    assert.deepEqual(out[dt].view, expected, `${dt} view`);
  }
});

test('zero copy: a store through the writer view is seen by another process', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, cols: 2, dtype: 'f32' });
  t.after(() => seg.close());
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)});
    const v = s.view();
    v[3] = 42.5;
    console.log('stored');
    process.stdin.resume();
    process.stdin.on('end', () => { console.log('view', [...v].join(',')); s.close(); });`,
  { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const done = waitExit(child);
  await waitForLine(child, /^stored$/);
  // no writeFrame, no lock: the reader's view and the file are the same memory
  const ro = Segment.open(name, { readonly: true });
  t.after(() => ro.close());
  assert.equal(ro.view()[3], 42.5);
  assert.equal(seg.view()[3], 42.5);
  assert.equal(shmBytes(name).readFloatLE(64 + 12), 42.5);
  seg.view()[0] = -7;
  child.stdin.end();
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^view -7,0,0,42.5$/m);
});
