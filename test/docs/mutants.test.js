// The mutation campaign's list (test/mutants/mutants.json) cannot rot: every entry is well formed
// and still applies to the code (its text occurs exactly once), and docs/RELIABILITY.md shows the
// table the list gives. The campaign itself (npm run mutants) is too slow for npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { TABLE_BEGIN, TABLE_END, applyMutant, checkMutants, loadMutants, markdownTable, occurrences } from '../../bench/lib/mutants.js';

const RUNNER = join(ROOT, 'bench', 'mutants.js');

test('every mutant of test/mutants/mutants.json is well formed and still applies (its text occurs exactly once)', () => {
  const all = loadMutants(ROOT);
  assert.ok(all.length >= 22, `${all.length} mutants`);
  const stale = all.filter((m) => applyMutant(readFileSync(join(ROOT, m.file), 'utf8'), m) === null)
    .map((m) => `${m.id}: found ${occurrences(readFileSync(join(ROOT, m.file), 'utf8'), m.find)} times in ${m.file}`);
  assert.deepEqual(stale, []);
});

test('docs/RELIABILITY.md shows the table the mutant list gives', () => {
  const md = readFileSync(join(ROOT, 'docs', 'RELIABILITY.md'), 'utf8');
  const start = md.indexOf(TABLE_BEGIN);
  const end = md.indexOf(TABLE_END);
  assert.ok(start >= 0 && end > start, 'the table\'s markers are in docs/RELIABILITY.md');
  assert.equal(md.slice(start + TABLE_BEGIN.length, end).trim(), markdownTable(loadMutants(ROOT)),
    'regenerate it: node bench/mutants.js --markdown');
});

test('the list is read strictly: unknown keys, stale texts, missing test files and duplicates are refused', () => {
  const m = { id: 'x', invariant: 'i', file: 'src/core/rows.ts', find: 'end > rows', replace: 'end >= rows', tests: ['test/cli/dump.test.js'] };
  assert.equal(applyMutant('a end > rows b', m), 'a end >= rows b');
  assert.equal(applyMutant('end > rows, end > rows', m), null, 'twice: stale');
  assert.equal(applyMutant('nothing', m), null, 'absent: stale');
  assert.equal(occurrences('aaaa', 'aa'), 2);
  const refused = (mutants, pattern) => assert.throws(() => checkMutants({ mutants }, ROOT), pattern);
  assert.deepEqual(checkMutants({ mutants: [m] }, ROOT).map((x) => x.build), ['ts'], 'src/ rebuilds the TypeScript');
  refused([{ ...m, typo: 1 }], /mutant 1 \(x\): unknown key "typo"/);
  refused([{ ...m, tests: ['test/cli/nope.test.js'] }], /test file test\/cli\/nope\.test\.js does not exist/);
  refused([{ ...m, tests: [] }], /"tests" lists test files/);
  refused([m, m], /mutant 2 \(x\): id used twice/);
  refused([{ ...m, replace: m.find }], /must be non-empty and differ/);
  refused([{ ...m, build: 'make' }], /"build" is one of addon, ts, none/);
  const { find, ...noFind } = m;
  refused([noFind], /"find" is missing/);
});

test('bench/mutants.js: --list checks every entry; a bad option or an unknown id exits 2 before anything runs', () => {
  let r = spawnSync(process.execPath, [RUNNER, '--list'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^seqlock-recheck +none +include\/shmswarm\.h -> test\/native\/seqlock\.test\.js$/m);
  assert.doesNotMatch(r.stdout, /STALE/);
  r = spawnSync(process.execPath, [RUNNER, '--bogus'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^mutants: Unknown option '--bogus'/);
  r = spawnSync(process.execPath, [RUNNER, '--only', 'no-such-mutant'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^mutants: no mutant no-such-mutant/);
  r = spawnSync(process.execPath, [RUNNER, '--timeout', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
});
