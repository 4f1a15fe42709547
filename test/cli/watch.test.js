// `shmswarm watch` against real writer processes: --once and --json snapshots, following a writer
// that dies, a segment that is removed, re-created or shrunk, signals, and the full-screen view
// under a real pseudo-terminal (script(1)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { BIN, runCli, spawnCli, uniqueName, waitExit, sleep } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';
import { buildHelper } from '../native-c/build.js';

async function waitFrames(name, frames = 1, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const seg = Segment.open(name, { readonly: true });
      const n = seg.info().frames;
      seg.close();
      if (n >= frames) return;
    } catch (e) {
      if (e.code !== 'ENOENT' && e.code !== 'EUNINIT') throw e;
    }
    if (Date.now() > deadline) throw new Error(`${name} did not reach ${frames} frames`);
    await sleep(20);
  }
}

function spawnKilled(t, args) {
  const child = spawnCli(args);
  t.after(() => child.kill('SIGKILL'));
  return child;
}

async function startSim(t, name, extra = []) {
  const child = spawnKilled(t, ['simulate', name, '--agents', '400', '--rate', '60', ...extra]);
  await waitFrames(name, 2);
  return child;
}

/** Collects stdout JSON lines (and stderr) of a running `watch --json`. */
function jsonLines(child) {
  const state = { objects: [], stderr: '', buf: '' };
  child.stdout.on('data', (d) => {
    state.buf += d;
    let i;
    while ((i = state.buf.indexOf('\n')) >= 0) {
      state.objects.push(JSON.parse(state.buf.slice(0, i)));
      state.buf = state.buf.slice(i + 1);
    }
  });
  child.stderr.on('data', (d) => (state.stderr += d));
  state.until = async (pred, what, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = state.objects.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} in ${JSON.stringify(state.objects.map((o) => o.status))}; stderr ${state.stderr}`);
      await sleep(20);
    }
  };
  return state;
}

test('watch --once against a live simulate: one line with status, rate and statistics', async (t) => {
  const name = uniqueName(t, 'once');
  await startSim(t, name);
  const r = runCli(['watch', name, '--once']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`^\\S+Z ${name} live 400x4 f32 frames=\\d+ fps=[\\d.]+ MB/s=[\\d.]+ age=\\d+ms writer=\\d+\\(alive\\) period=[\\d.]+\\/[\\d.]+\\/[\\d.]+\\/[\\d.e-]+ms missed=\\d+ x=\\S+ y=\\S+ vx=\\S+ vy=\\S+$`));
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour or escapes in a pipe');
});

test('watch --once --json: the plain data, with the writer\'s rate measured from its frame counter', async (t) => {
  const name = uniqueName(t, 'oncejson');
  const sim = await startSim(t, name);
  const r = runCli(['watch', name, '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.name, name);
  assert.equal(s.status, 'live');
  assert.equal(s.kind, 'shmswarm');
  assert.deepEqual([s.rows, s.cols, s.dtype], [400, 4, 'f32']);
  assert.deepEqual(s.fields, ['x', 'y', 'vx', 'vy']);
  assert.equal(s.writerPid, sim.pid);
  assert.equal(s.writerAlive, true);
  assert.equal(s.sequence % 2, 0);
  assert.ok(s.framesPerSec > 0, `framesPerSec ${s.framesPerSec}`);
  assert.ok(Math.abs(s.mbPerSec - (s.framesPerSec * 400 * 4 * 4) / 1e6) < 1e-9);
  assert.deepEqual(s.stats.map((f) => f.field), ['x', 'y', 'vx', 'vy']);
  for (const f of s.stats) assert.ok(f.min <= f.mean && f.mean <= f.max && f.std >= 0, JSON.stringify(f));
});

// Every key of a look (src/core/watch.ts WatchSnapshot), the frame-period figures included.
const SNAPSHOT_KEYS = ['name', 'time', 'status', 'message', 'kind', 'rows', 'cols', 'dtype', 'fields', 'sequence', 'frames',
  'writerPid', 'writerAlive', 'lastWriteTime', 'ageMs', 'framesPerSec', 'mbPerSec', 'rateBy', 'period', 'seen', 'missed',
  'stalledMs', 'windowMs', 'frameStuck', 'stats', 'torn', 'events'];

test('watch after a writer killed mid-frame: --json has every key with torn: true, the line and the full-screen view say torn', async (t) => {
  const name = uniqueName(t, 'torn');
  const seg = Segment.create(name, { rows: 4, fields: 'x,y' });
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(8).fill(1));
  let r = runCli(['watch', name, '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  let s = JSON.parse(r.stdout);
  assert.deepEqual(SNAPSHOT_KEYS.filter((k) => !(k in s)), [], `keys of ${r.stdout}`);
  assert.equal(s.torn, false);
  assert.doesNotMatch(runCli(['watch', name, '--once']).stdout, / torn /);
  // A writer dies half-way through a frame; the next locking reader repairs it and flags it torn.
  const h = spawnSync(buildHelper(), ['die-mid-frame', name], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  assert.equal(seg.readFrame({ timeoutMs: 5000 }).torn, true);
  r = runCli(['watch', name, '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  s = JSON.parse(r.stdout);
  assert.deepEqual(SNAPSHOT_KEYS.filter((k) => !(k in s)), [], `keys of ${r.stdout}`);
  assert.equal(s.torn, true);
  assert.equal(s.frames, 1, 'the torn frame is not counted as published');
  assert.deepEqual(s.events, []);
  assert.ok(typeof s.ageMs === 'number' && typeof s.lastWriteTime === 'number', r.stdout);
  r = runCli(['watch', name, '--once']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^\\S+Z ${name} \\S+ 4x2 f32 frames=1 .* age=\\d+ms torn writer=`));
  // The full-screen view, under a real pseudo-terminal: the status line ends with "torn frame".
  const cmd = `stty rows 30 cols 100; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} watch ${name} --once`;
  const tty = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
  t.after(() => tty.kill('SIGKILL'));
  const view = await waitExit(tty);
  assert.equal(view.code, 0, view.stdout.slice(-500));
  assert.match(view.stdout, /frames 1 +last [\d.]+ s ago\r?\n[^\n]* {3}torn frame\r?\n/);
  seg.writeFrame(new Float32Array(8).fill(2));
  assert.equal(JSON.parse(runCli(['watch', name, '--once', '--json']).stdout).torn, false, 'the next whole frame clears it');
});

