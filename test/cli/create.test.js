// shmswarm create: the real binary, its output streams, exit codes and every refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { Segment } from '../../dist/core/index.js';
import { BIN, runCli, sleep, spawnCli, spawnNode, uniqueName, waitExit } from '../helpers.js';

/** The first stderr line, and that it is the only message line (commander may add a help hint). */
const firstLine = (s) => s.split('\n')[0];

test('create makes the segment, says so on stderr and leaves stdout empty', (t) => {
  const name = uniqueName(t);
  const r = runCli(['create', name, '--agents', '1000', '--fields', 'x,y,vx,vy']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^created ${name}: 1000 agents × 4 fields \\(x,y,vx,vy\\), f32, .*mode 0600\\n$`));
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.deepEqual([seg.rows, seg.cols, seg.dtype, [...seg.fields]], [1000, 4, 'f32', ['x', 'y', 'vx', 'vy']]);
});

test('create --rows is --agents; --cols gives unnamed fields; --dtype and --mode apply', (t) => {
  const name = uniqueName(t);
  const r = runCli(['create', name, '--rows', '7', '--cols', '3', '--dtype', 'float64', '--mode', '0o640']);
  assert.equal(r.status, 0, r.stderr);
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  const i = seg.info();
  assert.deepEqual([i.rows, i.cols, i.dtype, i.fields, i.fieldsNamed], [7, 3, 'f64', ['c0', 'c1', 'c2'], false]);
  assert.equal(statSync('/dev/shm' + name).mode & 0o777, 0o640);
});

test('create --json prints the info on stdout', (t) => {
  const name = uniqueName(t);
  const r = runCli(['create', name, '-n', '2', '--fields', 'a,b', '--cols', '2', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.name, name);
  assert.deepEqual([info.rows, info.cols, info.dtype, info.fields, info.frames], [2, 2, 'f32', ['a', 'b'], 0]);
});

test('an existing name is refused (exit 1) and left alone', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 3, fields: 'x,y' });
  t.after(() => seg.close());
  seg.writeFrame([1, 2, 3, 4, 5, 6]);
  const r = runCli(['create', name, '--agents', '5', '--cols', '2']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(firstLine(r.stderr), `shmswarm: segment ${name} already exists; remove it with: shmswarm unlink ${name} (or create --force to replace it when its writer is dead)`);
  assert.deepEqual([...seg.readFrame().data], [1, 2, 3, 4, 5, 6]);
  assert.equal(seg.nameStatus(), 'same');
});

test('--force replaces a segment whose writer died, but not one with a live writer', async (t) => {
  const dead = uniqueName(t, 'dead');
  const child = spawnNode(`const s = Segment.create(${JSON.stringify(dead)}, { rows: 2, cols: 2 }); s.writeFrame([1, 2, 3, 4]); s.close();`);
  const done = await waitExit(child);
  assert.equal(done.code, 0, done.stderr);
  const r = runCli(['create', dead, '--agents', '3', '--fields', 'x,y,z', '--force']);
  assert.equal(r.status, 0, r.stderr);
  const seg = Segment.open(dead, { readonly: true });
  assert.deepEqual([seg.rows, seg.cols, seg.info().frames], [3, 3, 0]);
  seg.close();

  const live = uniqueName(t, 'live');
  const mine = Segment.create(live, { rows: 2, cols: 2 });
  t.after(() => mine.close());
  mine.writeFrame([1, 2, 3, 4]); // this test process is the live writer
  const r2 = runCli(['create', live, '--agents', '3', '--cols', '2', '--force']);
  assert.equal(r2.status, 1);
  assert.equal(r2.stderr, `shmswarm: ${live} has a live writer (pid ${process.pid}); not replacing it\n`);
  assert.equal(mine.nameStatus(), 'same');
});

test('--force never removes an object without a magic: a seed mutex, zeros, a creation in progress', (t) => {
  const name = uniqueName(t, 'nomagic');
  // What a live seed writer's mutex object looks like unlocked: zeros with a process-shared kind.
  const bytes = Buffer.alloc(64);
  bytes.writeInt32LE(128, 16);
  writeFileSync('/dev/shm' + name, bytes);
  const r = runCli(['create', name, '--agents', '2', '--cols', '2', '--force']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `shmswarm: ${name} exists but is not initialised (a creation still running or killed, or another program's object); not replacing it — if it is yours to remove: shmswarm unlink --force ${name}\n`);
  assert.deepEqual(readFileSync('/dev/shm' + name), bytes, 'the object is untouched');
});

test('create says so when the name was removed while it was being created', async (t) => {
  const name = uniqueName(t, 'race');
  // 1 GiB takes long enough to create for an unlink --force to land meanwhile.
  const child = spawnCli(['create', name, '--agents', String(1 << 28), '--cols', '1']);
  const done = waitExit(child);
  while (!existsSync('/dev/shm' + name)) await sleep(5);
  const u = runCli(['unlink', name, '--force']);
  const r = await done;
  if (u.status !== 0 || r.code === 0) {
    // The unlink lost the race (the create had finished): nothing to check this time.
    t.diagnostic(`unlink ${u.status}, create ${r.code}: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    return;
  }
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `shmswarm: ${name} was removed by another process while it was being created\n`);
});

test('usage errors exit 2 with one message naming the problem, and create nothing', (t) => {
  const name = uniqueName(t);
  const cases = [
    [['--agents', '0', '--cols', '2'], /argument '0' is invalid\. It must be at least 1\./],
    [['--agents', '-5', '--cols', '2'], /argument '-5' is invalid\. It must be at least 1\./],
    [['--agents', '99999999999999999999', '--cols', '2'], /It must be at most 9007199254740991\./],
    [['--agents', '2.5', '--cols', '2'], /It must be a whole number \(digits, or exponent notation such as 1e6\)\./],
    [['--agents', '1e-3', '--cols', '2'], /It must be a whole number/],
    [['--agents', '2.5e0', '--cols', '2'], /It must be a whole number/],
    [['--agents', '1e20', '--cols', '2'], /It must be at most 9007199254740991\./],
    [['--agents', '4', '--cols', '0'], /--cols <k>' argument '0' is invalid/],
    [['--agents', '4', '--cols', '4294967296'], /It must be at most 4294967295\./],
    [['--agents', '1099511627776', '--cols', '2'], /larger than the 1099511627776 bytes a segment may hold/],
    [['--agents', '4'], /give the fields \(--fields x,y,vx,vy\) or their number \(--cols <k>\)/],
    [['--cols', '2'], /give the number of agents: --agents <n>/],
    [['--agents', '4', '--rows', '5', '--cols', '2'], /--agents 4 and --rows 5 disagree/],
    [['--agents', '4', '--fields', 'x,y', '--cols', '3'], /--fields names 2 fields but --cols is 3/],
    [['--agents', '4', '--fields', 'x,x'], /field name "x" appears twice/],
    [['--agents', '4', '--fields', 'x,,y'], /comma-separated field names/],
    [['--agents', '4', '--cols', '2', '--dtype', 'f16'], /unknown dtype "f16": use one of i8, u8, i16, u16, i32, u32, i64, u64, f32, f64/],
    [['--agents', '4', '--cols', '2', '--mode', '999'], /octal permission bits/],
    [['--agents', '4', '--cols', '2', '--mode', '1777'], /at most 777/],
    // commander's suggestion comes on a line of its own: it joins the one line
    [['--agents', '4', '--cols', '2', '--mod', '640'], /^shmswarm: unknown option '--mod' \(Did you mean --mode\?\) \(see --help\)$/],
  ];
  for (const [args, message] of cases) {
    const r = runCli(['create', name, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(firstLine(r.stderr), /^shmswarm: /);
    assert.match(firstLine(r.stderr), message, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `${args.join(' ')}: not one line: ${r.stderr}`);
    assert.ok(!existsSync('/dev/shm' + name), `${args.join(' ')} left ${name} behind`);
  }
});

test('bad names exit 2 and say what a name looks like', () => {
  for (const [bad, message] of [
    ['swarm', /segment name "swarm" must start with "\/"; did you mean "\/swarm"\?/],
    ['/a/b', /may contain "\/" only at the start/],
    ['/', /is empty/],
    ['/' + 'x'.repeat(256), /at most 255 bytes/],
  ]) {
    const r = runCli(['create', bad, '--agents', '2', '--cols', '2']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(firstLine(r.stderr), /^shmswarm: /);
    assert.match(r.stderr, message);
  }
});

test('create --help shows examples', () => {
  const r = runCli(['create', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Examples:\n\s+\$ shmswarm create \/swarm --agents 1000 --fields x,y,vx,vy/);
  assert.match(r.stdout, /--rows <n>/);
  // The default as the octal that --mode takes, not 384.
  assert.match(r.stdout, /--mode <octal> +permission bits, applied whatever the umask\s+\(default: 600\)/);
});

// Large enough that creating it (reserving and pre-faulting 1 GB) outlasts the moment the name
// appears, so the signal lands mid-creation; if it lands just after, the outcome must be the same.
const SLOW_CREATE = ['--agents', '128000000', '--cols', '2'];

/** Resolve once /dev/shm/<name> exists (the native create has begun), or fail after `timeoutMs`. */
async function appeared(name, child, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync('/dev/shm' + name)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} never appeared (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  test(`${signal} during create: one line, exit ${128 + constants.signals[signal]}, and the name is gone`, async (t) => {
    const name = uniqueName(t, `int${signal}`);
    const child = spawnCli(['create', name, ...SLOW_CREATE]);
    t.after(() => child.kill('SIGKILL'));
    await appeared(name, child);
    child.kill(signal);
    const r = await waitExit(child, 60_000);
    assert.equal(r.code, 128 + constants.signals[signal], r.stderr);
    assert.equal(r.stderr, `shmswarm: interrupted; ${name} was not created\n`);
    assert.equal(r.stdout, '');
    assert.equal(existsSync('/dev/shm' + name), false, 'no half-created segment left behind');
  });
}

test('create --json into a full device (/dev/full): one line, exit 1, and the segment is removed again', (t) => {
  const name = uniqueName(t);
  const full = openSync('/dev/full', 'w');
  t.after(() => closeSync(full));
  const r = spawnSync(process.execPath, [BIN, 'create', name, '--agents', '4', '--cols', '2', '--json'], {
    stdio: ['ignore', full, 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `shmswarm: cannot write to stdout: ENOSPC (no space left on device); ${name} was not created\n`);
  assert.equal(existsSync('/dev/shm' + name), false, 'a retry must not meet "already exists"');
  // ... and the retry works.
  assert.equal(runCli(['create', name, '--agents', '4', '--cols', '2', '--json']).status, 0);
});

test('whole numbers in exponent notation are taken exactly: --agents 1e3, 2.5e1, 1E+2', (t) => {
  for (const [typed, rows] of [['1e3', 1000], ['2.5e1', 25], ['1E+2', 100]]) {
    const name = uniqueName(t, 'exp');
    const r = runCli(['create', name, '--agents', typed, '--cols', '1e0', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.deepEqual([info.rows, info.cols], [rows, 1], typed);
  }
  // Too many agents is refused for its size, not its spelling.
  const big = runCli(['create', uniqueName(t, 'exp'), '--agents', '1e12', '--fields', 'x,y,vx,vy', '--dtype', 'f64']);
  assert.equal(big.status, 2);
  assert.match(big.stderr, /larger than the 1099511627776 bytes a segment may hold/);
});

test('the whole-number parser: 1e9 is 1000000000, exactly; fractions and negative exponents are not whole', async () => {
  const { parsePositiveInt, wholeNumber } = await import('../../dist/cli/parse.js');
  assert.equal(parsePositiveInt('1e9'), 1e9);
  assert.equal(parsePositiveInt(' 12 '), 12);
  assert.equal(wholeNumber('9007199254740993e0'), 9007199254740993n);
  assert.equal(wholeNumber('1.25e2'), 125n);
  assert.equal(wholeNumber('1.20e1'), 12n);
  for (const bad of ['1.5', '1e-3', '1.25e1', 'e3', '1e', '0x10', '1e999', '', '1,000']) assert.equal(wholeNumber(bad), null, bad);
});
