/**
 * A drift-free rate schedule: frame n is due at start + n/rate, so late wake-ups and the time
 * spent writing do not accumulate. After a long stall (suspended process, overloaded machine)
 * it re-anchors instead of bursting out every missed frame.
 */
export class RateSchedule {
  readonly rate: number;
  readonly periodMs: number;
  /** How far behind the schedule may fall before it re-anchors. */
  readonly maxLagMs: number;
  #start: number;
  #n = 0;

  /** `rate` in frames per second; 0 means as fast as possible (every frame is due at once). */
  constructor(rate: number, startMs: number, maxLagMs = 1000) {
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a number >= 0, got ${rate}`);
    this.rate = rate;
    this.periodMs = rate > 0 ? 1000 / rate : 0;
    this.maxLagMs = maxLagMs;
    this.#start = startMs;
  }

  /** When frame `n` (counting frames taken so far) is due. */
  get nextDueMs(): number {
    return this.#start + this.#n * this.periodMs;
  }

  /** ms to wait from `nowMs` until the next frame is due (0 when due or late). */
  delayMs(nowMs: number): number {
    if (this.rate === 0) return 0;
    const late = nowMs - this.nextDueMs;
    if (late > this.maxLagMs) {
      this.#start = nowMs - this.#n * this.periodMs;
      return 0;
    }
    return Math.max(0, -late);
  }

  /** Count one frame as taken. */
  advance(): void {
    this.#n++;
  }

  get taken(): number {
    return this.#n;
  }
}
