// The live view of `watch` in a real terminal: tmux, driven by send-keys, read by capture-pane, at
// 120×40, 80×24, 60×20 and 40×12. No line wider than the terminal, the title (with the key hints)
// always on the first line, a resize redrawn at once, keys, and the terminal restored on quit.
// Each test polls capture-pane until what it expects appears, with a deadline: no fixed sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, spawnCli, uniqueName, sleep } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';
import { displayWidth } from '../../dist/cli/render/live-view.js';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
const SKIP = HAVE_TMUX ? false : 'tmux is not installed (apt-get install tmux)';
if (!HAVE_TMUX && process.env.CI === 'true') throw new Error('tmux is required under CI=true (.ci/run installs it: apt-get install tmux)');

let sockets = 0;

/** A tmux server of our own (its own socket), killed when the test ends. */
function tmux(t) {
  const socket = `shmswarm-test-${process.pid}-${sockets++}`;
  const run = (...args) => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  t.after(() => spawnSync('tmux', ['-L', socket, 'kill-server']));
  return {
    run,
    /** The pane as text, wrapped lines joined (-J): a line wider than the pane shows as such. */
    capture: () => run('capture-pane', '-p', '-J', '-t', 'w').replace(/\n$/, '').split('\n').map((l) => l.trimEnd()),
    keys: (...k) => run('send-keys', '-t', 'w', ...k),
    format: (f) => run('display-message', '-p', '-t', 'w', f).trim(),
  };
}

/** Starts `watch` in a w × h tmux pane; after it exits the pane shows its status and the terminal's modes. */
function startWatch(t, w, h, args) {
  const tm = tmux(t);
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `${q(process.execPath)} ${q(BIN)} watch ${args.map(q).join(' ')}; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 600`;
  tm.run('new-session', '-d', '-s', 'w', '-x', String(w), '-y', String(h), '-e', 'NO_COLOR=1', '-e', 'TERM=xterm-256color', cmd);
  return tm;
}

async function until(tm, pred, what, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = tm.capture();
    if (pred(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`no ${what} in:\n${lines.join('\n')}`);
    await sleep(25);
  }
}

let sim = null;
/** One writer for the file's views (its name is unlinked when the file ends). */
async function liveSegment() {
  if (sim) return sim.name;
  const name = uniqueName(null, 'tty');
  const child = spawnCli(['simulate', name, '--agents', '400', '--rate', '60']);
  sim = { name, child };
  process.on('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const s = Segment.open(name, { readonly: true });
      const n = s.info().frames;
      s.close();
      if (n > 2) break;
    } catch (e) {
      if (e.code !== 'ENOENT' && e.code !== 'EUNINIT') throw e;
    }
    if (Date.now() > deadline) throw new Error('simulate did not start');
    await sleep(20);
  }
  return name;
}

function assertFits(lines, w, h, name) {
  assert.ok(lines.length <= h, `${lines.length} lines on a ${h}-row pane`);
  for (const l of lines) assert.ok(displayWidth(l) <= w, `a line of ${displayWidth(l)} cells on a ${w}-column pane: ${JSON.stringify(l)}`);
  assert.match(lines[0], /watch/, 'the title on the first line');
  assert.ok(lines[0].includes(name.slice(0, 12)), `the name in the title: ${lines[0]}`);
  assert.match(lines[0], /q/, 'the key hints in the title');
}

const shown = (name) => (lines) => lines[0]?.includes('watch') && lines.some((l) => /\d (fps|frames\/s)/.test(l)) && lines.some((l) => /^x\s/.test(l) || /^field/.test(l));

async function quitAndCheck(tm, key) {
  tm.keys(key);
  // The status, then the line of terminal modes after it.
  const lines = await until(tm, (ls) => ls.some((l, i) => /^EXIT=/.test(l) && /\S/.test(ls[i + 1] ?? '')), 'exit');
  assert.ok(lines.includes('EXIT=0'), lines.join('\n'));
  const modes = lines[lines.findIndex((l) => l === 'EXIT=0') + 1];
  assert.equal(modes.trim(), 'icanon echo', 'raw mode off (canonical input and echo back)');
  assert.equal(tm.format('#{alternate_on}'), '0', 'the alternate screen left');
  assert.equal(tm.format('#{cursor_flag}'), '1', 'the cursor shown');
}

