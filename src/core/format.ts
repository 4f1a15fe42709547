import { createRequire } from 'node:module';
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

/** The shortest decimal that reads back (through Math.fround) to the float32 `x`. */
export function formatFloat32(x: number): string {
  return viaScratch(putFloat32, x);
}

/** The shortest decimal that reads back to the float64 `x` (String(), with -0 kept). */
export function formatFloat64(x: number): string {
  return viaScratch(putFloat64, x);
}

/** The formatter for one element of `dtype`, as CSV and the table spell it. */
export function valueFormatter(dtype: DtypeName): (v: number | bigint) => string {
  if (dtype === 'i64' || dtype === 'u64') return (v) => '' + v;
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

function copyBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[pos++] = b[i];
  return pos;
}

/** Piece boundaries of a text format: what comes before everything, around each agent, between values. */
interface Layout {
  head: string;
  rowOpen: string;
  rowClose: string;
  /** Between two agents. */
  rowSep: string;
  valueSep: string;
  tail: string;
  /** Written before each value (NDJSON's "field":), or null. */
  keys: readonly string[] | null;
  json: boolean;
}

/** The engine of the text formats: fills byte buffers of about `chunkBytes` and yields each when full. */
function* textChunks(t: FrameTable, l: Layout, chunkBytes: number): Generator<Uint8Array> {
  const put = putter(t.dtype, l.json);
  const d = t.data as ArrayLike<number>;
  const stride = t.fields.length;
  const cols = t.columns;
  const ncols = cols.length;
  const enc = (s: string) => Buffer.from(s, 'utf8');
  const [head, rowOpen, rowClose, rowSep, valueSep, tail] = [l.head, l.rowOpen, l.rowClose, l.rowSep, l.valueSep, l.tail].map(enc);
  const keys = l.keys ? l.keys.map(enc) : null;
  const piece = Math.max(head.length, tail.length) + SLACK;
  // A whole agent always fits between `limit` and the end of a buffer, so the per-value loop
  // (fillRows) needs no bounds checks and no yield.
  const row = rowOpen.length + rowClose.length + rowSep.length + ncols * (MAX_VALUE + valueSep.length + (keys ?? []).reduce((m, k) => Math.max(m, k.length), 0));
  const size = Math.max(chunkBytes, 2 * (row + piece));
  const limit = size - row - piece;
  const fill: Fill = { buf: Buffer.allocUnsafe(size), pos: 0 };
  fill.pos = copyBytes(fill.buf, 0, head);
  for (let r = t.rowStart; r < t.rowEnd; ) {
    r = fillRows(fill, limit, r, t.rowEnd, t.rowStart, d, stride, cols, put, rowOpen, rowClose, rowSep, valueSep, keys);
    if (fill.pos > limit) {
      yield fill.buf.subarray(0, fill.pos);
      fill.buf = Buffer.allocUnsafe(size);
      fill.pos = 0;
    }
  }
  fill.pos = copyBytes(fill.buf, fill.pos, tail);
  if (fill.pos) yield fill.buf.subarray(0, fill.pos);
}

interface Fill {
  buf: Uint8Array;
  pos: number;
}

/** The longest value any element type prints as, JSON quotes included. */
const MAX_VALUE = 26;

/** Agents from r on, until the buffer passes `limit` or the rows end; returns the next agent. */
function fillRows(
  fill: Fill, limit: number, r: number, rowEnd: number, rowStart: number, d: ArrayLike<number>, stride: number,
  cols: readonly number[], put: Put, rowOpen: Uint8Array, rowClose: Uint8Array, rowSep: Uint8Array,
  valueSep: Uint8Array, keys: Uint8Array[] | null,
): number {
  const buf = fill.buf;
  let pos = fill.pos;
  const ncols = cols.length;
  const sep1 = valueSep.length === 1 && keys === null ? valueSep[0] : -1;
  const f32 = put === putFloat32;
  for (; r < rowEnd && pos <= limit; r++) {
    const base = r * stride;
    if (r !== rowStart) pos = copyBytes(buf, pos, rowSep);
    pos = copyBytes(buf, pos, rowOpen);
    for (let j = 0; j < ncols; j++) {
      if (sep1 >= 0) {
        if (j !== 0) buf[pos++] = sep1;
      } else {
        if (j !== 0) pos = copyBytes(buf, pos, valueSep);
        if (keys !== null) pos = copyBytes(buf, pos, keys[j]);
      }
      const x = d[base + cols[j]];
      if (f32) {
        // Small positive integers (ramps, counters, grids) skip the general float32 path.
        const i = x | 0;
        pos = i === x && i > 0 && i < INT24 ? putUint(buf, pos, i) : putFloat32(buf, pos, x);
      } else pos = put(buf, pos, x);
    }
    pos = copyBytes(buf, pos, rowClose);
  }
  fill.pos = pos;
  return r;
}

