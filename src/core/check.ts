import { parseDtype, type TypedArray } from './dtypes.js';
import { isShmswarmError } from './errors.js';
import { parseFields } from './names.js';
import { parseShape } from './raw.js';
import { Segment, allocFrame, type NameStatus } from './segment.js';
import type { FrameSource } from './source.js';

/** A field that must stay inside [min, max]; ±Infinity for an open end. */
export interface RangeSpec {
  field: string;
  min: number;
  max: number;
}

export interface CheckOptions {
  /** Expected rows × cols: [rows, cols] or "300x3". */
  shape?: string | readonly [number, number];
  /** Expected element type. */
  dtype?: string;
  /** Expected field names, in order. */
  fields?: string | readonly string[];
  /** Frames per second the writer must reach over the window, from the frames counter. */
  minRate?: number;
  /** Length of the observation window in ms (default 2000). */
  windowMs?: number;
  /** Every value of every frame read is finite (no NaN, no ±Inf). */
  finite?: boolean;
  /** Fields whose every value must lie inside a range: RangeSpec or "z:-1:1". */
  ranges?: ReadonlyArray<RangeSpec | string>;
  /** The last writer recorded in the header is still running. */
  writerAlive?: boolean;
  /** No frame read in the window (the latest included) is flagged torn: frames arrive whole. */
  notTorn?: boolean;
  /** Sampling interval for sources without a frame counter (raw, plain WA-1); default 100 ms. */
  pollMs?: number;
}

/** One checked property; `expected` and `measured` are JSON values (null for an open range end). */
export interface Assertion {
  name: string;
  ok: boolean;
  expected: unknown;
  measured: unknown;
  /** One line for people: what was measured, and against what when it failed. */
  message: string;
}

export interface CheckReport {
  name: string;
  kind: FrameSource['kind'];
  rows: number;
  cols: number;
  dtype: string;
  fields: string[];
  /** Measured length of the observation window in ms; null when no assertion needed one. */
  windowMs: number | null;
  /** Frames copied and scanned during the window. */
  framesRead: number;
  /** Whether the name still pointed at the same object at the end ('replaced' after a re-create). */
  nameStatus: NameStatus | null;
  assertions: Assertion[];
  ok: boolean;
}

const DEFAULT_WINDOW_MS = 2000;
const DEFAULT_POLL_MS = 100;

function parseBound(text: string, open: number, what: string, spec: string): number {
  const t = text.trim().toLowerCase();
  if (t === '') return open;
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  const n = Number(t);
  if (!Number.isFinite(n) || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t))
    throw new RangeError(`range "${spec}": ${what} "${text}" is not a number (use -inf or inf for no bound)`);
  return n;
}

/**
 * "<field>:<min>:<max>" → RangeSpec. min and max may be negative, -inf/inf, or empty for no
 * bound; the field is everything before the last two colons, so field names may hold colons.
 */
export function parseRange(spec: string): RangeSpec {
  const parts = String(spec).split(':');
  if (parts.length < 3 || parts.slice(0, -2).join(':') === '')
    throw new RangeError(`range "${spec}" is not <field>:<min>:<max>, e.g. z:-1:1 or x:0:inf`);
  const field = parts.slice(0, -2).join(':');
  const min = parseBound(parts[parts.length - 2], -Infinity, 'min', spec);
  const max = parseBound(parts[parts.length - 1], Infinity, 'max', spec);
  if (min > max) throw new RangeError(`range "${spec}" (field "${field}"): min ${fmt(min)} is larger than max ${fmt(max)}`);
  return { field, min, max };
}

/** Compact number text: 6 significant digits, inf/-inf/NaN spelled out. */
export function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  return String(Number(n.toPrecision(6)));
}

const jsonBound = (n: number): number | null => (Number.isFinite(n) ? n : null);

interface Location {
  /** The frames counter of the frame (sample number for sources without one). */
  frame: number;
  agent: number;
  field: string;
  /** Text, because JSON has no NaN or Infinity. */
  value: string;
}

interface RangeStats {
  spec: RangeSpec;
  col: number;
  values: number;
  outside: number;
  min: number;
  max: number;
  first: Location | null;
}

