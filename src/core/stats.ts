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
