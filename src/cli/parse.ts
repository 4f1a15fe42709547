import { InvalidArgumentError, type Command } from 'commander';
import { parseDtype, type DtypeName } from '../core/dtypes.js';
import type { RawOptions } from '../core/raw.js';
import { usageError } from './errors.js';

// Option parsers shared by the commands. Each takes only the value: commander passes the
// previous value as a second argument. They throw commander's InvalidArgumentError, which
// commander reports as "option '--x <n>' argument 'y' is invalid. <why>" and main() exits 2.

/** Largest count accepted anywhere: beyond it a double no longer holds every integer. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * The whole number `s` is, exactly, or null: digits, or exponent notation whose value is whole
 * ("1e9", "2.5e3", "1E+6"; not "1.5" or "1e-3"). Exponents past 400 are not whole numbers anyone means.
 */
export function wholeNumber(s: string): bigint | null {
  const m = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]\+?(\d{1,3}))?$/.exec(s);
  if (!m || (m[3] !== undefined && m[4] === undefined)) return null;
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? 0);
  if (exp > 400) return null;
  const shift = exp - frac.length;
  // The fraction's digits past the exponent must be zeros.
  if (shift < 0 && !/^0*$/.test(frac.slice(frac.length + shift))) return null;
  const digits = BigInt(m[2] + frac);
  const n = shift >= 0 ? digits * 10n ** BigInt(shift) : digits / 10n ** BigInt(-shift);
  return m[1] === '-' ? -n : n;
}

function integer(value: string, min: number, max: number, what: string): number {
  // Compare as BigInt first so "99999999999999999999" is refused rather than rounded.
  const big = wholeNumber(value.trim());
  if (big === null) throw new InvalidArgumentError(`${what} must be a whole number (digits, or exponent notation such as 1e6).`);
  if (big < BigInt(min)) throw new InvalidArgumentError(`${what} must be at least ${min}.`);
  if (big > BigInt(max)) throw new InvalidArgumentError(`${what} must be at most ${max}.`);
  return Number(big);
}

/** A whole number ≥ 1 (agents, columns, ...). */
export function parsePositiveInt(value: string): number {
  return integer(value, 1, MAX_COUNT, 'It');
}

/** A whole number ≥ 0 (byte offsets, ...). */
export function parseNonNegativeInt(value: string): number {
  return integer(value, 0, MAX_COUNT, 'It');
}

/** A whole number from `min` to `max`, as an option parser. */
export function wholeNumberIn(min: number, max: number): (value: string) => number {
  return (value) => integer(value, min, max, 'It');
}

/** Columns are a u32 in the header. */
export function parseCols(value: string): number {
  return integer(value, 1, 2 ** 32 - 1, 'It');
}

/** Frame buffers of a segment: a whole number from 1 to 16 (include/shmswarm.h SHMSWARM_SLOTS_MAX). */
export function parseSlots(value: string): number {
  return integer(value, 1, 16, 'It');
}

/** Seconds as typed ("10", "0.5"), > 0: --duration, --within. */
export function parseSeconds(value: string, max = 1e9): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max)
    throw new InvalidArgumentError(`It must be a number of seconds > 0${max < 1e9 ? ` and at most ${max}` : ''}.`);
  return n;
}

/** Seconds as typed, ≥ 0, returned in ms: --timeout. */
export function parseTimeoutSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1e9)
    throw new InvalidArgumentError('It must be a number of seconds >= 0 and at most 1000000000.');
  return n * 1000;
}

/** Positions in 2 or 3 dimensions: simulate and demo --dims. */
export function parseDims(value: string): 2 | 3 {
  if (value.trim() !== '2' && value.trim() !== '3') throw new InvalidArgumentError('It must be 2 or 3.');
  return Number(value) as 2 | 3;
}

/** Frames per second, ≥ 0. */
export function parseRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1e6)
    throw new InvalidArgumentError('It must be a number of frames per second from 0 to 1000000.');
  return n;
}

/** A duration in ms, ≥ 0, fractional allowed. */
export function parseMs(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1e12)
    throw new InvalidArgumentError('It must be a number of milliseconds >= 0.');
  return n;
}

