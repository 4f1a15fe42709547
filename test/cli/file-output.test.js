// src/cli/file-output.ts, in this process: where `-o FILE` goes (outputTarget), a regular file
// replaced whole or left as it was, a FIFO written in place, and a stream whose reader left.
// The same paths through the real binary are in dump.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { outputTarget, sameObject, writeFileWhole, writeStream } from '../../dist/cli/file-output.js';
import { charDevice, fifo, tempDir } from './files.js';

test('outputTarget: regular files (through symlinks) are replaced beside the real file; devices and FIFOs are written in place', (t) => {
  const dir = tempDir(t);
  const real = join(dir, 'real.csv');
  writeFileSync(real, 'old');
  chmodSync(real, 0o640);
  const st = statSync(real);
  const keep = { mode: 0o640, uid: st.uid, gid: st.gid };
  assert.deepEqual(outputTarget(real), { kind: 'replace', path: real, keep });
  symlinkSync('real.csv', join(dir, 'link.csv'));
  symlinkSync(join(dir, 'link.csv'), join(dir, 'link2.csv'));
  assert.deepEqual(outputTarget(join(dir, 'link2.csv')), { kind: 'replace', path: real, keep });
  mkdirSync(join(dir, 'sub'));
  symlinkSync('../real.csv', join(dir, 'sub', 'up.csv'));
  assert.deepEqual(outputTarget(join(dir, 'sub', 'up.csv')), { kind: 'replace', path: real, keep }, 'relative to the link\'s directory');

  assert.deepEqual(outputTarget(join(dir, 'new.csv')), { kind: 'replace', path: join(dir, 'new.csv'), keep: null });
  symlinkSync('nowhere.csv', join(dir, 'dangling.csv'));
  assert.deepEqual(outputTarget(join(dir, 'dangling.csv')), { kind: 'replace', path: join(dir, 'nowhere.csv'), keep: null }, 'written through, as > does');
  assert.deepEqual(outputTarget(join(dir, 'missing', 'x.csv')), { kind: 'replace', path: join(dir, 'missing', 'x.csv'), keep: null });

  const p = fifo(dir, 'fifo');
  assert.deepEqual(outputTarget(p), { kind: 'in-place', path: p, truncate: false });
  symlinkSync(p, join(dir, 'to-fifo'));
  assert.deepEqual(outputTarget(join(dir, 'to-fifo')), { kind: 'in-place', path: p, truncate: false });

  for (const path of ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1', `/proc/${process.pid}/fd/1`]) assert.deepEqual(outputTarget(path), { kind: 'stdio', fd: 1 }, path);
  assert.deepEqual(outputTarget('/dev/stderr'), { kind: 'stdio', fd: 2 });
  symlinkSync('/dev/stdout', join(dir, 'out'));
  assert.deepEqual(outputTarget(join(dir, 'out')), { kind: 'stdio', fd: 1 });

  assert.throws(() => outputTarget(dir), { code: 'EISDIR' });
  symlinkSync('loop-b', join(dir, 'loop-a'));
  symlinkSync('loop-a', join(dir, 'loop-b'));
  assert.throws(() => outputTarget(join(dir, 'loop-a')), { code: 'ELOOP' });
  writeFileSync(join(dir, 'file'), '');
  assert.throws(() => outputTarget(join(dir, 'file', 'x.csv')), { code: 'ENOTDIR' });

  const dev = charDevice(t, dir, 'nulldev', 1, 3);
  if (dev) assert.deepEqual(outputTarget(dev), { kind: 'in-place', path: dev, truncate: false });
});

test('writeFileWhole replaces a regular file with a new inode holding every chunk, keeps its mode and leaves no temporary file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'frame.csv');
  writeFileSync(file, 'old contents that are longer than the new ones');
  chmodSync(file, 0o640);
  const before = statSync(file);
  async function* chunks() {
    yield 'x,y\n';
    yield new TextEncoder().encode('1,2\n');
  }
  await writeFileWhole(file, chunks());
  const after = statSync(file);
  assert.equal(readFileSync(file, 'utf8'), 'x,y\n1,2\n');
  assert.notEqual(after.ino, before.ino, 'renamed over, not rewritten');
  assert.equal(after.mode & 0o7777, 0o640);
  assert.deepEqual(readdirSync(dir), ['frame.csv']);
});

test('writeFileWhole: chunks that fail midway leave the old file as it was and no temporary file; the error names the file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'frame.csv');
  writeFileSync(file, 'old');
  function* chunks() {
    yield 'half of a frame\n';
    throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  }
  await assert.rejects(writeFileWhole(file, chunks()), (e) => {
    assert.equal(e.name, 'OutputError');
    assert.equal(e.message, `cannot write ${file}: ENOSPC (no space left on device)`);
    return true;
  });
  assert.equal(readFileSync(file, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['frame.csv']);
});

test('writeFileWhole into a directory that does not exist fails with one line and creates nothing', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(writeFileWhole(join(dir, 'missing', 'x.csv'), ['a']), { name: 'OutputError', message: /^cannot write .*missing\/x\.csv: ENOENT/ });
  assert.deepEqual(readdirSync(dir), []);
});

test('writeFileWhole writes a FIFO in place to its reader, and the FIFO stays a FIFO', async (t) => {
  const dir = tempDir(t);
  const p = fifo(dir, 'frames');
  const reader = spawn('cat', [p], { stdio: ['ignore', 'pipe', 'inherit'] });
  let got = '';
  reader.stdout.on('data', (d) => (got += d));
  const exited = new Promise((resolve) => reader.on('exit', resolve));
  await writeFileWhole(p, ['a,b\n', '1,2\n']);
  assert.equal(await exited, 0);
  assert.equal(got, 'a,b\n1,2\n');
  assert.ok(statSync(p).isFIFO());
});

test('writeStream: a reader that went away (EPIPE) ends quietly; another failure is an OutputError naming the target', async () => {
  const failing = (code) =>
    new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error(`${code}: it failed, write`), { code, syscall: 'write' }));
      },
    });
  let pulled = 0;
  function* many() {
    for (; pulled < 1000; pulled++) yield 'row\n';
  }
  await writeStream(failing('EPIPE'), many());
  assert.ok(pulled < 1000, 'stops pulling chunks once the reader is gone');
  await assert.rejects(writeStream(failing('EIO'), ['x', 'y'], 'to the pipe'), { name: 'OutputError', message: 'cannot write to the pipe: EIO (it failed)' });
});

test('sameObject follows symlinks and is false for a missing path', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a');
  writeFileSync(file, '');
  symlinkSync(file, join(dir, 'b'));
  mkdirSync(join(dir, 'c'));
  assert.equal(sameObject(file, join(dir, 'b')), true);
  assert.equal(sameObject(file, join(dir, 'c')), false);
  assert.equal(sameObject(file, join(dir, 'missing')), false);
});
