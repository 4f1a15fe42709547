// Julia's side: an object holding exactly the bytes InterProcessCommunication.jl's
// WrappedArray(id, T, dims) writes (WA-1 header, zero padding to 64, the elements, nothing else)
// is recognised without --raw. And the Python reader's header validation agrees with the C one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Segment, openFrameSource } from '../../dist/core/index.js';
import { runCli, uniqueName } from '../helpers.js';
import { PY_PRELUDE, cliHas, pythonMissing, rampK } from './build.js';

const WA1_MAGIC = 0x57412d31;
const ETYPES = { f32: 9, f64: 10, i32: 5 };
const WRITERS = { f32: 'writeFloatLE', f64: 'writeDoubleLE', i32: 'writeInt32LE' };
const SIZES = { f32: 4, f64: 8, i32: 4 };

/**
 * The bytes of WrappedArray(id, T, dims): u32 magic, u16 etype, u16 ndims, i64 offset
 * (roundup(16 + 8*ndims, 64)), ndims × i64 dims, zeros up to the offset, then the elements
 * (filled with the ramp). Julia dims: the first varies fastest, so a C rows × cols matrix is
 * dims (cols, rows).
 */
function wrappedArrayBytes(dtype, dims) {
  const offset = Math.ceil((16 + 8 * dims.length) / 64) * 64;
  const n = dims.reduce((a, b) => a * b, 1);
  const buf = Buffer.alloc(offset + n * SIZES[dtype]);
  buf.writeUInt32LE(WA1_MAGIC, 0);
  buf.writeUInt16LE(ETYPES[dtype], 4);
  buf.writeUInt16LE(dims.length, 6);
  buf.writeBigInt64LE(BigInt(offset), 8);
  dims.forEach((d, i) => buf.writeBigInt64LE(BigInt(d), 16 + 8 * i));
  for (let i = 0; i < n; i++) buf[WRITERS[dtype]](1 + i, offset + i * SIZES[dtype]);
  return buf;
}

function writeObject(name, bytes) {
  writeFileSync('/dev/shm' + name, bytes, { mode: 0o600 });
}

test('WrappedArray bytes (Float32, dims (3, 100)) open read-only as a plain WA-1 segment', (t) => {
  const name = uniqueName(t, 'wa1');
  writeObject(name, wrappedArrayBytes('f32', [3, 100]));
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.equal(seg.kind, 'wa1');
  assert.deepEqual([seg.rows, seg.cols, seg.dtype], [100, 3, 'f32']);
  assert.deepEqual([...seg.fields], ['c0', 'c1', 'c2']);
  const f = seg.readFrame();
  assert.equal(f.unsynced, true);
  assert.equal(rampK(f.data), 1);
  const info = seg.info();
  assert.equal(info.kind, 'wa1');
  assert.equal(info.fieldsNamed, false);
  assert.equal(info.formatVersion, null);
  assert.equal(info.bytes, 64 + 300 * 4);
  // No shmswarm block: nothing to lock, so no writing through shmswarm.
  assert.throws(() => Segment.open(name), { code: 'ENOTSYNC' });
  const src = openFrameSource(name);
  assert.equal(src.kind, 'wa1');
  src.close();
});

test('WrappedArray bytes of more dimensions and other types: rows are the flattened trailing dims', (t) => {
  const name = uniqueName(t, 'wa1nd');
  writeObject(name, wrappedArrayBytes('f64', [2, 3, 4]));
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.deepEqual([seg.rows, seg.cols, seg.dtype], [12, 2, 'f64']);
  assert.equal(rampK(seg.readFrame().data), 1);
  const name2 = uniqueName(t, 'wa1i32');
  writeObject(name2, wrappedArrayBytes('i32', [5, 7]));
  const seg2 = Segment.open(name2, { readonly: true });
  t.after(() => seg2.close());
  assert.deepEqual([seg2.rows, seg2.cols, seg2.dtype], [7, 5, 'i32']);
  assert.equal(rampK(seg2.readFrame().data), 1);
});

