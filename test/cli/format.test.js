// The pure formatters behind dump: exact float printing, CSV/JSON/NDJSON/.npy bytes, chunking,
// row and field selection. No process is spawned except python3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { formatCsv, formatJson, formatNdjson, encodeNpy, frameTable, csvChunks, jsonChunks, ndjsonChunks } from '../../dist/core/index.js';
import { formatFloat32, formatFloat64, shortestFloat32Slow, npyHeader } from '../../dist/core/format.js';
import { resolveRows, selectFields } from '../../dist/core/rows.js';
import { formatTable, formatColumns, formatBytes } from '../../dist/cli/render/table.js';

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
  assert.equal(formatCsv(t), 'x,y,vx\n3,4,5\n6,7,8\n9,10,11\n');
  assert.equal(formatJson(t), '{"name":"/r","dtype":"f32","sequence":6,"frames":3,"fields":["x","y","vx"],"data":[\n[3,4,5],\n[6,7,8],\n[9,10,11]\n]}\n');
  assert.equal(formatNdjson(t), '{"x":3,"y":4,"vx":5}\n{"x":6,"y":7,"vx":8}\n{"x":9,"y":10,"vx":11}\n');
  const s = frameTable(meta, ramp(3, 3, 3), [1, 3], [2, 0]);
  assert.equal(formatCsv(s), 'vx,x\n8,6\n11,9\n');
  assert.equal(formatNdjson(s), '{"vx":8,"x":6}\n{"vx":11,"x":9}\n');
  assert.deepEqual(JSON.parse(formatJson(s)).data, [[8, 6], [11, 9]]);
  const empty = frameTable(meta, ramp(3, 3, 3), [1, 1]);
  assert.equal(formatCsv(empty), 'x,y,vx\n');
  assert.deepEqual(JSON.parse(formatJson(empty)).data, []);
  assert.equal(formatNdjson(empty), '');
});

test('CSV quotes field names per RFC 4180; JSON escapes names', () => {
  const t = frameTable({ ...meta, name: '/é"q', fields: ['a"b', 'c d'] }, new Float32Array([1, 2]));
  assert.equal(formatCsv(t), '"a""b",c d\n1,2\n');
  assert.deepEqual(JSON.parse(formatJson(t)).name, '/é"q');
  assert.deepEqual(JSON.parse(formatNdjson(t)), { 'a"b': 1, 'c d': 2 });
});

test('non-finite values: bare in CSV, JSON strings in JSON and NDJSON', () => {
  const t = frameTable({ ...meta, fields: ['a', 'b', 'c'] }, new Float32Array([NaN, Infinity, -Infinity]));
  assert.equal(formatCsv(t), 'a,b,c\nNaN,Infinity,-Infinity\n');
  assert.deepEqual(JSON.parse(formatJson(t)).data, [['NaN', 'Infinity', '-Infinity']]);
  assert.deepEqual(JSON.parse(formatNdjson(t)), { a: 'NaN', b: 'Infinity', c: '-Infinity' });
  const d = frameTable({ ...meta, dtype: 'f64', fields: ['a', 'b'] }, new Float64Array([NaN, 0.1]));
  assert.equal(formatNdjson(d), '{"a":"NaN","b":0.1}\n');
});

