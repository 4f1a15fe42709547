// `shmswarm check` against writers in other processes: every assertion passing and failing,
// exit codes, messages and the JSON report. Windows are short; rates have wide margins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { runCli, spawnCli, spawnNode, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';

// argv: name rate(Hz) mode(ok|nan|big) count(0 = forever). 4 agents × x,y,z; x = 0.5, y = -0.5,
// z = frame/1000. "nan" puts NaN at agent 2, field y from frame 3; "big" puts 1e6 at agent 1, x.
const WRITER = `
const [name, rate, mode, count] = process.argv.slice(1);
const seg = Segment.create(name, { rows: 4, fields: 'x,y,z' });
const f = new Float32Array(12);
let k = 0;
const write = () => {
  k++;
  for (let r = 0; r < 4; r++) { f[r * 3] = 0.5; f[r * 3 + 1] = -0.5; f[r * 3 + 2] = k / 1000; }
  if (mode === 'nan' && k >= 3) f[2 * 3 + 1] = NaN;
  if (mode === 'big') f[1 * 3] = 1e6;
  seg.writeFrame(f);
  if (k === 3) console.log('ready');
  if (Number(count) && k >= Number(count)) { seg.close(); process.exit(0); }
};
setInterval(write, 1000 / Number(rate));
process.on('SIGTERM', () => { seg.close(); process.exit(0); });
`;

async function startWriter(t, name, { rate = 100, mode = 'ok', count = 0 } = {}) {
  const child = spawnNode(WRITER, { args: [name, String(rate), mode, String(count)] });
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /ready/);
  return child;
}

const lines = (out) => out.trim().split('\n');
const lineOf = (out, name) => lines(out).find((l) => l.split(/\s+/)[1] === name);

test('every assertion holds: one ok line each, a summary, exit 0', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name);
  const r = runCli(['check', name, '--shape', '4x3', '--dtype', 'f32', '--fields', 'x,y,z', '--min-rate', '10',
    '--within', '1', '--finite', '--range', 'x:0:1', '--range', 'y:-inf:0', '--range', 'z:0:inf', '--writer-alive']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stderr, '');
  const out = lines(r.stdout);
  assert.deepEqual(out.slice(0, -1).map((l) => l.split(/\s+/).slice(0, 2).join(' ')), [
    'ok shape', 'ok dtype', 'ok fields', 'ok min-rate', 'ok finite', 'ok range:x', 'ok range:y', 'ok range:z', 'ok writer-alive',
  ]);
  assert.match(out.at(-1), /^ok: .*: all 9 assertions hold$/);
  assert.match(lineOf(r.stdout, 'shape'), /4x3$/);
  assert.match(lineOf(r.stdout, 'min-rate'), /Hz >= 10 Hz \(\d+ frames written in/);
  assert.match(lineOf(r.stdout, 'writer-alive'), /writer pid \d+ is running/);
});

test('a shape, dtype and fields mismatch fail with what was measured', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name);
  const r = runCli(['check', name, '--shape', '300x3', '--dtype', 'f64', '--fields', 'x,y,vx']);
  assert.equal(r.status, 1);
  assert.match(lineOf(r.stdout, 'shape'), /^FAIL\s+shape\s+measured 4x3, expected 300x3$/);
  assert.match(lineOf(r.stdout, 'dtype'), /^FAIL\s+dtype\s+measured f32, expected f64$/);
  assert.match(lineOf(r.stdout, 'fields'), /^FAIL\s+fields\s+measured x,y,z, expected x,y,vx$/);
  assert.match(lines(r.stdout).at(-1), /^FAIL: .*: 3 of 3 assertions failed$/);
});

test('header-only assertions need no window and pass at once', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name);
  const r = runCli(['check', name, '--shape', '4x3', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.windowMs, null);
  assert.equal(report.framesRead, 0);
});

