// The pure formatters behind dump: exact float printing, CSV/JSON/NDJSON/.npy bytes, chunking,
// row and field selection, and the snippets' offsets. No process is spawned except python3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  formatFloat32, formatFloat64, formatCsv, formatJson, formatNdjson, encodeNpy, formatTable, frameTable,
  csvChunks, jsonChunks, ndjsonChunks, resolveRows, selectFields, pythonSnippet, juliaSnippet,
} from '../../dist/core/index.js';
import { shortestFloat32Slow, formatColumns, formatBytes, npyHeader } from '../../dist/core/format.js';
import { sequenceOffset } from '../../dist/core/snippets.js';

const f = Math.fround;

test('formatFloat32 prints the shortest decimal that reads back to the same float32', () => {
  const cases = [
    [0.1, '0.1'], [f(1 / 3), '0.33333334'], [f(-1 / 3), '-0.33333334'], [123456792, '123456790'],
    [16777216, '16777216'], [16777218, '16777218'], [33554432, '33554432'], [1.5, '1.5'], [100, '100'],
    [f(1e-7), '1e-7'], [f(1e-6), '0.000001'], [f(3.4028234663852886e38), '3.4028235e+38'],
    [f(1.401298464324817e-45), '1e-45'], [f(1.1754943508222875e-38), '1.1754944e-38'], [f(1e21), '1e+21'],
    [f(9.999999e20), '999999900000000000000'], [0, '0'], [-0, '-0'], [-7, '-7'],
    [NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [f(2.5e-5), '0.000025'],
  ];
  for (const [x, s] of cases) assert.equal(formatFloat32(x), s, String(x));
});

test('formatFloat32 round-trips and matches the toPrecision reference on 50,000 random float32 bit patterns', () => {
  const buf = new Float32Array(1);
  const bits = new Uint32Array(buf.buffer);
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 50_000; i++) {
    bits[0] = (next() ^ (next() << 16)) >>> 0;
    const x = buf[0];
    if (!Number.isFinite(x)) continue;
    const s = formatFloat32(x);
    assert.ok(Object.is(f(Number(s)), x), `${x} printed as ${s}`);
    assert.equal(s, shortestFloat32Slow(x), `${x}`);
  }
  for (let i = 0; i < 20_000; i++) {
    const x = f((i - 10_000) * 0.37);
    assert.equal(formatFloat32(x), shortestFloat32Slow(x));
  }
});

test('formatFloat64 is String() with -0 kept', () => {
  for (const x of [0.1, 1 / 3, 1e21, 1e-7, 2 ** 53, -(2 ** 53) - 2, 5e-324, NaN, Infinity]) assert.equal(formatFloat64(x), String(x));
  assert.equal(formatFloat64(-0), '-0');
});

const ramp = (rows, cols, k) => Float32Array.from({ length: rows * cols }, (_, i) => k + i);
const meta = { name: '/r', dtype: 'f32', sequence: 6, frames: 3, fields: ['x', 'y', 'vx'] };

test('CSV, JSON and NDJSON of a ramp frame, whole and selected', () => {
  const t = frameTable(meta, ramp(3, 3, 3));
  assert.equal(formatCsv(t), 'x,y,vx\r\n3,4,5\r\n6,7,8\r\n9,10,11\r\n');
  assert.equal(formatJson(t), '{"name":"/r","dtype":"f32","sequence":6,"frames":3,"fields":["x","y","vx"],"data":[\n[3,4,5],\n[6,7,8],\n[9,10,11]\n]}\n');
  assert.equal(formatNdjson(t), '{"x":3,"y":4,"vx":5}\n{"x":6,"y":7,"vx":8}\n{"x":9,"y":10,"vx":11}\n');
  const s = frameTable(meta, ramp(3, 3, 3), [1, 3], [2, 0]);
  assert.equal(formatCsv(s), 'vx,x\r\n8,6\r\n11,9\r\n');
  assert.equal(formatNdjson(s), '{"vx":8,"x":6}\n{"vx":11,"x":9}\n');
  assert.deepEqual(JSON.parse(formatJson(s)).data, [[8, 6], [11, 9]]);
  const empty = frameTable(meta, ramp(3, 3, 3), [1, 1]);
  assert.equal(formatCsv(empty), 'x,y,vx\r\n');
  assert.deepEqual(JSON.parse(formatJson(empty)).data, []);
  assert.equal(formatNdjson(empty), '');
});

