// shmswarm info: the people's view, JSON, and Julia/Python snippets that really map the segment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { runCli, uniqueName } from '../helpers.js';

const firstLine = (s) => s.split('\n')[0];

function ramp(t, rows = 3, fields = 'x,y,vx,vy', dtype = 'f32') {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows, fields, dtype });
  t.after(() => seg.close());
  const n = seg.length;
  seg.writeFrame(Array.from({ length: n }, (_, i) => 1 + i));
  seg.writeFrame(Array.from({ length: n }, (_, i) => 2 + i));
  return { name, seg };
}

test('info shows the header and live state as aligned key/value lines', (t) => {
  const { name } = ramp(t);
  const r = runCli(['info', name]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  const map = Object.fromEntries(lines.map((l) => [l.slice(0, 12).trim(), l.slice(12)]));
  assert.equal(map.name, name);
  assert.equal(map.kind, 'shmswarm segment (format 1)');
  assert.equal(map.shape, '3 agents × 4 fields');
  assert.equal(map.dtype, 'f32 (4 bytes)');
  assert.equal(map.fields, 'x, y, vx, vy');
  assert.equal(map.mode, '0600, owner uid ' + process.getuid());
  assert.equal(map.frames, '2 (sequence 4)');
  assert.equal(map.writer, `pid ${process.pid}, alive`);
  assert.match(map['last frame'], /^\d{4}-\d\d-\d\dT.*Z \(\d+ ms ago|[\d.]+ s ago\)$/);
  for (const l of lines) assert.match(l, /^[a-z ]{10}  \S/, 'values start in one column');
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});

test('info --json is Segment.info() as plain data', (t) => {
  const { name, seg } = ramp(t);
  const r = runCli(['info', name, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  const mine = seg.info();
  for (const k of ['name', 'kind', 'rows', 'cols', 'dtype', 'fields', 'sequence', 'frames', 'writerPid', 'writerAlive', 'bytes', 'dataBytes', 'ino'])
    assert.deepEqual(info[k], mine[k], k);
  assert.deepEqual([info.rows, info.cols, info.frames, info.writerPid, info.writerAlive], [3, 4, 2, process.pid, true]);
  const forced = runCli(['info', name, '--json'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.doesNotMatch(forced.stdout, /\x1b\[/, 'JSON is never coloured');
});

test('colour only when forced or on a terminal; NO_COLOR wins', (t) => {
  const { name } = ramp(t);
  assert.match(runCli(['info', name], { env: { NO_COLOR: '', FORCE_COLOR: '1' } }).stdout, /\x1b\[32mpid \d+, alive/);
  assert.doesNotMatch(runCli(['info', name], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } }).stdout, /\x1b\[/);
});

test('info --python prints code that maps this segment and reads a consistent frame', (t) => {
  const { name } = ramp(t, 5, 'x,y,z', 'f64');
  const r = runCli(['info', name, '--python']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /np\.frombuffer\(buf, dtype=DTYPE, count=ROWS \* COLS, offset=64\)\.reshape\(ROWS, COLS\)/);
  const py = spawnSync('python3', ['-c', `${r.stdout}\nimport json\nprint(json.dumps([sequence, list(frame.shape), str(frame.dtype), frame.tolist(), FIELDS]))`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const [sequence, shape, dtype, data, fields] = JSON.parse(py.stdout.trim().split('\n').pop());
  assert.equal(sequence, 4);
  assert.deepEqual(shape, [5, 3]);
  assert.equal(dtype, 'float64');
  assert.deepEqual(data, Array.from({ length: 5 }, (_, r) => [2 + 3 * r, 3 + 3 * r, 4 + 3 * r]));
  assert.deepEqual(fields, ['x', 'y', 'z']);
});

test('info --julia maps it with WrappedArray, column-major, with the sequence counter offset', (t) => {
  const { name } = ramp(t, 300, 'x,y,z');
  const r = runCli(['info', name, '--julia']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`WrappedArray\\("${name}"; readonly=true\\)`));
  assert.match(r.stdout, /A is a 3×300 WrappedArray\{Float32,2\} \(a DenseArray; parent\(A\) is the Matrix\{Float32\}\)/);
  assert.match(r.stdout, /Mmap\.mmap\(open\("\/dev\/shm\/.*"\), Matrix\{Float32\}, \(3, 300\), 64\)/);
  // The block follows the matrix at the next 64-byte boundary; the counter is 128 bytes into it.
  const block = Math.ceil((64 + 300 * 3 * 4) / 64) * 64;
  const seqOffset = block + 128;
  assert.match(r.stdout, new RegExp(`Vector\\{UInt8\\}, \\(256,\\), ${block}\\)`));
  assert.match(r.stdout, /load_u64\(128\)/);
  const bytes = spawnSync('python3', ['-c', `import struct; print(struct.unpack_from('<Q', open('/dev/shm${name}', 'rb').read(), ${seqOffset})[0])`], { encoding: 'utf8' });
  assert.equal(bytes.stdout.trim(), '4', 'the offset holds the sequence counter');
});

test('info --julia spells field names that are not Julia identifiers as Symbol("…"), each its own', (t) => {
  const { name } = ramp(t, 2, 'x,1x,a b,a:b,a_b,end,$(run),"q"');
  const r = runCli(['info', name, '--julia']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^const FIELDS = \(:x, Symbol\("1x"\), Symbol\("a b"\), Symbol\("a:b"\), :a_b, Symbol\("end"\), Symbol\("\\\$\(run\)"\), Symbol\("\\"q\\""\)\)$/m);
});

test('info on a raw object describes the mapping; its snippet uses the offset', (t) => {
  const name = uniqueName(t, 'raw');
  writeFileSync('/dev/shm' + name, Buffer.alloc(8 + 2 * 3 * 4));
  const r = runCli(['info', name, '--raw', '--shape', '2x3', '--offset', '8']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kind\s+raw object \(no header\)/);
  assert.match(r.stdout, /raw\s+matrix at byte 8; no mutex: reads are unsynchronised/);
  const py = runCli(['info', name, '--raw', '--shape', '2x3', '--offset', '8', '--python']);
  assert.match(py.stdout, /offset=8\)/);
  assert.match(py.stdout, /no sequence counter/);
});

test('errors: missing segment exits 1; conflicting flags exit 2', (t) => {
  const { name } = ramp(t);
  const missing = uniqueName(t, 'missing');
  let r = runCli(['info', missing]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(firstLine(r.stderr), `shmswarm: segment ${missing} does not exist; create it with: shmswarm create ${missing} --agents N --fields x,y`);
  for (const args of [['--json', '--python'], ['--julia', '--python'], ['--json', '--julia']]) {
    r = runCli(['info', name, ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(firstLine(r.stderr), /^shmswarm: option .* cannot be used with option/);
  }
  r = runCli(['info', 'swarm']);
  assert.equal(r.status, 2);
  assert.match(firstLine(r.stderr), /did you mean "\/swarm"/);
  // Not a segment: a foreign object is reported, not misread.
  const foreign = uniqueName(t, 'foreign');
  writeFileSync('/dev/shm' + foreign, Buffer.alloc(100, 7));
  r = runCli(['info', foreign]);
  assert.equal(r.status, 1);
  assert.match(firstLine(r.stderr), /^shmswarm: /);
});

test('info --help shows examples', () => {
  const r = runCli(['info', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Examples:[\s\S]*shmswarm info \/swarm --python/);
});

test('info --python and --julia on a segment with 3 slots: the slot of the latest frame, the right counter offset', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 5, fields: 'x,y,z', slots: 3 });
  t.after(() => seg.close());
  for (let k = 1; k <= 4; k++) seg.writeFrame(Array.from({ length: 15 }, (_, i) => k * 100 + i));
  seg.beginFrame().fill(-1); // frame 5 in progress, in slot 2: readers still get frame 4
  const r = runCli(['info', name, '--python']);
  assert.equal(r.status, 0, r.stderr);
  const py = spawnSync('python3', ['-c', `${r.stdout}\nimport json\nprint(json.dumps([sequence, frame.tolist()]))`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const [sequence, data] = JSON.parse(py.stdout.trim().split('\n').pop());
  assert.equal(sequence, 8);
  assert.deepEqual(data, Array.from({ length: 5 }, (_, r) => [400 + 3 * r, 401 + 3 * r, 402 + 3 * r]));
  const jl = runCli(['info', name, '--julia']);
  const block = Math.ceil((64 + 3 * 5 * 3 * 4) / 64) * 64;
  assert.match(jl.stdout, new RegExp(`Vector\\{UInt8\\}, \\(256,\\), ${block}\\)`));
  assert.match(jl.stdout, /Array\{Float32,3\}, \(3, 5, 3\), 64\)/);
  seg.endFrame();
});
