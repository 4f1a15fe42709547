import { parseDtype, type DtypeName, type TypedArray } from './dtypes.js';

/*
 * Pure formatters for one frame: CSV, JSON, NDJSON, .npy and a table for people. Nothing here
 * prints. The text formats come as chunk generators (about 1 MB each) so a large frame is written
 * in big writes without building one giant string, and as plain functions for small frames and tests.
 *
 * Values print exactly: a float32 as the shortest decimal that reads back to the same float32, a
 * float64 as the shortest that reads back to the same float64 (JS's String()), integers (64-bit
 * too) in full. Negative zero prints as -0. Non-finite values are spelled NaN, Infinity and
 * -Infinity — bare in CSV and the table (Python's float(), numpy and Julia's parse read them), and
 * as JSON strings "NaN", "Infinity", "-Infinity" in JSON and NDJSON, which have no such numbers.
 */

/** One frame, or a block of it, ready to format: `data` is the whole rows × cols matrix, agent-major. */
export interface FrameTable {
  name: string;
  dtype: DtypeName;
  sequence: number;
  frames: number;
  /** All the segment's field names (length = cols). */
  fields: readonly string[];
  data: TypedArray | ArrayLike<number> | ArrayLike<bigint>;
  /** Agents [rowStart, rowEnd) are formatted. */
  rowStart: number;
  rowEnd: number;
  /** Indices of the columns to format, in order. */
  columns: readonly number[];
  /** CSV line end: LF (the default, what Unix tools expect) or CRLF (RFC 4180 to the letter). */
  eol?: '\n' | '\r\n';
}

/** A FrameTable over a whole rows × cols frame. */
export function frameTable(
  meta: { name: string; dtype: DtypeName; sequence: number; frames: number; fields: readonly string[] },
  data: FrameTable['data'],
  rows: [number, number] = [0, Math.floor(data.length / Math.max(1, meta.fields.length))],
  columns: readonly number[] = meta.fields.map((_, i) => i),
): FrameTable {
  return { ...meta, data, rowStart: rows[0], rowEnd: rows[1], columns };
}

/*
 * Numbers are written as ASCII bytes straight into 1 MiB buffers: a frame of millions of values
 * must go out at well over 100 MB/s, and V8's number-to-string conversions cost 0.2–2 µs each.
 */

