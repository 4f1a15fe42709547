// Plain WA-1 objects, as Julia's InterProcessCommunication.jl WrappedArray makes them: no shmswarm
// block, no lock, no sequence. They open read-only and read unsynchronised; writing is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Segment, ShmswarmError } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit } from '../helpers.js';

/** What WrappedArray(id, T, dims) writes: the WA-1 header, then the array in Julia (column-major) order. */
function juliaObject(etype, dims, elements, trailing = 0) {
  const offset = Math.ceil((16 + 8 * dims.length) / 64) * 64;
  const buf = Buffer.alloc(offset + elements.byteLength + trailing);
  buf.writeUInt32LE(0x57412d31, 0);
  buf.writeUInt16LE(etype, 4);
  buf.writeUInt16LE(dims.length, 6);
  buf.writeBigInt64LE(BigInt(offset), 8);
  dims.forEach((d, i) => buf.writeBigInt64LE(BigInt(d), 16 + 8 * i));
  Buffer.from(elements.buffer, elements.byteOffset, elements.byteLength).copy(buf, offset);
  return buf;
}

test('a Julia 3 × 4 Float32 matrix opens read-only as 4 agents of 3 fields', async (t) => {
  const name = uniqueName(t);
  // Julia's m[f, a] (f fastest) is agent a's field f: the same bytes as a C 4 × 3 row-major matrix
  const data = Float32Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3));
  writeFileSync('/dev/shm' + name, juliaObject(9, [3, 4], data));
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.equal(seg.kind, 'wa1');
  assert.equal(seg.rows, 4);
  assert.equal(seg.cols, 3);
  assert.equal(seg.dtype, 'f32');
  assert.deepEqual(seg.fields, ['c0', 'c1', 'c2']);
  const i = seg.info();
  assert.equal(i.kind, 'wa1');
  assert.equal(i.fieldsNamed, false);
  assert.equal(i.formatVersion, null);
  assert.equal(i.writerPid, null);
  assert.equal(i.writerAlive, false);
  assert.equal(i.lastWriteTime, null);
  assert.equal(i.sequence, 0);
  assert.equal(i.createdTime, null);
  const f = seg.readFrame();
  assert.equal(f.unsynced, true);
  assert.equal(f.locked, false);
  assert.deepEqual([...f.data], [...data]);
  assert.deepEqual([...seg.view()], [...data]);
  for (const opts of [{ lock: true }, { lockFree: true }]) assert.equal(seg.readFrame(opts).unsynced, true);
  // a reader in another process sees it the same way
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)}, { readonly: true });
    console.log(JSON.stringify({ kind: s.kind, rows: s.rows, cols: s.cols, row2: [...s.readFrame().data.subarray(6, 9)] }));
    s.close();`);
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { kind: 'wa1', rows: 4, cols: 3, row2: [20, 21, 22] });
});

test('a plain WA-1 object refuses writing, locking and waiting with ENOTSYNC', async (t) => {
  const name = uniqueName(t);
  writeFileSync('/dev/shm' + name, juliaObject(10, [2, 2], new Float64Array([1, 2, 3, 4])));
  assert.throws(() => Segment.open(name), { name: 'ShmswarmError', code: 'ENOTSYNC', message: /opens read-only/ });
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.throws(() => seg.writeFrame([0, 0, 0, 0]), TypeError);
  assert.throws(() => seg.beginFrame(), TypeError);
  assert.throws(() => seg.lock(), { code: 'ENOTSYNC' });
  await assert.rejects(seg.waitForFrame(0, { timeoutMs: 10 }), { code: 'ENOTSYNC' });
  assert.deepEqual(Segment.list().find((s) => s.name === name)?.kind, 'wa1');
});

test('other Julia shapes: a vector, a 3-D array, trailing bytes, every integer type', (t) => {
  const cases = [
    { etype: 5, dims: [6], data: new Int32Array([1, 2, 3, 4, 5, 6]), rows: 1, cols: 6 },
    { etype: 3, dims: [2, 3, 2], data: Int16Array.from({ length: 12 }, (_, i) => -i), rows: 6, cols: 2 },
    { etype: 2, dims: [4, 2], data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), rows: 2, cols: 4, trailing: 4096 },
    { etype: 8, dims: [1, 2], data: new BigUint64Array([2n ** 64n - 1n, 5n]), rows: 2, cols: 1 },
  ];
  for (const c of cases) {
    const name = uniqueName(t);
    writeFileSync('/dev/shm' + name, juliaObject(c.etype, c.dims, c.data, c.trailing));
    const seg = Segment.open(name, { readonly: true });
    assert.equal(seg.kind, 'wa1');
    assert.equal(seg.rows, c.rows, `dims ${c.dims}`);
    assert.equal(seg.cols, c.cols);
    assert.deepEqual([...seg.readFrame().data].map(String), [...c.data].map(String));
    seg.close();
  }
});

test('a WA-1 object smaller than its dims say is refused with ETRUNCATED', (t) => {
  const name = uniqueName(t);
  writeFileSync('/dev/shm' + name, juliaObject(9, [3, 4], new Float32Array(12)).subarray(0, 64 + 40));
  assert.throws(() => Segment.open(name, { readonly: true }), (e) => e instanceof ShmswarmError && e.code === 'ETRUNCATED');
});
