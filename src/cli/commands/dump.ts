import { accessSync, closeSync, constants, fchmodSync, fchownSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { FrameTable } from '../../core/format.js';
import type { TextFormatter } from '../../core/format-parallel.js';
import { CliError, OutputError, usageError } from '../errors.js';
import { interruptedError, SignalHold } from '../signals.js';
import { stdoutColor, warn, writeAllSync } from '../output.js';
import { addRawOptions, parseFieldList, parseMs, parseRowRange, rawOptions, type RawFlags, type RowRange } from '../parse.js';

export type DumpFormat = 'csv' | 'json' | 'ndjson' | 'npy' | 'table';

interface DumpFlags extends RawFlags {
  csv?: boolean;
  crlf?: boolean;
  json?: boolean;
  ndjson?: boolean;
  npy?: string;
  table?: boolean;
  rows?: RowRange;
  fields?: string[];
  lock?: boolean;
  output?: string;
  timeout?: number;
}

/** More agents than this in a table is not for people: show the first ones and say so. */
export const TABLE_ROWS = 1000;

const byExtension: Record<string, DumpFormat> = { csv: 'csv', json: 'json', ndjson: 'ndjson', jsonl: 'ndjson', npy: 'npy', txt: 'table' };

/** The format asked for; otherwise from --output's extension; otherwise a table on a TTY and CSV elsewhere. */
export function chooseFormat(o: DumpFlags, stdoutIsTTY: boolean): DumpFormat {
  if (o.csv) return 'csv';
  if (o.json) return 'json';
  if (o.ndjson) return 'ndjson';
  if (o.npy !== undefined) return 'npy';
  if (o.table) return 'table';
  if (o.output !== undefined) return byExtension[/\.([^./]+)$/.exec(o.output)?.[1]?.toLowerCase() ?? ''] ?? 'csv';
  return stdoutIsTTY ? 'table' : 'csv';
}

export function makeDumpCommand(): Command {
  const command = new Command('dump')
    .description('print one consistent frame of a segment (CSV, JSON, NDJSON, .npy or a table)')
    .argument('<name>', 'segment name, e.g. /swarm')
    .addOption(new Option('--csv', 'CSV with a header row of field names (RFC 4180 quoting, LF line ends)').conflicts(['json', 'ndjson', 'npy', 'table']))
    .option('--crlf', 'CSV: end lines with CRLF, as RFC 4180 has it to the letter (default LF, for Unix tools)')
    .addOption(new Option('--json', 'one JSON object {name, dtype, sequence, frames, fields, data}').conflicts(['ndjson', 'npy', 'table']))
    .addOption(new Option('--ndjson', 'one JSON object per agent').conflicts(['npy', 'table']))
    .addOption(new Option('--npy <file>', 'a numpy .npy file ("-" for stdout)').conflicts(['table', 'output']))
    .addOption(new Option('--table', 'a table for people (the default when stdout is a terminal)'))
    .option('--rows <a:b>', 'only agents a to b-1 (half-open; a: and :b too)', parseRowRange)
    .option('--fields <list>', 'only these fields, in this order, e.g. x,y', parseFieldList)
    .option('--lock', 'copy under the segment\'s mutex instead of lock-free')
    .option('--timeout <ms>', 'how long to wait for the mutex', parseMs, 1000)
    .option('-o, --output <file>', 'write to this file: a regular file is replaced whole, a device or FIFO written in place (format from .csv/.json/.ndjson/.npy, .txt for a table, else CSV, unless given)');
  addRawOptions(command);
  return command
    .addHelpText(
      'after',
      `
Values print exactly: a float32 as the shortest decimal that reads back to the same float32.
NaN and infinities print as NaN, Infinity, -Infinity (JSON: the strings "NaN", "Infinity", "-Infinity").
A table shows the first ${TABLE_ROWS} agents unless --rows is given.

Examples:
  $ shmswarm dump /swarm                        table on a terminal, CSV when piped
  $ shmswarm dump /swarm --csv > frame.csv
  $ shmswarm dump /swarm --json --rows 0:10 --fields x,y
  $ shmswarm dump /swarm --ndjson | jq .x
  $ shmswarm dump /swarm --npy frame.npy        python3 -c "import numpy; print(numpy.load('frame.npy').shape)"
  $ shmswarm dump /swarm --lock -o frame.csv
  $ shmswarm dump /position_data --raw --shape 300x3 --mutex /mutex_lock`,
    )
    .action(async (name: string, o: DumpFlags) => {
      await runDump(name, o);
    });
}

async function runDump(name: string, o: DumpFlags): Promise<void> {
  const raw = rawOptions(o);
  const format = chooseFormat(o, process.stdout.isTTY === true);
  if (o.crlf && format !== 'csv') throw usageError(`--crlf only applies to CSV, not ${format === 'table' ? 'a table' : format}`);
  const toStdout = o.npy === '-' || (o.npy === undefined && o.output === undefined);
  if (format === 'npy' && toStdout && process.stdout.isTTY)
    throw usageError('refusing to write binary .npy to a terminal; give a file (--npy frame.npy) or redirect stdout');

  const [{ openFrameSource }, { resolveRows, selectFields }, fmt, { textFormatter }, { SHM_DIR }] = await Promise.all([
    import('../../core/source.js'),
    import('../../core/rows.js'),
    import('../../core/format.js'),
    import('../../core/format-parallel.js'),
    import('../../core/segment.js'),
  ]);
  const file = o.npy !== undefined && o.npy !== '-' ? o.npy : o.output;
  // The text of a frame written over the object it was read from would destroy it.
  for (const read of [name, raw?.mutex])
    if (read !== undefined && file !== undefined && file !== '-' && sameObject(file, SHM_DIR + read))
      throw usageError(`refusing to write the dump of ${name} over ${read}, which it reads`);
  const source = openFrameSource(name, { raw, timeoutMs: o.timeout });
  let table: FrameTable;
  let frame;
  let text: TextFormatter | undefined;
  try {
    // Bad --rows/--fields fail before anything is copied.
    const rows = resolveRows(o.rows, source.rows, name);
    const columns = selectFields(o.fields, source.fields, name);
    if (format === 'csv' || format === 'json' || format === 'ndjson')
      text = textFormatter(format, source, (rows[1] - rows[0]) * columns.length);
    const reading = source.readFrameAsync({ lock: o.lock === true, timeoutMs: o.timeout, into: text?.into });
    text?.warmUp();
    frame = await reading;
    if (!frame) throw new Error(`no frame could be read from ${name}`);
    table = { name, dtype: source.dtype, sequence: frame.sequence, frames: frame.frames, fields: source.fields, data: frame.data, rowStart: rows[0], rowEnd: rows[1], columns, eol: o.crlf ? '\r\n' : '\n' };
  } catch (e) {
    text?.close();
    throw e;
  } finally {
    source.close();
  }

  if (raw && !raw.mutex) warn(`read ${name} without synchronisation (no --mutex): the frame may mix two writes`);
  else if (frame.unsynced) warn(`${name} has no sequence counter or lock (plain WA-1): the frame may mix two writes`);
  if (frame.torn) warn(`the latest frame of ${name} is torn: its writer died while writing it`);
  // Recovery covers a mutex whose owner died and an odd sequence left under a free lock. A raw
  // object has no sequence to mark a frame torn: only the foreign mutex was taken over.
  if (frame.recovered)
    warn(
      raw
        ? `the holder of mutex ${raw.mutex} died holding it; the lock was taken over, and this frame may be one it left half-written`
        : `a writer of ${name} died holding its lock or in the middle of a frame; the segment has been repaired`,
    );
  if (source.kind === 'shmswarm' && frame.frames === 0) warn(`no frame has been published to ${name} yet; these are its initial zeros`);

  if (format === 'table' && o.rows === undefined && table.rowEnd - table.rowStart > TABLE_ROWS) {
    warn(`showing agents 0:${TABLE_ROWS} of ${table.rowEnd}; use --rows a:b, or --csv for all of them`);
    table.rowEnd = TABLE_ROWS;
  }

  let chunks: Chunks;
  switch (format) {
    case 'csv':
    case 'json':
    case 'ndjson': chunks = text!.chunks(table); break;
    case 'npy': chunks = [fmt.encodeNpy(table)]; break;
    case 'table': {
      const paint = toStdout ? (s: string) => stdoutColor().bold(s) : (s: string) => s;
      chunks = [fmt.formatTable(table, paint)];
      break;
    }
  }
  try {
    if (file === undefined || file === '-') await writeStream(process.stdout, chunks);
    else await writeFileWhole(file, chunks);
  } finally {
    text?.close();
  }
}

/** Whether two paths name the same file (symlinks followed); false when either is missing. */
function sameObject(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

type Chunks = Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

function iterate(chunks: Chunks): Iterator<string | Uint8Array> | AsyncIterator<string | Uint8Array> {
  return Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
}

/** Write chunks with back-pressure; a closed pipe (dump | head) ends quietly. */
async function writeStream(stream: NodeJS.WritableStream, chunks: Chunks, target = 'to stdout'): Promise<void> {
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
