// shmswarm dump: exact CSV, JSON, NDJSON and .npy of a known ramp frame, selections, files and
// every refusal, through the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Segment } from '../../dist/core/index.js';
import { charDevice, fifo, tempDir } from './files.js';
import { BIN, runCli, uniqueName, waitExit } from '../helpers.js';

const firstLine = (s) => s.split('\n')[0];

/** A 4 × 3 f32 segment holding ramp frame k: k + r*cols + c, published k times. */
function rampSegment(t, { rows = 4, fields = 'x,y,vx', k = 2, dtype = 'f32' } = {}) {
  const name = uniqueName(t, 'ramp');
  const seg = Segment.create(name, { rows, fields, dtype });
  t.after(() => seg.close());
  const cols = seg.cols;
  for (let f = 1; f <= k; f++) {
    const a = Array.from({ length: rows * cols }, (_, i) => f + i);
    seg.writeFrame(dtype.endsWith('64') && dtype[0] !== 'f' ? a.map(BigInt) : a);
  }
  return { name, seg };
}


test('--csv is RFC 4180 with a header row and exactly the ramp values', (t) => {
  const { name } = rampSegment(t);
  const r = runCli(['dump', name, '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'x,y,vx\n2,3,4\n5,6,7\n8,9,10\n11,12,13\n');
});

test('CSV is the default when stdout is not a terminal', (t) => {
  const { name } = rampSegment(t);
  const r = runCli(['dump', name]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, runCli(['dump', name, '--csv']).stdout);
});

test('--json is one object with one inner array per agent', (t) => {
  const { name } = rampSegment(t);
  const r = runCli(['dump', name, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    `{"name":"${name}","dtype":"f32","sequence":4,"frames":2,"fields":["x","y","vx"],"data":[\n[2,3,4],\n[5,6,7],\n[8,9,10],\n[11,12,13]\n]}\n`,
  );
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.data[3], [11, 12, 13]);
});

test('--ndjson is one object per agent', (t) => {
  const { name } = rampSegment(t);
  const r = runCli(['dump', name, '--ndjson']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '{"x":2,"y":3,"vx":4}\n{"x":5,"y":6,"vx":7}\n{"x":8,"y":9,"vx":10}\n{"x":11,"y":12,"vx":13}\n');
});

test('--rows a:b is half-open and --fields picks and orders columns', (t) => {
  const { name } = rampSegment(t);
  assert.equal(runCli(['dump', name, '--csv', '--rows', '1:3']).stdout, 'x,y,vx\n5,6,7\n8,9,10\n');
  assert.equal(runCli(['dump', name, '--csv', '--rows', '2:']).stdout, 'x,y,vx\n8,9,10\n11,12,13\n');
  assert.equal(runCli(['dump', name, '--csv', '--rows', ':1']).stdout, 'x,y,vx\n2,3,4\n');
  assert.equal(runCli(['dump', name, '--csv', '--rows', '3']).stdout, 'x,y,vx\n11,12,13\n');
  assert.equal(runCli(['dump', name, '--csv', '--rows', '2:2']).stdout, 'x,y,vx\n');
  assert.equal(runCli(['dump', name, '--ndjson', '--rows', '0:2', '--fields', 'vx,x']).stdout, '{"vx":4,"x":2}\n{"vx":7,"x":5}\n');
  assert.equal(
    runCli(['dump', name, '--json', '--rows', '3:4', '--fields', 'y']).stdout,
    `{"name":"${name}","dtype":"f32","sequence":4,"frames":2,"fields":["y"],"data":[\n[12]\n]}\n`,
  );
});

test('--lock reads the same frame under the mutex', (t) => {
  const { name } = rampSegment(t);
  const r = runCli(['dump', name, '--lock', '--csv', '--rows', '0:1']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'x,y,vx\n2,3,4\n');
});

test('floats print as the shortest decimal that reads back; NaN and infinities are spelled out', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, fields: 'a,b,c,d' });
  t.after(() => seg.close());
  seg.writeFrame([0.1, -1 / 3, 123456792, -0, NaN, Infinity, -Infinity, 1e-40]);
  assert.equal(runCli(['dump', name, '--csv']).stdout, 'a,b,c,d\n0.1,-0.33333334,123456790,-0\nNaN,Infinity,-Infinity,1e-40\n');
  assert.equal(runCli(['dump', name, '--ndjson']).stdout, '{"a":0.1,"b":-0.33333334,"c":123456790,"d":-0}\n{"a":"NaN","b":"Infinity","c":"-Infinity","d":1e-40}\n');
  const doc = JSON.parse(runCli(['dump', name, '--json']).stdout);
  assert.deepEqual(doc.data, [[0.1, -0.33333334, 123456790, -0], ['NaN', 'Infinity', '-Infinity', 1e-40]]);
});

