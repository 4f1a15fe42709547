// The TypeScript API as a user compiles it (tsc --strict, nodenext, importing 'shmswarm' from
// dist): fixtures-types/compiles.ts must type-check (the README's example, element types decided
// by the dtype, reads that cannot return null); fixtures-types/bad-dtype.ts must not ('f16').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const FIXTURES = join(ROOT, 'test', 'core', 'fixtures-types');

/** tsc's errors for the fixtures, compiled together: { file → [line: message] }. */
function typeErrors() {
  const r = spawnSync(TSC, ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'compiles.ts', 'bad-dtype.ts'], {
    cwd: FIXTURES,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.error, undefined, String(r.error));
  const errors = {};
  for (const m of r.stdout.matchAll(/^(\S+\.ts)\((\d+),\d+\): error (TS\d+: .*)$/gm)) (errors[m[1]] ??= []).push(`${m[2]}: ${m[3]}`);
  return { status: r.status, errors, output: r.stdout + r.stderr };
}

test('the typed API: the README example and typed element arrays compile under --strict; dtype "f16" does not', { skip: !existsSync(TSC) && 'typescript is not installed' }, () => {
  const { status, errors, output } = typeErrors();
  assert.notEqual(status, 0, 'bad-dtype.ts compiled');
  assert.deepEqual(errors['compiles.ts'] ?? [], [], output);
  const bad = errors['bad-dtype.ts'] ?? [];
  assert.ok(bad.some((e) => e.startsWith('4:') && /"f16"/.test(e)), output);
  assert.ok(bad.some((e) => e.startsWith('7:') && /"f16"/.test(e)), output);
  assert.equal(bad.length, 2, output);
});