test('integer dtypes print exactly, 64-bit ones too', () => {
  const t = frameTable({ ...meta, dtype: 'i64', fields: ['a', 'b'] }, new BigInt64Array([-9223372036854775808n, 9007199254740993n]));
  assert.equal(formatCsv(t), 'a,b\n-9223372036854775808,9007199254740993\n');
  const u = frameTable({ ...meta, dtype: 'u32', fields: ['a', 'b', 'c'] }, new Uint32Array([0, 4294967295, 1234567890]));
  assert.equal(formatCsv(u), 'a,b,c\n0,4294967295,1234567890\n');
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

test('formatFloat32 matches the reference in every binade, at powers of ten and on values like simulation state', () => {
  const buf = new Float32Array(1);
  const bits = new Uint32Array(buf.buffer);
  const check = (b) => {
    bits[0] = b >>> 0;
    const x = buf[0];
    if (!Number.isFinite(x) || x === 0) return; // the reference spells -0 as 0; -0 is checked above
    const s = formatFloat32(x);
    const ref = shortestFloat32Slow(x);
    if ((bits[0] & 0x7fffff) === 0 && s !== ref) {
      // Below a power of two the interval is lopsided: the shortest decimal that reads back may be
      // on the far side, where toPrecision's nearest-first search does not look (2^87 reads back
      // from 1.5474251e+26; the reference needs 1.54742505e+26). Shorter, and still exact.
      assert.ok(Object.is(Math.fround(Number(s)), x) && s.replace(/e.*/, '').length <= ref.replace(/e.*/, '').length, `${x}: ${s} vs ${ref}`);
      return;
    }
    assert.equal(s, ref, `bits 0x${bits[0].toString(16)}`);
  };
  // Every exponent (subnormals too), both signs, mantissas at and next to the ends of the binade.
  for (let e = 0; e < 255; e++)
    for (const m of [0, 1, 2, 3, 0x400000, 0x7ffffd, 0x7ffffe, 0x7fffff, 0x123456, 0x555555]) {
      check((e << 23) | m);
      check(0x80000000 | (e << 23) | m);
    }
  // Around every power of ten a float32 can hold: where the digit count and the decimal point move.
  for (let k = -45; k <= 38; k++) {
    buf[0] = Math.fround(Number(`1e${k}`));
    const b0 = bits[0];
    for (let d = -40; d <= 40; d++) check(b0 + d);
  }
  let state = 99;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 30_000; i++) {
    const x = Math.fround(next() * 200 - 100);
    assert.equal(formatFloat32(x), shortestFloat32Slow(x), String(x));
    const y = Math.fround((next() - 0.5) * 10 ** (next() * 24 - 12));
    assert.equal(formatFloat32(y), shortestFloat32Slow(y), String(y));
  }
});

test('CSV, JSON and NDJSON of random float32 frames equal String() of each value, chunked or not', () => {
  let state = 5;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const data = Float32Array.from({ length: 3 * 2000 }, (_, i) => (i % 97 === 0 ? [NaN, -0, Infinity, -Infinity, 0][i % 5] : (next() - 0.5) * 10 ** (next() * 20 - 10)));
  const t = frameTable({ ...meta, fields: ['a', 'b', 'c'] }, data);
  const str = (x) => (Object.is(x, -0) ? '-0' : shortestFloat32Slow(x));
  const rows = Array.from({ length: 2000 }, (_, r) => [0, 1, 2].map((c) => data[3 * r + c]));
  assert.equal(formatCsv(t), 'a,b,c\n' + rows.map((r) => r.map(str).join(',') + '\n').join(''));
  const js = (x) => (Number.isFinite(x) ? str(x) : `"${x}"`);
  assert.equal(formatNdjson(t), rows.map((r) => `{"a":${js(r[0])},"b":${js(r[1])},"c":${js(r[2])}}\n`).join(''));
  for (const gen of [csvChunks, jsonChunks, ndjsonChunks]) assert.ok(Buffer.concat([...gen(t, 300)]).equals(Buffer.concat([...gen(t)])), gen.name);
});

test('the parallel formatter writes the serial bytes for every dtype, row range, field choice and block size', async () => {
  const { TextFormatter } = await import('../../dist/core/format-parallel.js');
  const { DTYPE_NAMES, parseDtype } = await import('../../dist/core/index.js');
  let state = 17;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1.5, -2, 16777216, 1e-45, 3.4028234663852886e38];
  for (const dtype of DTYPE_NAMES) {
    const d = parseDtype(dtype);
    const rows = 1003; // not a multiple of any block size below
    const cols = 5;
    const data = new d.array(rows * cols);
    const bytes = new Uint8Array(data.buffer);
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() >>> 24;
    if (dtype === 'f32' || dtype === 'f64') for (let i = 0; i < data.length; i += 7) data[i] = specials[(i / 7) % specials.length];
    const fields = ['x', 'y', 'z', 'vx', 'vy'];
    for (const [range, columns] of [[[0, rows], [0, 1, 2, 3, 4]], [[1, 998], [4, 0, 2]], [[500, 501], [1]], [[7, 7], [0, 1]]]) {
      const t = frameTable({ ...meta, dtype, fields }, data, range, columns);
      for (const [format, serial] of [['csv', formatCsv], ['json', formatJson], ['ndjson', formatNdjson]]) {
        const want = serial(t);
        for (const blockValues of [1, 37, 600, 1 << 17]) {
          const f = new TextFormatter(format, 2, { blockValues });
          const parts = [];
          for await (const c of f.chunks(t)) parts.push(Buffer.from(c));
          f.close();
          assert.equal(Buffer.concat(parts).toString('utf8'), want, `${dtype} ${format} rows ${range} cols ${columns} blocks of ${blockValues}`);
        }
      }
    }
  }
});

test('the parallel formatter stops its workers when the caller stops early, and refuses a frame it cannot share', async () => {
  const { TextFormatter } = await import('../../dist/core/format-parallel.js');
  const t = frameTable({ ...meta, fields: ['a', 'b'] }, Float32Array.from({ length: 200_000 }, (_, i) => i / 7));
  const f = new TextFormatter('csv', 2, { blockValues: 1000 });
  let n = 0;
  for await (const c of f.chunks(t)) {
    assert.ok(c.length > 0);
    if (++n === 2) break;
  }
  f.close(); // idempotent after the iteration closed it
  // The same formatter shape again, read to the end: the bytes are whole.
  const g = new TextFormatter('ndjson', 2, { blockValues: 1000 });
  const parts = [];
  for await (const c of g.chunks(t)) parts.push(Buffer.from(c));
  assert.equal(Buffer.concat(parts).toString('utf8'), formatNdjson(t));
  // A frame that cannot be shared with a worker fails loudly, not with wrong output.
  const h = new TextFormatter('csv', 2, { blockValues: 1000 });
  await assert.rejects(async () => {
    for await (const c of h.chunks({ ...t, data: Array.from(t.data) })) void c;
  }, /typed array/);
  h.close();
});
