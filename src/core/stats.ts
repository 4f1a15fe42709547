import type { TypedArray } from './dtypes.js';

export interface FieldStats {
  field: string;
  min: number;
  mean: number;
  max: number;
  /** Population standard deviation. */
  std: number;
  /** NaN and ±Infinity elements, left out of the figures above. */
  nonFinite: number;
}

/**
 * Per-field min/mean/max/std of one agent-major frame (rows × fields.length). Welford's update
 * keeps the std exact for large offsets. Fields with no finite value get NaN figures.
 */
export function fieldStats(data: TypedArray | ArrayLike<number>, fields: readonly string[]): FieldStats[] {
  const cols = fields.length;
  if (cols === 0) return [];
  const rows = Math.floor(data.length / cols);
  const bigint = typeof (data as ArrayLike<unknown>)[0] === 'bigint';
  const out: FieldStats[] = [];
  for (let c = 0; c < cols; c++) {
    let n = 0, mean = 0, m2 = 0, min = Infinity, max = -Infinity, nonFinite = 0;
    for (let r = 0; r < rows; r++) {
      const raw = (data as ArrayLike<number | bigint>)[r * cols + c];
      const x = bigint ? Number(raw) : (raw as number);
      if (!Number.isFinite(x)) {
        nonFinite++;
        continue;
      }
      n++;
      const d = x - mean;
      mean += d / n;
      m2 += d * (x - mean);
      if (x < min) min = x;
      if (x > max) max = x;
    }
    out.push(
      n === 0
        ? { field: fields[c], min: NaN, mean: NaN, max: NaN, std: NaN, nonFinite }
        : { field: fields[c], min, mean, max, std: Math.sqrt(m2 / n), nonFinite },
    );
  }
  return out;
}

export interface Rate {
  /** Frames published per second by the writer, over the meter's window. */
  framesPerSec: number;
  /** framesPerSec × the frame's size, in 10^6 bytes per second. */
  mbPerSec: number;
}

/**
 * The writer's true rate, from its frame counter sampled over wall time (not the redraw rate).
 * Keeps samples over a sliding window; a counter that goes backwards (a new segment) restarts it.
 */
export class RateMeter {
  readonly windowMs: number;
  #samples: { t: number; frames: number }[] = [];

  constructor(windowMs = 2000) {
    this.windowMs = windowMs;
  }

  /** Add a sample of the frame counter at time `t` (ms). */
  sample(t: number, frames: number): void {
    const s = this.#samples;
    if (s.length > 0 && frames < s[s.length - 1].frames) s.length = 0;
    s.push({ t, frames });
    // Keep one sample older than the window so the window is always covered.
    while (s.length > 2 && t - s[1].t >= this.windowMs) s.shift();
  }

  reset(): void {
    this.#samples.length = 0;
  }

  /** null until two samples span some time. */
  rate(frameBytes: number): Rate | null {
    const s = this.#samples;
    if (s.length < 2) return null;
    const a = s[0], b = s[s.length - 1];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) return null;
    const framesPerSec = (b.frames - a.frames) / dt;
    return { framesPerSec, mbPerSec: (framesPerSec * frameBytes) / 1e6 };
  }
}

/** The frame period over a window, as `ros2 topic hz` gives it (ms; std is the population's). */
export interface PeriodStats {
  meanMs: number;
  minMs: number;
  maxMs: number;
  stdMs: number;
  /** Periods in the window: pairs of consecutive frames both seen. */
  samples: number;
}

/** What a FrameClock says at one instant. */
export interface ClockReading {
  /** Frames published per second over the last window; 0 once none came in it; null before anything can be said. */
  framesPerSec: number | null;
  period: PeriodStats | null;
  /** Frames seen one by one since the clock started. */
  seen: number;
  /** Frames the counter says were published but were overwritten before they could be seen; null without a counter. */
  missed: number | null;
}