/** CSV (RFC 4180: CRLF line ends, header row of field names), as byte chunks of about 1 MiB. */
export function csvChunks(t: FrameTable, chunkBytes = CHUNK): Generator<Uint8Array> {
  const head = t.columns.map((c) => csvField(t.fields[c])).join(',') + '\r\n';
  return textChunks(t, { head, rowOpen: '', rowClose: '\r\n', rowSep: '', valueSep: ',', tail: '', keys: null, json: false }, chunkBytes);
}

/**
 * JSON: {"name","dtype","sequence","frames","fields","data":[[...],...]}, one inner array per
 * agent, each on its own line; ends with a newline.
 */
export function jsonChunks(t: FrameTable, chunkBytes = CHUNK): Generator<Uint8Array> {
  const meta = { name: t.name, dtype: t.dtype, sequence: t.sequence, frames: t.frames, fields: t.columns.map((c) => t.fields[c]) };
  const rows = t.rowEnd > t.rowStart;
  const head = JSON.stringify(meta).slice(0, -1) + ',"data":[' + (rows ? '\n' : '');
  return textChunks(t, { head, rowOpen: '[', rowClose: ']', rowSep: ',\n', valueSep: ',', tail: rows ? '\n]}\n' : ']}\n', keys: null, json: true }, chunkBytes);
}

/** NDJSON: one object per agent, keyed by field name, in agent order. */
export function ndjsonChunks(t: FrameTable, chunkBytes = CHUNK): Generator<Uint8Array> {
  const keys = t.columns.map((c) => JSON.stringify(t.fields[c]) + ':');
  return textChunks(t, { head: '', rowOpen: '{', rowClose: '}\n', rowSep: '', valueSep: ',', tail: '', keys, json: true }, chunkBytes);
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

/**
 * A boxed table for people: an "agent" column, then the selected fields, numbers right-aligned.
 * `paint` colours the header (pass identity for no colour). cli-table3 loads only when called.
 */
export function formatTable(t: FrameTable, paint: (s: string) => string = (s) => s): string {
  const require = createRequire(import.meta.url);
  const Table = require('cli-table3') as typeof import('cli-table3');
  const fmt = valueFormatter(t.dtype);
  const d = t.data as ArrayLike<number>;
  const stride = t.fields.length;
  const table = new Table({
    head: ['agent', ...t.columns.map((c) => t.fields[c])].map(paint),
    colAligns: ['right', ...t.columns.map(() => 'right' as const)],
    // cli-table3 colours through @colors/colors, which ignores NO_COLOR: colour is ours to apply.
    style: { head: [], border: [] },
    // No rule between agents: one line per agent, as in the other formats.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (let r = t.rowStart; r < t.rowEnd; r++) table.push([String(r), ...t.columns.map((c) => fmt(d[r * stride + c]))]);
  return table.toString() + '\n';
}

/**
 * Plain aligned columns (no borders), two spaces apart; the last column is not padded.
 * `paint(text, row, col)` colours a cell after padding, so colour never breaks the alignment.
 */
export function formatColumns(
  rows: readonly (readonly string[])[],
  options: { right?: readonly number[]; paint?: (text: string, row: number, col: number) => string } = {},
): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const right = new Set(options.right ?? []);
  const paint = options.paint ?? ((s) => s);
  return rows
    .map((row, r) =>
      row
        .map((cell, c) => {
          const last = c === row.length - 1;
          const padded = right.has(c) ? cell.padStart(widths[c]) : last ? cell : cell.padEnd(widths[c]);
          return paint(padded, r, c);
        })
        .join('  ')
        .trimEnd() + '\n',
    )
    .join('');
}

/** Bytes for people: 1023 B, 1.5 KiB, 24.0 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
