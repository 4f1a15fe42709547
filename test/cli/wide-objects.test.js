// Foreign plain WA-1 objects whose header asks for absurd sizes: any local user can put one in
// /dev/shm, and `list` looks at every object there. Naming 2^26 unnamed columns (c0, c1, …)
// took `list` 30 s and 2.8 GB, `info` 40 s, and made `info --json` run out of memory; a 1 TiB
// frame was reported as a usage error (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { runCli, uniqueName } from '../helpers.js';

/** A plain WA-1 header (no shmswarm block): u8 elements, rows × cols, sized to hold them. */
function wideWa1(t, label, rows, cols) {
  const name = uniqueName(t, label);
  const h = Buffer.alloc(64);
  h.writeUInt32LE(0x57412d31, 0);
  h.writeUInt16LE(2, 4); // u8
  h.writeUInt16LE(2, 6); // ndims
  h.writeBigInt64LE(64n, 8);
  h.writeBigInt64LE(BigInt(cols), 16);
  h.writeBigInt64LE(BigInt(rows), 24);
  const fd = openSync('/dev/shm' + name, 'wx', 0o600);
  writeSync(fd, h);
  ftruncateSync(fd, 64 + rows * cols); // sparse
  closeSync(fd);
  return name;
}

// Bounded well below the old times, so the old code fails here rather than hanging the suite.
const BOUND = { timeout: 20_000 };

test('list, info and info --json of an object with 2^26 unnamed columns answer without naming them all', (t) => {
  const name = wideWa1(t, 'wide', 1, 2 ** 26);
  let r = runCli(['list', '--json'], BOUND);
  assert.equal(r.status, 0, r.stderr);
  const entry = JSON.parse(r.stdout).find((e) => e.name === name);
  assert.equal(entry.cols, 2 ** 26);
  assert.equal(entry.fields, undefined, 'names of many unnamed columns are left out');
  r = runCli(['info', name], BOUND);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /fields\s+c0, c1, c2, …, c67108863 \(unnamed\)/);
  r = runCli(['info', name, '--json'], BOUND);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.fields, undefined);
  assert.equal(info.fieldsNamed, false);
});

test('a few unnamed columns are still listed by name everywhere', (t) => {
  const name = wideWa1(t, 'narrow', 4, 3);
  const entry = JSON.parse(runCli(['list', '--json']).stdout).find((e) => e.name === name);
  assert.deepEqual(entry.fields, ['c0', 'c1', 'c2']);
  assert.deepEqual(JSON.parse(runCli(['info', name, '--json']).stdout).fields, ['c0', 'c1', 'c2']);
  assert.match(runCli(['info', name]).stdout, /fields\s+c0, c1, c2 \(unnamed\)/);
});

test('dump of a 1 TiB frame: one line saying it is too large, exit 1 (not a usage error)', (t) => {
  const name = wideWa1(t, 'huge', 2 ** 20, 2 ** 20);
  const r = runCli(['dump', name, '--csv'], BOUND);
  assert.equal(r.signal, null);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `shmswarm: a frame of ${2 ** 40} bytes is more memory than this process can allocate\n`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
