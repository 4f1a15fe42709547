// A short bounded libFuzzer run on the header validator (fuzz/run.sh); `npm run fuzz -- 600` runs
// longer. Skipped, saying why, where clang with libFuzzer is not installed — except under CI,
// whose .ci/run installs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

test('libFuzzer on shmswarm_validate: 5 s from the seed corpus find no crash, overread or broken invariant', (t) => {
  const r = spawnSync('sh', [join(ROOT, 'fuzz', 'run.sh'), '5'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 77) {
    assert.ok(process.env.CI !== 'true', `CI must run the fuzz test: ${r.stderr.trim().split('\n')[0]}`);
    return t.skip(r.stderr.trim().split('\n')[0]);
  }
  assert.equal(r.signal, null, r.stderr.slice(-4000));
  assert.equal(r.status, 0, r.stderr.slice(-4000));
  assert.match(r.stderr, /Done \d+ runs/);
});