test('CSV quotes field names per RFC 4180; JSON escapes names', () => {
  const t = frameTable({ ...meta, name: '/é"q', fields: ['a"b', 'c d'] }, new Float32Array([1, 2]));
  assert.equal(formatCsv(t), '"a""b",c d\r\n1,2\r\n');
  assert.deepEqual(JSON.parse(formatJson(t)).name, '/é"q');
  assert.deepEqual(JSON.parse(formatNdjson(t)), { 'a"b': 1, 'c d': 2 });
});

test('non-finite values: bare in CSV, JSON strings in JSON and NDJSON', () => {
  const t = frameTable({ ...meta, fields: ['a', 'b', 'c'] }, new Float32Array([NaN, Infinity, -Infinity]));
  assert.equal(formatCsv(t), 'a,b,c\r\nNaN,Infinity,-Infinity\r\n');
  assert.deepEqual(JSON.parse(formatJson(t)).data, [['NaN', 'Infinity', '-Infinity']]);
  assert.deepEqual(JSON.parse(formatNdjson(t)), { a: 'NaN', b: 'Infinity', c: '-Infinity' });
  const d = frameTable({ ...meta, dtype: 'f64', fields: ['a', 'b'] }, new Float64Array([NaN, 0.1]));
  assert.equal(formatNdjson(d), '{"a":"NaN","b":0.1}\n');
});

test('integer dtypes print exactly, 64-bit ones too', () => {
  const t = frameTable({ ...meta, dtype: 'i64', fields: ['a', 'b'] }, new BigInt64Array([-9223372036854775808n, 9007199254740993n]));
  assert.equal(formatCsv(t), 'a,b\r\n-9223372036854775808,9007199254740993\r\n');
  const u = frameTable({ ...meta, dtype: 'u32', fields: ['a', 'b', 'c'] }, new Uint32Array([0, 4294967295, 1234567890]));
  assert.equal(formatCsv(u), 'a,b,c\r\n0,4294967295,1234567890\r\n');
  const i = frameTable({ ...meta, dtype: 'i8', fields: ['a', 'b'] }, new Int8Array([-128, 127]));
  assert.equal(formatJson(i).split('\n')[1], '[-128,127]');
});

test('chunked output is the same bytes whatever the chunk size', () => {
  const t = frameTable({ ...meta, fields: ['a', 'b', 'c', 'd'] }, Float32Array.from({ length: 4000 }, (_, i) => Math.fround(Math.sin(i) * 1000)));
  for (const gen of [csvChunks, jsonChunks, ndjsonChunks]) {
    const whole = Buffer.concat([...gen(t)]);
    const chunks = [...gen(t, 300)];
    assert.ok(chunks.length > 10);
    assert.ok(chunks.every((c) => c.length <= 1024));
    assert.ok(Buffer.concat(chunks).equals(whole), gen.name);
  }
});

test('.npy v1.0: magic, header dict, 64-byte alignment; numpy reads it back', () => {
  const h = npyHeader('f32', [3, 2]);
  assert.equal(h.length % 64, 0);
  assert.deepEqual([...h.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const text = Buffer.from(h.subarray(10)).toString('latin1');
  assert.equal(Buffer.from(h).readUInt16LE(8), h.length - 10);
  assert.match(text, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 2\), \} *\n$/);
  assert.match(Buffer.from(npyHeader('u8', [1, 1]).subarray(10)).toString('latin1'), /'descr': '\|u1'/);

  for (const [dtype, Ctor, np] of [['f32', Float32Array, 'float32'], ['f64', Float64Array, 'float64'], ['i16', Int16Array, 'int16'], ['u8', Uint8Array, 'uint8']]) {
    const t = frameTable({ ...meta, dtype, fields: ['a', 'b', 'c'] }, Ctor.from({ length: 12 }, (_, i) => i + 1), [1, 4], [2, 0]);
    const bytes = encodeNpy(t);
    const py = spawnSync('python3', ['-c', 'import numpy, sys, io, json; a = numpy.load(io.BytesIO(sys.stdin.buffer.read())); print(json.dumps([list(a.shape), str(a.dtype), a.tolist()]))'], { input: bytes, encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), [[3, 2], np, [[6, 4], [9, 7], [12, 10]]], dtype);
  }
});

