// Where dump's bytes go, as a shell's `>` would see it: stdout, a regular file replaced whole
// (temporary file beside it, owner and mode kept, renamed over; Ctrl-C leaves the old file), a
// device or FIFO written in place, /dev/stdout and /proc/self/fd/1 as this process's own stdout.
import { accessSync, closeSync, constants, fchmodSync, fchownSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError, OutputError } from './errors.js';
import { interruptedError, SignalHold } from './signals.js';
import { writeAllSync } from './output.js';

/** Whether two paths name the same file (symlinks followed); false when either is missing. */
export function sameObject(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

export type Chunks = Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

function iterate(chunks: Chunks): Iterator<string | Uint8Array> | AsyncIterator<string | Uint8Array> {
  return Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
}

/** Write chunks with back-pressure; a closed pipe (dump | head) ends quietly. */
export async function writeStream(stream: NodeJS.WritableStream, chunks: Chunks, target = 'to stdout'): Promise<void> {
  const it = iterate(chunks);
  let failure: NodeJS.ErrnoException | undefined;
  let wake = () => {};
  const onError = (e: NodeJS.ErrnoException) => {
    failure ??= e;
    wake();
  };
  stream.on('error', onError);
  try {
    for (;;) {
      const n = await it.next();
      if (n.done || failure) break;
      if (!stream.write(n.value))
        await new Promise<void>((resolve) => {
          wake = () => {
            stream.off('drain', wake);
            resolve();
          };
          stream.on('drain', wake);
        });
      if (failure) break;
    }
  } finally {
    stream.off('error', onError);
    // Stops a parallel formatter's workers when the output went away first.
    await it.return?.();
  }
  // main() has reported a failure of stdout already and recognises it by its cause.
  if (failure && failure.code !== 'EPIPE') throw new OutputError(target, failure);
}

/** Where `-o FILE` goes, decided before anything is written. */
export type OutputTarget =
  /** A regular file, or nothing yet: a temporary file beside `path` (the real file, symlinks
   * followed), renamed over it. `keep`: the mode and owner of the file it replaces. */
  | { kind: 'replace'; path: string; keep: { mode: number; uid: number; gid: number } | null }
  /** A device, FIFO or socket, or a file we may write but not
   * replace (another user's, or in a directory we may not write): opened and written where it
   * is, as `>` would; `truncate` for a regular file. */
  | { kind: 'in-place'; path: string; truncate: boolean }
  /** This process's own stdout or stderr (/dev/stdout, /dev/fd/1, ...): the stream already open.
   * Node's pipes to a child are sockets, which cannot be opened again through /proc/self/fd. */
  | { kind: 'stdio'; fd: 1 | 2 };

/** A descriptor by path (/dev/fd/N, /proc/<pid>[/task/<tid>]/fd/N): its link reads "pipe:[…]" or "/x (deleted)", not a path to follow. */
const FD_PATH = /^\/(?:dev\/fd|proc\/(self|thread-self|\d+)(?:\/task\/\d+)?\/fd)\/(\d+)$/;

/** 1 or 2 for this process's stdout or stderr by path; null for other paths; throws for other descriptors. */
function stdioByPath(path: string): 1 | 2 | null {
  const m = FD_PATH.exec(path);
  if (!m) return null;
  const own = m[1] === undefined || m[1] === 'self' || m[1] === 'thread-self' || Number(m[1]) === process.pid;
  if (own && (m[2] === '1' || m[2] === '2')) return m[2] === '1' ? 1 : 2;
  // This process holds descriptors of its own (Node's event loop): writing to one by number
  // could land anywhere. `>(…)` and `3>file` are better served by the shell.
  throw errnoError('EINVAL', 'only /dev/stdout and /dev/stderr are written through as descriptors; redirect with the shell instead (dump … > file, --npy - | …)');
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function errnoError(code: string, description: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${description}`), { code });
}

/** The kernel's limit on symbolic links in one lookup. */
const MAX_LINKS = 40;

/**
 * What writing `file` means, as `>` in a shell would see it: the symlink chain is followed one
 * link at a time so that a link to /dev/stdout is still recognised, and a dangling link is
 * written through (its target is created). Throws the system error for what cannot be written.
 */
export function outputTarget(file: string): OutputTarget {
  let path = resolve(file);
  for (let links = 0; ; links++) {
    let st: Stats;
    try {
      // Relative links and /proc/self/fd entries are read from the directory the kernel sees.
      path = join(realpathSync(dirname(path)), basename(path));
      // /dev/stdout is a link to /proc/self/fd/1: it arrives here on the next turn.
      const fd = stdioByPath(path);
      if (fd !== null) return { kind: 'stdio', fd };
      st = lstatSync(path);
    } catch (e) {
      // Nothing there (or no directory, which creating the temporary file then reports).
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'replace', path, keep: null };
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (links >= MAX_LINKS) throw errnoError('ELOOP', 'too many symbolic links encountered');
      path = resolve(dirname(path), readlinkSync(path));
    } else if (st.isFile()) {
      // Replacing makes a new file owned by whoever replaces it: only the owner (or root, who can
      // give it back) may, and only where it can put a file beside it. Others write it in place,
      // as `>` would, or not at all (readers may then see it half-written).
      const me = process.geteuid?.() ?? 0;
      if (!writable(path)) throw errnoError('EACCES', 'permission denied');
      if ((me === 0 || st.uid === me) && writable(dirname(path))) return { kind: 'replace', path, keep: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } };
      return { kind: 'in-place', path, truncate: true };
    } else if (st.isDirectory()) throw errnoError('EISDIR', 'illegal operation on a directory');
    else return { kind: 'in-place', path, truncate: false };
  }
}

/**
 * Write `file` as outputTarget() says: a regular file is replaced whole (readers see the old file
 * or the whole new one); a device or FIFO is written in place; /dev/stdout is stdout.
 */
export async function writeFileWhole(file: string, chunks: Chunks): Promise<void> {
  let target: OutputTarget;
  try {
    target = outputTarget(file);
  } catch (e) {
    throw new OutputError(file, e);
  }
  switch (target.kind) {
    case 'stdio': return writeStream(target.fd === 1 ? process.stdout : process.stderr, chunks, target.fd === 1 ? 'to stdout' : 'to stderr');
    case 'in-place': return writeInPlace(file, target.path, chunks, target.truncate ? constants.O_TRUNC : 0);
    case 'replace': return replaceFile(file, target.path, target.keep, chunks);
  }
}

async function replaceFile(file: string, path: string, keep: { mode: number; uid: number; gid: number } | null, chunks: Chunks): Promise<void> {
  let tmp = '';
  let fd: number | undefined;
  let created = false;
  const it = iterate(chunks);
  // Ctrl-C must not leave the temporary file behind: caught, it ends the write between chunks.
  const hold = new SignalHold();
  const stopIfCaught = () => {
    if (hold.caught) throw interruptedError(hold.caught, `${file} was left as it was`);
  };
  try {
    // Created with the old mode, so never readable by more people than the old file, even
    // where fchmod is not supported. 'wx': a name that exists is someone's file; try another.
    for (let attempt = 0; fd === undefined; attempt++) {
      tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        fd = openSync(tmp, 'wx', keep ? keep.mode & 0o777 : 0o666);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw e;
      }
    }
    created = true;
    if (keep) {
      // Best effort, like `>` which keeps the inode: only root may give a file away, and some
      // file systems have no modes. chmod after chown, which clears set-id bits.
      try {
        fchownSync(fd, keep.uid, keep.gid);
      } catch {
        /* stays ours */
      }
      try {
        fchmodSync(fd, keep.mode);
      } catch {
        /* the mode it was created with */
      }
    }
    for (let n = await it.next(); !n.done; n = await it.next()) {
      writeAllSync(fd, n.value);
      // A turn of the event loop, so that a signal is seen even while the chunks come from a
      // synchronous generator.
      await new Promise<void>((resolve) => setImmediate(resolve));
      stopIfCaught();
    }
    closeSync(fd);
    fd = undefined;
    stopIfCaught();
    renameSync(tmp, path);
    // Done: a signal from here on must not kill the process with the file written (exit 0).
    return;
  } catch (e) {
    await it.return?.();
    if (fd !== undefined) closeSync(fd);
    try {
      if (created) unlinkSync(tmp);
    } catch {
      /* renamed or removed meanwhile */
    }
    hold.release();
    throw e instanceof CliError ? e : new OutputError(file, e);
  }
}

/** Write where it is: no temporary file, no rename; the open waits for a FIFO's reader, as `>` does. `extraFlags`: O_TRUNC for a regular file. */
async function writeInPlace(file: string, path: string, chunks: Chunks, extraFlags = 0): Promise<void> {
  const it = iterate(chunks);
  let fh: FileHandle | undefined;
  let failure: unknown;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_NOCTTY | extraFlags);
    for (let n = await it.next(); !n.done; n = await it.next()) {
      const c = typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
      // One write at a time: the back-pressure of a slow reader or device.
      for (let off = 0; off < c.length; ) off += (await fh.write(c, off)).bytesWritten;
    }
  } catch (e) {
    failure = e;
    await it.return?.();
  }
  try {
    await fh?.close();
  } catch (e) {
    failure ??= e;
  }
  // A FIFO's reader that goes away is a closed pipe, as on stdout.
  if (failure !== undefined && (failure as NodeJS.ErrnoException).code !== 'EPIPE') throw new OutputError(file, failure);
}
