// Permission bits: 0600 by default whatever the umask, an explicit mode exactly (fchmod after create).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync } from 'node:fs';
import { uniqueName, spawnNode, waitExit } from '../helpers.js';

async function createUnderUmask(t, umask, mode) {
  const name = uniqueName(t);
  const opts = { rows: 2, cols: 2, ...(mode === undefined ? {} : { mode }) };
  const child = spawnNode(`
    process.umask(${umask});
    const s = Segment.create(${JSON.stringify(name)}, ${JSON.stringify(opts)});
    console.log(JSON.stringify({ mode: s.info().mode }));
    s.close();`);
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child);
  assert.equal(r.code, 0, r.stderr);
  const b = readFileSync('/dev/shm' + name);
  return { fsMode: statSync('/dev/shm' + name).mode & 0o7777, infoMode: JSON.parse(r.stdout).mode, blockMode: b.readUInt32LE(128 + 92) };
}

for (const umask of [0o077, 0o000, 0o022, 0o777]) {
  test(`default mode is 0600 under umask ${umask.toString(8).padStart(3, '0')}`, async (t) => {
    const m = await createUnderUmask(t, umask);
    assert.equal(m.fsMode, 0o600);
    assert.equal(m.infoMode, 0o600);
    assert.equal(m.blockMode, 0o600, 'the mode asked for is recorded in the block');
  });
}

for (const [mode, umask] of [[0o640, 0o022], [0o666, 0o022], [0o660, 0o077], [0o644, 0o000], [0o400, 0o022]]) {
  test(`explicit mode ${mode.toString(8)} under umask ${umask.toString(8).padStart(3, '0')} is applied exactly`, async (t) => {
    const m = await createUnderUmask(t, umask, mode);
    assert.equal(m.fsMode, mode);
    assert.equal(m.infoMode, mode);
    assert.equal(m.blockMode, mode);
  });
}

test('a mode outside 0..0777 is a RangeError before any syscall', async (t) => {
  const { Segment } = await import('../../dist/core/index.js');
  const name = uniqueName(t);
  assert.throws(() => Segment.create(name, { rows: 1, cols: 1, mode: 0o1777 }), RangeError);
  assert.throws(() => Segment.create(name, { rows: 1, cols: 1, mode: -1 }), RangeError);
  assert.throws(() => statSync('/dev/shm' + name), { code: 'ENOENT' });
});
