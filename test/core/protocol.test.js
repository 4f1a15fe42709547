// Protocol details a fast path could get wrong: what waitForFrame calls "newer" while a frame is
// being written, and a locked read that has nothing new to copy never touching the lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segment, isShmswarmError } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit, waitForLine } from '../helpers.js';

/** A child that publishes one frame, then begins a second and holds it until told (a line on stdin). */
async function midFrameWriter(t, name) {
  const child = spawnNode(
    `const s = Segment.open(${JSON.stringify(name)});
     s.writeFrame(new Float32Array(s.length).fill(1));
     s.beginFrame().fill(2);
     console.log('in frame');
     process.stdin.once('data', () => { s.endFrame(); console.log('ended'); s.close(); process.exit(0); });`,
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /^in frame$/);
  return child;
}

test('waitForFrame while a frame is being written: published frames count, the one in progress does not', async (t) => {
  const name = uniqueName(t, 'waitodd');
  Segment.create(name, { rows: 8, cols: 2 }).close();
  const child = await midFrameWriter(t, name);
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.equal(seg.sequence(), 3, 'one frame published (2), the next in progress (3)');
  // Anything older than the published frame 2: answered at once with 2, not with the odd 3.
  assert.equal(await seg.waitForFrame(0, { timeoutMs: 2000 }), 2);
  // Seen 2: only the frame in progress is newer, and it never ends meanwhile.
  await assert.rejects(seg.waitForFrame(2, { timeoutMs: 300 }), (e) => isShmswarmError(e, 'ETIMEDOUT'));
  // An odd sequence seen waits for the frame after it.
  const pending2 = seg.waitForFrame(2, { timeoutMs: 10_000 });
  const pending3 = seg.waitForFrame(3, { timeoutMs: 10_000 });
  const exit = waitExit(child);
  child.stdin.write('end\n');
  assert.equal(await pending2, 4);
  assert.equal(await pending3, 4);
  assert.equal((await exit).code, 0);
  const frame = seg.readFrame();
  assert.equal(frame.sequence, 4);
  assert.ok(frame.data.every((v) => v === 2));
});

test('a locked read with nothing new answers without the lock; with something new it waits for it', async (t) => {
  const name = uniqueName(t, 'locksince');
  const seg = Segment.create(name, { rows: 8, cols: 2 });
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(16).fill(7));
  const seen = seg.sequence();
  // Another process holds the mutex (not mid-frame: a plain lock) until killed.
  const child = spawnNode(`const s = Segment.open(${JSON.stringify(name)}); s.lock(); console.log('held'); setInterval(() => s, 1000);`); // s stays reachable: collected, it would be closed and its lock released
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /^held$/);
  const reader = Segment.open(name, { readonly: true });
  t.after(() => reader.close());
  assert.equal(reader.readFrame({ lock: true, since: seen, timeoutMs: 200 }), null);
  assert.equal(await reader.readFrameAsync({ lock: true, since: seen, timeoutMs: 200 }), null);
  assert.throws(() => reader.readFrame({ lock: true, timeoutMs: 200 }), (e) => isShmswarmError(e, 'ETIMEDOUT'));
  const exit = waitExit(child);
  child.kill('SIGKILL');
  await exit;
  // The holder died holding it: the next locked read recovers and copies.
  const frame = reader.readFrame({ lock: true, timeoutMs: 2000 });
  assert.equal(frame.recovered, true);
  assert.ok(frame.data.every((v) => v === 7));
});
