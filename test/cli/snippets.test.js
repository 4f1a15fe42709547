// info --julia / --python: the offsets they map (WA-1 objects of any ndims, slots, raw offsets),
// the Julia they print parses (tree-sitter's Julia grammar: no Julia on our machines), and the
// Python they print really reads what dump prints, torn frames included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { juliaSnippet, pythonSnippet, sequenceOffset, wa1DataOffset } from '../../dist/cli/render/snippets.js';
import { dieMidFrame, runCli, uniqueName } from '../helpers.js';
import { juliaParserMissing, juliaSyntaxErrors } from '../bridge/julia-syntax.js';
import { pythonMissing } from '../bridge/build.js';

const DTYPES = {
  i8: [1, 'writeInt8'], u8: [2, 'writeUInt8'], i16: [3, 'writeInt16LE'], u16: [4, 'writeUInt16LE'], i32: [5, 'writeInt32LE'],
  u32: [6, 'writeUInt32LE'], i64: [7, 'writeBigInt64LE'], u64: [8, 'writeBigUInt64LE'], f32: [9, 'writeFloatLE'], f64: [10, 'writeDoubleLE'],
};
const SIZES = { i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8 };

/** What WrappedArray(id, T, dims) writes: header, data at roundup(16 + 8N, 64), elements 1, 2, 3, ... */
function writeWa1(name, dtype, dims) {
  const [code, write] = DTYPES[dtype];
  const off = Math.ceil((16 + 8 * dims.length) / 64) * 64;
  const n = dims.reduce((a, b) => a * b, 1);
  const b = Buffer.alloc(off + n * SIZES[dtype]);
  b.writeUInt32LE(0x57412d31, 0);
  b.writeUInt16LE(code, 4);
  b.writeUInt16LE(dims.length, 6);
  b.writeBigInt64LE(BigInt(off), 8);
  dims.forEach((d, i) => b.writeBigInt64LE(BigInt(d), 16 + 8 * i));
  for (let i = 0; i < n; i++) b[write](write.includes('Big') ? BigInt(i + 1) : i + 1, off + i * SIZES[dtype]);
  writeFileSync('/dev/shm' + name, b, { mode: 0o600 });
}