test('64-bit integers and float64 print exactly', (t) => {
  const i64 = uniqueName(t, 'i64');
  const a = Segment.create(i64, { rows: 1, fields: 'big,neg', dtype: 'i64' });
  t.after(() => a.close());
  a.writeFrame([9007199254740993n, -9223372036854775808n]);
  assert.equal(runCli(['dump', i64, '--csv']).stdout, 'big,neg\n9007199254740993,-9223372036854775808\n');
  const f64 = uniqueName(t, 'f64');
  const b = Segment.create(f64, { rows: 1, fields: 'p,q', dtype: 'f64' });
  t.after(() => b.close());
  b.writeFrame([0.1, 1 / 3]);
  assert.equal(runCli(['dump', f64, '--csv']).stdout, 'p,q\n0.1,0.3333333333333333\n');
});

test('--npy writes a file numpy.load reads with the right shape, dtype and values', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  const file = join(dir, 'frame.npy');
  const r = runCli(['dump', name, '--npy', file, '--rows', '1:4', '--fields', 'vx,x']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const py = spawnSync('python3', ['-c', `import numpy, json; a = numpy.load(${JSON.stringify(file)}); print(json.dumps([list(a.shape), str(a.dtype), a.tolist()]))`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(JSON.parse(py.stdout), [[3, 2], 'float32', [[7, 5], [10, 8], [13, 11]]]);
  assert.deepEqual(readdirSync(dir), ['frame.npy'], 'no temporary file left');
});

test('--npy - writes the .npy to stdout', (t) => {
  const { name } = rampSegment(t, { dtype: 'u16' });
  const r = runCli(['dump', name, '--npy', '-'], { encoding: 'buffer' });
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(r.stdout.length % 64, (4 * 3 * 2) % 64);
  const py = spawnSync('python3', ['-c', 'import numpy, sys, io, json; a = numpy.load(io.BytesIO(sys.stdin.buffer.read())); print(json.dumps([list(a.shape), str(a.dtype), a.tolist()]))'], { input: r.stdout, encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(JSON.parse(py.stdout), [[4, 3], 'uint16', [[2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12, 13]]]);
});

test('--output replaces the file whole; the format follows its extension', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  const csv = join(dir, 'frame.csv');
  writeFileSync(csv, 'old');
  let r = runCli(['dump', name, '--output', csv]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(readFileSync(csv, 'utf8'), 'x,y,vx\n2,3,4\n5,6,7\n8,9,10\n11,12,13\n');
  r = runCli(['dump', name, '-o', join(dir, 'frame.ndjson'), '--rows', '0:1']);
  assert.equal(readFileSync(join(dir, 'frame.ndjson'), 'utf8'), '{"x":2,"y":3,"vx":4}\n');
  r = runCli(['dump', name, '-o', join(dir, 'frame.txt'), '--json', '--rows', '0:1']);
  assert.equal(JSON.parse(readFileSync(join(dir, 'frame.txt'), 'utf8')).data[0][2], 4);
  assert.deepEqual(readdirSync(dir).sort(), ['frame.csv', 'frame.ndjson', 'frame.txt']);
});

test('a failed --output leaves no file and exits 1', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  const r = runCli(['dump', name, '-o', join(dir, 'missing', 'frame.csv')]);
  assert.equal(r.status, 1);
  assert.match(firstLine(r.stderr), /^shmswarm: cannot write .*missing\/frame\.csv: ENOENT/);
  assert.deepEqual(readdirSync(dir), []);
  // A missing segment creates no output file either.
  const r2 = runCli(['dump', '/shmswarm-test-no-such-segment', '-o', join(dir, 'x.csv')]);
  assert.equal(r2.status, 1);
  assert.deepEqual(readdirSync(dir), []);
});

test('--table is for people: an agent column, no colour without a terminal or with NO_COLOR', (t) => {
  const { name } = rampSegment(t);
  const r = runCli(['dump', name, '--table', '--rows', '0:2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /│ agent │\s+x │\s+y │\s+vx │/);
  assert.match(r.stdout, /│\s+1 │\s+5 │\s+6 │\s+7 │/);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
  const forced = runCli(['dump', name, '--table'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.match(forced.stdout, /\x1b\[1magent/, 'FORCE_COLOR colours the table header');
  const csv = runCli(['dump', name, '--csv'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.doesNotMatch(csv.stdout, /\x1b\[/, 'machine formats are never coloured');
  const json = runCli(['dump', name, '--json'], { env: { NO_COLOR: '', FORCE_COLOR: '3' } });
  assert.doesNotMatch(json.stdout, /\x1b\[/);
});

test('a segment with no frame yet dumps zeros and says so on stderr', (t) => {
  const name = uniqueName(t);
  Segment.create(name, { rows: 1, fields: 'x,y' }).close();
  const r = runCli(['dump', name, '--csv']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'x,y\n0,0\n');
  assert.match(r.stderr, new RegExp(`no frame has been published to ${name} yet`));
});

test('errors: missing segment exits 1; bad rows, fields and flag mixes exit 2', (t) => {
  const { name } = rampSegment(t);
  const missing = uniqueName(t, 'missing');
  let r = runCli(['dump', missing]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(firstLine(r.stderr), `shmswarm: segment ${missing} does not exist; create it with: shmswarm create ${missing} --agents N --fields x,y`);
  const cases = [
    [['--fields', 'x,q'], `shmswarm: unknown field "q" in ${name}; its fields are x,y,vx`],
    [['--fields', 'x,x'], 'shmswarm: field "x" is asked for twice'],
    [['--rows', '2:9'], `shmswarm: row range 2:9 is out of bounds: ${name} has 4 agents (0:4)`],
    [['--rows', '5:'], `shmswarm: row range 5: is out of bounds: ${name} has 4 agents (0:4)`],
    [['--rows', '3:1'], /The end 1 comes before the start 3\./],
    [['--rows', 'a:b'], /half-open range a:b/],
    [['--rows', '-1:2'], /half-open range a:b/],
    [['--csv', '--json'], /option '--csv' cannot be used with option '--json'/],
    [['--npy', 'x.npy', '--output', 'y.npy'], /cannot be used with/],
    [['--shape', '4x3'], 'shmswarm: --shape only applies with --raw'],
    [['--mutex', '/m'], 'shmswarm: --mutex only applies with --raw'],
    [['--raw'], 'shmswarm: --raw needs --shape <rows>x<cols>, e.g. --raw --shape 300x3'],
    [['--raw', '--shape', '4by3'], /must be <rows>x<cols>/],
    [['--raw', '--shape', '4x3', '--dtype', 'f16'], /unknown dtype "f16"/],
    [['--timeout', '-1'], /milliseconds/],
  ];
  for (const [args, message] of cases) {
    r = runCli(['dump', name, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    if (typeof message === 'string') assert.equal(firstLine(r.stderr), message);
    else assert.match(firstLine(r.stderr), message);
  }
  r = runCli(['dump', 'noslash']);
  assert.equal(r.status, 2);
  assert.match(firstLine(r.stderr), /must start with "\/"; did you mean "\/noslash"\?/);
});

test('raw mode reads a bare matrix and says the read is unsynchronised without --mutex', (t) => {
  const name = uniqueName(t, 'raw');
  const m = new Float32Array([1.5, 2, 3, 4, 5, 6]);
  writeFileSync('/dev/shm' + name, Buffer.concat([Buffer.alloc(16), Buffer.from(m.buffer)]));
  const r = runCli(['dump', name, '--raw', '--shape', '2x3', '--offset', '16', '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'c0,c1,c2\n1.5,2,3\n4,5,6\n');
  assert.match(r.stderr, /without synchronisation \(no --mutex\)/);
  const big = runCli(['dump', name, '--raw', '--shape', '100x3']);
  assert.equal(big.status, 1);
  assert.match(firstLine(big.stderr), /^shmswarm: /);
});

test('--rows must lie inside 0:N: 0:N is the whole frame, 0:N+1 and N+1: are usage errors', (t) => {
  const { name } = rampSegment(t);
  assert.equal(runCli(['dump', name, '--csv', '--rows', '0:4']).stdout, 'x,y,vx\n2,3,4\n5,6,7\n8,9,10\n11,12,13\n');
  for (const rows of ['0:5', '5:', '5']) {
    const r = runCli(['dump', name, '--csv', '--rows', rows]);
    assert.equal(r.status, 2, `--rows ${rows}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^shmswarm: row range ${rows} is out of bounds: ${name} has 4 agents \\(0:4\\)\n`));
  }
});

test('raw --offset: a matrix that ends at the object\'s last byte is read, one element further is refused in one line', (t) => {
  const name = uniqueName(t, 'rawoff');
  const m = new Float32Array([1, 2, 3, 4, 5, 6]);
  writeFileSync('/dev/shm' + name, Buffer.concat([Buffer.alloc(20), Buffer.from(m.buffer)])); // 44 bytes
  let r = runCli(['dump', name, '--raw', '--shape', '2x3', '--offset', '20', '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'c0,c1,c2\n1,2,3\n4,5,6\n');
  r = runCli(['dump', name, '--raw', '--shape', '2x3', '--offset', '24', '--csv']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^shmswarm: ${name}: object of 44 bytes cannot hold 2x3 f32 \\(24 bytes\\) at offset 24`));
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('dump --help shows examples', () => {
  const r = runCli(['dump', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Examples:/);
  assert.match(r.stdout, /shmswarm dump \/swarm --csv > frame\.csv/);
  assert.match(r.stdout, /--raw/);
});

test('a closed pipe (dump | head) ends quietly', (t) => {
  const { name } = rampSegment(t, { rows: 200000, fields: 'a,b,c,d' , k: 1 });
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump ${name} --csv | head -c 100 > /dev/null`], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at /);
  assert.ok(existsSync('/dev/shm' + name));
});

test('on a terminal the default is a table (coloured header; NO_COLOR turns colour off); .npy is refused there', (t) => {
  const { name } = rampSegment(t);
  const onTty = (args, env = {}) =>
    spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" ${args}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env } });
  let r = onTty(`dump ${name} --rows 0:2`);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /│ \x1b\[1magent\x1b\[22m │/);
  assert.match(r.stdout, /│\s+1 │\s+5 │\s+6 │\s+7 │/);
  r = onTty(`dump ${name} --rows 0:2`, { NO_COLOR: '1' });
  assert.match(r.stdout, /│ agent │/);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
  r = onTty(`dump ${name} --npy -`, { NO_COLOR: '1' });
  assert.equal(r.status, 2);
  assert.match(r.stdout, /shmswarm: refusing to write binary \.npy to a terminal/);
});

test('the default lock-free read ignores a held mutex; --lock waits for it and times out with exit 1', (t) => {
  const { name, seg } = rampSegment(t);
  seg.lock();
  let free;
  let locked;
  try {
    free = runCli(['dump', name, '--csv', '--rows', '0:1']);
    locked = runCli(['dump', name, '--lock', '--timeout', '200']);
  } finally {
    seg.unlock();
  }
  assert.equal(free.status, 0, free.stderr);
  assert.equal(free.stdout, 'x,y,vx\n2,3,4\n');
  assert.equal(locked.status, 1);
  assert.equal(locked.stdout, '');
  assert.match(firstLine(locked.stderr), new RegExp(`^shmswarm: .*is a process stuck holding the lock of ${name}\\?$`));
});

/** runCli for outputs of tens of MB. */
function runBig(args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000, maxBuffer: 1 << 30 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

/** A rows × fields f32 segment of random values (NaN, ±Infinity, -0 among them), one frame published. */
function randomSegment(t, rows, fields) {
  const name = uniqueName(t, 'big');
  const seg = Segment.create(name, { rows, fields });
  t.after(() => seg.close());
  let state = 3;
  const data = Float32Array.from({ length: rows * seg.cols }, () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32 * 200 - 100);
  [NaN, Infinity, -Infinity, -0, 0, 1e-40, 3e38].forEach((v, i) => (data[i * 9973] = v));
  seg.writeFrame(data);
  return { name, seg, data };
}

test('a big frame (split across threads) dumps exactly the serial formatter\'s bytes, to stdout and to files', async (t) => {
  const { frameTable, formatCsv, formatJson, formatNdjson } = await import('../../dist/core/index.js');
  const { PARALLEL_MIN_VALUES } = await import('../../dist/core/format-parallel.js');
  const rows = Math.ceil(PARALLEL_MIN_VALUES / 6) + 3;
  const fields = 'x,y,z,vx,vy,vz';
  const { name, seg, data } = randomSegment(t, rows, fields);
  const meta = { name, dtype: 'f32', sequence: seg.info().sequence, frames: 1, fields: fields.split(',') };
  const whole = frameTable(meta, data);
  const r = runBig(['dump', name, '--csv']);
  assert.equal(r.status, 0, r.stderr || String(r.error));
  assert.equal(r.stderr, '');
  assert.ok(r.stdout === formatCsv(whole), 'CSV to stdout');
  const dir = tempDir(t);
  for (const [ext, serial] of [['json', formatJson], ['ndjson', formatNdjson]]) {
    const file = join(dir, `frame.${ext}`);
    const w = runBig(['dump', name, '-o', file]);
    assert.equal(w.status, 0, w.stderr);
    assert.ok(readFileSync(file, 'utf8') === serial(whole), `${ext} to a file`);
  }
  // All the fields, reordered.
  const s = runBig(['dump', name, '--csv', '--fields', 'vz,x,y,z,vy,vx']);
  assert.equal(s.status, 0, s.stderr);
  assert.ok(s.stdout === formatCsv(frameTable(meta, data, [0, rows], [5, 0, 1, 2, 4, 3])), 'reordered CSV');
  assert.deepEqual(readdirSync(dir).sort(), ['frame.json', 'frame.ndjson']);
});

test('a big raw matrix (copied into shared memory before splitting) dumps the serial bytes', async (t) => {
  const { frameTable, formatCsv } = await import('../../dist/core/index.js');
  const { PARALLEL_MIN_VALUES } = await import('../../dist/core/format-parallel.js');
  const name = uniqueName(t, 'rawbig');
  const rows = Math.ceil(PARALLEL_MIN_VALUES / 4) + 1;
  const m = Float32Array.from({ length: rows * 4 }, (_, i) => Math.fround(Math.sin(i) * 1000));
  writeFileSync('/dev/shm' + name, Buffer.concat([Buffer.alloc(64), Buffer.from(m.buffer)]));
  const r = runBig(['dump', name, '--raw', '--shape', `${rows}x4`, '--offset', '64', '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout === formatCsv(frameTable({ name, dtype: 'f32', sequence: 0, frames: 0, fields: ['c0', 'c1', 'c2', 'c3'] }, m)));
});

test('a closed pipe ends quietly when the frame is split across threads', async (t) => {
  const { PARALLEL_MIN_VALUES } = await import('../../dist/core/format-parallel.js');
  const { name } = randomSegment(t, Math.ceil(PARALLEL_MIN_VALUES / 4), 'a,b,c,d');
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump ${name} --csv | head -c 100 > /dev/null`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at /);
  const j = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump ${name} --ndjson | head -n 3`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(j.status, 0);
  assert.equal(j.stdout.split('\n').length, 4);
  assert.doesNotMatch(j.stderr, /EPIPE|Error|at /);
});

// -o FILE: a regular file is replaced whole (through symlinks); anything else is written where it is.

const RAMP_CSV = 'x,y,vx\n2,3,4\n5,6,7\n8,9,10\n11,12,13\n';

/** A character device made here (never a real /dev node: a rename over it would destroy it); null when mknod is refused. */
test('-o through a symlink replaces the real file; the link survives and the mode is kept', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  mkdirSync(join(dir, 'data'));
  const real = join(dir, 'data', 'real.csv');
  writeFileSync(real, 'old');
  chmodSync(real, 0o640);
  symlinkSync(join('data', 'real.csv'), join(dir, 'link.csv'));
  const r = runCli(['dump', name, '-o', join(dir, 'link.csv')]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(join(dir, 'link.csv')).isSymbolicLink());
  assert.equal(readlinkSync(join(dir, 'link.csv')), join('data', 'real.csv'));
  assert.equal(readFileSync(real, 'utf8'), RAMP_CSV);
  assert.equal(statSync(real).mode & 0o7777, 0o640);
  assert.deepEqual(readdirSync(dir).sort(), ['data', 'link.csv']);
  assert.deepEqual(readdirSync(join(dir, 'data')), ['real.csv'], 'no temporary file left');

  // A plain file keeps its mode too.
  const plain = join(dir, 'plain.csv');
  writeFileSync(plain, 'old');
  chmodSync(plain, 0o600);
  assert.equal(runCli(['dump', name, '-o', plain]).status, 0);
  assert.equal(statSync(plain).mode & 0o7777, 0o600);
  assert.equal(readFileSync(plain, 'utf8'), RAMP_CSV);
});

test('-o through a dangling symlink creates its target', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  symlinkSync('made.npy', join(dir, 'link.npy'));
  const r = runCli(['dump', name, '--npy', join(dir, 'link.npy')]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(join(dir, 'link.npy')).isSymbolicLink());
  assert.ok(statSync(join(dir, 'made.npy')).isFile());
  assert.equal(readFileSync(join(dir, 'made.npy')).subarray(1, 6).toString(), 'NUMPY');
  assert.deepEqual(readdirSync(dir).sort(), ['link.npy', 'made.npy']);
});

test('-o on a full character device: one line with ENOSPC, exit 1, the device is still a device', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  const full = charDevice(t, dir, 'fulldev', 1, 7);
  if (!full) return;
  for (const args of [['--csv', '-o', full], ['--npy', full]]) {
    const r = runCli(['dump', name, ...args]);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `shmswarm: cannot write ${full}: ENOSPC (no space left on device)\n`);
    assert.ok(lstatSync(full).isCharacterDevice(), 'not replaced by a regular file');
  }
  assert.deepEqual(readdirSync(dir), ['fulldev'], 'no temporary file left');
  const nul = charDevice(t, dir, 'nulldev', 1, 3);
  const r = runCli(['dump', name, '--csv', '-o', nul]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(nul).isCharacterDevice());
});

test('-o on a FIFO writes to its reader and leaves the FIFO in place', async (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  const p = fifo(dir, 'frames');
  const reader = spawn('cat', [p], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => reader.kill('SIGKILL'));
  const read = waitExit(reader);
  const writer = spawn(process.execPath, [BIN, 'dump', name, '--csv', '-o', p], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const w = await waitExit(writer);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.stderr, '');
  const got = await read;
  assert.equal(got.stdout, RAMP_CSV);
  assert.ok(lstatSync(p).isFIFO());
  assert.deepEqual(readdirSync(dir), ['frames']);
});

test('-o /dev/stdout writes to stdout (a socket, a pipe or a file opened for append) and replaces nothing', (t) => {
  const { name } = rampSegment(t);
  let r = runCli(['dump', name, '--csv', '-o', '/dev/stdout']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, RAMP_CSV);
  r = runCli(['dump', name, '--ndjson', '--rows', '0:1', '-o', '/dev/fd/1']);
  assert.equal(r.stdout, '{"x":2,"y":3,"vx":4}\n');
  const dir = tempDir(t);
  const out = join(dir, 'out.csv');
  writeFileSync(out, 'before\n');
  const ino = statSync(out).ino;
  symlinkSync('/dev/stdout', join(dir, 'me'));
  const sh = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump ${name} --csv -o "${join(dir, 'me')}" >> "${out}" && "${process.execPath}" "${BIN}" dump ${name} --csv -o /dev/stdout | cat >> "${out}"`], { encoding: 'utf8' });
  assert.equal(sh.status, 0, sh.stderr);
  assert.equal(readFileSync(out, 'utf8'), 'before\n' + RAMP_CSV + RAMP_CSV);
  assert.equal(statSync(out).ino, ino, 'the file stdout was opened on is written, not replaced');
  assert.ok(lstatSync(join(dir, 'me')).isSymbolicLink());
});

test('-o on a directory is a one-line error and changes nothing', (t) => {
  const { name } = rampSegment(t);
  const dir = tempDir(t);
  const r = runCli(['dump', name, '-o', dir]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `shmswarm: cannot write ${dir}: EISDIR (illegal operation on a directory)\n`);
  assert.deepEqual(readdirSync(dir), []);
});

test('dump --lock repairs a frame left odd under a free lock, and says so without blaming a lock holder', (t) => {
  const name = uniqueName(t, 'odd');
  const seg = Segment.create(name, { rows: 4, fields: 'x,y,z' }); // data 64..112, block at 128
  t.after(() => seg.close());
  seg.writeFrame(Array.from({ length: 12 }, (_, i) => i));
  const fd = openSync('/dev/shm' + name, 'r+');
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64LE(3n); // frame 2 "being written", by nobody: the lock is free
  writeSync(fd, seq, 0, 8, 128 + 128);
  closeSync(fd);
  const r = runCli(['dump', name, '--csv', '--lock']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /a writer of \S+ died holding its lock or in the middle of a frame; the segment has been repaired/);
  assert.doesNotMatch(r.stderr, /mutex .* was held/);
  assert.equal(r.stdout.split('\n')[1], '0,1,2');
  assert.equal(seg.sequence() % 2, 0, 'the sequence is even again');
  const again = runCli(['dump', name, '--csv', '--lock']);
  assert.doesNotMatch(again.stderr, /repaired/, 'repaired once');
});

test('-o /dev/fd/N other than stdout and stderr is refused with one line, and nothing is written', async (t) => {
  const { name } = rampSegment(t);
  // fd 3 is a pipe the caller passed; 7 and 12 are Node's own (event loop); the sleeper's fd 1 belongs to another process.
  const sleeper = spawn('sleep', ['20'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => sleeper.kill());
  for (const target of ['/dev/fd/3', '/dev/fd/7', '/proc/self/fd/12', `/proc/${sleeper.pid}/fd/1`]) {
    const child = spawn(process.execPath, [BIN, 'dump', name, '--csv', '-o', target], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdio[3].on('data', (d) => (out += d));
    const r = await waitExit(child);
    assert.equal(r.code, 1, `${target}: ${r.stderr}`);
    assert.match(r.stderr, /^shmswarm: cannot write \S+: EINVAL \(only \/dev\/stdout and \/dev\/stderr are written through as descriptors; redirect with the shell instead/, target);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(out, '', target);
  }
});

test('-o onto the segment being dumped is refused, and the segment is untouched', (t) => {
  const { name, seg } = rampSegment(t);
  for (const args of [['--csv', '-o', '/dev/shm' + name], ['--npy', '/dev/shm' + name]]) {
    const r = runCli(['dump', name, ...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `shmswarm: refusing to write the dump of ${name} over ${name}, which it reads\n`);
  }
  assert.equal(seg.nameStatus(), 'same');
  assert.equal(runCli(['info', name]).status, 0);
});

test('Ctrl-C while -o replaces a file: the old file stays, no temporary file is left, exit 130', async (t) => {
  const name = uniqueName(t, 'bigsig');
  const seg = Segment.create(name, { rows: 1_000_000, fields: 'x,y,z' });
  t.after(() => seg.close());
  seg.writeFrame(Float32Array.from({ length: 3_000_000 }, () => Math.random()));
  const dir = tempDir(t);
  const out = join(dir, 'out.csv');
  writeFileSync(out, 'old\n');
  const child = spawn(process.execPath, [BIN, 'dump', name, '--csv', '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const done = waitExit(child);
  // Signal once the temporary file is there: the write is under way.
  for (let i = 0; i < 2000 && readdirSync(dir).length < 2 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 2));
  child.kill('SIGINT');
  const r = await done;
  if (r.code === 0) return t.diagnostic('the dump finished before the signal: nothing to check this time');
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.stderr, `shmswarm: interrupted; ${out} was left as it was\n`);
  assert.equal(readFileSync(out, 'utf8'), 'old\n');
  assert.deepEqual(readdirSync(dir), ['out.csv']);
});

test('CSV ends lines with LF by default, so awk, grep and read see the last column as it is; --crlf gives CRLF', (t) => {
  const { name } = rampSegment(t);
  const r = spawnSync('sh', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} dump "$1" --csv | awk -F, 'NR==1{print "[" $3 "]"}'`, 'sh', name], { encoding: 'utf8' });
  assert.equal(r.stdout, '[vx]\n', r.stderr);
  const crlf = runCli(['dump', name, '--csv', '--crlf']);
  assert.equal(crlf.status, 0, crlf.stderr);
  assert.equal(crlf.stdout, 'x,y,vx\r\n2,3,4\r\n5,6,7\r\n8,9,10\r\n11,12,13\r\n');
  const bad = runCli(['dump', name, '--json', '--crlf']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^shmswarm: --crlf only applies to CSV, not json\n$/);
});

test('every CSV the CLI writes follows the choice: -o x.csv, and a frame large enough for the parallel formatter', (t) => {
  const dir = tempDir(t);
  const name = uniqueName(t, 'bigcsv');
  // 6,000,000 values: the parallel path (format-parallel.ts PARALLEL_MIN_VALUES).
  Segment.create(name, { rows: 1_500_000, fields: ['a', 'b', 'c', 'd'] }).close();
  for (const [flags, eol] of [[[], '\n'], [['--crlf'], '\r\n']]) {
    const file = join(dir, `f${eol.length}.csv`);
    const r = runCli(['dump', name, '-o', file, ...flags]);
    assert.equal(r.status, 0, r.stderr);
    const text = readFileSync(file, 'latin1');
    const lines = text.split('\n');
    assert.equal(lines.length, 1_500_002);
    assert.equal(lines[0], `a,b,c,d${eol === '\n' ? '' : '\r'}`);
    assert.equal(text.split('\r').length - 1, eol === '\n' ? 0 : 1_500_001, 'CR before every LF with --crlf, none without');
  }
});