test('the Python reader reads WrappedArray bytes: shape (rows, cols), no fields, unsynced', (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'wa1py');
  writeObject(name, wrappedArrayBytes('f32', [3, 100]));
  const code = `${PY_PRELUDE}
import json
seg = shmswarm.open(${JSON.stringify(name)})
a, seq = seg.read(with_sequence=True)
ramp = 1 + np.arange(300, dtype=np.float32).reshape(100, 3)
print(json.dumps({'kind': seg.kind, 'synced': seg.synced, 'shape': list(a.shape), 'dtype': str(a.dtype),
                  'fields': seg.fields, 'seq': seq, 'ramp': bool((a == ramp).all()), 'frames': seg.frames}))
seg.close()
`;
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    kind: 'wa1', synced: false, shape: [100, 3], dtype: 'float32', fields: ['c0', 'c1', 'c2'], seq: null, ramp: true, frames: null,
  });
});

test('CLI dump --json reads WrappedArray bytes without --raw', (t) => {
  if (!cliHas('dump')) return t.todo('the CLI dump command is not built yet (issue 3)');
  const name = uniqueName(t, 'wa1dump');
  writeObject(name, wrappedArrayBytes('f32', [3, 10]));
  const r = runCli(['dump', name, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.data.length, 10);
  assert.deepEqual(j.data[0], [1, 2, 3]);
  assert.equal(rampK(j.data.flat()), 1);
});

/** Header variants: [label, bytes]. Offsets follow docs/FORMAT.md (block at roundup(64 + data, 64)). */
function headerVariants(good) {
  const rows = Number(good.readBigInt64LE(24));
  const cols = Number(good.readBigInt64LE(16));
  const block = Math.ceil((64 + rows * cols * 4) / 64) * 64;
  const mut = (label, f) => {
    const b = Buffer.from(good);
    const r = f(b);
    return [label, Buffer.isBuffer(r) ? r : b];
  };
  return [
    ['good', good],
    mut('empty', () => Buffer.alloc(0)),
    mut('shorter than a header', (b) => b.subarray(0, 40)),
    mut('magic zero', (b) => b.writeUInt32LE(0, 0)),
    mut('magic byte-swapped', (b) => b.writeUInt32BE(WA1_MAGIC, 0)),
    mut('magic garbage', (b) => b.writeUInt32LE(0xdeadbeef, 0)),
    mut('complex etype', (b) => b.writeUInt16LE(11, 4)),
    mut('etype 0', (b) => b.writeUInt16LE(0, 4)),
    mut('ndims 0', (b) => b.writeUInt16LE(0, 6)),
    mut('offset 72', (b) => b.writeBigInt64LE(72n, 8)),
    mut('dimension 0', (b) => b.writeBigInt64LE(0n, 16)),
    mut('data cut short', (b) => b.subarray(0, 64 + rows * cols * 4 - 1)),
    mut('block cut short', (b) => b.subarray(0, block + 100)),
    mut('block version 2', (b) => b.writeUInt32LE(2, block + 8)),
    mut('block layout', (b) => b.writeUInt32LE(b.readUInt32LE(block + 12) + 8, block + 12)),
    mut('init_state 0', (b) => b.writeUInt32LE(0, block + 96)),
    mut('block rows disagree', (b) => b.writeBigUInt64LE(BigInt(rows + 1), block + 16)),
    mut('created time changed', (b) => b.writeBigInt64LE(1n, block + 64)),
    mut('field name byte changed', (b) => (b[block + 512] = 0x71)),
    mut('checksum changed', (b) => b.writeUInt32LE((b.readUInt32LE(block + 60) ^ 1) >>> 0, block + 60)),
    mut('total_size wrong', (b) => b.writeBigUInt64LE(b.readBigUInt64LE(block + 80) + 64n, block + 80)),
    mut('object cut before total_size', (b) => b.subarray(0, b.length - 1)),
    mut('block removed: plain WA-1', (b) => b.subarray(0, 64 + rows * cols * 4)),
    mut('block magic cleared: WA-1 with trailing bytes', (b) => b.writeBigUInt64LE(0n, block)),
    mut('3-D WA-1 header: no block looked for', (b) => {
      b.writeUInt16LE(3, 6);
      b.writeBigInt64LE(1n, 32);
    }),
  ];
}

/** Validate each variant with C (Node) and with the Python reader; they must agree. Returns C's answers. */
function pythonAgreesWithC(t, variants) {
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const expected = variants.map(([label, bytes], i) => {
    writeFileSync(join(dir, String(i)), bytes);
    try {
      return [label, Segment.validateHeader(new Uint8Array(bytes)).kind];
    } catch (e) {
      assert.ok(e.code, `${label}: ${e}`);
      return [label, e.code];
    }
  });
  const code = `${PY_PRELUDE}
import json, os
out = []
for i in range(${variants.length}):
    data = open(os.path.join(${JSON.stringify(dir)}, str(i)), 'rb').read()
    try:
        out.append(shmswarm.validate(lambda off, n: data[off:off + n], len(data)).kind)
    except shmswarm.ShmswarmError as e:
        out.append(e.code)
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout).map((c, i) => [variants[i][0], c]);
  assert.deepEqual(got, expected);
  return expected;
}

test('the Python reader validates headers exactly like the C validator (shmswarm_validate)', (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'validate');
  const seg = Segment.create(name, { rows: 5, fields: ['x', 'y', 'z'] });
  const good = readFileSync('/dev/shm' + name);
  seg.close();
  const expected = pythonAgreesWithC(t, headerVariants(good));
  // The cases cover every format error code.
  const codes = new Set(expected.map(([, c]) => c));
  for (const c of ['shmswarm', 'wa1', 'EUNINIT', 'ETRUNCATED', 'EBYTEORDER', 'EBADMAGIC', 'ECORRUPT', 'EVERSION', 'ELAYOUT', 'ECHECKSUM'])
    assert.ok(codes.has(c), `no case gives ${c}: ${JSON.stringify(expected)}`);
});

test('the Python reader validates version 2 (slots) headers exactly like the C validator', (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'validate2');
  const seg = Segment.create(name, { rows: 5, fields: ['x', 'y', 'z'], slots: 3 });
  seg.writeFrame(new Float32Array(15).fill(1));
  const good = readFileSync('/dev/shm' + name);
  seg.close();
  const D = 5 * 3 * 4;
  const block = Math.ceil((64 + 3 * D) / 64) * 64;
  const mut = (label, f) => {
    const b = Buffer.from(good);
    const r = f(b);
    return [label, Buffer.isBuffer(r) ? r : b];
  };
  const expected = pythonAgreesWithC(t, [
    ['good', good],
    mut('slots 2, dims[2] 3', (b) => b.writeUInt32LE(2, block + 100)),
    mut('slots 1', (b) => b.writeUInt32LE(1, block + 100)),
    mut('slots 17', (b) => b.writeUInt32LE(17, block + 100)),
    mut('slots max', (b) => b.writeUInt32LE(0xffffffff, block + 100)),
    mut('dims[2] 4: block looked for elsewhere, plain WA-1', (b) => b.writeBigInt64LE(4n, 32)),
    mut('dims[2] huge: k × D overflows', (b) => b.writeBigInt64LE(2n ** 62n, 32)),
    mut('version 1 with ndims 3', (b) => b.writeUInt32LE(1, block + 8)),
    mut('version 3', (b) => b.writeUInt32LE(3, block + 8)),
    mut('ndims 2: a plain WA-1 matrix of one slot', (b) => b.writeUInt16LE(2, 6)),
    mut('block rows = every slot', (b) => b.writeBigUInt64LE(15n, block + 16)),
    mut('block data_bytes = every slot', (b) => b.writeBigUInt64LE(BigInt(3 * D), block + 40)),
    mut('last slot cut short', (b) => b.subarray(0, 64 + 3 * D - 1)),
    mut('cut before the block magic: a plain 3-D WA-1 array', (b) => b.subarray(0, block)),
    mut('created time changed', (b) => b.writeBigInt64LE(1n, block + 64)),
    mut('checksum changed', (b) => b.writeUInt32LE((b.readUInt32LE(block + 60) ^ 1) >>> 0, block + 60)),
  ]);
  const codes = Object.fromEntries(expected);
  assert.equal(codes.good, 'shmswarm');
  assert.equal(codes['slots 2, dims[2] 3'], 'ECORRUPT');
  assert.equal(codes['slots 17'], 'ECORRUPT');
  assert.equal(codes['dims[2] huge: k × D overflows'], 'ECORRUPT');
  assert.equal(codes['version 1 with ndims 3'], 'EVERSION');
  assert.equal(codes['last slot cut short'], 'ETRUNCATED');
  assert.equal(codes['cut before the block magic: a plain 3-D WA-1 array'], 'wa1');
  assert.equal(codes['created time changed'], 'ECHECKSUM');
});