/** Run a printed Python snippet, then `extra`; the last stdout line as JSON. */
function runPython(snippet, extra) {
  const r = spawnSync('python3', ['-c', `${snippet}\nimport json\n${extra}`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Run printed Python snippets in one python3, each in its own namespace; `expr` (over `ns`) of each, in order. */
function runSnippets(snippets, expr) {
  return runPython(`SNIPPETS = ${JSON.stringify(snippets)}`, `out = []\nfor src in SNIPPETS:\n    ns = {}\n    exec(src, ns)\n    out.append(${expr})\nprint(json.dumps(out))`);
}

const dumpJson = (args) => {
  const r = runCli(['dump', ...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

function assertParses(text, what) {
  assert.deepEqual(juliaSyntaxErrors(text), [], `${what} does not parse:\n${text}`);
}

test('snippet offsets: data at roundup(16 + 8 ndims, 64), the counter 128 bytes into the block', () => {
  const seg = { name: '/s', kind: 'shmswarm', rows: 300, cols: 3, dtype: 'f32', fields: ['x', 'y', 'z'] };
  // 64 + 3600 = 3664 → block at 3712, counter 128 bytes in.
  assert.equal(sequenceOffset(seg), 3840);
  assert.equal(sequenceOffset({ ...seg, rows: 1, cols: 1 }), 256);
  assert.equal(sequenceOffset({ ...seg, slots: 3 }), Math.ceil((64 + 3 * 3600) / 64) * 64 + 128);
  assert.equal(sequenceOffset({ ...seg, kind: 'wa1' }), null);
  assert.deepEqual([1, 2, 5, 6, 7, 14, 15, 32].map(wa1DataOffset), [64, 64, 64, 64, 128, 128, 192, 320]);
  assert.match(pythonSnippet(seg), /offset=B \+ 128\)/);
  assert.match(pythonSnippet(seg), /^B = 3712 /m);
  assert.match(juliaSnippet(seg), /Vector\{UInt8\}, \(256,\), 3712\)/);
  assert.match(juliaSnippet({ ...seg, kind: 'raw', dataOffset: 16 }), /Matrix\{Float32\}, \(3, 300\), 16\)/);
  assert.doesNotMatch(juliaSnippet({ ...seg, kind: 'raw' }), /WrappedArray/);
  assert.match(juliaSnippet({ ...seg, name: '/a$b' }), /WrappedArray\("\/a\\\$b"/);
  const wa7 = { ...seg, kind: 'wa1', rows: 64, cols: 2, dims: [2, 2, 2, 2, 2, 2, 2] };
  assert.match(pythonSnippet(wa7), /offset=128\)/);
  assert.match(juliaSnippet(wa7), /Array\{Float32,7\}, \(2, 2, 2, 2, 2, 2, 2\), 128\)/);
  assert.match(juliaSnippet(wa7), /WrappedArray\{Float32,7\}/);
  assert.match(juliaSnippet({ ...seg, kind: 'wa1', rows: 1, cols: 5, dims: [5] }), /Vector\{Float32\}, \(5,\), 64\)/);
  const py = spawnSync('python3', ['-c', `import ast; ast.parse(${JSON.stringify(pythonSnippet({ ...seg, name: '/it\'s "x"' }))})`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
});

test('every kind of Julia snippet parses; a broken one is caught', (t) => {
  const missing = juliaParserMissing();
  if (missing) return t.skip(missing);
  const base = { name: '/s', kind: 'shmswarm', rows: 4, cols: 3, dtype: 'f32', fields: ['x', 'y', 'z'] };
  const targets = [
    base,
    { ...base, slots: 3 },
    { ...base, slots: 16, dtype: 'u64' },
    { ...base, fields: ['x', '1x', 'a b', 'end', '$(run(`rm -rf /`))', '"q"', 'a\\b'].slice(0, 3), name: '/a"$b\\c' },
    { ...base, cols: 1, fields: ['only'] },
    { ...base, kind: 'wa1', fields: ['c0', 'c1', 'c2'] },
    { ...base, kind: 'wa1', rows: 1, dims: [3] },
    { ...base, kind: 'wa1', rows: 64, cols: 2, fields: ['c0', 'c1'], dims: [2, 2, 2, 2, 2, 2, 2] },
    { ...base, kind: 'raw', dataOffset: 8 },
    { ...base, kind: 'raw', dataOffset: 3 },
    { ...base, kind: 'raw', dataOffset: 0, mutex: '/mutex_lock', mutexOffset: 64 },
  ];
  for (const dtype of Object.keys(SIZES)) targets.push({ ...base, dtype }, { ...base, dtype, slots: 2 }, { ...base, dtype, kind: 'raw', dataOffset: 1 });
  for (const tg of targets) assertParses(juliaSnippet(tg, '/opt/shmswarm/examples/julia/shmswarm_reader.jl'), JSON.stringify(tg));
  // The check can fail: drop the closing `end` of read_frame, or a bracket.
  const good = juliaSnippet(base);
  assert.notDeepEqual(juliaSyntaxErrors(good.replace(/\nend\n/, '\n')), []);
  assert.notDeepEqual(juliaSyntaxErrors(good.replace('(256,)', '(256,')), []);
  assert.notDeepEqual(juliaSyntaxErrors(juliaSnippet({ ...base, slots: 3 }).replace(/\n        end\n/, '\n')), []);
});

test('info --julia / --python on a 7-D WA-1 object map byte 128; the Python reads what dump prints', (t) => {
  const name = uniqueName(t, 'wa7');
  writeWa1(name, 'f32', [2, 2, 2, 2, 2, 2, 2]);
  const jl = runCli(['info', name, '--julia']);
  assert.equal(jl.status, 0, jl.stderr);
  assert.match(jl.stdout, /Mmap\.mmap\(open\("\/dev\/shm\/.*"\), Array\{Float32,7\}, \(2, 2, 2, 2, 2, 2, 2\), 128\)/);
  assert.match(jl.stdout, /A is a 2×2×2×2×2×2×2 WrappedArray\{Float32,7\}/);
  assert.doesNotMatch(jl.stdout, /Matrix\{Float32\}/);
  if (!juliaParserMissing()) assertParses(jl.stdout, 'info --julia');
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const py = runCli(['info', name, '--python']);
  assert.equal(py.status, 0, py.stderr);
  const got = runPython(py.stdout, 'print(json.dumps(frame.tolist()))');
  assert.deepEqual(got, dumpJson([name]).data);
  assert.deepEqual(got.slice(0, 2), [[1, 2], [3, 4]]);
});

test('info --python on WA-1 objects of 1 to 14 dims and every dtype reads what the library reads', (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const shapes = [[5], [3, 4], [2, 3, 2], [2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1], [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]];
  const cases = [...shapes.map((dims) => ['f64', dims]), ...Object.keys(SIZES).map((dtype) => [dtype, [3, 2, 1, 1, 1, 1, 2]])];
  const snippets = [];
  const want = [];
  for (const [dtype, dims] of cases) {
    const name = uniqueName(t, 'wand');
    writeWa1(name, dtype, dims);
    const py = runCli(['info', name, '--python']);
    assert.equal(py.status, 0, py.stderr);
    assert.match(py.stdout, new RegExp(`offset=${wa1DataOffset(dims.length)}\\)`));
    snippets.push(py.stdout);
    const seg = Segment.open(name, { readonly: true });
    const { data } = seg.readFrame();
    want.push(Array.from({ length: seg.rows }, (_, r) => Array.from(data.subarray(r * seg.cols, (r + 1) * seg.cols), Number)));
    seg.close();
  }
  const got = runSnippets(snippets, 'ns["frame"].tolist()');
  cases.forEach(([dtype, dims], i) => assert.deepEqual(got[i], want[i], `${dtype} ${dims}`));
});

test('info --julia on a raw object: an unaligned --offset is read through the bytes; --mutex names open_raw', (t) => {
  const name = uniqueName(t, 'raw');
  writeFileSync('/dev/shm' + name, Buffer.alloc(3 + 2 * 3 * 4));
  const un = runCli(['info', name, '--raw', '--shape', '2x3', '--offset', '3', '--julia']);
  assert.equal(un.status, 0, un.stderr);
  assert.match(un.stdout, /reinterpret\(Float32, view\(BYTES, 4:27\)\), 3, 2\)/);
  assert.doesNotMatch(un.stdout, /Matrix\{Float32\}, \(3, 2\), 3\)/, 'unsafe_wrap would refuse offset 3 ("not properly aligned")');
  const mutex = uniqueName(t, 'mutex');
  writeFileSync('/dev/shm' + mutex, Buffer.alloc(64));
  const locked = runCli(['info', name, '--raw', '--shape', '2x3', '--offset', '3', '--mutex', mutex, '--julia']);
  assert.equal(locked.status, 0, locked.stderr);
  assert.match(locked.stdout, /^include\(".*\/examples\/julia\/shmswarm_reader\.jl"\)$/m);
  assert.match(locked.stdout, new RegExp(`open_raw\\("${name}", Float32, \\(3, 2\\); offset = 3, mutex = "${mutex}", mutex_offset = 0\\)`));
  assert.doesNotMatch(locked.stdout, /not synchronised/);
  const pyLocked = runCli(['info', name, '--raw', '--shape', '2x3', '--offset', '3', '--mutex', mutex, '--python']);
  assert.match(pyLocked.stdout, /Python cannot take it/);
  if (!juliaParserMissing()) for (const r of [un, locked]) assertParses(r.stdout, 'raw info --julia');
});

for (const slots of [1, 3]) {
  test(`info --python, ${slots} slot(s): a frame left half-written by a dead writer comes back flagged torn`, async (t) => {
    const missing = pythonMissing();
    if (missing) return t.skip(missing);
    const name = uniqueName(t, 'pytorn');
    await dieMidFrame(t, name, slots > 1 ? { slots } : {}, 'new Float32Array(8).fill(7)');
    const read = () => runPython(runCli(['info', name, '--python']).stdout, 'print(json.dumps([sequence, torn, frame.ravel().tolist()[0]]))');
    if (slots > 1) assert.deepEqual(read(), [2, false, 7], 'before the repair: frame 1, whole, not torn');
    const seg = Segment.open(name);
    assert.ok(seg.readFrame({ lock: true }).torn, 'the repair flags it');
    seg.close();
    assert.deepEqual(read(), [4, true, -1], 'after: frame 2, half-written, torn');
    if (!juliaParserMissing()) assertParses(runCli(['info', name, '--julia']).stdout, 'info --julia');
  });
}

test('info --python with 16 slots and every dtype: the latest frame, not torn', (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const snippets = [];
  for (const dtype of Object.keys(SIZES)) {
    const name = uniqueName(t, 'py16');
    const seg = Segment.create(name, { rows: 2, cols: 2, dtype, slots: 16 });
    t.after(() => seg.close());
    const big = dtype.endsWith('64') && dtype[0] !== 'f';
    for (let f = 1; f <= 20; f++) seg.writeFrame(Array.from({ length: 4 }, (_, i) => (big ? BigInt(f + i) : f + i)));
    snippets.push(runCli(['info', name, '--python']).stdout);
  }
  const got = runSnippets(snippets, '[ns["sequence"], ns["torn"], ns["frame"].tolist()]');
  Object.keys(SIZES).forEach((dtype, i) => assert.deepEqual(got[i], [40, false, [[20, 21], [22, 23]]], dtype));
});