test('a writer too slow for --min-rate fails with the measured rate', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name, { rate: 4 });
  const r = runCli(['check', name, '--min-rate', '50', '--within', '0.6']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(lineOf(r.stdout, 'min-rate'), /^FAIL\s+min-rate\s+[\d.]+ Hz < 50 Hz \(\d+ frames? written in [\d.]+ s\)$/);
});

test('a NaN written on purpose fails --finite and names where it is', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name, { mode: 'nan' });
  const r = runCli(['check', name, '--finite', '--within', '0.3']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(lineOf(r.stdout, 'finite'), /^FAIL\s+finite\s+\d+ of \d+ values not finite .*first: NaN at agent 2 field y in frame \d+$/);
});

test('a value outside its range fails that range only', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name, { mode: 'big' });
  const r = runCli(['check', name, '--range', 'x:-1:1', '--range', 'y:-1:1', '--within', '0.3']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(lineOf(r.stdout, 'range:x'), /^FAIL\s+range:x\s+\d+ of \d+ values outside \[-1, 1\], measured 0.5 .. 1000000 .*first: 1000000 at agent 1 in frame \d+$/);
  assert.match(lineOf(r.stdout, 'range:y'), /^ok\s+range:y\s+measured -0.5 .. -0.5, inside \[-1, 1\]/);
});

test('--range bounds are inclusive: values equal to min and to max pass', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name);
  // x is 0.5 and y is -0.5 in every frame: ranges that end exactly there.
  const r = runCli(['check', name, '--range', 'x:-1:0.5', '--range', 'y:-0.5:1', '--range', 'x:0.5:0.5', '--within', '0.3']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(lineOf(r.stdout, 'range:y'), /^ok\s+range:y\s+measured -0.5 .. -0.5, inside \[-0.5, 1\]/);
  assert.equal(lines(r.stdout).filter((l) => /^ok\s+range:x\s/.test(l)).length, 2, r.stdout);
});

test('--min-rate 0 passes on an idle segment (0 Hz is not below 0 Hz)', (t) => {
  const name = uniqueName(t);
  Segment.create(name, { rows: 2, fields: 'x,y,z' }).close();
  const r = runCli(['check', name, '--min-rate', '0', '--within', '0.2']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(lineOf(r.stdout, 'min-rate'), /^ok\s+min-rate\s+0.00 Hz >= 0 Hz \(0 frames written in [\d.]+ s\)$/);
});

test('a dead writer fails --writer-alive and --min-rate; its last frame is still checked', async (t) => {
  const name = uniqueName(t);
  const child = spawnNode(WRITER, { args: [name, '200', 'ok', '5'] });
  t.after(() => child.kill('SIGKILL'));
  const exit = await waitExit(child);
  assert.equal(exit.code, 0, exit.stderr);
  const r = runCli(['check', name, '--writer-alive', '--min-rate', '1', '--finite', '--within', '0.3']);
  assert.equal(r.status, 1);
  assert.match(lineOf(r.stdout, 'writer-alive'), /^FAIL\s+writer-alive\s+writer pid \d+ is not running$/);
  assert.match(lineOf(r.stdout, 'min-rate'), /^FAIL\s+min-rate\s+0.00 Hz < 1 Hz \(0 frames written/);
  assert.match(lineOf(r.stdout, 'finite'), /^ok\s+finite\s+all 12 values finite \(1 frame read/);
});

test('--json prints one document with every assertion and the same exit code', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name, { mode: 'big' });
  const r = runCli(['check', name, '--shape', '4x3', '--finite', '--range', 'x:-inf:1', '--writer-alive', '--within', '0.3', '--json']);
  assert.equal(r.status, 1);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(report).sort(),
    ['assertions', 'cols', 'dtype', 'fields', 'framesRead', 'kind', 'name', 'nameStatus', 'ok', 'rows', 'windowMs']);
  assert.equal(report.name, name);
  assert.equal(report.ok, false);
  assert.equal(report.kind, 'shmswarm');
  assert.ok(report.framesRead >= 1);
  for (const a of report.assertions) assert.deepEqual(Object.keys(a).sort(), ['expected', 'measured', 'message', 'name', 'ok']);
  const byName = Object.fromEntries(report.assertions.map((a) => [a.name, a]));
  assert.deepEqual(Object.keys(byName), ['shape', 'finite', 'range:x', 'writer-alive']);
  assert.deepEqual(byName.shape, { name: 'shape', ok: true, expected: { rows: 4, cols: 3 }, measured: { rows: 4, cols: 3 }, message: '4x3' });
  assert.equal(byName.finite.ok, true);
  assert.equal(byName.finite.measured.nonFinite, 0);
  // JSON has no infinities: an open end is null.
  assert.deepEqual(byName['range:x'].expected, { min: null, max: 1 });
  assert.equal(byName['range:x'].ok, false);
  assert.equal(byName['range:x'].measured.max, 1e6);
  assert.equal(byName['range:x'].measured.first.agent, 1);
  assert.equal(byName['writer-alive'].measured.alive, true);
});