/**
 * Times the frames a watcher sees, from the writer's own publication times: the rate over the
 * last window, the period between consecutive frames (mean/min/max/std), and the frames the
 * frame counter says went by unseen. Fed by observe(); with `counted` false (raw objects, which
 * have no counter) each call with a higher `frames` is one frame and nothing counts as missed.
 */
export class FrameClock {
  readonly windowMs: number;
  readonly counted: boolean;
  #start: { t: number; frames: number } | null = null;
  #last: { t: number; frames: number } | null = null;
  /** Frames seen in the window (and the last one before it, the window's baseline). */
  #events: { t: number; frames: number }[] = [];
  #periods: { t: number; dt: number }[] = [];
  #seen = 0;
  #missed = 0;

  constructor(windowMs = 2000, counted = true) {
    this.windowMs = windowMs;
    this.counted = counted;
  }

  reset(): void {
    this.#start = this.#last = null;
    this.#events = [];
    this.#periods = [];
  }

  /**
   * A look at the writer's counter at `now`: `frames` published so far, the last of them at
   * `writeTime` (ms since the epoch; the writer's clock, or `now` when unknown).
   */
  observe(now: number, frames: number, writeTime: number | null): void {
    const t = writeTime ?? now;
    if (this.#last && frames < this.#last.frames) this.reset();
    if (!this.#last) {
      // What was published before the watcher came is neither seen nor missed.
      this.#start = { t: now, frames };
      this.#last = { t, frames };
      this.#trim(now);
      return;
    }
    const delta = frames - this.#last.frames;
    if (delta > 0) {
      if (delta === 1) this.#periods.push({ t, dt: t - this.#last.t });
      else if (this.counted) this.#missed += delta - 1;
      this.#seen++;
      this.#last = { t, frames };
      this.#events.push(this.#last);
    }
    this.#trim(now);
  }

  #trim(now: number): void {
    const cutoff = now - this.windowMs;
    const e = this.#events;
    while (e.length > 1 && e[1].t <= cutoff) e.shift();
    while (this.#periods.length > 0 && this.#periods[0].t <= cutoff) this.#periods.shift();
  }

  /** The rate and period over the window ending at `now`. */
  read(now: number): ClockReading {
    this.#trim(now);
    const base = { seen: this.#seen, missed: this.counted ? this.#missed : null };
    if (!this.#start || !this.#last) return { framesPerSec: null, period: null, ...base };
    const cutoff = now - this.windowMs;
    // Frames published after the cutoff, counted from the last frame before it (or the watcher's start).
    const first = this.#events[0];
    const from = first && first.t <= cutoff ? first : this.#events.find((x) => x.t > cutoff) ? this.#start : this.#last;
    const since = Math.max(cutoff, this.#start.t);
    const span = now - since;
    const framesPerSec = span < 50 ? null : ((this.#last.frames - from.frames) * 1000) / Math.max(span, 1);
    return { framesPerSec, period: periodStats(this.#periods.map((p) => p.dt)), ...base };
  }
}

function periodStats(dts: readonly number[]): PeriodStats | null {
  if (dts.length === 0) return null;
  let sum = 0, min = Infinity, max = -Infinity;
  for (const d of dts) {
    sum += d;
    if (d < min) min = d;
    if (d > max) max = d;
  }
  const mean = sum / dts.length;
  let ss = 0;
  for (const d of dts) ss += (d - mean) ** 2;
  return { meanMs: mean, minMs: min, maxMs: max, stdMs: Math.sqrt(ss / dts.length), samples: dts.length };
}

/** A cheap 32-bit hash of a frame's bytes (FNV-1a over 32-bit words): a changed hash is a new frame in raw mode. */
export function frameHash(data: ArrayBufferView): number {
  const bytes = data.byteLength;
  const words = new Int32Array(data.buffer, data.byteOffset, bytes >> 2 === 0 || data.byteOffset % 4 !== 0 ? 0 : bytes >> 2);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  const u8 = new Uint8Array(data.buffer, data.byteOffset, bytes);
  for (let i = words.length * 4; i < bytes; i++) h = Math.imul(h ^ u8[i], 0x01000193);
  return h >>> 0;
}