test('watch --json streams one object per interval; SIGINT exits 0', async (t) => {
  const name = uniqueName(t, 'stream');
  await startSim(t, name);
  const w = spawnKilled(t, ['watch', name, '--json', '--interval', '50']);
  const out = jsonLines(w);
  await out.until(() => out.objects.length >= 3, 'three objects');
  w.kill('SIGINT');
  const r = await waitExit(w);
  assert.equal(r.code, 0, out.stderr);
  assert.ok(out.objects.every((o) => o.status === 'live'));
  const frames = out.objects.map((o) => o.frames);
  assert.deepEqual(frames, [...frames].sort((a, b) => a - b), 'frames never go back');
});

test('watch says so when the writer dies, and follows a new writer', async (t) => {
  const name = uniqueName(t, 'death');
  const sim = await startSim(t, name);
  const w = spawnKilled(t, ['watch', name, '--json', '--interval', '50']);
  const out = jsonLines(w);
  await out.until((o) => o.status === 'live', 'live');
  sim.kill('SIGKILL');
  const dead = await out.until((o) => o.status === 'writer-dead', 'writer-dead');
  assert.equal(dead.writerPid, sim.pid);
  assert.equal(dead.writerAlive, false);
  assert.match(out.stderr, new RegExp(`writer pid ${sim.pid} of ${name} is no longer running`));
  const sim2 = await startSim(t, name);
  await out.until((o) => o.status === 'live' && o.writerPid === sim2.pid, 'the new writer');
  w.kill('SIGTERM');
  assert.equal((await waitExit(w)).code, 0);
});

