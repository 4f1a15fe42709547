// shmswarm list: segments with shape, dtype, size, frames and writer state; --all adds foreign objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { BIN, runCli, spawnNode, uniqueName, waitExit } from '../helpers.js';

test('list --json has our segments with shape, frames and writer state, and no foreign objects', async (t) => {
  const live = uniqueName(t, 'live');
  const seg = Segment.create(live, { rows: 10, fields: 'x,y', dtype: 'f64' });
  t.after(() => seg.close());
  seg.writeFrame(new Float64Array(20));
  const dead = uniqueName(t, 'dead');
  const done = await waitExit(spawnNode(`const s = Segment.create(${JSON.stringify(dead)}, { rows: 2, cols: 3 }); s.writeFrame([1,2,3,4,5,6]); s.close();`));
  assert.equal(done.code, 0, done.stderr);
  const foreign = uniqueName(t, 'foreign');
  writeFileSync('/dev/shm' + foreign, 'not a segment');

  const r = runCli(['list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  const a = list.find((s) => s.name === live);
  assert.deepEqual([a.kind, a.rows, a.cols, a.dtype, a.fields, a.frames, a.writerPid, a.writerAlive], ['shmswarm', 10, 2, 'f64', ['x', 'y'], 1, process.pid, true]);
  const b = list.find((s) => s.name === dead);
  assert.deepEqual([b.rows, b.cols, b.frames, b.writerAlive], [2, 3, 1, false]);
  assert.equal(list.find((s) => s.name === foreign), undefined);

  const all = JSON.parse(runCli(['list', '--json', '--all']).stdout);
  const f = all.find((s) => s.name === foreign);
  assert.equal(f.kind, 'foreign');
  assert.equal(f.bytes, 13);
  assert.match(f.reason, /\S/);
});

test('list for people: a header row and one aligned row per segment', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1000, fields: 'x,y,vx,vy' });
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(4000));
  const foreign = uniqueName(t, 'foreign');
  writeFileSync('/dev/shm' + foreign, Buffer.alloc(10));
  const r = runCli(['list']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^NAME\s+SHAPE\s+DTYPE\s+SIZE\s+FRAMES\s+WRITER$/);
  const row = lines.find((l) => l.startsWith(name + ' '));
  assert.ok(row, r.stdout);
  assert.match(row, new RegExp(`^${name}\\s+1000x4\\s+f32\\s+16 KiB\\s+1\\s+${process.pid} alive$`));
  assert.equal(lines[0].indexOf('SHAPE'), row.indexOf('1000x4'), 'columns line up');
  assert.ok(!r.stdout.includes(foreign));
  assert.doesNotMatch(r.stdout, /\x1b\[/);

  const all = runCli(['list', '--all']);
  assert.match(all.stdout.split('\n')[0], /^NAME\s+KIND\s+SHAPE\s+DTYPE\s+SIZE\s+FRAMES\s+WRITER\s+NOTE$/);
  const frow = all.stdout.split('\n').find((l) => l.startsWith(foreign + ' '));
  assert.match(frow, /\sforeign\s+-\s+-\s+10 B\s+-\s+-\s+\S/, 'a foreign object says why it is foreign');
  const forced = runCli(['list'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.match(forced.stdout, /\x1b\[1mNAME/);
});

test('list --help shows examples', () => {
  const r = runCli(['list', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Examples:[\s\S]*shmswarm list --all/);
});

test('an object whose name holds control characters is listed escaped, and refused by name', (t) => {
  const base = uniqueName(t, 'ctl');
  const name = `${base}\x1b[31m\nforged`;
  writeFileSync('/dev/shm' + name, 'not a segment');
  t.after(() => rmSync('/dev/shm' + name, { force: true }));
  const shown = `${base}\\x1b[31m\\x0aforged`;
  const people = runCli(['list', '--all']);
  assert.equal(people.status, 0, people.stderr);
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(people.stdout), 'a control character reached stdout');
  const row = people.stdout.split('\n').find((l) => l.startsWith(shown));
  assert.ok(row, `no row for ${shown} in:\n${people.stdout}`);
  assert.match(row, /foreign.*control characters/);
  assert.ok(!people.stdout.split('\n').some((l) => l.startsWith('forged')), 'the name broke its row');
  const json = JSON.parse(runCli(['list', '--all', '--json']).stdout);
  assert.ok(json.some((s) => s.name === name && s.kind === 'foreign'), 'JSON keeps the real name');
  const info = runCli(['info', name]);
  assert.equal(info.status, 2, info.stderr);
  assert.equal(info.stderr, `shmswarm: segment name "${shown}" contains control characters; use printable characters\n`);
});

test('list --all recognises an object of the size of a process-shared mutex (the seed\'s /mutex_lock)', (t) => {
  const mutex = uniqueName(t, 'mutex_lock');
  writeFileSync('/dev/shm' + mutex, Buffer.alloc(64)); // the seed maps 64 bytes for its mutex
  const all = JSON.parse(runCli(['list', '--json', '--all']).stdout);
  const m = all.find((s) => s.name === mutex);
  assert.equal(m.kind, 'foreign');
  assert.equal(m.looksLike, 'mutex');
  assert.match(m.reason, /^looks like a process-shared mutex \(64 B, a pthread_mutex_t rounded up to 64 B\); a matrix it guards is read as a RawSegment with mutex /);
  const row = runCli(['list', '--all']).stdout.split('\n').find((l) => l.startsWith(mutex + ' '));
  assert.match(row, /looks like a process-shared mutex \(64 B\); read the matrix it guards with --raw --shape RxC --mutex /);
  assert.doesNotMatch(row, /EUNINIT/);
});

// Another user, for real: the CLI run as `nobody` (setpriv) against root's segments.
const asNobody = (() => {
  if (process.getuid?.() !== 0) return null;
  const probe = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', '0']);
  return probe.status === 0 ? (args) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }) : null;
})();
const NOBODY_SKIP = asNobody ? false : 'needs root and setpriv (util-linux) to run the CLI as the user nobody';

test('as another user, list shows segments it may not read as such, with owner and mode', { skip: NOBODY_SKIP }, (t) => {
  const name = uniqueName(t, 'private');
  Segment.create(name, { rows: 3, cols: 2 }).close(); // 0600, root's
  let r = asNobody(['list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout).find((x) => x.name === name);
  assert.ok(s, 'listed without --all');
  assert.deepEqual([s.kind, s.owner, s.uid, s.mode], ['unreadable', 'root', 0, 0o600]);
  r = asNobody(['list']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /no shmswarm segments/);
  assert.match(r.stdout, new RegExp(`^${name} +\\? +\\? +640 B +\\? +\\? +you may not read it \\(owner root, mode 0600\\)$`, 'm'));
  r = asNobody(['list', '--all', '--json']);
  assert.equal(JSON.parse(r.stdout).find((x) => x.name === name).kind, 'unreadable');
});

test('simulate --mode 644: a reader running as another user can watch it', { skip: NOBODY_SKIP }, (t) => {
  const name = uniqueName(t, 'shared');
  assert.equal(runCli(['simulate', name, '--mode', '644', '--frames', '3', '--rate', '0', '--agents', '10']).status, 0);
  const r = asNobody(['watch', name, '--once', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).frames, 3);
  const denied = uniqueName(t, 'denied');
  assert.equal(runCli(['simulate', denied, '--frames', '1', '--rate', '0', '--agents', '10']).status, 0);
  assert.equal(asNobody(['watch', denied, '--once']).status, 1, 'the default 600 keeps it private');
});
