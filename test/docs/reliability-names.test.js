// docs/RELIABILITY.md quotes, for each failure mode, the tests that prove it, "quoted exactly"
// ("…" marks a part left out). A renamed or reworded test must not leave the page pointing at
// nothing: each quoted name must be a name the file it cites can give a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const DIRS = { 'R/': 'test/reliability/', 'C/': 'test/core/', 'N/': 'test/native/', 'B/': 'test/bridge/', 'cli/': 'test/cli/', 'native/': 'test/native/', 'test/': 'test/' };
const STAR = Symbol('any text');

/** The file a reference names: `R/crash.test.js` → test/reliability/crash.test.js, `A` → the C core tests. */
function testFile(ref) {
  if (ref === 'A') return 'test/native-c/core_test.c';
  if (!ref.endsWith('.test.js')) return null;
  const prefix = Object.keys(DIRS).find((p) => ref.startsWith(p));
  return prefix ? DIRS[prefix] + ref.slice(prefix.length) : null;
}

const unescape = (s) => s.replace(/\\(.)/g, '$1');

/** [file, name] for every quoted name in the "Proved by" column: a name belongs to the reference before it. */
export function provedBy(markdown) {
  const pairs = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| ---')) continue;
    const cells = line.split(' | ');
    let file = null;
    for (const m of cells[cells.length - 1].matchAll(/`([^`]+)`|"((?:[^"\\]|\\.)+)"/g)) {
      if (m[1] !== undefined) file = testFile(m[1]);
      else if (file) pairs.push([file, unescape(m[2])]);
    }
  }
  return pairs;
}

/** The names a test file gives its tests, as patterns: text, with STAR where a template fills in. */
export function testNames(source) {
  const names = [];
  const literal = /(?:\btest|\breport)\(\s*(?:[^,()'"`]+,\s*)?(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`)/g;
  for (const m of source.matchAll(literal)) {
    if (m[3] === undefined) names.push([...unescape(m[1] ?? m[2])]);
    else names.push(m[3].split(/\$\{[^}]*\}/).flatMap((part, i) => (i ? [STAR, ...unescape(part)] : [...unescape(part)])));
  }
  return names;
}

/** Whether two patterns of characters and STARs can stand for the same text. */
export function overlap(a, b) {
  const memo = new Map();
  const go = (i, j) => {
    const key = i * 65536 + j;
    if (memo.has(key)) return memo.get(key);
    let r;
    if (i === a.length && j === b.length) r = true;
    else if (a[i] === STAR) r = go(i + 1, j) || (j < b.length && go(i, j + 1));
    else if (b[j] === STAR) r = go(i, j + 1) || (i < a.length && go(i + 1, j));
    else r = i < a.length && j < b.length && a[i] === b[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** A quoted name as a pattern: "…" (and the space beside it) stands for any text. */
const quoted = (name) => name.split(/ ?… ?/).flatMap((part, i) => (i ? [STAR, ...part] : [...part]));

test('every test that docs/RELIABILITY.md quotes exists, under that name, in the file it names', () => {
  const pairs = provedBy(readFileSync(join(ROOT, 'docs', 'RELIABILITY.md'), 'utf8'));
  assert.ok(pairs.length >= 80, `only ${pairs.length} quoted tests found: the table's format changed`);
  const names = new Map();
  const missing = pairs.filter(([file, name]) => {
    if (!names.has(file)) names.set(file, testNames(readFileSync(join(ROOT, file), 'utf8')));
    return !names.get(file).some((n) => overlap(n, quoted(name)));
  });
  assert.deepEqual(missing.map(([file, name]) => `${file}: "${name}"`), []);
});

test('the check itself: references, templates, "…" and near misses', () => {
  const md = '| mode | does | `R/crash.test.js`: "a", "b \\"c\\" …"; `A`: "d"; `bench/x.js`: "e" |';
  assert.deepEqual(provedBy(md), [
    ['test/reliability/crash.test.js', 'a'],
    ['test/reliability/crash.test.js', 'b "c" …'],
    ['test/native-c/core_test.c', 'd'],
  ]);
  const src = "test('it can\\'t fail', () => {});\ntest(`${signal} during create: exit 130`, async () => {});\n  report(failed, \"lock twice: EDEADLK\");";
  const names = testNames(src);
  assert.equal(names.length, 3);
  const matches = (name) => names.some((n) => overlap(n, quoted(name)));
  assert.ok(matches("it can't fail"));
  assert.ok(matches('SIGINT during create: exit 130'));
  assert.ok(matches('SIGHUP during create: …'));
  assert.ok(matches('lock twice: EDEADLK'));
  assert.ok(!matches('SIGINT during create: exit 2'));
  assert.ok(!matches("it can't fail twice"));
  assert.ok(!matches('lock twice'));
});
