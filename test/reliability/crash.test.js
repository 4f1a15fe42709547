// Issue 6, items 1-3: writers killed at random points, a repairer killed half-way, a repair that
// was skipped (ENOTRECOVERABLE), and a lock holder that unmapped before dying. Real processes:
// the misbehaving peers are the C programs in test/native-c/helper.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { runCli, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';
import { buildHelper } from '../native-c/build.js';
import { runCampaign } from '../../bench/crash-campaign.js';

const helper = buildHelper();

/** Run a helper mode to completion (it exits on its own) and check it said `line`. */
async function runHelper(t, mode, name, line) {
  const child = spawn(helper, [mode, name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const done = waitExit(child, 10_000);
  const r = await done;
  assert.equal(r.signal, null, `${mode}: ${r.stderr}`);
  assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
  if (line) assert.match(r.stdout, line);
  return r;
}

function fresh(t, label, { write = true } = {}) {
  const name = uniqueName(t, label);
  const seg = Segment.create(name, { rows: 64, cols: 3, dtype: 'f32' });
  if (write) seg.writeFrame(new Float32Array(64 * 3).fill(7));
  return { name, seg };
}

test('crash campaign: 100 writers SIGKILLed at random points; every next reader gets a whole or torn-marked frame and the next writer takes over', async (t) => {
  const r = await runCampaign({ name: uniqueName(t, 'campaign'), kills: 100 });
  assert.deepEqual(r.violations, []);
  assert.equal(r.kills, 100);
  assert.equal(r.whole + r.tornMarked, 100);
  // Random kill points must have hit the inside of a frame at least once, or nothing was tested.
  assert.ok(r.tornMarked > 0, 'no kill landed mid-frame');
});

test('a writer killed mid-frame: the next reader gets the frame marked torn and recovered, the next write clears it', async (t) => {
  const { name, seg } = fresh(t, 'midframe');
  t.after(() => seg.close());
  await runHelper(t, 'die-mid-frame', name);
  const f = seg.readFrame({ timeoutMs: 1000 });
  assert.equal(f.torn, true);
  assert.equal(f.recovered, true);
  assert.equal(f.data[0], -1); // the dead writer's half
  assert.equal(f.data[f.data.length - 1], 7); // the previous frame's half
  assert.equal(seg.info().torn, true);
  seg.writeFrame(new Float32Array(64 * 3).fill(8));
  const g = seg.readFrame();
  assert.equal(g.torn, false);
  assert.equal(g.data[0], 8);
});

test('a process killed while repairing after EOWNERDEAD: the next locker still recovers', async (t) => {
  const { name, seg } = fresh(t, 'repairkill');
  t.after(() => seg.close());
  await runHelper(t, 'die-mid-frame', name);
  // This one takes the lock with EOWNERDEAD, repairs half-way and _exits before consistent.
  await runHelper(t, 'die-in-repair', name, /eownerdead/);
  const f = seg.readFrame({ lock: true, timeoutMs: 1000 });
  assert.equal(f.recovered, true);
  assert.equal(f.torn, true);
  assert.equal(f.sequence % 2, 0, 'sequence repaired to even');
  // And the mutex is healthy again for everyone.
  seg.writeFrame(new Float32Array(64 * 3).fill(9));
  assert.equal(seg.lock({ timeoutMs: 1000 }).recovered, false);
  seg.unlock();
  const other = Segment.open(name, { readonly: true });
  t.after(() => other.close());
  assert.equal(other.readFrame({ lock: true }).data[5], 9);
});

test('ENOTRECOVERABLE (a process skipped the repair): every call fails fast with a message saying to re-create; create --replace recovers', async (t) => {
  // No frame from this process: a live last writer would (rightly) block the replace below.
  const { name, seg } = fresh(t, 'notrecoverable', { write: false });
  await runHelper(t, 'die-mid-frame', name);
  await runHelper(t, 'skip-repair', name, /skipped/);
  const expectNotRecoverable = (fn) =>
    assert.throws(fn, (e) => e.code === 'ENOTRECOVERABLE' && e.message.includes(name) && /re-create/.test(e.message));
  expectNotRecoverable(() => seg.lock({ timeoutMs: 1000 }));
  expectNotRecoverable(() => seg.readFrame({ lock: true }));
  expectNotRecoverable(() => seg.readFrame()); // odd sequence left behind: lock-free falls back to the lock
  expectNotRecoverable(() => seg.writeFrame(new Float32Array(64 * 3)));
  await assert.rejects(seg.readFrameAsync({ lock: true }), (e) => e.code === 'ENOTRECOVERABLE');
  seg.close();
  // The recovery the message names: the dead writer's segment can be replaced.
  const again = Segment.create(name, { rows: 64, cols: 3, dtype: 'f32', replace: true });
  t.after(() => again.close());
  again.writeFrame(new Float32Array(64 * 3).fill(1));
  assert.equal(again.readFrame({ lock: true }).data[0], 1);
});

test('a lock holder that unmapped and died: timed locks report ETIMEDOUT, lock-free reads still work', async (t) => {
  const { name, seg } = fresh(t, 'unmapdie');
  t.after(() => seg.close());
  await runHelper(t, 'unmap-and-die', name, /unmapped/);
  const timedOut = (e) => e.code === 'ETIMEDOUT' && e.message.includes(name) && /unmapped and died/.test(e.message);
  assert.throws(() => seg.lock({ timeoutMs: 100 }), timedOut);
  assert.throws(() => seg.readFrame({ lock: true, timeoutMs: 100 }), timedOut);
  await assert.rejects(seg.readFrameAsync({ lock: true, timeoutMs: 100 }), (e) => e.code === 'ETIMEDOUT');
  const reader = Segment.open(name, { readonly: true, timeoutMs: 100 });
  t.after(() => reader.close());
  // The sequence is even (no frame was begun), so the seqlock path needs no lock at all.
  const f = reader.readFrame();
  assert.equal(f.locked, false);
  assert.equal(f.data[0], 7);
  const w = Segment.open(name, { timeoutMs: 100 });
  t.after(() => w.close());
  assert.throws(() => w.writeFrame(new Float32Array(64 * 3)), timedOut);
});

test('a live lock holder: locked reads report ETIMEDOUT instead of blocking; once it is killed the next locker recovers', async (t) => {
  const { name, seg } = fresh(t, 'holder');
  t.after(() => seg.close());
  const child = spawn(helper, ['hold', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /holding/);
  // A live holder is not a dead one: the same timeout, the same message.
  assert.throws(() => seg.readFrame({ lock: true, timeoutMs: 100 }), (e) => e.code === 'ETIMEDOUT');
  child.kill('SIGKILL');
  await waitExit(child);
  // Once it died the kernel marked the lock (it was still mapped): recovered.
  assert.equal(seg.readFrame({ lock: true, timeoutMs: 1000 }).recovered, true);
});

/** One stderr line starting "shmswarm:", nothing on stdout, exit status 1. */
function assertOneLineFailure(r, pattern) {
  assert.equal(r.signal, null);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^shmswarm: /);
  assert.match(r.stderr, pattern);
}

test('dump --lock against a holder that unmapped and died reports the timeout instead of blocking', async (t) => {
  const { name, seg } = fresh(t, 'dumpunmap');
  t.after(() => seg.close());
  await runHelper(t, 'unmap-and-die', name, /unmapped/);
  assertOneLineFailure(runCli(['dump', name, '--csv', '--lock', '--timeout', '200']), /lock|timed? ?out/i);
  // Without --lock the seqlock path still gets the (even, whole) frame.
  const r = runCli(['dump', name, '--csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /7/);
});

test('dump of a segment whose mutex is not recoverable says to re-create it', async (t) => {
  const { name, seg } = fresh(t, 'dumpnotrec');
  t.after(() => seg.close());
  await runHelper(t, 'die-mid-frame', name);
  await runHelper(t, 'skip-repair', name, /skipped/);
  assertOneLineFailure(runCli(['dump', name, '--csv']), /re-create/);
});

test('a holder that unmapped and died mid-frame: dump reports the stuck lock, lock-free-only reads give ENOFRAME, nothing blocks', async (t) => {
  const { name, seg } = fresh(t, 'unmapmid');
  t.after(() => seg.close());
  await runHelper(t, 'unmap-mid-frame', name, /unmapped/);
  // The sequence stays odd and the kernel never marks the owner dead: no frame is consistent.
  assert.throws(() => seg.readFrame({ lockFree: true }), (e) => e.code === 'ENOFRAME' && e.message.includes(name));
  assert.throws(() => seg.readFrame({ timeoutMs: 100 }), (e) => e.code === 'ETIMEDOUT');
  assertOneLineFailure(runCli(['dump', name, '--csv', '--timeout', '200']), /lock|timed? ?out/i);
});
