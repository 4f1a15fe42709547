// `shmswarm demo`: the newcomer's first command, without a terminal (the CI form), stopped by
// Ctrl-C, and under a real pseudo-terminal. It must clean up its segment and its child.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { BIN, runCli, spawnCli, waitExit, sleep } from '../helpers.js';

const demoPath = (pid) => `/dev/shm/shmswarm-demo-${pid}`;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('demo without a TTY: a few snapshot lines of a live swarm, exit 0, nothing left behind', async (t) => {
  const child = spawnCli(['demo', '--agents', '500', '--duration', '1.5']);
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(demoPath(child.pid), { force: true });
  });
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length >= 2, r.stdout);
  const name = `/shmswarm-demo-${child.pid}`;
  assert.ok(lines.every((l) => l.includes(name)));
  assert.match(r.stdout, new RegExp(`${name} live 500x4 f32 frames=\\d+ fps=[\\d.]+ .* x=\\S+ y=\\S+`));
  assert.match(r.stderr, /demo: 500 boids in/);
  assert.match(r.stderr, new RegExp(`wrote \\d+ frames.*; removed ${name}`));
  assert.equal(existsSync(demoPath(child.pid)), false);
  assert.doesNotMatch(r.stdout + r.stderr, /\x1b/);
});

test('demo defaults to 3 s without a TTY (npx shmswarm demo in CI)', async (t) => {
  const r = runCli(['demo', '--agents', '300']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.trim().split('\n').length >= 4, r.stdout);
  assert.match(r.stderr, /removed \/shmswarm-demo-\d+/);
  const pid = /shmswarm-demo-(\d+)/.exec(r.stderr)[1];
  assert.equal(existsSync(demoPath(pid)), false);
});

test('Ctrl-C (SIGINT) stops the demo: child ended, segment removed, exit 0', async (t) => {
  const child = spawnCli(['demo', '--agents', '300', '--duration', '60']);
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(demoPath(child.pid), { force: true });
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!/ live .*writer=(\d+)\(alive\)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`no live line: ${out}`);
    await sleep(20);
  }
  const simPid = Number(/writer=(\d+)\(alive\)/.exec(out)[1]);
  assert.ok(existsSync(demoPath(child.pid)));
  child.kill('SIGINT');
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(demoPath(child.pid)), false);
  assert.equal(alive(simPid), false, 'the simulation child is gone');
});

test('demo on a terminal: the full-screen view, restored when it ends', async (t) => {
  const cmd = `stty rows 40 cols 100; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} demo --agents 300 --duration 1.5`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stdout.slice(-500));
  const pid = /shmswarm-demo-(\d+)/.exec(r.stdout)[1];
  assert.ok(r.stdout.includes('\x1b[?1049h'));
  assert.match(r.stdout, /field.*min.*mean.*max.*std/);
  assert.match(r.stdout, /[\u2801-\u28ff]/);
  assert.ok(r.stdout.lastIndexOf('\x1b[?1049l') > r.stdout.lastIndexOf('\x1b[H'));
  assert.equal(existsSync(demoPath(pid)), false);
});

test('SIGTERM while demo creates its segment: one line, exit 143, nothing left, no child started', async (t) => {
  // 1 GB (64M boids × x,y,vx,vy): creating it outlasts the moment the name appears.
  const child = spawnCli(['demo', '--agents', '64000000', '--duration', '60']);
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(demoPath(child.pid), { force: true });
  });
  const deadline = Date.now() + 10_000;
  while (!existsSync(demoPath(child.pid))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the demo segment never appeared');
    await sleep(1);
  }
  child.kill('SIGTERM');
  const r = await waitExit(child, 60_000);
  assert.equal(r.code, 143, r.stderr);
  assert.equal(r.stderr, `shmswarm: interrupted; /shmswarm-demo-${child.pid} was not created\n`);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(demoPath(child.pid)), false);
});
