// The C core's name and field rules (include/shmswarm.h) run the one table of cases,
// test/name-rules.json, that the TypeScript rules run too (test/core/name-rules.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildProgram } from '../native-c/build.js';

const cases = JSON.parse(readFileSync(new URL('../name-rules.json', import.meta.url), 'utf8'));
const hex = (s) => Buffer.from(s, 'utf8').toString('hex');

test('the C core accepts exactly the names and field lists test/name-rules.json marks ok', () => {
  const names = cases.names.filter((c) => c.notInC === undefined);
  assert.ok(names.length >= cases.names.length - 1, 'at most the NUL case is TypeScript-only');
  const lines = [...names.map((c) => `N ${hex(c.name)}`), ...cases.fields.map((c) => `F ${c.cols} ${hex(c.fields)}`)];
  const r = spawnSync(buildProgram('name_rules'), [], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const answers = r.stdout.trimEnd().split('\n');
  assert.equal(answers.length, lines.length);
  [...names, ...cases.fields].forEach((c, i) =>
    assert.equal(answers[i] === 'ok', c.ok, `${JSON.stringify(c.name ?? c.fields)} (${c.why}): ${answers[i]}`));
});