test('formatTable: agent column, right-aligned numbers, paint only on the header', () => {
  const t = frameTable(meta, ramp(2, 3, 1));
  const plain = formatTable(t);
  assert.match(plain, /│ agent │ x │ y │ vx │/);
  assert.match(plain, /│     1 │ 4 │ 5 │  6 │/);
  const painted = formatTable(t, (s) => `<${s}>`);
  assert.match(painted, /<agent>/);
  assert.doesNotMatch(painted, /<4>/);
});

test('formatColumns aligns; formatBytes is for people', () => {
  assert.equal(formatColumns([['a', 'bb', 'c'], ['ccc', 'd', 'eeee']], { right: [1] }), 'a    bb  c\nccc   d  eeee\n');
  assert.deepEqual([0, 1023, 1024, 1536, 16 * 1024 + 640, 24e6, 2 ** 40].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '17 KiB', '23 MiB', '1.0 TiB']);
});

test('resolveRows: half-open, defaults, bounds named', () => {
  assert.deepEqual(resolveRows(undefined, 10), [0, 10]);
  assert.deepEqual(resolveRows({ start: 2 }, 10), [2, 10]);
  assert.deepEqual(resolveRows({ end: 3 }, 10), [0, 3]);
  assert.deepEqual(resolveRows({ start: 10, end: 10 }, 10), [10, 10]);
  assert.throws(() => resolveRows({ start: 5, end: 11, text: '5:11' }, 10, '/s'), { name: 'RangeError', message: 'row range 5:11 is out of bounds: /s has 10 agents (0:10)' });
  assert.throws(() => resolveRows({ start: 11, text: '11:' }, 10, '/s'), /out of bounds/);
  assert.throws(() => resolveRows({ start: 4, end: 2 }, 10), /ends before it starts/);
});

test('selectFields: order kept, unknown names list the valid ones', () => {
  assert.deepEqual(selectFields(undefined, ['x', 'y']), [0, 1]);
  assert.deepEqual(selectFields(['y', 'x'], ['x', 'y', 'z']), [1, 0]);
  assert.throws(() => selectFields(['q'], ['x', 'y'], '/s'), { name: 'RangeError', message: 'unknown field "q" in /s; its fields are x,y' });
  assert.throws(() => selectFields(['x', 'x'], ['x', 'y']), /asked for twice/);
});

test('snippets: offsets follow include/shmswarm.h; no counter for WA-1 or raw objects', () => {
  const seg = { name: '/s', kind: 'shmswarm', rows: 300, cols: 3, dtype: 'f32', fields: ['x', 'y', 'z'] };
  // 64 + 3600 = 3664 → block at 3712, counter 128 bytes in.
  assert.equal(sequenceOffset(seg), 3840);
  assert.equal(sequenceOffset({ ...seg, rows: 1, cols: 1 }), 256);
  assert.equal(sequenceOffset({ ...seg, kind: 'wa1' }), null);
  assert.match(pythonSnippet(seg), /offset=3840\)/);
  assert.match(juliaSnippet(seg), /Vector\{UInt64\}, 1, 3840\)/);
  assert.match(juliaSnippet({ ...seg, kind: 'raw', dataOffset: 16 }), /Matrix\{Float32\}, \(3, 300\), 16\)/);
  assert.doesNotMatch(juliaSnippet({ ...seg, kind: 'raw' }), /WrappedArray/);
  assert.match(juliaSnippet({ ...seg, name: '/a$b' }), /WrappedArray\("\/a\\\$b"/);
  const py = spawnSync('python3', ['-c', `import ast; ast.parse(${JSON.stringify(pythonSnippet({ ...seg, name: '/it\'s "x"' }))})`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
});
