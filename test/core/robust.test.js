// The robust mutex and the torn-frame repair, with real processes that die holding the lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segment } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit, waitForLine } from '../helpers.js';

/** Start a child that runs `code` on the segment, prints `held`, and then waits to be killed. */
async function holder(t, name, code) {
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)});
    ${code}
    console.log('held');
    setInterval(() => s, 1000); // keeps s reachable: a collected handle would be closed, its lock released`);
  t.after(() => child.kill('SIGKILL'));
  const exit = waitExit(child);
  await waitForLine(child, /^held$/);
  return { child, exit };
}

async function killHolder(t, name, code, how = 'SIGKILL') {
  if (how === 'SIGKILL') {
    const { child, exit } = await holder(t, name, code);
    child.kill('SIGKILL');
    const r = await exit;
    assert.equal(r.signal, 'SIGKILL');
    return child.pid;
  }
  // exit() while holding: the thread dies with the lock, as with a crash
  const child = spawnNode(`const s = Segment.open(${JSON.stringify(name)});\n${code}\nprocess.exit(3);`);
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child);
  assert.equal(r.code, 3, r.stderr);
  return child.pid;
}

function make(t, rows = 64) {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows, cols: 2, dtype: 'f32' });
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(rows * 2).fill(1));
  return { name, seg };
}

test('a lock holder killed with SIGKILL: the next lock() reports recovered', async (t) => {
  const { name, seg } = make(t);
  await killHolder(t, name, 's.lock();');
  // generous timeout: a non-robust mutex would end in ETIMEDOUT here, not a hang
  assert.deepEqual(seg.lock({ timeoutMs: 5000 }), { recovered: true });
  seg.unlock();
  assert.deepEqual(seg.lock({ timeoutMs: 5000 }), { recovered: false }, 'repaired once, consistent after');
  seg.unlock();
  const f = seg.readFrame({ lock: true });
  assert.equal(f.recovered, false);
  assert.equal(f.torn, false, 'no frame was begun: nothing is torn');
  assert.equal(f.sequence, 2);
});

test('a lock holder that exits: the next locking reader reports recovered', async (t) => {
  const { name, seg } = make(t);
  await killHolder(t, name, 's.lock();', 'exit');
  const f = seg.readFrame({ lock: true, timeoutMs: 5000 });
  assert.equal(f.recovered, true);
  assert.equal(f.locked, true);
  assert.equal(f.torn, false);
  assert.equal(f.sequence, 2);
  assert.ok(f.data.every((x) => x === 1));
  assert.equal(seg.readFrame({ lock: true }).recovered, false);
});

test('lockAsync after a dead holder resolves recovered, on this thread', async (t) => {
  const { name, seg } = make(t);
  await killHolder(t, name, 's.lock();');
  assert.deepEqual(await seg.lockAsync({ timeoutMs: 5000 }), { recovered: true });
  seg.unlock();
});

for (const how of ['SIGKILL', 'exit']) {
  test(`a writer killed mid-frame (${how}): the next reader repairs it and reports torn; the next frame clears it`, async (t) => {
    const { name, seg } = make(t);
    const pid = await killHolder(t, name, `
      s.writeFrame(new Float32Array(s.length).fill(2));
      const v = s.beginFrame();
      v.fill(3, 0, 10); // half a frame`, how);
    const before = seg.info();
    assert.equal(before.sequence % 2, 1, 'sequence left odd');
    assert.equal(before.writerPid, pid);
    assert.equal(before.writerAlive, false);
    const f = seg.readFrame({ timeoutMs: 5000 });
    assert.equal(f.torn, true);
    assert.equal(f.recovered, true);
    assert.equal(f.locked, true, 'the lock-free attempts saw an odd sequence and fell back to the mutex');
    assert.equal(f.sequence % 2, 0, 'sequence even again');
    assert.equal(f.sequence, before.sequence + 1);
    assert.deepEqual([...f.data.subarray(0, 12)], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2], 'the torn data as it was left');
    assert.equal(seg.info().torn, true, 'torn stays visible until the next frame');
    const again = seg.readFrame();
    assert.equal(again.torn, true);
    assert.equal(again.recovered, false);
    seg.writeFrame(new Float32Array(seg.length).fill(4));
    const after = seg.readFrame();
    assert.equal(after.torn, false);
    assert.equal(after.sequence, f.sequence + 2);
    assert.equal(seg.info().torn, false);
    assert.ok(after.data.every((x) => x === 4));
  });
}

test('a writer killed mid-frame: a lock-free-only reader gives up with ENOFRAME instead of spinning', async (t) => {
  const { name, seg } = make(t);
  await killHolder(t, name, 's.beginFrame();');
  assert.throws(() => seg.readFrame({ lockFree: true }), { name: 'ShmswarmError', code: 'ENOFRAME' });
  assert.equal(seg.sequence() % 2, 1, 'a lock-free reader does not repair: it holds no lock');
  const lastSeen = seg.sequence() - 1; // the frame published before the dead writer's
  const w = await seg.waitForFrame(lastSeen, { timeoutMs: 50 }).catch((e) => e);
  assert.equal(w.code, 'ETIMEDOUT', 'a frame left half-written is not a new frame');
  // the writer path repairs too: its lock comes back EOWNERDEAD
  seg.writeFrame(new Float32Array(seg.length).fill(5));
  const f = seg.readFrame({ lockFree: true });
  assert.equal(f.torn, false);
  assert.equal(f.sequence % 2, 0);
});

test('a reader in another process recovers a dead writer and the segment stays usable for both', async (t) => {
  const { name, seg } = make(t);
  await killHolder(t, name, 's.beginFrame();');
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)}, { readonly: true });
    const f = await s.readFrameAsync({ timeoutMs: 5000 });
    console.log(JSON.stringify({ torn: f.torn, recovered: f.recovered, sequence: f.sequence }));
    s.close();`);
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const f = JSON.parse(r.stdout);
  assert.equal(f.torn, true);
  assert.equal(f.recovered, true);
  assert.equal(f.sequence % 2, 0);
  assert.equal(seg.sequence(), f.sequence);
  seg.writeFrame(new Float32Array(seg.length).fill(6));
  assert.equal(seg.readFrame({ lock: true }).torn, false);
});
