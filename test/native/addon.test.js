// The addon's own surface, below the TypeScript facade: constants, error objects, process checks
// and the C layer's name rules (C programs get no TypeScript check in front of them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { native } from '../../dist/core/binding.js';
import { ShmswarmError } from '../../dist/core/index.js';
import { uniqueName } from '../helpers.js';

test('format constants: version 1, a 512-byte block, the mutex fits its 128-byte reserve', () => {
  const n = native();
  assert.equal(n.formatVersion, 1);
  assert.equal(n.blockFixedBytes, 512);
  assert.ok(n.mutexSize > 0 && n.mutexSize <= 128, `sizeof(pthread_mutex_t) = ${n.mutexSize}`);
});

test('a system error carries code, errno, syscall and segment', (t) => {
  const name = uniqueName(t);
  let err;
  try {
    native().SegmentHandle.open(name, false);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ShmswarmError);
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.errno, -2);
  assert.equal(err.syscall, 'shm_open');
  assert.equal(err.segment, name);
  assert.equal(err.message, `${name}: No such file or directory`);
});

test('EEXIST from a second create, and the first segment is untouched', (t) => {
  const name = uniqueName(t);
  const a = native().SegmentHandle.create(name, 2, 2, 9, 'x,y', 0o600);
  t.after(() => a.close());
  assert.throws(() => native().SegmentHandle.create(name, 9, 9, 9, null, 0o600), { code: 'EEXIST', syscall: 'shm_open' });
  assert.equal(a.layout().rows, 2);
});

test('the C layer checks names itself', () => {
  assert.throws(() => native().unlink('noslash'), { code: 'EINVAL' });
  assert.throws(() => native().unlink('/a/b'), { code: 'EINVAL' });
  assert.throws(() => native().unlink('/..'), { code: 'EINVAL' });
  assert.throws(() => native().unlink('/' + 'a'.repeat(256)), { code: 'ENAMETOOLONG' });
  // Control and bidirectional-override characters, as C and C++ producers would pass them.
  for (const bad of ['/a\x1b[31m', '/a\nb', '/a\x7f', '/a\u009b', '/a\u202eb', '/a\u2066b', '/a\u200fb', '/a\u061cb', '/a\u2028b', '/a\ufeffb'])
    assert.throws(() => native().unlink(bad), { code: 'EINVAL', message: /control or bidirectional/ }, JSON.stringify(bad));
  assert.throws(() => native().unlink('/shmswarm-test-ok-\u00e9\u20ac'), { code: 'ENOENT' }, 'other UTF-8 is a name like any other');
});

test('the C layer refuses bad shapes, types, fields and modes before creating anything', (t) => {
  const name = uniqueName(t);
  const H = native().SegmentHandle;
  assert.throws(() => H.create(name, 2, 2, 11, null, 0o600), { code: 'EINVAL', syscall: 'dtype' });
  assert.throws(() => H.create(name, 2, 2, 9, 'x', 0o600), { code: 'EINVAL', syscall: 'fields' });
  assert.throws(() => H.create(name, 2, 2, 9, 'x,', 0o600), { code: 'EINVAL', syscall: 'fields' });
  assert.throws(() => H.create(name, 2, 2, 9, 'x,\n', 0o600), { code: 'EINVAL', syscall: 'fields' });
  assert.throws(() => H.create(name, 2 ** 40, 2, 9, null, 0o600), { code: 'EFBIG' });
  assert.throws(() => H.create(name, 2, 2, 9, null, 0o10000), { code: 'EINVAL', syscall: 'mode' });
  assert.throws(() => H.open(name, false), { code: 'ENOENT' }, 'nothing was left behind');
});

test('pidAlive: this process yes, an exited one no, a reused pid (other start time) no', () => {
  const n = native();
  assert.equal(n.pidAlive(process.pid), true);
  const child = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(child.status, 0);
  assert.equal(n.pidAlive(child.pid), false);
  assert.equal(n.pidAlive(0), false);
  assert.equal(n.pidAlive(-1), false);
  assert.equal(n.pidAlive(process.pid, 1), false, 'same pid, different start time: not our writer');
});

test('allocAligned gives zeroed buffers of the asked size, also when the heap reuses memory', () => {
  for (let i = 0; i < 200; i++) {
    const ab = native().allocAligned(1000 + (i % 7));
    assert.equal(ab.byteLength, 1000 + (i % 7));
    const u = new Uint8Array(ab);
    assert.ok(u.every((x) => x === 0), `allocation ${i} was not zeroed`);
    u.fill(0xff); // freed by the GC later; the next allocations may land here
    if (i % 50 === 49) globalThis.gc?.();
  }
  assert.equal(native().allocAligned(0).byteLength, 0);
});

test('a call on a closed handle throws ShmswarmError ECLOSED naming the object (SegmentHandle and RawMapping)', (t) => {
  const name = uniqueName(t);
  const h = native().SegmentHandle.create(name, 2, 2, 9, 'x,y', 0o600);
  h.close();
  assert.throws(() => h.stat(), (e) => e instanceof ShmswarmError && e.code === 'ECLOSED' && e.segment === name && e.message === `segment ${name} is closed`);
  const r = native().RawMapping.open(name, false);
  r.close();
  for (const call of [() => r.stat(), () => r.read(new Uint8Array(4), 0), () => r.lockMutex(0, 0)])
    assert.throws(call, (e) => e instanceof ShmswarmError && e.code === 'ECLOSED' && e.segment === name);
});

test('an ETIMEDOUT says "timed out" (not libc\'s "Connection timed out") and which wait it was', async (t) => {
  const name = uniqueName(t);
  const h = native().SegmentHandle.create(name, 2, 2, 9, 'x,y', 0o600);
  t.after(() => h.close());
  await assert.rejects(h.waitAsync(h.sequence(), 20, true), (e) => e.code === 'ETIMEDOUT' && e.reason === 'no-frame' && e.message === `${name}: timed out (no new frame before the timeout)`);
});
