// record, replay, info <file> and dump --follow, across real processes: a ramp writer (frame k
// holds k + r·cols + c), the real CLI, and pyarrow/DuckDB reading the files without shmswarm.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segment } from '../../dist/core/index.js';
import { openRecording } from '../../dist/record/index.js';
import { BIN, ROOT, runCli, spawnCli, uniqueName, waitExit } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shmswarm-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CI = process.env.CI === 'true';
const hasPyarrow = spawnSync('python3', ['-c', 'import pyarrow, numpy, duckdb']).status === 0;
function needPython(t) {
  if (hasPyarrow) return true;
  assert.ok(!CI, 'python3 with pyarrow, numpy and duckdb is required under CI=true');
  t.skip('python3 with pyarrow, numpy and duckdb is missing: pip install pyarrow numpy duckdb');
  return false;
}

/** Every frame of a recording holds the ramp of its writer's frame number, and the numbers rise. */
async function checkRamp(path, rows, cols) {
  const rec = await openRecording(path);
  try {
    const into = new Float32Array(rows * cols);
    let prev = -1;
    let n = 0;
    for (const f of rec.frames(0, into)) {
      const k = f.stamp.frame;
      assert.ok(k > prev, `frame numbers rise: ${prev} then ${k}`);
      prev = k;
      for (const i of [0, cols + 1, rows * cols - 1]) assert.equal(f.data[i], k + i, `frame ${k} element ${i}`);
      n++;
    }
    assert.equal(n, rec.stamps.length);
    return rec;
  } finally {
    rec.close();
  }
}

/** A ramp writer on `name` (rows × 3) at `rate` Hz until killed. */
function rampWriter(t, name, rows, rate = 200) {
  const w = spawnCli(['simulate', name, '--agents', String(rows), '--pattern', 'ramp', '--rate', String(rate), '--dims', '2']);
  t.after(() => w.kill('SIGKILL'));
  return w;
}

