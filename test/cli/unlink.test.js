// shmswarm unlink: removes segments by name; foreign objects only with --force; reports each failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { runCli, uniqueName, writeWa1Matrix } from '../helpers.js';

const exists = (name) => existsSync('/dev/shm' + name);
const make = (name) => Segment.create(name, { rows: 2, cols: 2 }).close();

test('unlink removes a segment and reports it on stderr; -q is quiet', (t) => {
  const a = uniqueName(t);
  const b = uniqueName(t);
  make(a);
  make(b);
  let r = runCli(['unlink', a]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `removed ${a}\n`);
  assert.ok(!exists(a));
  r = runCli(['rm', '-q', b]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(!exists(b));
});

test('a missing name is an error that names it', (t) => {
  const missing = uniqueName(t);
  const r = runCli(['unlink', missing]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `shmswarm: segment ${missing} does not exist; nothing to remove (shmswarm list shows what exists)\n`);
});

test('with several names, every removable one goes, each failure is reported, exit 1', (t) => {
  const a = uniqueName(t, 'a');
  const b = uniqueName(t, 'b');
  const m1 = uniqueName(t, 'missing1');
  const m2 = uniqueName(t, 'missing2');
  make(a);
  make(b);
  const r = runCli(['unlink', m1, a, m2, b]);
  assert.equal(r.status, 1);
  assert.ok(!exists(a) && !exists(b));
  const lines = r.stderr.trimEnd().split('\n');
  assert.deepEqual(lines.filter((l) => l.startsWith('removed')), [`removed ${a}`, `removed ${b}`]);
  const errors = lines.filter((l) => l.startsWith('shmswarm:'));
  assert.equal(errors.length, 2);
  assert.match(errors[0], new RegExp(`segment ${m1} does not exist`));
  assert.match(errors[1], new RegExp(`segment ${m2} does not exist`));
});

test('another kind of object is removed only with --force', (t) => {
  const foreign = uniqueName(t, 'foreign');
  writeFileSync('/dev/shm' + foreign, 'someone else\'s data');
  let r = runCli(['unlink', foreign]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^shmswarm: ${foreign} is not a shmswarm segment \\(.*\\); use --force to remove it anyway\\n$`));
  assert.ok(exists(foreign));
  r = runCli(['unlink', '--force', foreign]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!exists(foreign));
});

test('a WA-1 array is readable but not ours: removed only with --force', (t) => {
  const wa1 = uniqueName(t, 'wa1');
  writeWa1Matrix(wa1, 2, 2, [1, 2, 3, 4]);
  assert.equal(runCli(['info', wa1]).status, 0);
  let r = runCli(['unlink', wa1]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^shmswarm: ${wa1} is a WA-1 array \\(another program's, e\\.g\\. a Julia WrappedArray\\), not a shmswarm segment; use --force to remove it anyway\\n$`));
  assert.ok(exists(wa1));
  assert.throws(() => Segment.unlink(wa1), { code: 'ENOTSHMSWARM', segment: wa1 });
  assert.ok(exists(wa1));
  r = runCli(['unlink', '--force', wa1]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!exists(wa1));
});

test('a WA-1 array among several names: the segments go, the array stays, exit 1 naming it', (t) => {
  const wa1 = uniqueName(t, 'wa1');
  const seg = uniqueName(t, 'seg');
  writeWa1Matrix(wa1, 2, 2, [1, 2, 3, 4]);
  Segment.create(seg, { rows: 1, cols: 1 }).close();
  const r = runCli(['unlink', wa1, seg]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^shmswarm: ${wa1} is a WA-1 array .*use --force to remove it anyway$`, 'm'));
  assert.ok(exists(wa1), 'the WA-1 array is another program\'s: left alone');
  assert.ok(!exists(seg));
});

test('a bad name stops everything before anything is removed (exit 2)', (t) => {
  const a = uniqueName(t);
  make(a);
  const r = runCli(['unlink', a, 'noslash']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^shmswarm: segment name "noslash" must start with "\/"; did you mean "\/noslash"\?\n$/);
  assert.ok(exists(a));
});

test('a mapped segment can be unlinked; its mapping keeps working', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, cols: 2 });
  t.after(() => seg.close());
  seg.writeFrame([1, 2]);
  // This process is its live writer: without --force unlink refuses (see the test below).
  const r = runCli(['unlink', name, '--force']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(seg.nameStatus(), 'gone');
  assert.deepEqual([...seg.readFrame().data], [1, 2]);
});

test('unlink --help shows examples; no name is a usage error', () => {
  const r = runCli(['unlink', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Examples:[\s\S]*shmswarm unlink \/a \/b \/c/);
  const none = runCli(['unlink']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^shmswarm: missing required argument 'name'/);
});

test('unlink refuses the segment of a live writer without --force, naming its pid; --force removes it', async (t) => {
  const { spawnCli, waitExit, sleep } = await import('../helpers.js');
  const name = uniqueName(t, 'live');
  const sim = spawnCli(['simulate', name, '--agents', '10', '--rate', '50']);
  t.after(() => sim.kill('SIGKILL'));
  for (const deadline = Date.now() + 10_000; !exists(name) || Segment.open(name, { readonly: true }).info().frames === 0; await sleep(20))
    if (Date.now() > deadline) throw new Error('simulate did not start');
  let r = runCli(['unlink', name]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `shmswarm: segment ${name} has a live writer (pid ${sim.pid}); not removing it (the writer would go on writing where nobody can find it) — stop pid ${sim.pid} first, or: shmswarm unlink --force ${name}\n`);
  assert.ok(exists(name), 'still there');
  r = runCli(['unlink', name, '--force']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!exists(name));
  await waitExit(sim);
});
