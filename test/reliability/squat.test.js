// Issue 6, items 5 and 8: names squatted by other users or by things that are not segments, and
// permissions. Other users are real: child processes run as `nobody` through setpriv(1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { DIST, runCli, uniqueName, waitExit } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
// The other user must be able to load the built library from this checkout (not so under a 0700 home).
const nobodyCanLoad = () =>
  spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '--input-type=module', '-e',
    `await import(${JSON.stringify(DIST)})`]).status === 0;
const skipUsers = !asRoot ? 'needs root to switch users' : !hasSetpriv ? 'setpriv(1) is not installed'
  : !nobodyCanLoad() ? `user nobody cannot load ${DIST} (checkout not world-readable)` : false;

/**
 * Run an ES module snippet as another user (default nobody) with `Segment` in scope; the
 * snippet prints one JSON line. Resolves with the parsed line and the exit status.
 */
async function asUser(t, code, { uid = NOBODY, gid = NOBODY, groups = [], umask } = {}) {
  const prelude = `import { Segment } from ${JSON.stringify(DIST)};\n` +
    (umask !== undefined ? `process.umask(${umask});\n` : '') +
    'const out = (v) => console.log(JSON.stringify(v));\n' +
    'const fail = (e) => out({ error: e.code ?? e.name, message: e.message });\n';
  const ids = [`--reuid=${uid}`, `--regid=${gid}`, groups.length ? `--groups=${groups.join(',')}` : '--clear-groups'];
  const child = spawn('setpriv', [...ids, process.execPath, '--input-type=module', '-e', prelude + code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child, 15_000);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const shmPath = (name) => '/dev/shm' + name;

/** The shared helper's cleanup follows links (existsSync), so links are removed here. */
function linkAt(t, target, name) {
  symlinkSync(shmPath(target), shmPath(name));
  t.after(() => {
    try {
      unlinkSync(shmPath(name));
    } catch {
      /* already gone */
    }
  });
}

test('a name pre-created by another user: create refuses it (EEXIST), writing is refused naming the owner, reading works and reports the owner', { skip: skipUsers }, async (t) => {
  const name = uniqueName(t, 'squat');
  const made = await asUser(t, `const s = Segment.create(${JSON.stringify(name)}, { rows: 4, cols: 2, mode: 0o666 });
    s.writeFrame([1, 2, 3, 4, 5, 6, 7, 8]); s.close(); out({ ok: true });`);
  assert.deepEqual(made, { ok: true });
  assert.equal(statSync(shmPath(name)).uid, NOBODY);
  assert.throws(() => Segment.create(name, { rows: 4, cols: 2 }), (e) => e.code === 'EEXIST');
  assert.throws(
    () => Segment.open(name),
    (e) => e.code === 'EPERM' && e.segment === name && e.message.includes(name) && /owned by uid 65534/.test(e.message),
  );
  const r = Segment.open(name, { readonly: true });
  t.after(() => r.close());
  assert.equal(r.info().uid, NOBODY);
  assert.deepEqual([...r.readFrame().data], [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a segment another user shares with our group for writing (0660, not world-writable) opens for writing', { skip: skipUsers }, async (t) => {
  const name = uniqueName(t, 'groupw');
  // nobody with primary group 0 (root's) creates it: group 0 may write, others may not.
  await asUser(t, `Segment.create(${JSON.stringify(name)}, { rows: 2, cols: 2, mode: 0o660 }).close(); out({ ok: true });`, { gid: 0 });
  const st = statSync(shmPath(name));
  assert.equal(st.uid, NOBODY);
  assert.equal(st.gid, 0);
  const w = Segment.open(name);
  t.after(() => w.close());
  w.writeFrame([1, 2, 3, 4]);
  assert.equal(w.readFrame().data[3], 4);
});

test('a symbolic link at the name: open is refused (ELOOP), create neither follows it nor creates its target', (t) => {
  const target = uniqueName(t, 'target');
  const link = uniqueName(t, 'link');
  const seg = Segment.create(target, { rows: 2, cols: 2 });
  t.after(() => seg.close());
  linkAt(t, target, link);
  assert.throws(() => Segment.open(link, { readonly: true }), (e) => e.code === 'ELOOP' && /symbolic link/.test(e.message) && e.message.includes(link));
  assert.throws(() => Segment.open(link), (e) => e.code === 'ELOOP');
  assert.throws(() => Segment.create(link, { rows: 2, cols: 2 }), (e) => e.code === 'EEXIST');
  // A dangling link must not lead create to make the file it points at.
  const dangling = uniqueName(t, 'dangling');
  const nowhere = uniqueName(t, 'nowhere');
  linkAt(t, nowhere, dangling);
  assert.throws(() => Segment.create(dangling, { rows: 2, cols: 2 }), (e) => e.code === 'EEXIST');
  assert.equal(existsSync(shmPath(nowhere)), false);
});

test('a FIFO at the name is refused without blocking, for root and for a reader without write access', { skip: skipUsers }, async (t) => {
  const name = uniqueName(t, 'fifo');
  assert.equal(spawnSync('mkfifo', ['-m', '0644', shmPath(name)]).status, 0);
  assert.throws(() => Segment.open(name, { readonly: true }), (e) => e.code === 'EINVAL' && /not a regular/.test(e.message));
  assert.throws(() => Segment.open(name), (e) => e.code === 'EINVAL');
  // nobody can only open it O_RDONLY: without O_NONBLOCK that open would wait for a writer forever.
  const r = await asUser(t, `try { Segment.open(${JSON.stringify(name)}, { readonly: true }); out({}); } catch (e) { fail(e); }`);
  assert.equal(r.error, 'EINVAL');
  assert.throws(() => Segment.create(name, { rows: 2, cols: 2 }), (e) => e.code === 'EEXIST');
});

test('a directory at the name is refused', (t) => {
  const name = uniqueName(t, 'dir');
  mkdirSync(shmPath(name));
  t.after(() => rmdirSync(shmPath(name)));
  assert.throws(() => Segment.open(name, { readonly: true }), (e) => e.code === 'EINVAL' && /directory/.test(e.message) && e.message.includes(name));
  assert.throws(() => Segment.create(name, { rows: 2, cols: 2 }), (e) => e.code === 'EEXIST');
});

test('a wrong size: shorter than the header says is refused (ETRUNCATED), longer is accepted', (t) => {
  const name = uniqueName(t, 'size');
  const seg = Segment.create(name, { rows: 100, cols: 3, fields: 'x,y,z' });
  const full = statSync(shmPath(name)).size;
  seg.close();
  truncateSync(shmPath(name), full + 4096);
  Segment.open(name, { readonly: true }).close();
  // full - 1 and full - 62 end inside the field names' 64 bytes, after the fixed block.
  for (const size of [full - 1, full - 62, 1000, 64, 63, 0]) {
    truncateSync(shmPath(name), size);
    assert.throws(() => Segment.open(name, { readonly: true }), (e) => ['ETRUNCATED', 'EUNINIT'].includes(e.code), `size ${size}`);
  }
});

test('permissions: a user without access gets permission denied naming the segment (core and CLI)', { skip: skipUsers }, async (t) => {
  const name = uniqueName(t, 'private');
  const seg = Segment.create(name, { rows: 2, cols: 2 }); // default 0600
  t.after(() => seg.close());
  const r = await asUser(t, `try { Segment.open(${JSON.stringify(name)}, { readonly: true }); out({}); } catch (e) { fail(e); }`);
  assert.equal(r.error, 'EACCES');
  assert.ok(r.message.includes(name), r.message);
  assert.match(r.message, /permission denied/i);
  const cli = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath,
    new URL('../../bin/shmswarm', import.meta.url).pathname, 'info', name], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (/not implemented/.test(cli.stderr)) return t.diagnostic('info is not implemented yet: CLI part skipped');
  assert.equal(cli.status, 1, cli.stderr);
  assert.equal(cli.stdout, '');
  assert.match(cli.stderr, /^shmswarm: .*permission denied/i);
  assert.ok(cli.stderr.includes(name));
  assert.equal(cli.stderr.trim().split('\n').length, 1);
});

test('permissions: a group mode lets a group member read; the group-less user is still refused', { skip: skipUsers }, async (t) => {
  const name = uniqueName(t, 'group');
  const seg = Segment.create(name, { rows: 2, cols: 2, mode: 0o640 });
  t.after(() => seg.close());
  seg.writeFrame([5, 6, 7, 8]);
  const code = `try { const s = Segment.open(${JSON.stringify(name)}, { readonly: true }); out({ data: [...s.readFrame().data] }); s.close(); } catch (e) { fail(e); }`;
  assert.deepEqual(await asUser(t, code, { groups: [0] }), { data: [5, 6, 7, 8] });
  assert.equal((await asUser(t, code)).error, 'EACCES');
  // Read access is not write access.
  const w = await asUser(t, `try { Segment.open(${JSON.stringify(name)}); out({}); } catch (e) { fail(e); }`, { groups: [0] });
  assert.equal(w.error, 'EACCES');
});

test('nothing is created wider than asked, whatever the umask', { skip: skipUsers }, async (t) => {
  for (const [mode, umask] of [[0o600, 0], [0o640, 0], [0o640, 0o077], [0o666, 0o022], [0o600, 0o777]]) {
    const name = uniqueName(t, 'mode');
    const r = await asUser(t, `Segment.create(${JSON.stringify(name)}, { rows: 1, cols: 1, mode: ${mode} }).close(); out({ ok: true });`, { umask });
    assert.deepEqual(r, { ok: true });
    assert.equal(statSync(shmPath(name)).mode & 0o7777, mode, `mode ${mode.toString(8)} umask ${umask.toString(8)}`);
    unlinkSync(shmPath(name));
  }
});

/** A 2 × 2 segment anyone may read, holding 1 2 3 4, and `shmswarm dump NAME --csv -o FILE` run as nobody. */
function dumpSetup(t, label, dirMode) {
  const name = uniqueName(t, label);
  const seg = Segment.create(name, { rows: 2, fields: 'x,y', mode: 0o644 });
  t.after(() => seg.close());
  seg.writeFrame([1, 2, 3, 4]);
  const dir = `/tmp/shmswarm-test-${process.pid}-${label}`;
  mkdirSync(dir);
  chmodSync(dir, dirMode);
  t.after(() => spawnSync('rm', ['-rf', dir]));
  const dumpAsNobody = (file) => spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath,
    new URL('../../bin/shmswarm', import.meta.url).pathname, 'dump', name, '--csv', '-o', file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { dir, dumpAsNobody };
}

test('dump -o to a file another user may write in a directory they may not: written in place, as > would', { skip: skipUsers }, async (t) => {
  const { dir, dumpAsNobody } = dumpSetup(t, 'rodir', 0o755); // root's: nobody cannot create a temporary file here
  const file = `${dir}/frame.csv`;
  writeFileSync(file, 'old contents that are longer than the new ones\n');
  chownSync(file, NOBODY, NOBODY);
  const cli = dumpAsNobody(file);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(readFileSync(file, 'utf8'), 'x,y\n1,2\n3,4\n');
  assert.equal(statSync(file).uid, NOBODY, 'the same file, not a replacement');
  assert.deepEqual(readdirSync(dir), ['frame.csv'], 'no temporary file left');
});

test('dump -o onto another user\'s file: written in place when it may be written, EACCES when not, never given away', { skip: skipUsers }, async (t) => {
  const { dir, dumpAsNobody } = dumpSetup(t, 'wwdir', 0o777); // anyone may add files here, so a rename could replace root's
  const ro = `${dir}/ro.csv`;
  writeFileSync(ro, 'root only\n', { mode: 0o644 });
  const r1 = dumpAsNobody(ro);
  assert.equal(r1.status, 1, r1.stderr);
  assert.equal(r1.stderr, `shmswarm: cannot write ${ro}: EACCES (permission denied)\n`);
  assert.deepEqual([readFileSync(ro, 'utf8'), statSync(ro).uid], ['root only\n', 0]);
  const rw = `${dir}/rw.csv`;
  writeFileSync(rw, 'anyone may write this, and it is longer\n');
  chmodSync(rw, 0o666);
  const r2 = dumpAsNobody(rw);
  assert.equal(r2.status, 0, r2.stderr);
  assert.equal(readFileSync(rw, 'utf8'), 'x,y\n1,2\n3,4\n');
  assert.deepEqual([statSync(rw).uid, statSync(rw).mode & 0o777], [0, 0o666], 'still root\'s file');
  assert.deepEqual(readdirSync(dir).sort(), ['ro.csv', 'rw.csv']);
});