/** What the frames of a window held, accumulated by scanFrame. */
export interface ValueStats {
  frames: number;
  values: number;
  nonFinite: number;
  firstNonFinite: Location | null;
  ranges: RangeStats[];
}

/** Empty stats for the given ranges (field names resolved against `fields`). */
export function newValueStats(ranges: readonly RangeSpec[], fields: readonly string[]): ValueStats {
  return {
    frames: 0,
    values: 0,
    nonFinite: 0,
    firstNonFinite: null,
    ranges: ranges.map((spec) => {
      const col = fields.indexOf(spec.field);
      if (col < 0) throw new RangeError(`unknown field "${spec.field}" in range; valid fields: ${fields.join(', ')}`);
      return { spec, col, values: 0, outside: 0, min: Infinity, max: -Infinity, first: null };
    }),
  };
}

/**
 * Add one agent-major frame to `stats`: non-finite values when `finite`, and each range's
 * min, max and values outside (NaN counts as outside). Pure apart from updating `stats`.
 */
export function scanFrame(stats: ValueStats, data: TypedArray, cols: number, fields: readonly string[], frame: number, finite: boolean): void {
  const values: ArrayLike<number> =
    data instanceof BigInt64Array || data instanceof BigUint64Array ? Float64Array.from(data, Number) : (data as ArrayLike<number>);
  const n = values.length;
  stats.frames++;
  stats.values += n;
  // Integer types cannot hold NaN or Inf.
  if (finite && (data instanceof Float32Array || data instanceof Float64Array)) {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v - v !== 0) {
        if (stats.nonFinite++ === 0)
          stats.firstNonFinite = { frame, agent: Math.floor(i / cols), field: fields[i % cols], value: fmt(v) };
      }
    }
  }
  for (const r of stats.ranges) {
    const { min, max } = r.spec;
    let lo = r.min;
    let hi = r.max;
    for (let i = r.col; i < n; i += cols) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (!(v >= min && v <= max) && r.outside++ === 0)
        r.first = { frame, agent: Math.floor(i / cols), field: r.spec.field, value: fmt(v) };
    }
    r.min = lo;
    r.max = hi;
    r.values += Math.ceil((n - r.col) / cols);
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function compare(name: string, expected: unknown, measured: unknown, show: (v: unknown) => string, same: boolean): Assertion {
  return {
    name,
    ok: same,
    expected,
    measured,
    message: same ? show(measured) : `measured ${show(measured)}, expected ${show(expected)}`,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

interface Window {
  elapsedMs: number;
  /** Frames counter at the start and the end; null without a counter. */
  framesBefore: number | null;
  framesAfter: number | null;
}

/**
 * Watch the source for `windowMs`. With `onFrame`, copy each new frame once (lock-free, with the
 * core's bounded fallback) and hand it over; the current frame counts as the first. Segments
 * are waited on through their futex; sources without a counter are sampled every `pollMs`.
 */
async function observe(source: FrameSource, windowMs: number, pollMs: number, onFrame: ((data: TypedArray, frame: number, torn: boolean) => void) | null): Promise<Window> {
  const seg = source instanceof Segment && source.kind === 'shmswarm' ? source : null;
  const t0 = performance.now();
  const before = seg ? seg.info() : null;
  const deadline = t0 + windowMs;
  const buf = onFrame ? allocFrame(parseDtype(source.dtype), source.rows * source.cols) : null;
  if (!onFrame) {
    await sleep(windowMs);
  } else if (seg && before) {
    let since = before.sequence;
    if (before.frames > 0) {
      const f = await seg.readFrameAsync({ into: buf! });
      if (f) {
        since = f.sequence;
        onFrame(f.data, f.frames, f.torn);
      }
    }
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      try {
        await seg.waitForFrame(since, { timeoutMs: left });
      } catch (e) {
        if (isShmswarmError(e, 'ETIMEDOUT')) break;
        throw e;
      }
      const f = await seg.readFrameAsync({ into: buf!, since });
      if (f) {
        since = f.sequence;
        onFrame(f.data, f.frames, f.torn);
      }
    }
  } else {
    // A raw handle numbers distinct contents, so `since` skips a matrix seen already.
    let since: number | undefined;
    for (let sample = 1; ; sample++) {
      const f = await source.readFrameAsync({ into: buf!, since });
      if (f) {
        if (source.kind === 'raw') since = f.sequence;
        onFrame(f.data, sample, f.torn);
      }
      const left = deadline - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(pollMs, left));
    }
  }
  const after = seg ? seg.info() : null;
  return { elapsedMs: performance.now() - t0, framesBefore: before?.frames ?? null, framesAfter: after?.frames ?? null };
}