for (const [w, h] of [[120, 40], [80, 24], [60, 20], [40, 12]]) {
  test(`live view at ${w}×${h}: every line fits, title and keys on top, the timing line; q quits and restores the terminal`, { skip: SKIP }, async (t) => {
    const name = await liveSegment();
    const tm = startWatch(t, w, h, [name]);
    // The period needs two consecutive frames seen: on a busy machine the first looks may have none.
    const timed = (ls) => shown(name)(ls) && ls.some((l) => /period [\d.]+ ms ±/.test(l) || /  [\d.]+±[\d.]+ ms/.test(l));
    const lines = await until(tm, timed, 'view with the period');
    assertFits(lines, w, h, name);
    assert.ok(lines.some((l) => /missed \d+/.test(l)), `missed frames in the view:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => /period [\d.]+ ms ±/.test(l) || /  [\d.]+±[\d.]+ ms/.test(l)), `the period in the view:\n${lines.join('\n')}`);
    if (h >= 20) assert.ok(lines.some((l) => /[\u2801-\u28ff]/.test(l)), `a plot:\n${lines.join('\n')}`);
    if (w === 120) assert.ok(lines.some((l) => /^x\s.*│[\u2800-\u28ff]+│$/.test(l)), `the plot beside the table on a wide terminal:\n${lines.join('\n')}`);
    if (w === 80 && h === 24) assert.ok(lines.some((l) => /^vy\s.*│/.test(l)), `beside at 80×24 too:\n${lines.join('\n')}`);
    await quitAndCheck(tm, 'q');
  });
}

test('a tall terminal gets the plot below the table', { skip: SKIP }, async (t) => {
  const name = await liveSegment();
  const tm = startWatch(t, 60, 40, [name]);
  const lines = await until(tm, (ls) => shown(name)(ls) && ls.some((l) => /[\u2801-\u28ff]/.test(l)), 'view with a plot');
  assertFits(lines, 60, 40, name);
  const vy = lines.findIndex((l) => /^vy\s/.test(l));
  const top = lines.findIndex((l) => l.startsWith('┌'));
  assert.ok(vy >= 0 && top > vy, `the plot under the table:\n${lines.join('\n')}`);
  await quitAndCheck(tm, 'Escape');
});

test('a resize redraws at once at the new size (SIGWINCH, not the next look)', { skip: SKIP }, async (t) => {
  const name = await liveSegment();
  // One look a day: only the resize itself can redraw.
  const tm = startWatch(t, 120, 40, [name, '--interval', '86400000']);
  await until(tm, shown(name), 'view');
  for (const [w, h] of [[60, 20], [40, 12], [80, 24]]) {
    tm.run('resize-window', '-t', 'w', '-x', String(w), '-y', String(h));
    const lines = await until(tm, (ls) => ls[0]?.includes('watch') && ls.every((l) => displayWidth(l) <= w) && ls.some((l) => /^field/.test(l)), `a redraw at ${w}×${h}`, 5000);
    assertFits(lines, w, h, name);
  }
  await quitAndCheck(tm, 'C-c');
});

test('keys: space pauses (title says so), f plots the next pair, ? shows the help and any key closes it', { skip: SKIP }, async (t) => {
  const name = await liveSegment();
  const tm = startWatch(t, 100, 40, [name]);
  await until(tm, (ls) => ls.some((l) => /x \S+ across, y \S+ up/.test(l)), 'x,y plot');
  tm.keys('f');
  await until(tm, (ls) => ls.some((l) => /x \S+ across, vx \S+ up/.test(l)), 'x,vx plot after f');
  tm.keys('Space');
  await until(tm, (ls) => /PAUSED/.test(ls[0]), 'PAUSED in the title');
  tm.keys('Space');
  await until(tm, (ls) => !/PAUSED/.test(ls[0]), 'resumed');
  tm.keys('?');
  await until(tm, (ls) => ls.some((l) => /^keys/.test(l)) && ls.some((l) => /missed/.test(l)), 'help');
  tm.keys('x');
  await until(tm, (ls) => ls.some((l) => /^field/.test(l)), 'help closed');
  await quitAndCheck(tm, 'q');
});

test('watch --wait on a terminal says it waits, then shows the segment once it exists', { skip: SKIP }, async (t) => {
  const name = uniqueName(t, 'ttywait');
  const tm = startWatch(t, 80, 24, [name, '--wait']);
  await until(tm, (ls) => ls.some((l) => /waiting for .* to appear/.test(l)), 'waiting');
  const child = spawnCli(['simulate', name, '--agents', '100', '--rate', '30']);
  t.after(() => child.kill('SIGKILL'));
  const lines = await until(tm, (ls) => ls.some((l) => /^live/.test(l)) && ls.some((l) => /^x\s/.test(l)), 'live');
  assertFits(lines, 80, 24, name);
  await quitAndCheck(tm, 'q');
});

test('end of file: stop the shared writer', () => {
  sim?.child.kill('SIGKILL');
});
