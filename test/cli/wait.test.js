// `shmswarm wait` with real writer processes: segments created later, --frames, timeouts and
// their one-line reasons, raw objects. Bounds on durations only guard against hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli, spawnCli, spawnNode, uniqueName, waitExit, waitForLine } from '../helpers.js';

// argv: name delay(ms before creating) rate(Hz) count(frames, 0 = forever)
const WRITER = `
const [name, delay, rate, count] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
setTimeout(() => {
  const seg = Segment.create(name, { rows: 2, fields: 'x,y' });
  console.log('created');
  let k = 0;
  if (count === 0 && rate === 0) return setInterval(() => seg, 1000); // seg stays reachable (a collected handle is closed)
  const timer = setInterval(() => {
    seg.writeFrame([k, k, k, k]);
    if (++k >= count && count > 0) { clearInterval(timer); seg.close(); console.log('done'); setTimeout(() => {}, 60000); }
  }, 1000 / rate);
}, delay);
process.on('SIGTERM', () => process.exit(0));
`;

function writer(t, name, { delay = 0, rate = 0, count = 0 } = {}) {
  const child = spawnNode(WRITER, { args: [name, String(delay), String(rate), String(count)] });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

test('wait times out on a missing segment: exit 1 and one line naming it', (t) => {
  const name = uniqueName(t);
  const started = Date.now();
  const r = runCli(['wait', name, '--timeout', '0.3']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `shmswarm: timed out after 0.30 s: segment ${name} does not exist\n`);
  assert.ok(Date.now() - started < 20_000);
});

test('wait returns once another process creates the segment later', async (t) => {
  const name = uniqueName(t);
  const waiter = spawnCli(['wait', name, '--timeout', '20']);
  t.after(() => waiter.kill('SIGKILL'));
  writer(t, name, { delay: 300 });
  const r = await waitExit(waiter, 25_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${name} is ready \\(shmswarm 2x2 f32\\) after [\\d.]+ s\\n$`));
});

test('wait --frames counts frames written after it started, also for a segment created later', async (t) => {
  const name = uniqueName(t);
  const waiter = spawnCli(['wait', name, '--frames', '5', '--timeout', '20']);
  t.after(() => waiter.kill('SIGKILL'));
  writer(t, name, { delay: 200, rate: 50 });
  const r = await waitExit(waiter, 25_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /is ready \(shmswarm 2x2 f32, [5-9] new frames\)/);
});

test('wait --frames on an existing segment does not count frames written before it', async (t) => {
  const name = uniqueName(t);
  const w = writer(t, name, { rate: 100, count: 3 });
  await waitForLine(w, /done/);
  // 3 frames exist, but none more will come.
  const r = runCli(['wait', name, '--frames', '1', '--timeout', '0.3']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `shmswarm: timed out after 0.30 s: 0 of 1 new frames written to ${name} (writer pid ${w.pid} is running)\n`);
});

test('wait --frames reports a dead writer at the timeout', async (t) => {
  const name = uniqueName(t);
  const w = writer(t, name, { rate: 100, count: 2 });
  await waitForLine(w, /done/);
  w.kill('SIGKILL');
  await new Promise((r) => w.on('exit', r));
  const r = runCli(['wait', name, '--frames', '1', '--timeout', '0.2', '-q']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^shmswarm: timed out after 0.20 s: 0 of 1 new frames .*\(writer pid \d+ is not running\)\n$/);
});

test('wait succeeds at once on a ready segment; --quiet prints nothing', async (t) => {
  const name = uniqueName(t);
  await waitForLine(writer(t, name), /created/);
  const r = runCli(['wait', name, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, '');
});

test('wait on an object that is not a segment fails at once, without waiting for the timeout', (t) => {
  const name = uniqueName(t, 'foreign');
  writeFileSync('/dev/shm' + name, Buffer.alloc(4096, 7));
  const started = Date.now();
  const r = runCli(['wait', name, '--timeout', '30']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^shmswarm: .*magic/);
  assert.ok(Date.now() - started < 20_000);
});

test('wait --raw waits for the object to exist and be large enough; --frames is refused', async (t) => {
  const name = uniqueName(t, 'raw');
  const waiter = spawnCli(['wait', name, '--raw', '--shape', '4x3', '--timeout', '20']);
  t.after(() => waiter.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync('/dev/shm' + name, Buffer.alloc(24)); // too small for 4x3 f32 yet
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync('/dev/shm' + name, Buffer.alloc(48));
  const r = await waitExit(waiter, 25_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /is ready \(raw 4x3 f32\)/);

  const refused = runCli(['wait', name, '--raw', '--shape', '4x3', '--frames', '1']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^shmswarm: --frames needs a frame counter/);
  const small = runCli(['wait', name, '--raw', '--shape', '400x3', '--timeout', '0.2']);
  assert.equal(small.status, 1);
  assert.match(small.stderr, /^shmswarm: timed out after 0.20 s: .* is not ready: .*cannot hold/);
});

test('usage errors exit 2', (t) => {
  const name = uniqueName(t);
  for (const args of [['--timeout', 'soon'], ['--timeout', '-1'], ['--frames', '1.5'], ['--shape', '3x3']]) {
    const r = runCli(['wait', name, ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^shmswarm: /);
  }
  assert.equal(runCli(['wait', 'noslash', '--timeout', '0']).status, 2);
});

// The CI recipe itself (docs/CI.md): the script the project's CI runs.
const SMOKE = join(ROOT, 'examples', 'ci', 'smoke.sh');
const hasGxx = spawnSync('g++', ['--version']).status === 0;
const hasSimulate = /--rate/.test(runCli(['simulate', '--help']).stdout);

function runSmoke(targets, env) {
  const r = spawnSync('bash', [SMOKE, ...targets], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('examples/ci/smoke.sh: the CI recipe passes against simulate and the C++ producer', { skip: !hasGxx || !hasSimulate ? 'needs g++ and shmswarm simulate' : false }, () => {
  const r = runSmoke(['simulate', 'producer'], { SMOKE_WITHIN: '0.5' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok: \/ci-smoke-\d+-simulate: all 7 assertions hold$/m);
  assert.match(r.stdout, /^ok: \/ci-smoke-\d+-producer: all 10 assertions hold$/m);
  assert.match(r.stdout, /^ok +no-torn +no torn frame/m, 'the recipe asserts whole frames (--no-torn)');
  assert.match(r.stderr, /smoke: all checks hold/);
  for (const [name] of r.stderr.matchAll(/\/ci-smoke-\d+-\w+/g)) assert.equal(existsSync('/dev/shm' + name), false, name);
});

test('examples/ci/smoke.sh cleans up when a check fails: exit 1, producer stopped, segment gone', { skip: !hasSimulate ? 'needs shmswarm simulate' : false }, () => {
  const r = runSmoke(['simulate'], { SMOKE_WITHIN: '0.3', SMOKE_MIN_RATE: '100000' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL\s+min-rate/m);
  assert.match(r.stderr, /--- simulate\.log/); // the producer's log is shown on failure
  const name = /\/ci-smoke-\d+-simulate/.exec(r.stderr)[0];
  assert.equal(existsSync('/dev/shm' + name), false);
  assert.equal(spawnSync('pgrep', ['-f', `simulate ${name} `], { encoding: 'utf8' }).stdout.trim(), '');
});