test('watch follows a segment that is removed and re-created', async (t) => {
  const name = uniqueName(t, 'gone');
  const sim = await startSim(t, name, ['--unlink-on-exit']);
  const w = spawnKilled(t, ['watch', name, '--json', '--interval', '50']);
  const out = jsonLines(w);
  await out.until((o) => o.status === 'live', 'live');
  sim.kill('SIGINT');
  await waitExit(sim);
  const gone = await out.until((o) => o.status === 'gone', 'gone');
  assert.match(gone.message, /was removed/);
  assert.match(out.stderr, /was removed; waiting for it to come back/);
  // Re-created with another shape: the watcher re-attaches and reports the new one.
  const n = out.objects.length;
  await startSim(t, name, ['--agents', '123', '--dims', '3']);
  const back = await out.until((o, i) => i >= n && o.status === 'live' && o.rows === 123, 'the re-created segment');
  assert.deepEqual(back.fields, ['x', 'y', 'z', 'vx', 'vy', 'vz']);
  assert.match(out.stderr, /is back \(123 × 6 f32\)/);
  w.kill('SIGINT');
  assert.equal((await waitExit(w)).code, 0);
});

test('watch notices a segment re-created while it stays in place (new inode)', async (t) => {
  const name = uniqueName(t, 'replaced');
  Segment.create(name, { rows: 5, fields: 'x,y,vx,vy' }).close();
  const first = spawnKilled(t, ['simulate', name, '--rate', '60']);
  await waitFrames(name, 2);
  const w = spawnKilled(t, ['watch', name, '--json', '--interval', '50']);
  const out = jsonLines(w);
  await out.until((o) => o.rows === 5 && o.status === 'live', 'live');
  first.kill('SIGKILL');
  await waitExit(first);
  // Replace it in one step (create --force's way): the watcher must not keep the dead object.
  Segment.create(name, { rows: 7, fields: 'x,y,vx,vy', replace: true }).close();
  await out.until((o) => o.rows === 7, 'the replacement');
  assert.match(out.stderr, /re-created; re-attaching/);
  w.kill('SIGINT');
  assert.equal((await waitExit(w)).code, 0);
});

test('watch reports a segment shrunk under it and keeps running', async (t) => {
  const name = uniqueName(t, 'shrunk');
  Segment.create(name, { rows: 20000, fields: 'x,y,vx,vy' }).close();
  runCli(['simulate', name, '--frames', '2', '--rate', '0']);
  const w = spawnKilled(t, ['watch', name, '--json', '--interval', '50']);
  const out = jsonLines(w);
  await out.until((o) => o.status === 'writer-dead', 'first look');
  truncateSync('/dev/shm' + name, 4096);
  const bad = await out.until((o) => o.status === 'error', 'error status');
  assert.match(bad.message, /smaller|fault|shrunk|truncat/i);
  assert.match(out.stderr, /cannot be read/);
  await sleep(150);
  assert.equal(w.exitCode, null, 'still watching');
  w.kill('SIGINT');
  assert.equal((await waitExit(w)).code, 0);
  // --once on it fails with one line.
  const r = runCli(['watch', name, '--once']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^shmswarm: .*smaller/);
});

