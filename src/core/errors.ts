/**
 * A system or format failure from the native layer, or a call the handle's state does not
 * allow: `code` is the errno name (`ENOENT`, `EOWNERDEAD`, …), a format code (`EBADMAGIC`,
 * `ECHECKSUM`, `EUNINIT`, …) or a state code (`ECLOSED`: the handle was closed; `ENOTBEGUN`:
 * endFrame() without beginFrame()), `segment` the segment's name and `syscall` the call or
 * header field that failed. Wrong arguments throw TypeError or RangeError instead.
 *
 * `reason` tells apart failures that share a code where a caller acts differently on them
 * (the CLI chooses its hint by code and reason, never by the message's words):
 * - ENOENT `matrix`, `mutex`: a raw mode object that another program makes is missing;
 * - EEXIST `uninitialised`, `not-shmswarm`: create({ replace: true }) found an object it must not replace;
 * - EBUSY `live-writer`: create({ replace: true }) found a segment whose writer is alive;
 * - ENOTSHMSWARM `wa1`: unlink() without { force: true } found a WA-1 array (no reason: another object);
 * - ENOTRECOVERABLE `foreign-mutex`: a raw mode mutex only its writer can re-initialise;
 * - ENOMEM `too-large`: memory for a whole frame could not be allocated in this process;
 * - ETIMEDOUT `lock` (a lock was held too long), `no-frame` (waitForFrame saw no new frame),
 *   `not-ready` (waitForSegment: the segment was not ready in time).
 */
export class ShmswarmError extends Error {
  readonly code: string;
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly segment?: string;
  declare readonly detail?: string;
  declare readonly reason?: string;

  constructor(message: string, code: string, extra: { segment?: string; syscall?: string; detail?: string; reason?: string } = {}) {
    super(message);
    this.name = 'ShmswarmError';
    this.code = code;
    Object.assign(this, extra);
  }
}

export function isShmswarmError(e: unknown, code?: string): e is ShmswarmError {
  // By name and code, not by class: a second copy of this module (another copy of the package,
  // or the CLI's bundle beside the capabilities it loads from dist/) makes errors of its own class.
  const err = e as Partial<ShmswarmError> | null;
  return e instanceof Error && err!.name === 'ShmswarmError' && typeof err!.code === 'string' && (code === undefined || err!.code === code);
}

/**
 * A value as an argument error shows it: strings quoted, bigints with their `n`, everything
 * else as String() shows it (JSON.stringify would print NaN as null and throw on a bigint).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return String(value);
}

/**
 * `make()`, which allocates `bytes` for a whole frame; when the allocation fails (V8's RangeError,
 * or the addon's ENOMEM), ShmswarmError ENOMEM with reason `too-large`, in words that say so.
 */
export function allocateFrameMemory<T>(bytes: number, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof RangeError) && !isShmswarmError(e, 'ENOMEM')) throw e;
    throw new ShmswarmError(`a frame of ${bytes} bytes is more memory than this process can allocate`, 'ENOMEM', { reason: 'too-large' });
  }
}