/**
 * Check `source` against every assertion given in `options`: the header's shape, dtype and
 * fields, then — over a window of live frames — the frame rate, finiteness and ranges, and
 * last whether the writer is alive. Returns plain data (nothing printed). Throws TypeError or
 * RangeError for bad options (unknown range field, nothing to check, a rate for a raw object)
 * before it starts the window; ShmswarmError for a failing read.
 */
export async function collectCheck(source: FrameSource, options: CheckOptions = {}): Promise<CheckReport> {
  const o = options;
  const shape = o.shape === undefined ? null : parseShape(o.shape);
  const dtype = o.dtype === undefined ? null : parseDtype(o.dtype).name;
  const fields = o.fields === undefined ? null : parseFields(o.fields);
  const columns = [...source.fields];
  const ranges = (o.ranges ?? []).map((r) => (typeof r === 'string' ? parseRange(r) : r));
  const windowMs = o.windowMs ?? DEFAULT_WINDOW_MS;
  if (typeof windowMs !== 'number' || !(windowMs > 0) || windowMs > 1e9)
    throw new RangeError(`window must be a number of ms > 0 and at most 1e9, got ${JSON.stringify(windowMs)}`);
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  if (!(pollMs > 0)) throw new RangeError('pollMs must be > 0');
  if (o.minRate !== undefined && (typeof o.minRate !== 'number' || !(o.minRate >= 0) || !Number.isFinite(o.minRate)))
    throw new RangeError(`minimum rate must be a number of Hz >= 0, got ${JSON.stringify(o.minRate)}`);
  if (source.kind === 'raw' && o.minRate !== undefined)
    throw new TypeError('a raw object has no frame counter: its frame rate cannot be measured');
  if (source.kind === 'raw' && o.writerAlive)
    throw new TypeError('a raw object records no writer: writer-alive cannot be checked');
  const stats = newValueStats(ranges, columns);
  const wantValues = o.finite === true || ranges.length > 0;
  const wantFrames = wantValues || o.notTorn === true;
  const wantWindow = wantFrames || o.minRate !== undefined;
  if (!shape && !dtype && !fields && !wantWindow && !o.writerAlive)
    throw new TypeError('nothing to check: give at least one of shape, dtype, fields, minRate, finite, ranges, writerAlive, notTorn');

  const assertions: Assertion[] = [];
  if (shape) {
    const measured = { rows: source.rows, cols: source.cols };
    assertions.push(compare('shape', { rows: shape[0], cols: shape[1] }, measured,
      (v) => `${(v as typeof measured).rows}x${(v as typeof measured).cols}`,
      shape[0] === source.rows && shape[1] === source.cols));
  }
  if (dtype) assertions.push(compare('dtype', dtype, source.dtype, String, dtype === source.dtype));
  if (fields) {
    const named = source.kind === 'shmswarm' ? source.info().fieldsNamed : false;
    const same = fields.length === source.fields.length && fields.every((f, i) => f === source.fields[i]);
    const a = compare('fields', fields, [...source.fields], (v) => (v as string[]).join(','), same);
    if (!same && !named) a.message += ' (the segment names no fields)';
    assertions.push(a);
  }

  let win: Window | null = null;
  let torns = 0;
  let firstTorn: number | null = null;
  if (wantWindow) {
    win = await observe(source, windowMs, pollMs, wantFrames
      ? (data, frame, torn) => {
          if (wantValues) scanFrame(stats, data, source.cols, columns, frame, o.finite === true);
          else stats.frames++;
          if (torn) {
            torns++;
            firstTorn ??= frame;
          }
        }
      : null);
  }
  const seconds = win ? win.elapsedMs / 1000 : 0;
  const over = `${plural(stats.frames, 'frame')} read in ${seconds.toFixed(2)} s`;

  if (o.minRate !== undefined && win) {
    if (win.framesBefore === null || win.framesAfter === null) {
      assertions.push({ name: 'min-rate', ok: false, expected: o.minRate, measured: null,
        message: `${source.name} is a plain WA-1 object without a frame counter; its rate cannot be measured` });
    } else {
      const written = Math.max(0, win.framesAfter - win.framesBefore);
      const rate = written / seconds;
      const ok = rate >= o.minRate;
      assertions.push({ name: 'min-rate', ok, expected: o.minRate, measured: Number(rate.toFixed(3)),
        message: `${rate.toFixed(2)} Hz ${ok ? '>=' : '<'} ${fmt(o.minRate)} Hz (${plural(written, 'frame')} written in ${seconds.toFixed(2)} s)` });
    }
  }
  const noFrame = stats.frames === 0
    ? (source.kind === 'shmswarm' ? `no frame has been written to ${source.name}` : `no frame could be read from ${source.name}`)
    : null;
  if (o.finite) {
    const first = stats.firstNonFinite;
    const ok = noFrame === null && stats.nonFinite === 0;
    assertions.push({
      name: 'finite',
      ok,
      expected: { nonFinite: 0 },
      measured: { values: stats.values, frames: stats.frames, nonFinite: stats.nonFinite, first },
      message: noFrame ?? (ok
        ? `all ${stats.values} values finite (${over})`
        : `${stats.nonFinite} of ${stats.values} values not finite (${over}); first: ${first!.value} at agent ${first!.agent} field ${first!.field} in frame ${first!.frame}`),
    });
  }
  if (o.notTorn) {
    const ok = noFrame === null && torns === 0;
    assertions.push({
      name: 'no-torn',
      ok,
      expected: { torn: 0 },
      measured: { frames: stats.frames, torn: torns, first: firstTorn },
      message: noFrame ?? (ok
        ? `no torn frame (${over})`
        : `${torns} of ${plural(stats.frames, 'frame')} torn, left half-written by a writer that died mid-frame (${over}); first: frame ${firstTorn}`),
    });
  }
  for (const r of stats.ranges) {
    const { min, max, field } = r.spec;
    const ok = noFrame === null && r.outside === 0;
    const bounds = `[${fmt(min)}, ${fmt(max)}]`;
    const seen = r.min <= r.max ? `measured ${fmt(r.min)} .. ${fmt(r.max)}` : 'no comparable value';
    assertions.push({
      name: `range:${field}`,
      ok,
      expected: { min: jsonBound(min), max: jsonBound(max) },
      measured: {
        min: r.min <= r.max ? jsonBound(r.min) : null,
        max: r.min <= r.max ? jsonBound(r.max) : null,
        values: r.values,
        outside: r.outside,
        first: r.first,
      },
      message: noFrame ?? (ok
        ? `${seen}, inside ${bounds} (${over})`
        : `${r.outside} of ${r.values} values outside ${bounds}, ${seen} (${over}); first: ${r.first!.value} at agent ${r.first!.agent} in frame ${r.first!.frame}`),
    });
  }
  const status = source.nameStatus ? source.nameStatus() : null;
  if (o.writerAlive) {
    if (source.kind !== 'shmswarm') {
      assertions.push({ name: 'writer-alive', ok: false, expected: true, measured: null,
        message: `${source.name} is a plain WA-1 object, which records no writer` });
    } else {
      const i = source.info();
      const ok = i.writerPid !== null && i.writerAlive;
      let message = i.writerPid === null ? `no writer has written to ${source.name}`
        : `writer pid ${i.writerPid} is ${i.writerAlive ? 'running' : 'not running'}`;
      if (status === 'replaced') message += ` (${source.name} was re-created meanwhile)`;
      else if (status === 'gone') message += ` (${source.name} was unlinked meanwhile)`;
      assertions.push({ name: 'writer-alive', ok, expected: true, measured: { pid: i.writerPid, alive: i.writerAlive }, message });
    }
  }

  return {
    name: source.name,
    kind: source.kind,
    rows: source.rows,
    cols: source.cols,
    dtype: source.dtype,
    fields: [...source.fields],
    windowMs: win ? Math.round(win.elapsedMs) : null,
    framesRead: stats.frames,
    nameStatus: status,
    assertions,
    ok: assertions.every((a) => a.ok),
  };
}
