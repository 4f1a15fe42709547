import { isShmswarmError, type ShmswarmError } from '../core/errors.js';
import { shellQuote as q } from '../core/names.js';
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

/**
 * What a shell user reads for a core failure: the whole line, built from the error's fields.
 * `e.segment` (the name the failure is about) is `n`.
 */
type Hint = (e: ShmswarmError, n: string) => string;

/**
 * The one table of the CLI's hints, keyed by `code` or `code/reason` (an error with a reason
 * takes only its own entry), optionally prefixed by the command (`check:ENOENT`), which wins. A
 * failure with no entry prints the core's message unchanged. Nothing here reads the message
 * to decide.
 */
export const HINTS: Readonly<Record<string, Hint>> = {
  ENOENT: (_e, n) => `segment ${n} does not exist; ${didYouMean(n)}create it with: shmswarm create ${q(n)} --agents N --fields x,y`,
  'check:ENOENT': (_e, n) => `segment ${n} does not exist; ${didYouMean(n)}start its writer first, or wait for it with: shmswarm wait ${q(n)}`,
  'check:ENOENT/matrix': (e, n) => `${e.message}; start its writer first, or wait for it with: shmswarm wait ${q(n)} --raw ...`,
  'unlink:ENOENT': (_e, n) => `segment ${n} does not exist; nothing to remove (${nearNames(n, ' ')}shmswarm list shows what exists)`,
  EEXIST: (_e, n) =>
    `segment ${n} already exists; remove it with: shmswarm unlink ${q(n)} (or create --force to replace it when its writer is dead)`,
  'replay:EEXIST': (_e, n) =>
    `segment ${n} already exists; remove it with: shmswarm unlink ${q(n)} (or replay --force to replace it when its writer is dead)`,
  'EEXIST/uninitialised': (_e, n) =>
    `${n} exists but is not initialised (a creation still running or killed, or another program's object); not replacing it — if it is yours to remove: shmswarm unlink --force ${q(n)}`,
  ENOTSHMSWARM: (e, n) => `${n} is not a shmswarm segment (${e.detail}); use --force to remove it anyway`,
  'ENOTSHMSWARM/wa1': (_e, n) =>
    `${n} is a WA-1 array (another program's, e.g. a Julia WrappedArray), not a shmswarm segment; use --force to remove it anyway`,
  EACCES: permissionDenied,
  EPERM: permissionDenied,
  ENOSPC: (_e, n) => `no room in /dev/shm for segment ${n}; free some space or choose a smaller shape`,
  'ETIMEDOUT/lock': (e, n) => `${e.message}; is a process stuck holding the lock of ${n}?`,
  // A timeout of 0 tries the lock once.
  EBUSY: (e, n) => `${e.message}; another process holds the lock of ${n} (a timeout of 0 tries it once)`,
  ENOTRECOVERABLE: (_e, n) => `the mutex of ${n} is not recoverable; re-create the segment (shmswarm create ${q(n)} --force ...)`,
};

/** "did you mean /swarm?" and `then` for a name that looks like a typo of one that exists; else "". */
function nearNames(name: string, then: string): string {
  const near = similarNames(name);
  return near.length ? `did you mean ${near.map(q).join(' or ')}?${then}` : '';
}

/** "did you mean /swarm? If not, " for a name that looks like a typo of one that exists; else "". */
export function didYouMean(name: string): string {
  return nearNames(name, ' If not, ');
}

function permissionDenied(e: ShmswarmError, n: string): string {
  // The core's detail says whose object it is; keep it when there is one.
  const why = e.detail && e.detail !== e.syscall ? `: ${e.detail}` : e.syscall ? ` (${e.syscall})` : '';
  return `permission denied for segment ${n}${why}`;
}

/** The table's entry for `e` when `command` is running, if there is one. */
export function hintFor(e: ShmswarmError, command?: string): Hint | undefined {
  const key = e.reason ? `${e.code}/${e.reason}` : e.code;
  return (command !== undefined ? HINTS[`${command}:${key}`] : undefined) ?? HINTS[key];
}

/**
 * One line (without the "shmswarm: " prefix) and an exit code for any error; `command` is the
 * subcommand that failed, for the hints that depend on it.
 */
export function describeError(e: unknown, command?: string): { message: string; exitCode: number } {
  if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode };
  if (isShmswarmError(e)) {
    const hint = hintFor(e, command);
    return { message: hint ? hint(e, e.segment ?? '') : e.message, exitCode: EXIT_RUNTIME };
  }
  // Misuse caught by the core's argument checks.
  if (e instanceof TypeError || e instanceof RangeError) return { message: e.message, exitCode: EXIT_USAGE };
  if (e instanceof Error) return { message: e.message, exitCode: EXIT_RUNTIME };
  return { message: String(e), exitCode: EXIT_RUNTIME };
}
