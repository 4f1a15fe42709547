// The library's argument checks: options objects, integers, timeouts, sequence numbers, flags and
// field lists as callers pass them, refused with TypeError or RangeError before anything is opened.
import { ReadMode } from './binding.js';
import type { Dtype } from './dtypes.js';
import { describeValue } from './errors.js';
import { parseFields } from './names.js';
import type { ReadOptions } from './segment.js';

export function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${what} must be an integer, got ${describeValue(value)}`);
  if (value < min || value > max) throw new RangeError(`${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A timeout in ms: a number from 0 to 1e12 (the native layer's bound). */
export function checkTimeout(ms: unknown, what = 'timeoutMs'): number {
  if (typeof ms !== 'number') throw new TypeError(`${what} must be a number of ms, got ${describeValue(ms)}`);
  if (!(ms >= 0) || ms > 1e12) throw new RangeError(`${what} must be a number of ms from 0 to 1e12, got ${ms}`);
  return ms;
}

/** An optional timeout: `fallback` when absent, else checked as above. */
export function timeoutOption(ms: unknown, fallback: number, what = 'timeoutMs'): number {
  return ms === undefined ? fallback : checkTimeout(ms, what);
}

/**
 * A sequence number as a caller passes it back: an integer >= 0, or -1 for "none seen" (as in
 * the native layer). NaN or "3" would silently mean "none seen" there: refused here.
 */
export function checkSequence(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${what} must be a sequence number (an integer >= 0, or -1 for none seen), got ${describeValue(value)}`);
  if (value < -1 || value > Number.MAX_SAFE_INTEGER)
    throw new RangeError(`${what} must be a sequence number from 0 to ${Number.MAX_SAFE_INTEGER}, or -1 for none seen, got ${value}`);
  return value;
}

/** An optional flag: true, false or absent (false); "yes" or 1 would be read as true by some code and not by other. */
export function optionalBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be true or false, got ${describeValue(value)}`);
  return value;
}

const NO_OPTIONS = Object.freeze({});

/** Options as given: null and undefined mean none; anything else that is not an object is a mistake. */
export function optionsObject<O extends object>(options: O | null | undefined, what = 'options'): Partial<O> {
  if (options === undefined || options === null) return NO_OPTIONS;
  if (typeof options !== 'object') throw new TypeError(`${what} must be an object, got ${describeValue(options)}`);
  return options;
}

/** Field names from create's options: a non-empty list, checked by parseFields. */
export function checkFields(fields: unknown): string[] {
  if (typeof fields !== 'string' && !Array.isArray(fields))
    throw new TypeError(`fields must be a string such as "x,y" or an array of names, got ${describeValue(fields)}`);
  if (fields.length === 0) throw new TypeError('fields must not be empty: name at least one column');
  return parseFields(fields);
}

/** The native read mode from `lock` and `lockFree`. */
export function readMode(o: Partial<ReadOptions>): number {
  const lock = optionalBoolean(o.lock, 'lock');
  const lockFree = optionalBoolean(o.lockFree, 'lockFree');
  if (lock && lockFree) throw new TypeError('lock and lockFree exclude each other');
  return lock ? ReadMode.LOCK : lockFree ? ReadMode.NOLOCK : ReadMode.AUTO;
}

/** Which JS type an element of a `dtype` array must have. */
export function elementType(dtype: Dtype): 'bigint' | 'number' {
  return dtype.bigint ? 'bigint' : 'number';
}

/** Index of the first element that is not of `type` (holes included), or -1. */
export function firstNotOfType(values: readonly unknown[], type: 'bigint' | 'number'): number {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== type) return i;
  return -1;
}

export function isBigIntArray(a: ArrayBufferView): boolean {
  return a instanceof BigInt64Array || a instanceof BigUint64Array;
}
