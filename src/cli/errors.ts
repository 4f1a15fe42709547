import { ShmswarmError } from '../core/errors.js';
import { shellQuote } from '../core/names.js';
import { similarNames } from './suggest.js';

/** Exit codes: 0 success, 1 runtime failure, 2 usage error. */
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI reports as one line; `exitCode` 2 marks misuse. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_RUNTIME) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

/**
 * A write that failed: `cause` is the system error, kept so main() can tell that a failure on
 * stdout it has already reported is the same one a command rethrows.
 */
export class OutputError extends CliError {
  constructor(target: string, override readonly cause: unknown) {
    super(writeErrorMessage(target, cause));
    this.name = 'OutputError';
  }
}

/** "ENOSPC (no space left on device)" for a system error; the plain message otherwise. */
export function errnoText(e: unknown): string {
  const err = e as Partial<NodeJS.ErrnoException> | null;
  let text = e instanceof Error ? e.message : String(e);
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code) {
    // Node's form is "CODE: description, syscall 'path'": keep only the description.
    if (text.startsWith(`${code}: `)) text = text.slice(code.length + 2);
    const at = err?.syscall ? text.indexOf(`, ${err.syscall}`) : -1;
    if (at >= 0) text = text.slice(0, at);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return code ? `${code} (${text})` : text;
}

/** The one line for a failed write: "cannot write <target>: ENOSPC (no space left on device)". */
export function writeErrorMessage(target: string, e: unknown): string {
  return `cannot write ${target}: ${errnoText(e)}`;
}

/** V8's RangeErrors for an allocation it cannot make. */
const OUT_OF_ROOM = /^(Array buffer allocation failed|Invalid string length|Invalid array length|Invalid typed array length)/;

/** One line (without the "shmswarm: " prefix) and an exit code for any error. */
export function describeError(e: unknown): { message: string; exitCode: number } {
  if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode };
  if (e instanceof ShmswarmError) return { message: describeShmswarmError(e), exitCode: EXIT_RUNTIME };
  // V8 running out of room for one array or string is not a usage error: the object is too big.
  if (e instanceof RangeError && OUT_OF_ROOM.test(e.message))
    return { message: `${e.message}: the segment is too large to hold in this process's memory`, exitCode: EXIT_RUNTIME };
  // Misuse caught by the core's argument checks.
  if (e instanceof TypeError || e instanceof RangeError) return { message: e.message, exitCode: EXIT_USAGE };
  if (e instanceof Error) return { message: e.message, exitCode: EXIT_RUNTIME };
  return { message: String(e), exitCode: EXIT_RUNTIME };
}

/** "did you mean /swarm? If not, " for a name that looks like a typo of one that exists; else "". */
export function didYouMean(name: string): string {
  const near = similarNames(name);
  return near.length ? `did you mean ${near.map(shellQuote).join(' or ')}? If not, ` : '';
}

function describeShmswarmError(e: ShmswarmError): string {
  const name = e.segment ?? '';
  switch (e.code) {
    case 'ENOENT':
      // A raw matrix or a mutex object is another program's to make: no create hint.
      if (e.message.endsWith(' does not exist')) return e.message;
      return `segment ${name} does not exist; ${didYouMean(name)}create it with: shmswarm create ${shellQuote(name)} --agents N --fields x,y`;
    case 'EEXIST':
      return e.message.includes('not replacing')
        ? e.message
        : `segment ${name} already exists; remove it with: shmswarm unlink ${shellQuote(name)} (or create --force to replace it when its writer is dead)`;
    case 'EACCES':
    case 'EPERM': {
      // The core's detail says whose object it is; keep it when there is one.
      const why = e.detail && e.detail !== e.syscall ? `: ${e.detail}` : e.syscall ? ` (${e.syscall})` : '';
      return `permission denied for segment ${name}${why}`;
    }
    case 'ENOSPC':
      return `no room in /dev/shm for segment ${name}; free some space or choose a smaller shape`;
    case 'ETIMEDOUT':
      return `${e.message}; is a process stuck holding the lock of ${name}?`;
    case 'EBUSY':
      // A refusal to replace a segment with a live writer says all there is to say.
      if (e.message.includes('not replacing')) return e.message;
      // A timeout of 0 tries the lock once.
      return `${e.message}; another process holds the lock of ${name} (a timeout of 0 tries it once)`;
    case 'ENOTRECOVERABLE':
      // A foreign (--mutex) one already says who can free it; a segment is re-created.
      if (e.message.includes('restarting the writer')) return e.message;
      return `the mutex of ${name} is not recoverable; re-create the segment (shmswarm create ${shellQuote(name)} --force ...)`;
    default:
      return e.message;
  }
}