/** "300x3" (also "300,3" and "300×3") → [rows, cols]. */
export function parseShape(value: string): [number, number] {
  const m = /^\s*(\d+)\s*[x×X,]\s*(\d+)\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError('It must be <rows>x<cols>, e.g. 300x3.');
  return [integer(m[1], 1, MAX_COUNT, 'Rows'), integer(m[2], 1, 2 ** 32 - 1, 'Columns')];
}

/** Permission bits: "600", "0600", "0o640" are all octal; at most 0777. */
export function parseMode(value: string): number {
  const m = /^\s*(?:0o|0O)?([0-7]{1,4})\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError('It must be octal permission bits such as 600 or 0o640.');
  const mode = parseInt(m[1], 8);
  if (mode > 0o777) throw new InvalidArgumentError('Only permission bits (at most 777) are allowed.');
  return mode;
}

/** A half-open agent range as typed: "a:b", "a:", ":b", or "a" (one agent). Checked against the rows later. */
export interface RowRange {
  start?: number;
  end?: number;
  /** As typed, for messages. */
  text: string;
}

export function parseRowRange(value: string): RowRange {
  const s = value.trim();
  const m = /^(\d*)(?:(:)(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && m[2] === undefined))
    throw new InvalidArgumentError('It must be a half-open range a:b (agents a to b-1), a: or :b.');
  const start = m[1] === '' ? undefined : integer(m[1], 0, MAX_COUNT, 'The start');
  let end: number | undefined;
  if (m[2] === undefined) end = (start as number) + 1;
  else end = m[3] === '' ? undefined : integer(m[3], 0, MAX_COUNT, 'The end');
  if (start !== undefined && end !== undefined && end < start)
    throw new InvalidArgumentError(`The end ${end} comes before the start ${start}.`);
  return { start, end, text: s };
}

/** "x,y" → ["x", "y"]; empty names refused. */
export function parseFieldList(value: string): string[] {
  const list = value.split(',').map((f) => f.trim());
  if (list.some((f) => f === '')) throw new InvalidArgumentError('It must be comma-separated field names such as x,y.');
  return list;
}

/** An element type name (f32, float32, ...), checked now so a typo exits 2 before anything opens. */
export function parseDtypeOption(value: string): DtypeName {
  try {
    return parseDtype(value).name;
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
}

/** The raw-mode flags shared by dump and info. */
export function addRawOptions(command: Command): Command {
  return command
    .option('--raw', 'read a bare matrix with no header (e.g. the seed writer\'s /position_data)')
    .option('--shape <rows>x<cols>', 'raw: the matrix shape, e.g. 300x3', parseShape)
    .option('--dtype <type>', 'raw: element type (default f32)', parseDtypeOption)
    .option('--offset <bytes>', 'raw: byte offset of the matrix in the object (default 0)', parseNonNegativeInt)
    .option('--mutex <name>', 'raw: object holding a process-shared pthread mutex to lock around the copy')
    .option('--mutex-offset <bytes>', 'raw: byte offset of the mutex in that object (default 0)', parseNonNegativeInt);
}

export interface RawFlags {
  raw?: boolean;
  shape?: [number, number];
  dtype?: DtypeName;
  offset?: number;
  mutex?: string;
  mutexOffset?: number;
}

/** RawOptions for openFrameSource, or undefined without --raw; raw-only flags without --raw are a usage error. */
export function rawOptions(o: RawFlags): RawOptions | undefined {
  const rawOnly = (['shape', 'dtype', 'offset', 'mutex', 'mutexOffset'] as const).filter((k) => o[k] !== undefined);
  if (!o.raw) {
    if (rawOnly.length)
      throw usageError(`--${rawOnly[0].replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} only applies with --raw`);
    return undefined;
  }
  if (!o.shape) throw usageError('--raw needs --shape <rows>x<cols>, e.g. --raw --shape 300x3');
  return { shape: o.shape, dtype: o.dtype ?? 'f32', offset: o.offset ?? 0, mutex: o.mutex, mutexOffset: o.mutexOffset };
}