const INT24 = 16777216;
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`)); // exact doubles up to 1e22
/** Half a unit in the last place of a float32 with biased exponent e (e = 0: subnormal). */
const HALF_ULP = Float64Array.from({ length: 256 }, (_, e) => 2 ** ((e === 0 ? 1 : e) - 151));
/** floor(log10(width of the rounding interval)), for a full interval (2 half-ulps) and one below a power of two (1.5). */
const K_FULL = Int32Array.from(HALF_ULP, (h) => Math.floor(Math.log10(2 * h)));
const K_EDGE = Int32Array.from(HALF_ULP, (h) => Math.floor(Math.log10(1.5 * h)));
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
// Set by shortest32(): the result is D × 10^K, D without trailing zeros.
let D = 0;
let K = 0;

/**
 * The shortest D × 10^K inside the rounding interval of the float32 |x|, the one nearest x when
 * several have that length; false when double arithmetic cannot decide it safely (a bound too
 * close to a multiple of 10^K, or K outside ±22), for the caller to take the slow path.
 */
function shortest32(ax: number): boolean {
  f32[0] = ax;
  const bits = u32[0];
  const e = bits >>> 23;
  const mant = bits & 0x7fffff;
  const half = HALF_ULP[e];
  const hi = ax + half; // exact: 25 significant bits
  const edge = mant === 0 && e > 1; // the gap below a power of two is halved
  const lo = edge ? ax - half / 2 : ax - half;
  // An interval as wide as 10^k holds a multiple of it; a larger k may be lucky. Whether the
  // interval's ends belong to it (ties to even) never matters: no end is allowed near an integer.
  let k = edge ? K_EDGE[e] : K_FULL[e];
  let found = -99;
  let a = 0;
  let b = 0;
  for (;;) {
    if (k < -22 || k > 22) return false;
    const sa = k >= 0 ? lo / POW10[k] : lo * POW10[-k];
    const sb = k >= 0 ? hi / POW10[k] : hi * POW10[-k];
    // sa and sb carry a relative error of at most 2^-53; refuse to decide within ~2^-40 of an integer.
    const tol = Math.max(sb, 1) * 9.1e-13;
    const fa = sa < 2147483647 ? sa | 0 : Math.floor(sa);
    const fb = sb < 2147483647 ? sb | 0 : Math.floor(sb);
    if (sa - fa < tol || fa + 1 - sa < tol || sb - fb < tol || fb + 1 - sb < tol) return false;
    if (fa + 1 <= fb) {
      found = k;
      a = fa + 1;
      b = fb;
      k++;
    } else if (found !== -99) break;
    else k--;
  }
  const c = found >= 0 ? ax / POW10[found] : ax * POW10[-found];
  let d = Math.floor(c + 0.5);
  if (d < a) d = a;
  else if (d > b) d = b;
  D = d;
  K = found;
  return true;
}

/** The reference algorithm: the fewest digits p (1–9) for which toPrecision(p) reads back through Math.fround. */
export function shortestFloat32Slow(x: number): string {
  // If p digits read back, so do p+1 (the nearest p+1-digit decimal is at least as close).
  let lo = 1;
  let hi = 9;
  let best = x.toPrecision(9);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const s = x.toPrecision(mid);
    if (Math.fround(+s) === x) {
      hi = mid;
      best = s;
    } else lo = mid + 1;
  }
  // toPrecision pads ("1.50", "1e+2"); the double nearest to ≤ 9 digits prints back as those digits.
  return '' + +best;
}

function putAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** "00" to "99" as ASCII pairs. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** A non-negative integer below 2^53. */
function putUint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 10) {
    buf[pos] = 48 + v;
    return pos + 1;
  }
  if (v >= 1e9) {
    let n = 10;
    for (let t = Math.floor(v / 1e10); t >= 1; t = Math.floor(t / 10)) n++;
    let p = pos + n;
    for (let t = v; t !== 0; t = Math.floor(t / 10)) buf[--p] = 48 + (t % 10);
    return pos + n;
  }
  const n = v < 100 ? 2 : v < 1000 ? 3 : v < 1e4 ? 4 : v < 1e5 ? 5 : v < 1e6 ? 6 : v < 1e7 ? 7 : v < 1e8 ? 8 : 9;
  let p = pos + n;
  let t = v | 0;
  while (t >= 100) {
    // Two digits per division.
    const q = (t / 100) | 0;
    const r = (t - q * 100) << 1;
    buf[--p] = DIGIT_PAIRS[r + 1];
    buf[--p] = DIGIT_PAIRS[r];
    t = q;
  }
  if (t >= 10) {
    buf[--p] = DIGIT_PAIRS[(t << 1) + 1];
    buf[--p] = DIGIT_PAIRS[t << 1];
  } else buf[--p] = 48 + t;
  return pos + n;
}

/** The decimal digits of d (an integer below 2^53). */
function digitCount(d: number): number {
  if (d < 1e9) return d < 10 ? 1 : d < 100 ? 2 : d < 1000 ? 3 : d < 1e4 ? 4 : d < 1e5 ? 5 : d < 1e6 ? 6 : d < 1e7 ? 7 : d < 1e8 ? 8 : 9;
  let n = 10;
  for (let t = Math.floor(d / 1e10); t >= 1; t = Math.floor(t / 10)) n++;
  return n;
}

/** The `digits` digits of d at pos with a decimal point after the first `n` of them. */
function putWithPoint(buf: Uint8Array, pos: number, d: number, digits: number, n: number): number {
  const end = pos + digits + 1;
  const dot = pos + n;
  let p = end;
  if (d < 2147483648) {
    let t = d | 0;
    while (p > dot + 1) {
      const q = (t / 10) | 0;
      buf[--p] = 48 + t - q * 10;
      t = q;
    }
    buf[--p] = 46;
    while (p > pos) {
      const q = (t / 10) | 0;
      buf[--p] = 48 + t - q * 10;
      t = q;
    }
    return end;
  }
  let t = d;
  while (p > pos) {
    if (p === dot + 1) buf[--p] = 46;
    buf[--p] = 48 + (t % 10);
    t = Math.floor(t / 10);
  }
  return end;
}

/** D × 10^K spelled as JavaScript's Number#toString spells it (ECMA-262 Number::toString). */
function putDecimal(buf: Uint8Array, pos: number, d: number, k: number): number {
  if (k >= 0) {
    const n0 = digitCount(d) + k;
    if (n0 <= 21) {
      pos = putUint(buf, pos, d);
      for (let i = 0; i < k; i++) buf[pos++] = 48;
      return pos;
    }
  }
  const digits = digitCount(d);
  const n = digits + k; // the decimal point sits after n digits
  if (n > 0 && n <= 21) {
    // ddd.ddd
    return putWithPoint(buf, pos, d, digits, n);
  }
  if (n > -6 && n <= 0) {
    // 0.000ddd
    buf[pos++] = 48;
    buf[pos++] = 46;
    for (let i = 0; i < -n; i++) buf[pos++] = 48;
    return putUint(buf, pos, d);
  }
  // d.ddde±x
  let end = digits > 1 ? putWithPoint(buf, pos, d, digits, 1) : putUint(buf, pos, d);
  buf[end++] = 101; // e
  buf[end++] = n - 1 >= 0 ? 43 : 45;
  return putUint(buf, end, Math.abs(n - 1));
}

/** A float32 as the shortest decimal that reads back (through Math.fround) to the same float32. */
function putFloat32(buf: Uint8Array, pos: number, x: number): number {
  const i = x | 0;
  if (i === x && i < INT24 && i > -INT24) {
    // Below 2^24 every integer is a float32 and the spacing is ≤ 1: the integer itself is shortest.
    if (i > 0) return putUint(buf, pos, i);
    if (i < 0) {
      buf[pos] = 45;
      return putUint(buf, pos + 1, -i);
    }
    return 1 / x < 0 ? putAscii(buf, pos, '-0') : ((buf[pos] = 48), pos + 1);
  }
  if (x !== x) return putAscii(buf, pos, 'NaN');
  if (x === Infinity) return putAscii(buf, pos, 'Infinity');
  if (x === -Infinity) return putAscii(buf, pos, '-Infinity');
  const ax = Math.abs(x);
  if (!shortest32(ax)) return putAscii(buf, pos, shortestFloat32Slow(x));
  if (x < 0) buf[pos++] = 45;
  return putDecimal(buf, pos, D, K);
}

/*
 * The fast float32 printer. A float32 m × 2^q (m < 2^24) is scaled by a power of ten chosen from
 * its binary exponent alone, so that it lands in [1e8, 2e9): there its rounding interval is 6 to
 * 240 units wide and every candidate is an int32. The shortest candidate is the one with the most
 * trailing zeros; the nearest such multiple of 10^j lies inside the interval whenever one does
 * (the interval is symmetric about x; powers of two, whose interval is not, go the general way).
 * The scaled values carry a relative error of at most 2^-52, so any decision taken within 2e-6
 * of an integer or of a tie goes the general way too (1 value in 10^4 of random float32s, mostly
 * exact ties such as 22.4140625 between 22.414062 and 22.414063). On random data a
 * mispredicted branch costs as much as the rest, so the common case is branch-free: j comes from
 * compares summed as numbers, the sign from the bit, and digits go out four at a time.
 */

/** Per biased exponent e: the power of ten n that brings the binade to [1e8, 2e9), 10^n × 2^(e-150) (one unit of m) and half of that. */
const SCALE_EXP = new Int32Array(256);
const UNIT = new Float64Array(256);
const HALF_UNIT = new Float64Array(256);
/** "0000" to "9999", four ASCII bytes each, for DataView#setUint32(pos, v, true). */
const DIGITS4 = new Uint32Array(10000);
let tablesReady = false;

// Filled on first use, not at import: building them costs about a millisecond (BigInt powers)
// that every command importing this module for a table (`info`) would pay at start-up. The digit
// quads are computed, not taken from 10,000 strings: that took 2-4 ms of every small `dump`.
function prepareTables(): void {
  tablesReady = true;
  for (let i = 0; i < 10000; i++) {
    const d0 = (i / 1000) | 0;
    const d1 = ((i / 100) | 0) % 10;
    const d2 = ((i / 10) | 0) % 10;
    DIGITS4[i] = ((48 + d0) | ((48 + d1) << 8) | ((48 + d2) << 16) | ((48 + (i % 10)) << 24)) >>> 0;
  }
  for (let e = 0; e < 255; e++) {
    const q = (e === 0 ? 1 : e) - 150;
    const lowest = e === 0 ? 2 ** -149 : 2 ** (e - 127);
    // Number(bigint) rounds correctly: each entry is within 2^-52 of the exact value.
    const scaled = (n: number) => (n >= 0 ? Number(10n ** BigInt(n)) * lowest : lowest / Number(10n ** BigInt(-n)));
    let n = Math.floor(8 - Math.log10(lowest));
    while (scaled(n) >= 1e9) n--;
    while (scaled(n) < 1e8) n++;
    SCALE_EXP[e] = n;
    UNIT[e] = n >= 0 ? Number(10n ** BigInt(n)) * 2 ** q : 2 ** q / Number(10n ** BigInt(-n));
    HALF_UNIT[e] = UNIT[e] / 2;
  }
}
const POW10I = Int32Array.from({ length: 10 }, (_, i) => 10 ** i);
const INV10 = Float64Array.from([1, 0.1, 0.01, 0.001]);
/** Brings an 8-, 9- or 10-digit M to 9 digits (M is a multiple of 10 when it has 10: the product is exact). */
const TO_9_DIGITS = Float64Array.from([10, 1, 0.1]);
const NEAR = 2e-6;
/** How far past its end the fast printer may scribble. */
const SCRIBBLE = 24;

/** A float64 as the shortest decimal that reads back to it (JS's String()), -0 kept. */
function putFloat64(buf: Uint8Array, pos: number, x: number): number {
  if (Number.isInteger(x) && x < 2 ** 53 && x > -(2 ** 53)) {
    if (x >= 0) return x === 0 && 1 / x < 0 ? putAscii(buf, pos, '-0') : putUint(buf, pos, x);
    buf[pos] = 45;
    return putUint(buf, pos + 1, -x);
  }
  return putAscii(buf, pos, '' + x);
}

function putInt(buf: Uint8Array, pos: number, x: number): number {
  if (x >= 0) return putUint(buf, pos, x);
  buf[pos] = 45;
  return putUint(buf, pos + 1, -x);
}

function putBig(buf: Uint8Array, pos: number, x: number | bigint): number {
  return putAscii(buf, pos, '' + x);
}

type Put = (buf: Uint8Array, pos: number, v: number) => number;

/** The byte writer for one element of `dtype`; `json` spells non-finite floats as JSON strings. */
function putter(dtype: DtypeName, json: boolean): Put {
  const base: Put = dtype === 'f32' ? putFloat32 : dtype === 'f64' ? putFloat64 : dtype === 'i64' || dtype === 'u64' ? (putBig as Put) : putInt;
  if (!json || (dtype !== 'f32' && dtype !== 'f64')) return base;
  return (buf, pos, v) => {
    if (v - v === 0) return base(buf, pos, v);
    buf[pos] = 34;
    pos = base(buf, pos + 1, v);
    buf[pos] = 34;
    return pos + 1;
  };
}

const scratch = new Uint8Array(64);

function viaScratch(put: Put, v: number): string {
  return Buffer.from(scratch.buffer, 0, put(scratch, 0, v)).toString('latin1');
}

let one: { f32: Float32Array; plan: TextPlan; fill: Fill } | undefined;

/** The shortest decimal that reads back (through Math.fround) to the float32 `x`. */
export function formatFloat32(x: number): string {
  // Through the frame formats' own row loop: one printer, one set of outputs.
  if (!one) {
    const f32 = new Float32Array(1);
    const none = new Uint8Array(0);
    const plan: TextPlan = {
      f32, bits: new Uint32Array(f32.buffer), data: f32, put: putFloat32, stride: 1, cols: Int32Array.of(0),
      gaps: none, gapAt: new Int32Array(2), head: none, cut: 0, tail: none, rowBytes: MAX_VALUE + SCRIBBLE, rowStart: 0, rowEnd: 1,
    };
    one = { f32, plan, fill: newFill(64) };
  }
  one.f32[0] = x;
  one.fill.pos = 0;
  rowsF32(one.fill, 0, 0, 1, one.plan);
  return one.fill.buf.toString('latin1', 0, one.fill.pos);
}

/** The shortest decimal that reads back to the float64 `x` (String(), with -0 kept). */
export function formatFloat64(x: number): string {
  return viaScratch(putFloat64, x);
}

/** The formatter for one element of `dtype`, as CSV and the table spell it. */
export function valueFormatter(dtype: DtypeName): (v: number | bigint) => string {
  if (dtype === 'i64' || dtype === 'u64') return (v) => '' + v;
  if (dtype === 'f32') return (v) => formatFloat32(v as number);
  const put = putter(dtype, false);
  return (v) => viaScratch(put, v as number);
}

/** An RFC 4180 field: quoted only when it holds a comma, quote, CR or LF. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CHUNK = 1 << 20;
/** Spare room beyond the head or tail of a format in every buffer. */
const SLACK = 64;
/** The longest value any element type prints as, JSON quotes included. */
const MAX_VALUE = 26;

export type TextFormat = 'csv' | 'json' | 'ndjson';

/**
 * Everything the row loops need, worked out once per table. Each value is followed by its gap:
 * the value separator (and the next NDJSON key) inside an agent, or, after the last column, the
 * whole boundary between two agents (row close, row separator, row open, first key). The first
 * agent's opening goes in `head`; after the last agent, the `cut` bytes past its row close are
 * taken back and `tail` follows.
 */
export interface TextPlan {
  f32: Float32Array | null;
  /** The bit patterns of f32, same memory. */
  bits: Uint32Array | null;
  data: ArrayLike<number>;
  put: Put;
  stride: number;
  cols: Int32Array;
  gaps: Uint8Array;
  /** Column c's gap is gaps[gapAt[c]] to gaps[gapAt[c + 1]]. */
  gapAt: Int32Array;
  head: Uint8Array;
  cut: number;
  tail: Uint8Array;
  /** An upper bound on the bytes of one agent, gap included. */
  rowBytes: number;
  rowStart: number;
  rowEnd: number;
}

const enc = (s: string) => Buffer.from(s, 'utf8');

/** The pieces of each text format around the values. */
function layoutOf(t: FrameTable, format: TextFormat) {
  const rows = t.rowEnd > t.rowStart;
  switch (format) {
    case 'csv': {
      const eol = t.eol === '\r\n' ? '\r\n' : '\n';
      return { head: t.columns.map((c) => csvField(t.fields[c])).join(',') + eol, rowOpen: '', rowClose: eol, rowSep: '', valueSep: ',', tail: '', keys: null, json: false };
    }
    case 'json': {
      // {"name","dtype","sequence","frames","fields","data":[[...],...]}, one agent per line.
      const meta = { name: t.name, dtype: t.dtype, sequence: t.sequence, frames: t.frames, fields: t.columns.map((c) => t.fields[c]) };
      const head = JSON.stringify(meta).slice(0, -1) + ',"data":[' + (rows ? '\n' : '');
      return { head, rowOpen: '[', rowClose: ']', rowSep: ',\n', valueSep: ',', tail: rows ? '\n]}\n' : ']}\n', keys: null, json: true };
    }
    case 'ndjson':
      return { head: '', rowOpen: '{', rowClose: '}\n', rowSep: '', valueSep: ',', tail: '', keys: t.columns.map((c) => JSON.stringify(t.fields[c]) + ':'), json: true };
  }
}

/** The plan for formatting `t` as `format`. */
export function textPlan(t: FrameTable, format: TextFormat): TextPlan {
  const l = layoutOf(t, format);
  const ncols = t.columns.length;
  const key = (c: number) => (l.keys ? l.keys[c] : '');
  const open = l.rowOpen + key(0);
  const between = l.rowClose + l.rowSep + open;
  const gapText = t.columns.map((_, c) => (c < ncols - 1 ? l.valueSep + key(c + 1) : between));
  const gapBytes = gapText.map(enc);
  const gapAt = new Int32Array(ncols + 1);
  for (let c = 0; c < ncols; c++) gapAt[c + 1] = gapAt[c] + gapBytes[c].length;
  const rows = t.rowEnd > t.rowStart && ncols > 0;
  let f32: Float32Array | null = null;
  if (t.dtype === 'f32') f32 = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  return {
    f32,
    bits: f32 && new Uint32Array(f32.buffer, f32.byteOffset, f32.length),
    data: t.data as ArrayLike<number>,
    put: putter(t.dtype, l.json),
    stride: t.fields.length,
    cols: Int32Array.from(t.columns),
    gaps: Buffer.concat(gapBytes),
    gapAt,
    head: enc(l.head + (rows ? open : '')),
    cut: rows ? enc(between).length - enc(l.rowClose).length : 0,
    tail: enc(l.tail),
    rowBytes: gapAt[ncols] + ncols * MAX_VALUE + SCRIBBLE,
    rowStart: t.rowStart,
    rowEnd: rows ? t.rowEnd : t.rowStart,
  };
}

interface Fill {
  buf: Buffer;
  dv: DataView;
  pos: number;
}

function newFill(size: number): Fill {
  const buf = Buffer.allocUnsafe(size);
  return { buf, dv: new DataView(buf.buffer, buf.byteOffset, buf.length), pos: 0 };
}

let warmPlan: TextPlan | undefined;
let timedPlan: TextPlan | undefined;

/**
 * Runs rowsF32 over a thousand values that take every path, once per thread. Without it the
 * loop is compiled from the feedback of the first values only and thrown away (deoptimised)
 * at the first value of another kind, or when it first returns: each round costs a compile
 * and tens of ms in the interpreter, about 100 ms on a fresh process. Every path needs to run
 * only once for its feedback.
 *
 * With `ms`, keeps formatting throw-away rounds until a round runs at compiled speed, for at
 * most `ms` or until `stop()` says real work is waiting; returns whether the loop is compiled.
 * A thread with nothing else to do (a worker waiting for its frame) uses this to have the
 * compile done before the frame arrives.
 */
export function warmUp(ms = 0, stop: () => boolean = () => false): boolean {
  if (!warmPlan) {
    const v = new Float32Array(WARM_VALUES);
    let seed = 1;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const odd = [NaN, Infinity, -Infinity, -0, 0, 0.5, 2 ** 40, 1e-30, 1e30, 1e-40, 123456792, 0.1, 7, -3, 1.5e-7, 16777216];
    for (let i = 0; i < v.length; i++) v[i] = i % 8 === 7 ? odd[(i >> 3) % odd.length] : (next() - 0.5) * 10 ** Math.floor(next() * 14 - 6);
    const table = { name: '', dtype: 'f32', sequence: 0, frames: 0, fields: ['a', 'b'], rowStart: 0, rowEnd: v.length / 2, columns: [1, 0] } as const;
    warmPlan = textPlan({ ...table, data: v }, 'ndjson');
    for (const c of planChunks(warmPlan, warmPlan.rowStart, warmPlan.rowEnd, 256)) void c;
    timedPlan = textPlan({ ...table, data: v.map((x, i) => (i % 8 === 7 ? next() * 100 : x)) }, 'csv');
  }
  const until = performance.now() + ms;
  for (let now = performance.now(); now < until && !stop(); ) {
    for (const c of planChunks(timedPlan!, 0, WARM_VALUES / 2, 1 << 16)) void c;
    const took = performance.now() - now;
    now += took;
    // Compiled, the loop takes well under 0.1 µs a value; interpreted, about 1 µs.
    if (took < WARM_VALUES * 1.5e-4) return true;
  }
  return false;
}
const WARM_VALUES = 1024;
const STEP_ROWS = 1024;

/** Buffers of about `chunkBytes` holding agents [r0, r1), each followed by its gap; `head` first when given. */
export function* planChunks(p: TextPlan, r0: number, r1: number, chunkBytes = CHUNK, head?: Uint8Array): Generator<Uint8Array> {
  if (p.f32 && !warmPlan && r1 - r0 > WARM_VALUES) warmUp();
  // A whole agent always fits between `limit` and the end of a buffer: the row loops check
  // nothing per value.
  const size = Math.max(chunkBytes, 2 * (p.rowBytes + SLACK) + (head?.length ?? 0));
  const limit = size - p.rowBytes - SLACK;
  let fill = newFill(size);
  if (head) fill.pos = copyBytes(fill.buf, 0, head);
  for (let r = r0; r < r1; ) {
    // Short calls: once the optimised loop is ready the next call runs it; a long first call
    // would wait for a second compile, on-stack replacement.
    const r2 = Math.min(r1, r + STEP_ROWS);
    r = p.f32 ? rowsF32(fill, limit, r, r2, p) : rowsAny(fill, limit, r, r2, p);
    if (fill.pos > limit) {
      yield fill.buf.subarray(0, fill.pos);
      fill = newFill(size);
    }
  }
  if (fill.pos) yield fill.buf.subarray(0, fill.pos);
}

/** The whole text of a plan: head, agents, tail. */
function* wholeChunks(p: TextPlan, chunkBytes: number): Generator<Uint8Array> {
  let last: Uint8Array | null = null;
  for (const c of planChunks(p, p.rowStart, p.rowEnd, chunkBytes, p.head)) {
    if (last) yield last;
    last = c;
  }
  yield* finish(last, p);
}

/** The last buffer with the final agent's boundary cut back to its row close, and the tail. */
export function* finish(last: Uint8Array | null, p: TextPlan): Generator<Uint8Array> {
  if (last && last.length > p.cut) yield last.subarray(0, last.length - p.cut);
  if (p.tail.length) yield p.tail;
}

function copyBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[pos++] = b[i];
  return pos;
}

/** Agents from r on, until the buffer passes `limit` or the rows end; returns the next agent. */
function rowsAny(fill: Fill, limit: number, r: number, rowEnd: number, p: TextPlan): number {
  const { buf } = fill;
  const { data, put, stride, cols, gaps, gapAt } = p;
  const ncols = cols.length;
  let pos = fill.pos;
  for (; r < rowEnd && pos <= limit; r++) {
    const base = r * stride;
    for (let c = 0; c < ncols; c++) {
      pos = put(buf, pos, data[base + cols[c]]);
      for (let g = gapAt[c], end = gapAt[c + 1]; g < end; g++) buf[pos++] = gaps[g];
    }
  }
  fill.pos = pos;
  return r;
}

/** rowsAny for float32, with the fast printer written out in the loop (a call costs a third more). */
function rowsF32(fill: Fill, limit: number, r: number, rowEnd: number, p: TextPlan): number {
  if (!tablesReady) prepareTables();
  const { buf, dv } = fill;
  const d = p.f32!;
  const u = p.bits!;
  const { stride, cols, gaps, gapAt, put } = p;
  const ncols = cols.length;
  let pos = fill.pos;
  for (; r < rowEnd && pos <= limit; r++) {
    const base = r * stride;
    for (let c = 0; c < ncols; c++) {
      const idx = base + cols[c];
      const x = d[idx];
      const bits = u[idx];
      let end = -1;
      fast: {
        if ((x | 0) === x) break fast; // integers, ±0
        const e = (bits >>> 23) & 0xff;
        const mant = bits & 0x7fffff;
        if (e === 255 || mant === 0) break fast; // NaN, ±Infinity, powers of two
        const m = e === 0 ? mant : mant | 0x800000;
        const half = HALF_UNIT[e];
        const s = m * UNIT[e];
        const lo = (2 * m - 1) * half;
        const hi = (2 * m + 1) * half;
        // The candidates are the integers A+1 .. b.
        const A = lo | 0;
        const b = hi | 0;
        const fl = lo - A;
        const fh = hi - b;
        if (fl < NEAR || fl > 1 - NEAR || fh < NEAR || fh > 1 - NEAR) break fast;
        // A multiple of 10^k lies among them when A mod 10^k + (b - A) reaches 10^k.
        const w = b - A;
        const a1 = (A / 10) | 0;
        const a2 = (A / 100) | 0;
        const a3 = (A / 1000) | 0;
        const a4 = (A / 10000) | 0;
        let j = +(A - a1 * 10 + w >= 10) + +(A - a2 * 100 + w >= 100) + +(A - a3 * 1000 + w >= 1000);
        let t: number;
        if (A - a4 * 10000 + w >= 10000) {
          j = 4;
          while (j < 9 && Math.floor(b / POW10[j + 1]) > Math.floor(A / POW10[j + 1])) j++;
          t = s / POW10[j];
        } else t = s * INV10[j];
        if (Math.abs(t - Math.floor(t) - 0.5) < NEAR) break fast;
        // M: the chosen candidate, with j trailing zeros; Dp: its digits, nine of them.
        const M = ((t + 0.5) | 0) * POW10I[j];
        const nm = 9 + +(M >= 1000000000) - +(M < 100000000);
        const Dp = (M * TO_9_DIGITS[nm - 8]) | 0;
        const nd = nm - j; // significant digits
        const pt = nm - SCALE_EXP[e]; // digits before the decimal point
        const d1 = (Dp / 100000000) | 0;
        const rest = Dp - d1 * 100000000;
        const d2 = (rest / 10000) | 0;
        const d2s = DIGITS4[d2];
        const d3s = DIGITS4[rest - d2 * 10000];
        let q = pos;
        buf[q] = 45; // '-', kept only for negative values
        q += bits >>> 31;
        if (pt > 0 && pt < nd) {
          // ddd.ddd: all nine digits, then the fraction moved one byte right for the point.
          buf[q] = 48 + d1;
          dv.setUint32(q + 1, d2s, true);
          dv.setUint32(q + 5, d3s, true);
          const at = q + pt;
          const f0 = dv.getUint32(at, true);
          const f1 = dv.getUint32(at + 4, true);
          dv.setUint32(at + 1, f0, true);
          dv.setUint32(at + 5, f1, true);
          buf[at] = 46;
          end = q + nd + 1;
        } else if (pt <= 0 && pt > -6) {
          // 0.000ddd
          dv.setUint32(q, 0x30302e30, true);
          dv.setUint32(q + 4, 0x30303030, true);
          const at = q + 2 - pt;
          buf[at] = 48 + d1;
          dv.setUint32(at + 1, d2s, true);
          dv.setUint32(at + 5, d3s, true);
          end = at + nd;
        } else if (pt >= nd && pt <= 21) {
          // ddd000
          buf[q] = 48 + d1;
          dv.setUint32(q + 1, d2s, true);
          dv.setUint32(q + 5, d3s, true);
          dv.setUint32(q + 9, 0x30303030, true);
          dv.setUint32(q + 13, 0x30303030, true);
          dv.setUint32(q + 17, 0x30303030, true);
          end = q + pt;
        } else {
          // d.ddde±x (Number#toString's choice below 1e-6 and from 1e21)
          buf[q] = 48 + d1;
          buf[q + 1] = 46;
          dv.setUint32(q + 2, d2s, true);
          dv.setUint32(q + 6, d3s, true);
          let at = nd > 1 ? q + nd + 1 : q + 1;
          buf[at] = 101;
          buf[at + 1] = pt > 0 ? 43 : 45;
          const x10 = pt > 0 ? pt - 1 : 1 - pt;
          if (x10 >= 10) {
            const hi = (x10 / 10) | 0;
            buf[at + 2] = 48 + hi;
            buf[at + 3] = 48 + x10 - hi * 10;
            at += 4;
          } else {
            buf[at + 2] = 48 + x10;
            at += 3;
          }
          end = at;
        }
      }
      pos = end >= 0 ? end : put(buf, pos, x); // the general way, JSON quoting included
      for (let g = gapAt[c], ge = gapAt[c + 1]; g < ge; g++) buf[pos++] = gaps[g];
    }
  }
  fill.pos = pos;
  return r;
}

/** CSV (RFC 4180, with LF line ends unless `t.eol` is CRLF; a header row of field names), as byte chunks of about 1 MiB. */
export function csvChunks(t: FrameTable, chunkBytes = CHUNK): Generator<Uint8Array> {
  return wholeChunks(textPlan(t, 'csv'), chunkBytes);
}

/**
 * JSON: {"name","dtype","sequence","frames","fields","data":[[...],...]}, one inner array per
 * agent, each on its own line; ends with a newline.
 */
export function jsonChunks(t: FrameTable, chunkBytes = CHUNK): Generator<Uint8Array> {
  return wholeChunks(textPlan(t, 'json'), chunkBytes);
}

/** NDJSON: one object per agent, keyed by field name, in agent order. */
export function ndjsonChunks(t: FrameTable, chunkBytes = CHUNK): Generator<Uint8Array> {
  return wholeChunks(textPlan(t, 'ndjson'), chunkBytes);
}

function joinChunks(chunks: Iterable<Uint8Array>): string {
  return Buffer.concat([...chunks]).toString('utf8');
}

export function formatCsv(t: FrameTable): string {
  return joinChunks(csvChunks(t));
}

export function formatJson(t: FrameTable): string {
  return joinChunks(jsonChunks(t));
}

export function formatNdjson(t: FrameTable): string {
  return joinChunks(ndjsonChunks(t));
}

/** numpy's type string: byte order ('<' little, '|' not applicable) and kind/size, e.g. '<f4'. */
export function npyDescr(dtype: DtypeName): string {
  const d = parseDtype(dtype);
  const order = d.bytes === 1 ? '|' : new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? '<' : '>';
  return order + d.numpy;
}

/** The .npy v1.0 header for a C-order matrix: magic, version, length, dict, padded to 64 bytes. */
export function npyHeader(dtype: DtypeName, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${npyDescr(dtype)}', 'fortran_order': False, 'shape': ${dims}, }`;
  // 10 bytes of preamble; the dict plus spaces plus '\n' brings the total to a multiple of 64.
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const text = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), 10);
  return out;
}

