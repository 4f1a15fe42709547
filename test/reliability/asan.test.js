// The C core's tests under AddressSanitizer and UndefinedBehaviorSanitizer (npm run
// test:native:asan), in the regular suite: a few seconds. Skipped, saying why, where no compiler
// can build with the sanitizers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

test('native core tests pass under ASan and UBSan (test/native-c/core_test.c)', (t) => {
  const r = spawnSync('sh', [join(ROOT, 'test', 'native-c', 'asan.sh')], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 77) return t.skip(r.stderr.trim().split('\n')[0]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /^not ok/m);
  assert.match(r.stdout, /^1\.\.\d+$/m);
});
