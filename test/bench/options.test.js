// `npm run bench` takes six minutes and rewrites bench/results/latest.json: an option it does not
// know must stop it before it measures anything. Nothing here runs a benchmark.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const RUN = join(ROOT, 'bench', 'run.js');
const dir = mkdtempSync(join(tmpdir(), 'shmswarm-bench-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const bench = (args) => spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', timeout: 30_000 });
const benchSegments = () => readdirSync('/dev/shm').filter((e) => e.startsWith('shmswarm-bench-'));

test('a bad option or section exits 2 with the reason and the usage, having measured nothing', () => {
  const out = join(dir, 'results.json');
  const before = benchSegments();
  for (const [args, reason] of [
    [['--help-me'], /Unknown option '--help-me'/],
    [['--only', 'cpy,wake'], /^bench: no section cpy$/m],
    [['--only'], /^bench: Option '--only' argument is ambiguous\.$/m],
    [['copy'], /positional argument/],
  ]) {
    const r = bench([...args, '--out', out]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, reason);
    assert.equal(r.stderr.split('\n').length, 4, `one line of reason, two of usage: ${r.stderr}`);
    assert.equal(r.stdout, '', `${args.join(' ')} printed a table`);
    assert.ok(!existsSync(out), `${args.join(' ')} wrote results`);
  }
  assert.deepEqual(benchSegments(), before);
});

test('--help prints the usage on stdout and exits 0', () => {
  const r = bench(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: node bench\/run\.js \[--only copy,offsets,wake,interference,alternatives,cli\] \[--quick\] \[--out FILE\]/);
  assert.equal(r.stderr, '');
});