/** The selected block as a new, packed rows × columns array of the frame's type. */
export function selectBlock(t: FrameTable): TypedArray {
  const d = parseDtype(t.dtype);
  const stride = t.fields.length;
  const n = t.rowEnd - t.rowStart;
  const k = t.columns.length;
  const src = t.data as TypedArray;
  if (k === stride && t.columns.every((c, i) => c === i) && src instanceof d.array)
    return src.slice(t.rowStart * stride, t.rowEnd * stride) as TypedArray;
  const out = new d.array(n * k);
  const o = out as unknown as { [i: number]: number | bigint };
  for (let r = 0; r < n; r++) {
    const base = (t.rowStart + r) * stride;
    for (let j = 0; j < k; j++) o[r * k + j] = (src as unknown as { [i: number]: number | bigint })[base + t.columns[j]];
  }
  return out;
}

/** A whole .npy file (v1.0): what numpy.load reads as shape (agents, fields) of the frame's dtype. */
export function encodeNpy(t: FrameTable): Uint8Array {
  const block = selectBlock(t);
  const header = npyHeader(t.dtype, [t.rowEnd - t.rowStart, t.columns.length]);
  const out = new Uint8Array(header.length + block.byteLength);
  out.set(header);
  out.set(new Uint8Array(block.buffer, block.byteOffset, block.byteLength), header.length);
  return out;
}
