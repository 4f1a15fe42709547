// The seqlock's guarantee, "no torn frame is ever accepted", made deterministic: in
// test/native-c/seqlock_torn.c the reader's copy pauses half-way while a writer in another process
// publishes whole frames, so every paused copy is torn and a reader that does not check the
// sequence after its copy returns a torn frame in every round of every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { uniqueName } from '../helpers.js';
import { buildProgram } from '../native-c/build.js';

for (const slots of [1, 3]) {
  for (const mode of ['auto', 'lockfree']) {
    test(`a write inside every lock-free copy (${slots} slot${slots > 1 ? 's' : ''}, ${mode}): never a torn frame, always the newest one after a retry`, (t) => {
      const name = uniqueName(t, 'seqlock');
      const r = spawnSync(buildProgram('seqlock_torn'), [name, String(slots), mode], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.signal, null, `${r.stdout}${r.stderr}`);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^ok 20 paused copies, (\d+) retries$/m);
    });
  }
}