async function waitFor(cond, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const ext of ['arrows', 'mcap']) {
  test(`record → ${ext} → info → replay: the frames come back whole and in order`, async (t) => {
    const src = uniqueName(t, 'src');
    const dst = uniqueName(t, 'dst');
    const file = join(dir, `ramp.${ext}`);
    const w = rampWriter(t, src, 40);
    await waitFor(() => existsSync('/dev/shm' + src), 'the writer');
    const r = runCli(['record', src, file, '--frames', '15']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /record .*: done; 15 frames, [\d.]+ MB in [\d.]+ s .*; \d+ missed/);
    w.kill('SIGKILL');
    const rec = await checkRamp(file, 40, 4);
    assert.equal(rec.stamps.length, 15);
    assert.equal(rec.truncated, null);

    const info = runCli(['info', file, '--json']);
    assert.equal(info.status, 0, info.stderr);
    const i = JSON.parse(info.stdout);
    assert.deepEqual([i.format, i.source, i.rows, i.cols, i.dtype, i.fields, i.frames, i.truncated], [ext === 'mcap' ? 'mcap' : 'arrow', src, 40, 4, 'f32', ['x', 'y', 'vx', 'vy'], 15, null]);
    assert.ok(i.duration > 0 && i.meanRate > 0);
    assert.equal(i.missed, rec.stamps.at(-1).frame - rec.stamps[0].frame + 1 - 15, 'missed = the gaps in the frame numbers');
    const people = runCli(['info', file]);
    assert.match(people.stdout, /frames\s+15\n/);
    assert.match(people.stdout, new RegExp(`source\\s+${src}`));

    const rp = runCli(['replay', file, dst, '--speed', '0', '--keep']);
    assert.equal(rp.status, 0, rp.stderr);
    assert.match(rp.stderr, /published 15 frames/);
    const seg = Segment.open(dst, { readonly: true });
    t.after(() => seg.close());
    const last = rec.stamps.at(-1).frame;
    const f = seg.readFrame();
    assert.deepEqual([seg.rows, seg.cols, seg.dtype, [...seg.fields]], [40, 4, 'f32', ['x', 'y', 'vx', 'vy']]);
    assert.equal(f.data[0], last);
    assert.equal(f.data[159], last + 159);
    assert.equal(f.frames, 15);

    // An existing name is refused as create refuses it; --from/--frames slice; --loop goes round.
    const again = runCli(['replay', file, dst, '--speed', '0']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    const slice = uniqueName(t, 'slice');
    assert.equal(runCli(['replay', file, slice, '--from', '10', '--frames', '3', '--rate', '500', '--keep', '--mode', '640']).status, 0);
    const s2 = Segment.open(slice, { readonly: true });
    t.after(() => s2.close());
    assert.equal(s2.readFrame().data[0], rec.stamps[12].frame);
    assert.equal(s2.info().mode & 0o777, 0o640);
    const loop = runCli(['replay', file, uniqueName(t, 'loop'), '--loop', '--speed', '0', '--frames', '40']);
    assert.match(loop.stderr, /published 40 frames/);
    assert.equal(runCli(['replay', file, uniqueName(t, 'x'), '--from', '15']).status, 2);
  });
}

test('pyarrow reads a recording without shmswarm: numpy frames and a DuckDB frame,time,agent,<fields> table (examples/recording/read_arrow.py)', async (t) => {
  if (!needPython(t)) return;
  const src = uniqueName(t, 'py');
  const file = join(dir, 'py.arrows');
  rampWriter(t, src, 5);
  await waitFor(() => existsSync('/dev/shm' + src), 'the writer');
  const r = runCli(['record', src, file, '--frames', '4']);
  assert.equal(r.status, 0, r.stderr);
  const py = spawnSync('python3', [join(ROOT, 'examples/recording/read_arrow.py'), file, '--sql'], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.match(py.stdout, /^shape \(4, 5, 4\) dtype float32$/m);
  assert.match(py.stdout, /^fields x,y,vx,vy$/m);
  assert.match(py.stdout, new RegExp(`^source ${src}$`, 'm'));
  const frames = /^frames (.*)$/m.exec(py.stdout)[1].split(' ').map(Number);
  assert.equal(frames.length, 4);
  assert.match(py.stdout, new RegExp(`^first ${frames[0]}\\.0 ${frames[0] + 1}\\.0 ${frames[0] + 2}\\.0 ${frames[0] + 3}\\.0$`, 'm'));
  const sql = [...py.stdout.matchAll(/^sql (\d+) (\d+) (\S+)$/gm)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
  assert.deepEqual(sql, frames.map((k) => [k, 5, k]));
});

test('replay refuses empty, foreign, damaged and cut-off files, creating nothing; --partial replays the whole frames of a cut one', async (t) => {
  const src = uniqueName(t, 'bad');
  rampWriter(t, src, 30);
  await waitFor(() => existsSync('/dev/shm' + src), 'the writer');
  const good = { arrows: join(dir, 'good.arrows'), mcap: join(dir, 'good.mcap') };
  for (const f of Object.values(good)) assert.equal(runCli(['record', src, f, '--frames', '3']).status, 0);
  const cases = [];
  const make = (label, bytes) => {
    const p = join(dir, `bad-${label}`);
    writeFileSync(p, bytes);
    cases.push([label, p]);
  };
  make('empty', Buffer.alloc(0));
  make('text', 'frame,time\n1,2\n');
  make('png', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  for (const [ext, f] of Object.entries(good)) {
    const b = readFileSync(f);
    make(`${ext}-head`, b.subarray(0, 6));
    make(`${ext}-cut`, b.subarray(0, b.length - 700));
    const flipped = Buffer.from(b);
    for (let i = 200; i < 260; i++) flipped[i] ^= 0x5a;
    make(`${ext}-corrupt`, flipped);
    const huge = Buffer.from(b);
    if (ext === 'arrows') huge.writeInt32LE(0x7ffffff0, 4); // the schema's length
    else huge.writeBigUInt64LE(0xffffffffffffn, 9); // the header record's length
    make(`${ext}-huge-length`, huge);
  }
  // Every case through the reader the CLI uses (in this process: quick); a cut file opens, marked cut.
  for (const [label, p] of cases) {
    if (/-cut$/.test(label)) {
      const rec = await openRecording(p);
      rec.close();
      assert.ok(rec.truncated, `${label} is marked cut off`);
      continue;
    }
    await assert.rejects(openRecording(p), (e) => e.name === 'RecordingError' && /^(EBADRECORDING|ETRUNCATED|EEMPTY)$/.test(e.code), label);
  }
  // A few through the real CLI: one line, exit 1, nothing created.
  for (const [label, p] of cases.filter(([l]) => /^(empty|png|arrows-corrupt|arrows-huge-length|mcap-corrupt|mcap-huge-length)$/.test(l))) {
    const name = uniqueName(t, 'never');
    const r = runCli(['replay', p, name, '--speed', '0']);
    assert.equal(r.status, 1, `${label}: ${r.stderr}`);
    assert.match(r.stderr, /^shmswarm: [^\n]+\n$/, `${label}: one line`);
    assert.doesNotMatch(r.stderr, /    at /);
    assert.ok(!existsSync('/dev/shm' + name), `${label}: nothing created`);
  }
  assert.equal(runCli(['info', join(dir, 'bad-mcap-head')]).status, 1);
  for (const ext of ['arrows', 'mcap']) {
    const cut = join(dir, `bad-${ext}-cut`);
    const r = runCli(['replay', cut, uniqueName(t, 'never'), '--speed', '0']);
    assert.match(r.stderr, /is cut off: .*; it holds \d whole frames? \(--partial replays those\)/);
    const name = uniqueName(t, 'partial');
    const p = runCli(['replay', cut, name, '--speed', '0', '--partial']);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stderr, /published [123] frames?/);
    assert.ok(!existsSync('/dev/shm' + name), 'removed at the end without --keep');
  }
  const missing = runCli(['replay', join(dir, 'nothere.arrows'), uniqueName(t, 'never')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read .*nothere\.arrows: ENOENT/);
});

test('a recording whose frame header holds an absurd buffer offset is refused as a bad recording (exit 1), not a TypeError (exit 2)', async (t) => {
  const src = uniqueName(t, 'dmg');
  rampWriter(t, src, 30);
  await waitFor(() => existsSync('/dev/shm' + src), 'the writer');
  const good = join(dir, 'dmg.arrows');
  assert.equal(runCli(['record', src, good, '--frames', '2']).status, 0);
  const b = readFileSync(good);
  const batch = 8 + b.readInt32LE(4); // the first record batch's message, after the schema's
  const meta = b.subarray(batch + 8, batch + 8 + b.readInt32LE(batch + 4));
  const len = Buffer.alloc(8);
  len.writeBigInt64LE(120n); // a column's values: 30 rows of f32, after its offset in the buffer list
  const at = meta.indexOf(len, 8);
  assert.ok(at > 0, 'the buffer list is found');
  meta.fill(0x7f, at - 8, at); // that column's offset: far beyond any safe integer
  const p = join(dir, 'dmg-offset.arrows');
  writeFileSync(p, b);
  await assert.rejects(openRecording(p), (e) => e.name === 'RecordingError' && e.code === 'EBADRECORDING');
  const r = runCli(['info', p]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^shmswarm: [^\n]+ does not decode[^\n]*\n$/);
});

test('every 8 bytes of the headers of a recording overwritten in turn: it opens or is refused as a bad recording, never hangs', { timeout: 60_000 }, async (t) => {
  const src = uniqueName(t, 'sweep');
  rampWriter(t, src, 30);
  await waitFor(() => existsSync('/dev/shm' + src), 'the writer');
  const good = join(dir, 'sweep.arrows');
  assert.equal(runCli(['record', src, good, '--frames', '2']).status, 0);
  const b = readFileSync(good);
  const batch = 8 + b.readInt32LE(4); // the schema's message, then the first record batch's
  const end = batch + 8 + b.readInt32LE(batch + 4);
  const p = join(dir, 'sweep-x.arrows');
  for (let i = 8; i < end; i += 4) {
    const d = Buffer.from(b);
    d.fill(0x7f, i, Math.min(i + 8, end)); // a list length of 2^31: apache-arrow looped over it for minutes
    writeFileSync(p, d);
    try {
      (await openRecording(p)).close();
    } catch (e) {
      assert.equal(e.name, 'RecordingError', `bytes ${i}..${i + 8}: ${e.message}`);
    }
  }
});

test('replay onto an existing segment points to replay --force, not create --force', async (t) => {
  const src = uniqueName(t, 'exists');
  rampWriter(t, src, 30);
  await waitFor(() => existsSync('/dev/shm' + src), 'the writer');
  const file = join(dir, 'exists.arrows');
  assert.equal(runCli(['record', src, file, '--frames', '1']).status, 0);
  const r = runCli(['replay', file, src]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already exists; .*replay --force/);
  assert.doesNotMatch(r.stderr, /create --force/);
});

test('record refuses what it cannot do before creating any file', async (t) => {
  const src = uniqueName(t, 'refuse');
  const seg = Segment.create(src, { rows: 2, fields: 'a,b', dtype: 'i64' });
  t.after(() => seg.close());
  const cases = [
    [['record', uniqueName(t, 'none'), join(dir, 'r1.arrows')], 1, /does not exist/],
    [['record', src, join(dir, 'r2.mcap')], 2, /MCAP .* has no i64 point type/],
    [['record', src, join(dir, 'no-dir', 'r3.arrows')], 1, /cannot write .*r3\.arrows: ENOENT/],
    [['record', src, join(dir, 'r4.arrows'), '--max-rate', '0'], 2, /--max-rate/],
    [['record', src, '/dev/shm' + src, '--force'], 2, /into itself/],
  ];
  for (const [args, status, re] of cases) {
    const r = runCli(args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    if (args[2].startsWith(dir)) assert.ok(!existsSync(args[2]), `${args[2]} not created`);
  }
  writeFileSync(join(dir, 'exists.arrows'), 'mine');
  const r = runCli(['record', src, join(dir, 'exists.arrows'), '--frames', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /EEXIST .*--force to overwrite/);
  assert.equal(readFileSync(join(dir, 'exists.arrows'), 'utf8'), 'mine');
  // A directory or a device is not a file --force could overwrite: said at once, with or without it.
  mkdirSync(join(dir, 'adir.arrows'));
  for (const [target, re] of [[join(dir, 'adir.arrows'), /EISDIR .*is a directory/], ['/dev/full', /\/dev\/full is not a regular file/]])
    for (const force of [[], ['--force']]) {
      const d = runCli(['record', src, target, '--frames', '1', ...force]);
      assert.equal(d.status, 1, d.stderr);
      assert.match(d.stderr, re);
      assert.doesNotMatch(d.stderr, /--force to overwrite/);
    }
});

test('info: a /name is the segment as before; a path is a recording', (t) => {
  const r = runCli(['info', join(dir, 'none.mcap')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read .*none\.mcap: ENOENT/);
  const seg = runCli(['info', '/' + 'shmswarm-no-such-segment-x']);
  assert.match(seg.stderr, /segment \/shmswarm-no-such-segment-x does not exist/);
  // A relative path that does not exist is a missing file, not a badly written segment name.
  const rel = spawnSync(process.execPath, [BIN, 'info', './no-such-run'], { cwd: dir, encoding: 'utf8' });
  assert.equal(rel.status, 1, rel.stderr);
  assert.match(rel.stderr, /cannot read \.\/no-such-run: ENOENT/);
  const word = runCli(['info', 'swarm']);
  assert.match(word.stderr, /did you mean "\/swarm"/);
  const flag = runCli(['info', join(dir, 'good.arrows'), '--python']);
  assert.equal(flag.status, 2);
  void t;
});

test('dump --follow: one NDJSON object per new frame, CSV with frame,time,agent; a closed pipe ends it with 0', async (t) => {
  const name = uniqueName(t, 'follow');
  rampWriter(t, name, 3, 100);
  await waitFor(() => existsSync('/dev/shm' + name), 'the writer');
  const nd = runCli(['dump', name, '--follow', '--frames', '3']);
  assert.equal(nd.status, 0, nd.stderr);
  const objs = nd.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(objs.length, 3);
  for (const o of objs) {
    assert.deepEqual(o.fields, ['x', 'y', 'vx', 'vy']);
    assert.equal(o.data.length, 3);
    assert.deepEqual(o.data[1], [o.frame + 4, o.frame + 5, o.frame + 6, o.frame + 7]);
    assert.equal(o.sequence, 2 * o.frame);
    assert.ok(Math.abs(o.time - Date.now() / 1000) < 60);
  }
  assert.ok(objs[1].frame > objs[0].frame && objs[2].frame > objs[1].frame);
  const csv = runCli(['dump', name, '--follow', '--csv', '--frames', '2', '--fields', 'y']);
  assert.equal(csv.status, 0, csv.stderr);
  const lines = csv.stdout.split('\n');
  assert.equal(lines[0], 'frame,time,agent,y');
  assert.equal(lines.length, 1 + 2 * 3 + 1);
  assert.ok(!csv.stdout.includes('\r'), 'LF line endings');
  const crlf = runCli(['dump', name, '--follow', '--csv', '--crlf', '--frames', '1']);
  assert.equal(crlf.status, 0, crlf.stderr);
  assert.match(crlf.stdout, /^frame,time,agent,x,y,vx,vy\r\n(\d[^\r\n]*\r\n){3}$/, '--crlf: CRLF line endings, as dump --csv --crlf');
  assert.equal(runCli(['dump', name, '--follow', '--crlf', '--frames', '1']).status, 2, '--crlf without --csv is refused');
  const [k, , agent, y] = lines[2].split(',').map(Number);
  assert.equal(agent, 1);
  assert.equal(y, k + 4 + 1);
  const head = spawnSync('bash', ['-c', `node ${JSON.stringify(BIN)} dump ${name} --follow | head -1; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 20_000 });
  assert.match(head.stdout, /^\{"sequence".*\nstatus 0\n$/);
  const bad = runCli(['dump', name, '--frames', '2']);
  assert.equal(bad.status, 2);
  const withJson = runCli(['dump', name, '--follow', '--json']);
  assert.equal(withJson.status, 2);
});

test('the recording libraries load only in the commands that use them', (t) => {
  // Seen both ways they can be loaded: require() (require.cache at exit) and import (an ES module
  // resolve hook, which runs on its own thread and writes straight to stderr).
  const reporter = join(dir, 'report.mjs');
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (/apache-arrow|@mcap|@foxglove/.test(r.url)) (await import('node:fs')).writeSync(2, 'ESMLIB ' + r.url + '\\n'); return r; }`;
  writeFileSync(reporter, `import { register, createRequire } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
const require = createRequire(import.meta.url);
process.on('exit', () => process.stderr.write('LIBS:' + Object.keys(require.cache).filter((k) => /apache-arrow|@mcap|@foxglove/.test(k)).length + '\\n'));
`);
  const name = uniqueName(t, 'startup');
  const seg = Segment.create(name, { rows: 2, fields: 'x' });
  t.after(() => seg.close());
  const run = (args) => spawnSync(process.execPath, ['--import', reporter, BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  for (const args of [['info', name], ['info', '--help'], ['dump', name, '--csv'], ['record', '--help'], ['replay', '--help']]) {
    const r = run(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /LIBS:0\n$/, args.join(' '));
    assert.doesNotMatch(r.stderr, /ESMLIB/, args.join(' '));
  }
  const r = run(['info', join(dir, 'good.arrows')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /ESMLIB .*apache-arrow|LIBS:[1-9]/, 'the reporter sees a library that was loaded');
});

test('every dtype comes back bit for bit (NaN payloads, i64 beyond 2^53), both formats where they exist', async (t) => {
  const cases = [
    ['f32', (a) => new Uint32Array(a.buffer).set([0x7fa00001, 0xffc00abc, 0x80000000, 0x3f800000, 0x7f800000, 1])],
    ['f64', (a) => new BigUint64Array(a.buffer).set([0x7ff4000000000001n, 0xfff8000000000abcn, 0x8000000000000000n, 1n, 2n, 0x7ff0000000000000n])],
    ['i64', (a) => a.set([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -1n, 0n, 7n])],
    ['u8', (a) => a.set([0, 255, 1, 2, 3, 128])],
    ['i16', (a) => a.set([-32768, 32767, -1, 0, 1, 2])],
  ];
  for (const [dtype, fill] of cases) {
    const name = uniqueName(t, dtype);
    const seg = Segment.create(name, { rows: 2, fields: 'a,b,c', dtype });
    t.after(() => seg.close());
    const frame = new (seg.view().constructor)(6);
    fill(frame);
    seg.writeFrame(frame);
    for (const ext of dtype === 'i64' ? ['arrows'] : ['arrows', 'mcap']) {
      const file = join(dir, `bits-${dtype}.${ext}`);
      const r = runCli(['record', name, file, '--frames', '1']);
      assert.equal(r.status, 0, r.stderr);
      const back = uniqueName(t, 'back');
      assert.equal(runCli(['replay', file, back, '--speed', '0', '--keep']).status, 0);
      const got = Segment.open(back, { readonly: true });
      const f = got.readFrame();
      got.close();
      assert.deepEqual(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), Buffer.from(frame.buffer), `${dtype} ${ext}`);
      assert.equal(got.dtype, dtype);
    }
  }
});

test('every Python block of docs/RECORDING.md compiles (the MCAP reader cannot run here: pip has no mcap package)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'RECORDING.md'), 'utf8');
  const blocks = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.some((b) => b.includes('make_reader')), 'the MCAP reader is one of them');
  for (const [i, code] of blocks.entries()) {
    const r = spawnSync('python3', ['-c', 'import sys; compile(sys.stdin.read(), "block", "exec")'], { input: code, encoding: 'utf8' });
    assert.equal(r.status, 0, `python block ${i + 1} of docs/RECORDING.md: ${r.stderr}`);
  }
});
