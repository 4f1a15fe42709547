// Issue 6, items 3, 6 and 7 through the real `shmswarm watch`: a dead lock holder, the name
// unlinked and re-created, the object shrunk under it. Waits have generous limits that only catch
// hangs; nothing here asserts a duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { runCli, spawnCli, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';
import { buildHelper } from '../native-c/build.js';

/** Resolve with stderr so far once it matches `pattern`. */
function waitForStderr(child, pattern, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no stderr matching ${pattern} within ${timeoutMs} ms: ${buf}`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      if (pattern.test(buf)) {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        resolve(buf);
      }
    };
    child.stderr.on('data', onData);
  });
}

function startWatch(t, name) {
  const child = spawnCli(['watch', name, '--interval', '100', '--no-plot']);
  t.after(() => child.kill('SIGKILL'));
  return child;
}

async function stop(child) {
  const exited = waitExit(child);
  child.kill('SIGTERM');
  return exited;
}

function writer(t, name, value) {
  const seg = Segment.create(name, { rows: 10, cols: 2, fields: 'x,y' });
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(20).fill(value));
  return seg;
}

test('watch says when the segment is unlinked and when it is re-created, and follows the new one', async (t) => {
  const name = uniqueName(t, 'watchgone');
  writer(t, name, 1);
  const w = startWatch(t, name);
  await waitForLine(w, / live /);
  Segment.unlink(name);
  await waitForStderr(w, new RegExp(`${name} was removed`));
  writer(t, name, 2);
  await waitForStderr(w, new RegExp(`${name} is back`));
  await waitForLine(w, / live .*x=2\//);
  const r = await stop(w);
  assert.equal(r.code, 0, r.stderr);
});

test('watch keeps reading (lock-free) while a lock holder that unmapped and died keeps the lock', async (t) => {
  const name = uniqueName(t, 'watchlock');
  writer(t, name, 3);
  const helper = spawn(buildHelper(), ['unmap-and-die', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => helper.kill('SIGKILL'));
  assert.equal((await waitExit(helper)).code, 0);
  const r = runCli(['watch', name, '--once', '--json'], { timeout: 10_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const snap = JSON.parse(r.stdout);
  assert.equal(snap.status, 'live');
});

test('watch of a segment shrunk under it: an error message naming it, never SIGBUS', async (t) => {
  const name = uniqueName(t, 'watchshrink');
  writer(t, name, 4);
  const w = startWatch(t, name);
  await waitForLine(w, / live /);
  truncateSync('/dev/shm' + name, 100);
  const err = await waitForStderr(w, new RegExp(`${name}.*(shrunk|memory fault|smaller|truncated|EBUS)`, 'i')).catch((e) => e);
  const r = await stop(w);
  assert.notEqual(r.signal, 'SIGBUS');
  assert.notEqual(r.code, 135);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(typeof err === 'string', `watch said nothing about the shrink: ${r.stderr}`);
});

test('watch against a holder that unmapped and died mid-frame: says it has no whole frame, never blocks', async (t) => {
  const name = uniqueName(t, 'watchmid');
  writer(t, name, 5);
  const helper = spawn(buildHelper(), ['unmap-mid-frame', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => helper.kill('SIGKILL'));
  assert.equal((await waitExit(helper)).code, 0);
  const r = runCli(['watch', name, '--once', '--json'], { timeout: 10_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const snap = JSON.parse(r.stdout);
  assert.match(snap.message ?? '', /frame/i);
});

test('watch of a frame that stays half-written says its writer is stopped or died holding the lock', async (t) => {
  const name = uniqueName(t, 'watchstuck');
  writer(t, name, 5);
  const helper = spawn(buildHelper(), ['unmap-mid-frame', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => helper.kill('SIGKILL'));
  assert.equal((await waitExit(helper)).code, 0);
  const child = spawnCli(['watch', name, '--json', '--interval', '200']);
  t.after(() => child.kill('SIGKILL'));
  const line = await waitForLine(child, /in progress for/, 10_000);
  assert.match(JSON.parse(line).message, /stopped, or died holding the lock/);
  assert.equal((await stop(child)).code, 0);
});
