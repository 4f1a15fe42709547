// A stdout or stderr that fails (a full device, not a closed pipe): one stderr line, exit 1, no
// stack trace, and long-running commands stop and clean up as they do on a closed pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segment } from '../../dist/core/index.js';
import { errnoText, writeErrorMessage } from '../../dist/cli/errors.js';
import { outputFailureKind } from '../../dist/cli/output.js';
import { BIN, uniqueName } from '../helpers.js';

const FULL_STDOUT = 'shmswarm: cannot write to stdout: ENOSPC (no space left on device)\n';

/**
 * A device that fails every write with ENOSPC: one made with mknod in a temp dir, else /dev/full
 * (opening it for writing never replaces it); null when neither is there.
 */
function fullDevice(t) {
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-outerr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'full');
  if (spawnSync('mknod', [path, 'c', '1', '7']).status === 0) return path;
  if (existsSync('/dev/full') && statSync('/dev/full').isCharacterDevice()) return '/dev/full';
  t.skip('no full device: mknod is not permitted and there is no /dev/full');
  return null;
}

/** Run the CLI to completion with stdout, stderr or both on a full device; the others are pipes. */
function runOnFull(t, args, full = 'stdout') {
  const device = fullDevice(t);
  if (!device) return null;
  const fd = openSync(device, 'w');
  try {
    const stdio = ['ignore', full === 'stderr' ? 'pipe' : fd, full === 'stdout' ? 'pipe' : fd];
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', pid: r.pid };
  } finally {
    closeSync(fd);
  }
}

/** A segment with one published frame, so that no command has a warning to print. */
function liveSegment(t) {
  const name = uniqueName(t, 'o');
  const seg = Segment.create(name, { rows: 50, fields: 'x,y,vx,vy' });
  t.after(() => seg.close());
  seg.writeFrame(Float32Array.from({ length: 200 }, (_, i) => i / 7));
  return name;
}

test('errnoText and writeErrorMessage: the code and its description on one line', () => {
  const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  assert.equal(errnoText(e), 'ENOSPC (no space left on device)');
  assert.equal(writeErrorMessage('to stdout', e), 'cannot write to stdout: ENOSPC (no space left on device)');
  const open = Object.assign(new Error("ENOENT: no such file or directory, open '/a, write/b'"), { code: 'ENOENT', syscall: 'open', path: '/a, write/b' });
  assert.equal(errnoText(open), 'ENOENT (no such file or directory)');
  assert.equal(errnoText(new Error('two\nlines')), 'two lines');
  assert.equal(errnoText('plain'), 'plain');
});

test('outputFailureKind: EPIPE is a reader gone, EIO a terminal hung up, anything else lost data', () => {
  assert.equal(outputFailureKind({ code: 'EPIPE' }), 'reader-gone');
  assert.equal(outputFailureKind({ code: 'EIO' }), 'hung-up');
  for (const code of ['ENOSPC', 'EFBIG', 'EDQUOT', 'EBADF', undefined]) assert.equal(outputFailureKind({ code }), 'lost', String(code));
});

test('every command that prints: a full stdout is one stderr line, exit 1, no stack trace', (t) => {
  const name = liveSegment(t);
  const commands = [
    ['info', name],
    ['info', name, '--json'],
    ['info', name, '--julia'],
    ['list'],
    ['list', '--json'],
    ['dump', name, '--csv'],
    ['dump', name, '--json'],
    ['dump', name, '--ndjson'],
    ['dump', name, '--table'],
    ['dump', name, '--npy', '-'],
    ['dump', name, '-o', '/dev/stdout'],
    ['watch', name, '--once'],
    ['watch', name, '--once', '--json'],
    ['check', name, '--shape', '50x4'],
    ['--help'],
    ['--version'],
    ['dump', '--help'],
  ];
  for (const args of commands) {
    const r = runOnFull(t, args);
    if (!r) return;
    const what = args.join(' ');
    assert.equal(r.signal, null, `${what}: ended by itself`);
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assert.equal(r.stderr, FULL_STDOUT, what);
  }
});

test('create --json on a full stdout: one line, exit 1, and the segment is not left behind', (t) => {
  const name = uniqueName(t, 'c');
  const r = runOnFull(t, ['create', name, '--agents', '3', '--fields', 'x', '--json']);
  if (!r) return;
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `${FULL_STDOUT.trimEnd()}; ${name} was not created\n`);
  assert.equal(existsSync('/dev/shm' + name), false);
});

test('watch stops on a full stdout as on a closed pipe, and exits 1', (t) => {
  const name = liveSegment(t);
  for (const extra of [[], ['--json']]) {
    const r = runOnFull(t, ['watch', name, '--interval', '50', ...extra]);
    if (!r) return;
    assert.equal(r.signal, null, 'stopped by itself, not by the test timeout');
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, FULL_STDOUT);
  }
});

test('demo stops on a full stdout, removes its segment and stops its simulation; exit 1', (t) => {
  const r = runOnFull(t, ['demo', '--agents', '100', '--duration', '600']);
  if (!r) return;
  assert.equal(r.signal, null, 'stopped by itself, not by the test timeout');
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('shmswarm:')), [FULL_STDOUT.trimEnd()]);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.match(r.stderr, /removed \/shmswarm-demo-/);
  assert.equal(existsSync(`/dev/shm/shmswarm-demo-${r.pid}`), false);
});

test('simulate stops and cleans up when stderr is full; nothing is written back to it; exit 1', (t) => {
  const name = uniqueName(t, 's');
  const r = runOnFull(t, ['simulate', name, '--agents', '10', '--rate', '60', '--duration', '600', '--unlink-on-exit'], 'stderr');
  if (!r) return;
  assert.equal(r.signal, null, 'stopped by itself, not by the test timeout');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(existsSync('/dev/shm' + name), false, '--unlink-on-exit ran');
});

test('a full stderr does not stop a short command writing stdout, but the exit is 1', (t) => {
  const name = uniqueName(t, 'z');
  Segment.create(name, { rows: 2, fields: 'x,y' }).close();
  // No frame yet: dump warns on stderr, which fails.
  const r = runOnFull(t, ['dump', name, '--csv'], 'stderr');
  if (!r) return;
  assert.equal(r.signal, null);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, 'x,y\n0,0\n0,0\n');
});

test('stdout and stderr both full: exit 1, no loop', (t) => {
  const name = liveSegment(t);
  for (const args of [['info', name], ['dump', name, '--csv'], ['watch', name, '--interval', '50'], ['dump', '/shmswarm-test-no-such-segment']]) {
    const r = runOnFull(t, args, 'both');
    if (!r) return;
    assert.equal(r.signal, null, args.join(' '));
    assert.equal(r.status, 1, args.join(' '));
  }
});

test('a closed pipe still ends a long-running command quietly with exit 0', (t) => {
  const name = liveSegment(t);
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" watch ${name} --json --interval 50 | head -n 1 > /dev/null; exit \${PIPESTATUS[0]}`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
