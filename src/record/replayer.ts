import type { Segment } from '../core/segment.js';
import type { Recording } from './reader.js';
import { allocFrame } from '../core/segment.js';
import { parseDtype } from '../core/dtypes.js';
import { askLowLatencySlice } from '../core/wait-chunks.js';

export interface ReplayOptions {
  /** 1 = as recorded, 2 = twice as fast, 0 = as fast as possible. */
  speed: number;
  /** A fixed rate in frames per second instead of the recorded timing. */
  rate?: number;
  loop?: boolean;
  /** First frame (0-based index in the file). */
  from?: number;
  /** Frames to publish (across loops). */
  frames?: number;
  signal?: AbortSignal;
  /**
   * Run with a short scheduler slice (as waitForFrame's `lowLatency`): a wait that ends preempts
   * instead of queueing behind a busy CPU's task. It changes the calling thread; the `replay`
   * command, which owns its process, turns it on.
   */
  lowLatency?: boolean;
}

export interface ReplayResult {
  published: number;
  seconds: number;
  stoppedBy: 'end' | 'frames' | 'signal';
}

/**
 * A wait ends in three steps: a timer up to COARSE_MS before the due time (a timer fires late by
 * whatever the event loop and the scheduler add, a few ms on a loaded machine), a precise sleep
 * (Atomics.wait) up to SPIN_MS before it, and the clock polled for the rest (a sleep's wake-up is
 * itself late by the scheduler's latency). bench/record.js --only replay measures the intervals.
 */
const COARSE_MS = 8;
const SPIN_MS = 0.4;
const nap = new Int32Array(new SharedArrayBuffer(4));

/** Wait until `due` (performance.now() ms); a signal cuts the timer short. */
async function waitUntil(due: number, signal?: AbortSignal): Promise<void> {
  const left = due - performance.now();
  if (left > COARSE_MS) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, left - COARSE_MS);
      signal?.addEventListener('abort', done, { once: true });
    });
    if (signal?.aborted) return;
  } else {
    // A turn of the event loop between two frames, so that a signal is seen.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const sleep = due - SPIN_MS - performance.now();
  if (sleep > 0) Atomics.wait(nap, 0, 0, sleep);
  while (performance.now() < due) {
    /* the last fraction of a ms: poll the clock */
  }
}

/**
 * Publish a recording's frames into `seg` (made from its header) with the recorded timing,
 * scaled by `speed`, or at a fixed `rate`.
 */
export async function replay(rec: Recording, seg: Segment, o: ReplayOptions): Promise<ReplayResult> {
  if (o.lowLatency) askLowLatencySlice();
  const h = rec.header;
  const from = o.from ?? 0;
  const into = allocFrame(parseDtype(h.dtype), h.rows * h.cols);
  const stamps = rec.stamps;
  const start = performance.now();
  let published = 0;
  // The recorded interval between the last frame and the first again, when looping: the mean one.
  const span = stamps.length > from + 1 ? Number(stamps.at(-1)!.timeNs - stamps[from].timeNs) / 1e6 : 0;
  const meanMs = stamps.length > from + 1 ? span / (stamps.length - from - 1) : 0;
  let passStart = start;
  for (;;) {
    const t0 = stamps[from].timeNs;
    let lastDue = passStart;
    for (const f of rec.frames(from, into)) {
      if (o.signal?.aborted) return { published, seconds: (performance.now() - start) / 1000, stoppedBy: 'signal' };
      let due: number;
      if (o.rate !== undefined) due = start + (published * 1000) / o.rate;
      else if (o.speed === 0) due = 0;
      else due = passStart + Number(f.stamp.timeNs - t0) / 1e6 / o.speed;
      await waitUntil(due, o.signal);
      if (o.signal?.aborted) return { published, seconds: (performance.now() - start) / 1000, stoppedBy: 'signal' };
      seg.writeFrame(f.data);
      published++;
      lastDue = due;
      if (o.frames !== undefined && published >= o.frames) return { published, seconds: (performance.now() - start) / 1000, stoppedBy: 'frames' };
    }
    if (!o.loop) return { published, seconds: (performance.now() - start) / 1000, stoppedBy: 'end' };
    passStart = lastDue + (o.speed > 0 ? meanMs / o.speed : 0);
  }
}
