// Every error line the CLI prints for a core failure comes from one place: the hint table in
// src/cli/errors.ts (chosen by code, reason and command), or else the core's message unchanged.
// Each failure the other test files provoke is provoked here twice: through the real binary,
// and through the library in a child process, whose error (code, reason, message) must turn
// into exactly the line the binary printed. Then the table itself is walked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { HINTS, hintFor } from '../../dist/cli/errors.js';
import { DIST, runCli, uniqueName, writeWa1Matrix } from '../helpers.js';

/** The ShmswarmError `code` (an async function body using `shmswarm`) throws, as plain fields. */
function libraryError(code) {
  const script = `import * as shmswarm from ${JSON.stringify(DIST)};
const { Segment, RawSegment, openFrameSource, waitForSegment } = shmswarm;
try { await (async () => { ${code} })(); console.log('null'); }
catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, code: e.code, reason: e.reason, segment: e.segment, detail: e.detail, syscall: e.syscall })); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.ok(e && e.name === 'ShmswarmError', `the library call fails with a ShmswarmError: ${r.stdout}`);
  return e;
}

const used = new Set();

/** The line the CLI must print for `e` when `command` runs: the table's, or the core's message. */
function expectedLine(e, command) {
  const hint = hintFor(e, command);
  if (hint) used.add(Object.keys(HINTS).find((k) => HINTS[k] === hint));
  return hint ? hint(e, e.segment ?? '') : e.message;
}

function expectSame(t, args, code, command = args[0]) {
  const e = libraryError(code);
  const r = runCli(args);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `shmswarm: ${expectedLine(e, command)}\n`, `${args.join(' ')} (${e.code}${e.reason ? '/' + e.reason : ''})`);
  return e;
}

test('missing segments and objects: ENOENT, ENOENT/matrix, ENOENT/mutex, per command', (t) => {
  const missing = uniqueName(t, 'missing');
  const open = `Segment.open(${JSON.stringify(missing)})`;
  expectSame(t, ['dump', missing], open);
  expectSame(t, ['info', missing], open);
  expectSame(t, ['check', missing, '--finite'], open);
  expectSame(t, ['unlink', missing], `Segment.unlink(${JSON.stringify(missing)})`);
  const raw = `openFrameSource(${JSON.stringify(missing)}, { raw: { shape: '2x2' } })`;
  assert.equal(expectSame(t, ['dump', missing, '--raw', '--shape', '2x2'], raw).reason, 'matrix');
  expectSame(t, ['check', missing, '--raw', '--shape', '2x2', '--finite'], raw);
  const matrix = uniqueName(t, 'matrix');
  writeFileSync('/dev/shm' + matrix, Buffer.alloc(16));
  const noMutex = uniqueName(t, 'nomutex');
  const e = expectSame(t, ['dump', matrix, '--raw', '--shape', '2x2', '--mutex', noMutex],
    `openFrameSource(${JSON.stringify(matrix)}, { raw: { shape: '2x2', mutex: ${JSON.stringify(noMutex)} } })`);
  assert.equal(e.reason, 'mutex');
});

test('create over what exists: EEXIST, EEXIST/uninitialised, EEXIST/not-shmswarm, EBUSY/live-writer', (t) => {
  const name = uniqueName(t, 'exists');
  const seg = Segment.create(name, { rows: 2, fields: 'x,y' });
  t.after(() => seg.close());
  seg.writeFrame([1, 2, 3, 4]); // this test process is the live writer
  const create = (n, force) => `Segment.create(${JSON.stringify(n)}, { rows: 2, cols: 2${force ? ', replace: true' : ''} })`;
  expectSame(t, ['create', name, '--agents', '2', '--cols', '2'], create(name, false));
  assert.equal(expectSame(t, ['create', name, '--agents', '2', '--cols', '2', '--force'], create(name, true)).reason, 'live-writer');
  const zeros = uniqueName(t, 'zeros');
  // What a live seed writer's mutex object looks like: zeros with a process-shared kind.
  const mutexBytes = Buffer.alloc(64);
  mutexBytes.writeInt32LE(128, 16);
  writeFileSync('/dev/shm' + zeros, mutexBytes);
  assert.equal(expectSame(t, ['create', zeros, '--agents', '2', '--cols', '2', '--force'], create(zeros, true)).reason, 'uninitialised');
  const wa1 = uniqueName(t, 'wa1');
  writeWa1Matrix(wa1, 2, 2, [1, 2, 3, 4]);
  assert.equal(expectSame(t, ['create', wa1, '--agents', '2', '--cols', '2', '--force'], create(wa1, true)).reason, 'not-shmswarm');
});

test('unlink of what is not ours: ENOTSHMSWARM, ENOTSHMSWARM/wa1', (t) => {
  const foreign = uniqueName(t, 'foreign');
  writeFileSync('/dev/shm' + foreign, 'someone else\'s data');
  const e = expectSame(t, ['unlink', foreign], `Segment.unlink(${JSON.stringify(foreign)})`);
  assert.doesNotMatch(e.message, /--force/, 'the library speaks of { force: true }, not of a flag');
  const wa1 = uniqueName(t, 'wa1');
  writeWa1Matrix(wa1, 2, 2, [1, 2, 3, 4]);
  assert.equal(expectSame(t, ['unlink', wa1], `Segment.unlink(${JSON.stringify(wa1)})`).reason, 'wa1');
});

test('timeouts: ETIMEDOUT/lock and EBUSY with the lock held, ETIMEDOUT/not-ready, ETIMEDOUT/no-frame in our words', (t) => {
  const name = uniqueName(t, 'locked');
  const seg = Segment.create(name, { rows: 2, fields: 'x,y' });
  t.after(() => seg.close());
  const locked = `Segment.open(${JSON.stringify(name)}, { readonly: true }).readFrame({ lock: true, timeoutMs: `;
  seg.lock();
  try {
    assert.equal(expectSame(t, ['dump', name, '--lock', '--timeout', '200'], locked + '200 })').reason, 'lock');
    expectSame(t, ['dump', name, '--lock', '--timeout', '0'], locked + '0 })');
  } finally {
    seg.unlock();
  }
  const missing = uniqueName(t, 'late');
  assert.equal(expectSame(t, ['wait', missing, '--timeout', '0.2'], `await waitForSegment(${JSON.stringify(missing)}, { timeoutMs: 200 })`).reason, 'not-ready');

  // No command prints this one; the library's message must still not speak of connections.
  const e = libraryError(`const s = Segment.open(${JSON.stringify(name)}, { readonly: true }); await s.waitForFrame(s.info().sequence, { timeoutMs: 50 })`);
  assert.equal(e.code, 'ETIMEDOUT');
  assert.equal(e.reason, 'no-frame');
  assert.equal(e.message, `${name}: timed out (no new frame before the timeout)`);
});

test('replay onto an existing segment: replay:EEXIST says replay --force', (t) => {
  const name = uniqueName(t, 'replayed');
  Segment.create(name, { rows: 2, cols: 2 }).close();
  const recording = new URL('../../examples/ci/swarm-run.arrows', import.meta.url).pathname;
  expectSame(t, ['replay', recording, name], `Segment.create(${JSON.stringify(name)}, { rows: 2, cols: 2 })`);
  assert.ok(used.has('replay:EEXIST'));
});

test('the table: every entry was provoked above, or is listed here with why not', () => {
  const notProvoked = {
    // Root (the test user here) may open any object.
    EACCES: 'needs a user without permission', EPERM: 'needs a user without permission',
    ENOSPC: 'needs /dev/shm to be full',
    ENOTRECOVERABLE: 'test/reliability/crash.test.js provokes it (a holder killed mid-repair)',
  };
  for (const key of Object.keys(HINTS)) assert.ok(used.has(key) || key in notProvoked, `hint ${key} is neither provoked nor explained`);
  for (const key of Object.keys(notProvoked)) assert.ok(key in HINTS, `${key} is in the table`);
});