test('usage errors exit 2 with one line: unknown field, bad range, nothing to check, bad flags', async (t) => {
  const name = uniqueName(t);
  await startWriter(t, name);
  const cases = [
    [['--range', 'w:0:1'], /^shmswarm: unknown field "w" in range; valid fields: x, y, z\n$/],
    [['--range', 'x:1'], /^shmswarm: --range: range "x:1" is not <field>:<min>:<max>/],
    [['--range', 'x:a:1'], /^shmswarm: --range: range "x:a:1": min "a" is not a number/],
    [['--range', 'x:2:1'], /^shmswarm: --range: range "x:2:1" \(field "x"\): min 2 is larger than max 1/],
    [['--range', 'x:-inf:inf:3'], /^shmswarm: --range: range "x:-inf:inf:3" \(field "x:-inf"\): min inf is larger than max 3/],
    [[], /^shmswarm: nothing to check: give at least one of --shape/],
    [['--min-rate', 'fast'], /^shmswarm: option '--min-rate <hz>' argument 'fast' is invalid/],
    [['--shape', '4'], /^shmswarm: option '--shape <rows>x<cols>' argument '4' is invalid/],
    [['--dtype', 'f16'], /unknown dtype "f16"/],
    [['--within', '0'], /argument '0' is invalid/],
    [['--within', '2000000'], /argument '2000000' is invalid\. It must be a number of seconds > 0 and at most 1000000\./],
    [['--finite', '--mutex', '/m'], /^shmswarm: --mutex only applies with --raw/],
    [['--raw', '--finite'], /^shmswarm: --raw needs --shape/],
    [['--raw', '--shape', '4x3', '--min-rate', '1'], /^shmswarm: --min-rate needs a frame counter/],
  ];
  for (const [args, pattern] of cases) {
    const r = runCli(['check', name, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr.trim().split('\n')[0].startsWith('shmswarm:'), true);
  }
});

test('a missing segment is a runtime error (exit 1) that suggests wait', (t) => {
  const name = uniqueName(t);
  const r = runCli(['check', name, '--finite']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `shmswarm: segment ${name} does not exist; start its writer first, or wait for it with: shmswarm wait ${name}\n`);
});

test('raw mode: --shape/--dtype describe the bytes, --fields names columns for --range', (t) => {
  const name = uniqueName(t, 'raw');
  const m = new Float32Array([1, 2, 3, 4, 5, NaN]);
  writeFileSync('/dev/shm' + name, Buffer.from(m.buffer));
  const ok = runCli(['check', name, '--raw', '--shape', '2x3', '--fields', 'x,y,z', '--range', 'x:0:10', '--within', '0.2', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.kind, 'raw');
  assert.deepEqual(report.fields, ['x', 'y', 'z']);
  assert.deepEqual(report.assertions.map((a) => a.name), ['range:x']);
  const bad = runCli(['check', name, '--raw', '--shape', '2x3', '--finite', '--range', 'c2:0:4', '--within', '0.2']);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(lineOf(bad.stdout, 'finite'), /first: NaN at agent 1 field c2/);
  assert.match(lineOf(bad.stdout, 'range:c2'), /^FAIL\s+range:c2\s+1 of 2 values outside \[0, 4\]/);
});

const hasSimulate = /--pattern/.test(runCli(['simulate', '--help']).stdout);

test('check against `shmswarm simulate --pattern ramp` (frame k holds k + r*cols + c)', { skip: !hasSimulate && 'needs shmswarm simulate' }, async (t) => {
  const name = uniqueName(t, 'sim');
  const sim = spawnCli(['simulate', name, '--agents', '10', '--pattern', 'ramp', '--rate', '100']);
  t.after(() => sim.kill('SIGKILL'));
  const ready = runCli(['wait', name, '--frames', '3', '--timeout', '20']);
  assert.equal(ready.status, 0, ready.stderr);
  const r = runCli(['check', name, '--shape', '10x4', '--dtype', 'f32', '--fields', 'x,y,vx,vy', '--min-rate', '20',
    '--finite', '--range', 'x:1:inf', '--range', 'vy:4:inf', '--writer-alive', '--within', '0.5', '--json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  const x = report.assertions.find((a) => a.name === 'range:x');
  // Agent 0's x is the frame number itself, agent 9's is k + 36.
  assert.equal(x.measured.max - x.measured.min >= 36, true);
  const bad = runCli(['check', name, '--range', 'x:-inf:0', '--within', '0.3']);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /^FAIL\s+range:x\s+\d+ of \d+ values outside \[-inf, 0\]/m);
  sim.kill('SIGTERM');
  await waitExit(sim);
  const dead = runCli(['check', name, '--writer-alive']);
  assert.equal(dead.status, 1);
  assert.match(dead.stdout, /^FAIL\s+writer-alive\s+writer pid \d+ is not running$/m);
});

test('--no-torn fails after a writer died mid-frame (where --finite says ok), and holds for whole frames', async (t) => {
  const name = uniqueName(t, 'torn');
  // A writer that publishes two whole frames, begins a third and dies holding the lock.
  const child = spawnNode(`
    const seg = Segment.create(${JSON.stringify(name)}, { rows: 8, fields: ['x', 'y'] });
    seg.writeFrame(new Float32Array(16).fill(1));
    seg.writeFrame(new Float32Array(16).fill(2));
    seg.beginFrame().fill(3);
    process.kill(process.pid, 'SIGKILL');`);
  await waitExit(child);
  let r = runCli(['check', name, '--finite', '--no-torn', '--within', '0.2']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok +finite +all 16 values finite/m);
  assert.match(r.stdout, /^FAIL +no-torn +1 of 1 frame torn, left half-written by a writer that died mid-frame .*; first: frame \d+$/m);
  r = runCli(['check', name, '--no-torn', '--within', '0.2', '--json']);
  assert.equal(r.status, 1);
  const a = JSON.parse(r.stdout).assertions.find((x) => x.name === 'no-torn');
  assert.deepEqual([a.ok, a.measured.torn], [false, 1]);

  const whole = uniqueName(t, 'whole');
  const sim = spawnCli(['simulate', whole, '--agents', '50', '--rate', '100']);
  t.after(() => sim.kill('SIGKILL'));
  r = runCli(['wait', whole, '--frames', '3', '--timeout', '10']);
  assert.equal(r.status, 0, r.stderr);
  r = runCli(['check', whole, '--no-torn', '--within', '0.3']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok +no-torn +no torn frame \(\d+ frames read in/m);
  r = runCli(['check', whole, '--raw', '--shape', '50x4', '--no-torn']);
  assert.equal(r.status, 2);
});
