/**
 * A system or format failure from the native layer: `code` is the errno name (`ENOENT`,
 * `EOWNERDEAD`, …) or a format code (`EBADMAGIC`, `ECHECKSUM`, `EUNINIT`, …), `segment` the
 * segment's name and `syscall` the call or header field that failed. Misuse of the API throws
 * TypeError or RangeError instead.
 */
export class ShmswarmError extends Error {
  readonly code: string;
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly segment?: string;
  declare readonly detail?: string;

  constructor(message: string, code: string, extra: { segment?: string; syscall?: string; detail?: string } = {}) {
    super(message);
    this.name = 'ShmswarmError';
    this.code = code;
    Object.assign(this, extra);
  }
}

export function isShmswarmError(e: unknown, code?: string): e is ShmswarmError {
  return e instanceof ShmswarmError && (code === undefined || e.code === code);
}
