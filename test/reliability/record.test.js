// The recorder under failure, with real processes: kill -9 at random moments, a full disk (a
// tiny tmpfs), the segment removed or re-created under it, Ctrl-C. After each, the file reads
// back (shmswarm's reader, and pyarrow for Arrow) to its last whole frame.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segment } from '../../dist/core/index.js';
import { openRecording } from '../../dist/record/index.js';
import { ROOT, spawnCli, uniqueName, waitExit } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shmswarm-record-fail-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const CI = process.env.CI === 'true';
const hasPyarrow = spawnSync('python3', ['-c', 'import pyarrow, numpy']).status === 0;

async function waitFor(cond, what, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether the file reads back with exactly k frames now. */
async function framesIn(file, k) {
  try {
    const r = await openRecording(file);
    r.close();
    return r.stamps.length === k;
  } catch {
    return false;
  }
}

const size = (p) => (existsSync(p) ? statSync(p).size : 0);

/** Reads a recording back: every frame whole (the ramp of its frame number), in order. Returns the frame count. */
async function readBack(path, rows, cols) {
  const rec = await openRecording(path);
  try {
    const into = new Float32Array(rows * cols);
    let n = 0;
    let prev = -1;
    for (const f of rec.frames(0, into)) {
      const k = f.stamp.frame;
      assert.ok(k > prev);
      prev = k;
      for (const i of [0, 7, rows * cols - 1]) assert.equal(f.data[i], k + i, `frame ${k} element ${i} in ${path}`);
      n++;
    }
    return { frames: n, truncated: rec.truncated };
  } finally {
    rec.close();
  }
}

/**
 * A recorder of a 100 × 4 segment into `file`, fed three ramp frames in lockstep: each is
 * written only once the one before is readable from the file. Returns the recorder, still running.
 */
async function recordInLockstep(t, label, file) {
  const name = uniqueName(t, label);
  const seg = Segment.create(name, { rows: 100, fields: 'x,y,vx,vy' });
  t.after(() => seg.close());
  const rec = spawnCli(['record', name, file]);
  t.after(() => rec.kill('SIGKILL'));
  const frame = new Float32Array(400);
  for (let k = 1; k <= 3; k++) {
    for (let i = 0; i < frame.length; i++) frame[i] = k + i;
    seg.writeFrame(frame);
    // The recorder is idle after taking frame k: the frame must be readable from the file now.
    await waitFor(() => framesIn(file, k), `frame ${k} in ${file} (held in a buffer?)`);
  }
  return rec;
}

function pyarrowFrames(path) {
  const py = spawnSync('python3', [join(ROOT, 'examples/recording/read_arrow.py'), path], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  return Number(/^shape \((\d+),/m.exec(py.stdout)[1]);
}

for (const ext of ['arrows', 'mcap']) {
  test(`kill -9 of the recorder at random moments (${ext}, 3 times): the file reads back to its last whole frame`, async (t) => {
    const name = uniqueName(t, 'kill');
    const w = spawnCli(['simulate', name, '--agents', '2000', '--pattern', 'ramp', '--rate', '0', '--dims', '2']);
    t.after(() => w.kill('SIGKILL'));
    await waitFor(() => existsSync('/dev/shm' + name), 'the writer');
    for (let round = 0; round < 3; round++) {
      const file = join(dir, `kill-${round}.${ext}`);
      const rec = spawnCli(['record', name, file]);
      await waitFor(() => size(file) > 40_000, 'a first frame');
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      rec.kill('SIGKILL');
      const { signal } = await waitExit(rec);
      assert.equal(signal, 'SIGKILL');
      const { frames } = await readBack(file, 2000, 4);
      assert.ok(frames >= 1, `${file}: ${frames} frames`);
      if (ext === 'arrows' && (hasPyarrow || CI)) assert.equal(pyarrowFrames(file), frames, 'pyarrow reads as many whole frames');
    }
  });

  test(`each frame is in the file before the next is taken (${ext}): a writer in lockstep, then kill -9, loses nothing`, async (t) => {
    const file = join(dir, `lockstep.${ext}`);
    const rec = await recordInLockstep(t, 'lockstep', file);
    rec.kill('SIGKILL');
    await waitExit(rec);
    assert.equal((await readBack(file, 100, 4)).frames, 3);
  });
}

test('a full disk: one line, exit 1, the file valid up to its last whole frame (both formats)', async (t) => {
  const mnt = join(dir, 'tiny');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    assert.ok(!CI, `mounting a tmpfs is needed under CI=true: ${m.stderr}`);
    t.skip(`cannot mount a tmpfs here (run as root): ${m.stderr.trim()}`);
    return;
  }
  t.after(() => spawnSync('umount', [mnt]));
  const name = uniqueName(t, 'full');
  const w = spawnCli(['simulate', name, '--agents', '2000', '--pattern', 'ramp', '--rate', '0', '--dims', '2']);
  t.after(() => w.kill('SIGKILL'));
  await waitFor(() => existsSync('/dev/shm' + name), 'the writer');
  for (const ext of ['arrows', 'mcap']) {
    const file = join(mnt, `full.${ext}`);
    const rec = spawnCli(['record', name, file]);
    const r = await waitExit(rec, 60_000);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    const last = lines.at(-1);
    assert.match(last, /^shmswarm: cannot write .*full\.\w+: ENOSPC \(no space left on device\); it holds the (\d+) whole frames recorded before$/);
    const held = Number(/the (\d+) whole/.exec(last)[1]);
    const back = await readBack(file, 2000, 4);
    assert.equal(back.frames, held);
    assert.ok(held >= 1);
    if (ext === 'arrows' && (hasPyarrow || CI)) assert.equal(pyarrowFrames(file), held);
    rmSync(file);
  }
});

test('the segment removed or re-created mid-recording, and Ctrl-C: stops with a clear line, exit 0, the file ended properly', async (t) => {
  for (const how of ['removed', 're-created', 'SIGINT']) {
    const name = uniqueName(t, 'gone');
    const seg = Segment.create(name, { rows: 10, fields: 'x,y,vx,vy' });
    const file = join(dir, `gone-${how}.arrows`);
    const rec = spawnCli(['record', name, file]);
    t.after(() => rec.kill('SIGKILL'));
    const frame = new Float32Array(40);
    for (let k = 1; k <= 2; k++) {
      frame.fill(0).forEach((_, i) => (frame[i] = k + i));
      seg.writeFrame(frame);
      await waitFor(() => framesIn(file, k), `frame ${k}`);
    }
    let other;
    if (how === 'SIGINT') rec.kill('SIGINT');
    else {
      seg.closeAndUnlink();
      if (how === 're-created') other = Segment.create(name, { rows: 10, fields: 'x,y,vx,vy' });
    }
    const r = await waitExit(rec, 15_000);
    seg.close();
    other?.close();
    assert.equal(r.code, 0, `${how}: ${r.stderr}`);
    const want = { removed: /stopped: .* was removed; 2 frames/, 're-created': /stopped: .* now leads to another segment; 2 frames/, SIGINT: /: stopped; 2 frames/ }[how];
    assert.match(r.stderr, want);
    const back = await readBack(file, 10, 4);
    assert.deepEqual(back, { frames: 2, truncated: null });
  }
});

test('a recording cut inside its last frame, in its header or in its body: shmswarm and pyarrow both read the frames before it', async (t) => {
  if (!hasPyarrow && !CI) return t.skip('pyarrow is not installed (pip install pyarrow numpy duckdb)');
  const file = join(dir, 'cut.arrows');
  const rec = await recordInLockstep(t, 'cut', file);
  rec.kill('SIGINT'); // the normal stop: the stream gets its end-of-stream marker
  assert.equal((await waitExit(rec)).code, 0);
  const whole = readFileSync(file);
  // The stream ends with an 8-byte end-of-stream marker after the last frame's 1,600-byte body:
  // 100 bytes before the marker is inside that body; 1,700 is inside its header (or just before).
  for (const cut of [8 + 100, 8 + 1_700]) {
    const part = join(dir, `cut-${cut}.arrows`);
    writeFileSync(part, whole.subarray(0, whole.length - cut));
    assert.equal((await readBack(part, 100, 4)).frames, 2, `${cut} bytes short`);
    assert.equal(pyarrowFrames(part), 2, `pyarrow, ${cut} bytes short`);
  }
});
