// A repair (docs/FORMAT.md §10) wakes the futex waiters, as a publish does: a waiter asleep on the
// change word learns of the repaired sequence at once, not at the end of its sleep or the next frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildProgram } from '../native-c/build.js';
import { uniqueName } from '../helpers.js';

test('C: a waiter asleep with no timeout is woken by the repair of a writer that died mid-frame', (t) => {
  const r = spawnSync(buildProgram('repair_wake'), [uniqueName(t, 'repairwake')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'hung: the repair did not wake the waiter');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok\n');
});
