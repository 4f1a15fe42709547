// Issue 6, items 6 and 7: the name unlinked or re-created while mapped, and the object shrunk
// under a live reader (which must get an error, never die of SIGBUS: exit status 135).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { spawnCli, spawnNode, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';

const shmPath = (name) => '/dev/shm' + name;

test('nameStatus: same, then gone after unlink, then replaced after re-create; the old mapping stays readable', (t) => {
  const name = uniqueName(t, 'status');
  const w = Segment.create(name, { rows: 2, cols: 2 });
  t.after(() => w.close());
  w.writeFrame([1, 2, 3, 4]);
  const r = Segment.open(name, { readonly: true });
  t.after(() => r.close());
  assert.equal(r.nameStatus(), 'same');
  Segment.unlink(name);
  assert.equal(r.nameStatus(), 'gone');
  const again = Segment.create(name, { rows: 2, cols: 2 });
  t.after(() => again.close());
  assert.equal(r.nameStatus(), 'replaced');
  assert.equal(again.nameStatus(), 'same');
  // The dead object keeps its last frame for whoever still maps it, and its writer can go on.
  assert.deepEqual([...r.readFrame().data], [1, 2, 3, 4]);
  w.writeFrame([5, 6, 7, 8]);
  assert.deepEqual([...r.readFrame().data], [5, 6, 7, 8]);
  assert.deepEqual([...again.readFrame().data], [0, 0, 0, 0]);
});

test('a segment shrunk under a live reader in another process: every call fails with EBUS or ETRUNCATED, the process lives on', async (t) => {
  const name = uniqueName(t, 'shrink');
  const w = Segment.create(name, { rows: 4096, cols: 4 });
  t.after(() => w.close());
  w.writeFrame(new Float32Array(4096 * 4).fill(2));
  const child = spawnNode(`
    const s = Segment.open(${JSON.stringify(name)}, { readonly: true });
    console.log('open ' + s.readFrame().data[0]);
    process.stdin.once('data', async () => {
      const codes = {};
      const attempt = async (label, fn) => { try { await fn(); codes[label] = 'ok'; } catch (e) { codes[label] = e.code ?? e.message; } };
      await attempt('readFrame', () => s.readFrame());
      await attempt('readFrameLocked', () => s.readFrame({ lock: true }));
      await attempt('readFrameAsync', () => s.readFrameAsync());
      await attempt('info', () => s.info());
      await attempt('waitForFrame', () => s.waitForFrame(s.sequence(), { timeoutMs: 50 }));
      console.log(JSON.stringify(codes));
      s.close();
    });
  `, { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const exited = waitExit(child, 15_000);
  await waitForLine(child, /^open 2$/);
  truncateSync(shmPath(name), 64);
  child.stdin.end('go\n');
  const r = await exited;
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const codes = JSON.parse(r.stdout.trim().split('\n').pop());
  // info() compares the size with the header first (a shrink inside the last page reads zeros).
  assert.equal(codes.info, 'ETRUNCATED');
  delete codes.info;
  for (const [call, code] of Object.entries(codes)) assert.equal(code, 'EBUS', `${call}: ${code}`);
});

test('a writer whose segment shrank gets EBUS from writeFrame and beginFrame instead of dying; regrown zeroes read as uninitialised', (t) => {
  const name = uniqueName(t, 'wshrink');
  const w = Segment.create(name, { rows: 4096, cols: 4 });
  t.after(() => w.close());
  const other = Segment.open(name);
  t.after(() => other.close());
  truncateSync(shmPath(name), 0);
  assert.throws(() => w.writeFrame(new Float32Array(4096 * 4)), (e) => e.code === 'EBUS' && e.message.includes(name));
  assert.throws(() => w.beginFrame(), (e) => e.code === 'EBUS');
  // Grown back (zero-filled): the header is gone, but nothing hangs on the lock either.
  truncateSync(shmPath(name), 4096 * 16 + 4096);
  assert.throws(() => Segment.open(name, { readonly: true }), (e) => e.code === 'EUNINIT');
});

test('dump of a shrunk segment: one error line naming it, exit 1, never SIGBUS', async (t) => {
  const name = uniqueName(t, 'dumpshrink');
  const w = Segment.create(name, { rows: 100, cols: 2 });
  w.close();
  truncateSync(shmPath(name), 200);
  const r = await waitExit(spawnCli(['dump', name, '--csv']));
  assert.equal(r.signal, null);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^shmswarm: /);
  assert.ok(r.stderr.includes(name), r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
