// The TypeScript API as a user compiles it (tsc --strict, nodenext, importing 'shmswarm' from
// dist): fixtures-types/compiles.ts must type-check (element types decided by the dtype, reads
// that cannot return null); fixtures-types/bad-dtype.ts must not ('f16'). The README's library
// example is taken from the README itself, compiled in a project that depends on shmswarm, and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, uniqueName } from '../helpers.js';

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

test('the README\'s library example, as printed, compiles under --strict in a dependent project and runs', { skip: !existsSync(TSC) && 'typescript is not installed' }, (t) => {
  const block = /## The library\n\n```ts\n([\s\S]*?)```\n/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(block, 'no ```ts block under "## The library" in README.md');
  assert.match(block[1], /'\/swarm'/);
  const name = uniqueName(t, 'readme');
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'shmswarm'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'readme.mts'), block[1].replaceAll("'/swarm'", JSON.stringify(name)));
  const tsc = spawnSync(TSC, ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--outDir', 'out', 'readme.mts'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  const run = spawnSync(process.execPath, [join(dir, 'out', 'readme.mjs')], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.ok(!existsSync('/dev/shm' + name), 'the example leaves its segment behind');
});
