import { writeSync } from 'node:fs';
import type { ChalkInstance } from 'chalk';
import { printableName } from '../core/names.js';

/**
 * Colour is decided once, here: NO_COLOR (any non-empty value) wins, then FORCE_COLOR
 * (0/false turn it off), then whether the stream is a TTY. chalk itself does not read NO_COLOR.
 */
export function colorLevel(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  return stream.isTTY ? (stream.hasColors?.(256) ? 2 : 1) : 0;
}

let chalkClass: typeof import('chalk').Chalk | undefined;

/**
 * Load chalk only when some stream will be coloured: importing it is about a fifth of the CLI's
 * start-up, and pipes, CI and shell loops never need it. main() calls this before parsing.
 */
export async function prepareColor(): Promise<void> {
  if (colorLevel(process.stdout) > 0 || colorLevel(process.stderr) > 0) chalkClass = (await import('chalk')).Chalk;
}

// No colour: every style is the identity, as with chalk at level 0.
const plain: ChalkInstance = new Proxy(function () {} as unknown as ChalkInstance, {
  apply: (_target, _this, args: unknown[]) => args.join(' '),
  get: (_target, prop) => (prop === 'level' ? 0 : plain),
});

function colorFor(stream: NodeJS.WriteStream): ChalkInstance {
  const level = colorLevel(stream);
  return level > 0 && chalkClass ? new chalkClass({ level }) : plain;
}

let out: ChalkInstance | undefined;
let err: ChalkInstance | undefined;

/** chalk for stdout: only for human output; machine formats are never coloured. */
export function stdoutColor(): ChalkInstance {
  return (out ??= colorFor(process.stdout));
}

/** chalk for stderr (errors, warnings, progress). */
export function stderrColor(): ChalkInstance {
  return (err ??= colorFor(process.stderr));
}

/**
 * One line on stderr behind the "shmswarm:" label (red for errors, yellow for warnings).
 * Messages quote what was typed, so a newline or a terminal escape that came in with an argument
 * is shown escaped (\x0a), not obeyed: the line stays one line.
 */
export function stderrLine(message: string, label: 'red' | 'yellow' = 'red'): void {
  process.stderr.write(`${stderrColor()[label]('shmswarm:')} ${printableName(message)}\n`);
}

/** A warning or progress line on stderr. */
export function warn(message: string): void {
  stderrLine(message, 'yellow');
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * What a failed write on stdout or stderr means. `reader-gone` (EPIPE): `| head` has what it
 * wanted, nothing to report. `hung-up` (EIO): the terminal went away, nowhere to report. `lost`
 * (ENOSPC, EFBIG, EDQUOT, ...): the data did not arrive, so it is an error and the exit is non-zero.
 */
export function outputFailureKind(e: { code?: unknown }): 'reader-gone' | 'hung-up' | 'lost' {
  if (e.code === 'EPIPE') return 'reader-gone';
  if (e.code === 'EIO') return 'hung-up';
  return 'lost';
}

/**
 * All of `data` on descriptor `fd` before returning, so that a failure (a full disk, a closed
 * pipe) is thrown to the caller, not emitted later on a stream. A non-blocking pipe that is full
 * (Node makes stdout's so) is waited for, not a failure.
 */
export function writeAllSync(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(nap, 0, 0, 10);
    }
  }
}
