// Temporary directories, FIFOs and device nodes for the tests of writing output files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function charDevice(t, dir, label, major, minor) {
  const path = join(dir, label);
  const r = spawnSync('mknod', [path, 'c', String(major), String(minor)], { encoding: 'utf8' });
  if (r.status !== 0) {
    t.skip(`mknod is not permitted here: ${r.stderr.trim()}`);
    return null;
  }
  return path;
}

export function fifo(dir, label) {
  const path = join(dir, label);
  const r = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return path;
}