test('watch errors: missing segment, unknown plot field, raw flags without --raw', (t) => {
  const name = uniqueName(t, 'missing');
  let r = runCli(['watch', name, '--once']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^shmswarm: segment ${name} does not exist; watch --wait waits for it to appear`));
  assert.equal(r.stdout, '');
  // Not only --once: the live form too exits 1 at once instead of waiting unasked.
  r = runCli(['watch', name, '--interval', '50'], { timeout: 5000 });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /watch --wait/);
  assert.equal(r.stdout, '');
  Segment.create(name, { rows: 2, fields: 'x,y' }).close();
  r = runCli(['watch', name, '--once', '--plot', 'x,q']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--plot: no field "q"; the fields are x,y/);
  r = runCli(['watch', name, '--once', '--shape', '2x2']);
  assert.equal(r.status, 2);
  r = runCli(['watch', name, '--interval', '0']);
  assert.equal(r.status, 2);
});

test('watch --wait without a TTY: no escapes, a waiting line while the segment is missing', async (t) => {
  const name = uniqueName(t, 'wait');
  const w = spawnKilled(t, ['watch', name, '--wait', '--interval', '50']);
  let out = '';
  w.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 10_000;
  const until = async (re) => {
    while (!re.test(out)) {
      if (Date.now() > deadline) throw new Error(`no ${re} in ${out}`);
      await sleep(20);
    }
  };
  await until(/waiting/);
  await startSim(t, name);
  await until(new RegExp(`${name} live`));
  w.kill('SIGINT');
  assert.equal((await waitExit(w)).code, 0);
  assert.doesNotMatch(out, /\x1b/);
  assert.match(out, new RegExp(`${name} waiting ".*to appear"`));
});

test('the full-screen view under a real pseudo-terminal: header, table, braille plot; Ctrl-C restores the terminal', async (t) => {
  const name = uniqueName(t, 'tty');
  await startSim(t, name);
  const cmd = `stty rows 40 cols 100; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} watch ${name} --interval 50`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!(/[\u2801-\u28ff]/.test(out) && /\d frames\/s/.test(out) && /std/.test(out))) {
    if (Date.now() > deadline) throw new Error(`no full screen: ${JSON.stringify(out.slice(0, 2000))}`);
    await sleep(20);
  }
  child.stdin.write('\x03'); // Ctrl-C through the terminal's line discipline
  const r = await waitExit(child);
  assert.equal(r.code, 0, out.slice(-500));
  assert.ok(out.startsWith('\x1b[?1049h\x1b[?25l') || out.includes('\x1b[?1049h\x1b[?25l'), 'alternate screen and hidden cursor');
  assert.match(out, new RegExp(`shmswarm watch ${name}`));
  assert.match(out, /400 × 4 f32 +writer \d+ alive +fields x,y,vx,vy/);
  assert.match(out, /[\d.]+ frames\/s +period [\d.]+ ms ±[\d.e-]+ \([\d.e-]+–[\d.e-]+\) +missed \d+ +[\d.]+ MB\/s/);
  assert.match(out, /field.*min.*mean.*max.*std/);
  for (const f of ['x', 'y', 'vx', 'vy']) assert.match(out, new RegExp(`\\n${f} +-?[\\d.e-]+ +-?[\\d.e-]+`));
  assert.match(out, /[\u2801-\u28ff]/);
  assert.match(out, /\x1b\[H/, 'redraws from the cursor home, not by scrolling');
  const restored = out.lastIndexOf('\x1b[?25h\x1b[?1049l');
  assert.ok(restored > 0, 'terminal restored');
  assert.ok(restored > out.lastIndexOf('\x1b[H'), 'restored after the last redraw');
});

test('a terminal that reports 0 × 0 gets the view at 80 × 24, not a blank screen', async (t) => {
  const name = uniqueName(t, 'zero');
  await startSim(t, name);
  const cmd = `stty rows 0 cols 0; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} watch ${name} --once`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stdout.slice(-500));
  assert.match(r.stdout, new RegExp(`shmswarm watch ${name}`));
  assert.match(r.stdout, /400 × 4 f32/);
  assert.match(r.stdout, /field.*min.*mean.*max.*std/);
  assert.match(r.stdout, /[\u2801-\u28ff]/, 'the plot');
  assert.match(r.stdout, /x \S+ (across,|→) y \S+ (up|↑)/, 'the plot caption fits too');
  const lines = r.stdout.replace(/\r/g, '').trimEnd().split('\n');
  assert.ok(lines.length <= 24, `${lines.length} lines`);
  assert.ok(lines.every((l) => [...l].length <= 80), 'no line wider than 80 columns');
});

test('watch --once --json and the line give the period (mean/min/max/std, ms) and the frames missed, as ros2 topic hz', async (t) => {
  const name = uniqueName(t, 'hz');
  await startSim(t, name);
  const r = runCli(['watch', name, '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.rateBy, 'counter');
  assert.ok(s.period && s.period.samples >= 3, JSON.stringify(s.period));
  const p = s.period;
  assert.ok(p.minMs <= p.meanMs && p.meanMs <= p.maxMs && p.stdMs >= 0, JSON.stringify(p));
  // 60 Hz from the writer's own clock: about 16.7 ms, whatever the load on this machine.
  assert.ok(p.meanMs > 8 && p.meanMs < 40, JSON.stringify(p));
  assert.equal(typeof s.missed, 'number');
  assert.ok(s.seen >= 3);
  assert.equal(s.stalledMs, null);
  const line = runCli(['watch', name, '--once']);
  assert.match(line.stdout, / period=[\d.]+\/[\d.]+\/[\d.]+\/[\d.e-]+ms missed=\d+ /);
});

test('watch counts the frames it never saw: a writer much faster than its looks', async (t) => {
  const name = uniqueName(t, 'missed');
  spawnKilled(t, ['simulate', name, '--agents', '4', '--pattern', 'ramp', '--rate', '20000']);
  await waitFrames(name, 100);
  const r = runCli(['watch', name, '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.ok(s.missed > 0, `missed ${s.missed}, seen ${s.seen}`);
});

test('after the writer stops the rate is 0 once the window passed, and the status says stalled', async (t) => {
  const name = uniqueName(t, 'stall');
  const sim = await startSim(t, name);
  const w = spawnKilled(t, ['watch', name, '--json', '--interval', '250']);
  const out = jsonLines(w);
  await out.until((o) => o.framesPerSec > 30, 'a live rate');
  sim.kill('SIGSTOP'); // the writer stops publishing; its process lives on
  t.after(() => sim.kill('SIGCONT'));
  const stalled = await out.until((o) => o.stalledMs !== null, 'stalled', 8000);
  assert.equal(stalled.framesPerSec, 0);
  assert.ok(stalled.stalledMs > stalled.windowMs);
  // Never a decaying rate: every look with no frame in the whole window says 0.
  for (const o of out.objects) if (o.ageMs !== null && o.ageMs > o.windowMs + 20) assert.equal(o.framesPerSec, 0, JSON.stringify(o));
  assert.ok(out.objects.some((o) => o.ageMs > 1000 && o.ageMs < o.windowMs - 100 && o.framesPerSec > 0), 'the rate is not cut early either');
  w.kill('SIGINT');
  assert.equal((await waitExit(w)).code, 0);
});

test('watch --raw measures the rate by content (a hash of each read) and says so', async (t) => {
  const name = uniqueName(t, 'rawrate');
  await startSim(t, name);
  // The matrix of a shmswarm segment starts at byte 64: read it as the seed's bare matrix.
  const r = runCli(['watch', name, '--raw', '--shape', '400x4', '--offset', '64', '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.kind, 'raw');
  assert.equal(s.rateBy, 'content');
  assert.ok(s.framesPerSec > 10, `rate ${s.framesPerSec}`);
  assert.equal(s.missed, null);
  const line = runCli(['watch', name, '--raw', '--shape', '400x4', '--offset', '64', '--once']);
  assert.match(line.stdout, / fps=[1-9][\d.]* .*rate=by-content/);
});
