import { native } from './binding.js';
import { ShmswarmError, isShmswarmError } from './errors.js';

/*
 * The TypeScript side's timing rules, each named once. The C core's (how long a lock-free
 * reader spins, how soon a pending wait notices close()) are in include/shmswarm.h.
 */

/** waitForFrame polls this long for the next frame while it is being written, before waiting. */
export const NEXT_FRAME_POLL_MS = 0.05;
/**
 * The kernel scheduler slice waitForFrame's `lowLatency` asks for: with the default (about
 * 3 ms) a woken waiter waits for the task running on its CPU, often the writer, to yield first.
 */
export const LOW_LATENCY_SCHED_SLICE_NS = 100_000;
let sliceAsked = false;
/**
 * The calling thread gets the LOW_LATENCY_SCHED_SLICE_NS slice (once per process: the main
 * thread's), so that a wake-up preempts; nothing where there are no per-thread slices (kernel
 * before 6.12, not Linux).
 */
export function askLowLatencySlice(): void {
  if (sliceAsked) return;
  sliceAsked = true;
  try {
    native().setWakeSlice(LOW_LATENCY_SCHED_SLICE_NS);
  } catch {
    // No per-thread slices here: run with the default one.
  }
}
/** The longest single native wait behind an asynchronous wait (see waitInChunks). */
export const WAIT_CHUNK_MS = 500;

/**
 * `read` for waitInChunks, refusing to start another chunk into a destination that was detached
 * or resized meanwhile (the native read refuses it at the end of a chunk with the same words).
 */
export function stayingDestination<R>(data: ArrayBufferView, read: (chunkMs: number) => Promise<R>): (chunkMs: number) => Promise<R> {
  const bytes = data.byteLength;
  return (ms) => {
    if (data.byteLength !== bytes) throw new TypeError('the destination array was detached or resized while the read was pending');
    return read(ms);
  };
}

/**
 * A wait on a worker thread cannot be told that its worker_threads Worker is being terminated
 * (Node runs cleanup hooks only after pending thread work has finished), so terminate() would
 * wait out the whole timeout: long waits go in chunks of at most WAIT_CHUNK_MS, each a fresh
 * `attempt` with the time left, until one ends other than ETIMEDOUT or the time is up.
 * `stopped` (checked between chunks) ends it with ECANCELED, as close() ends a pending chunk.
 */
export async function waitInChunks<R>(timeoutMs: number, attempt: (chunkMs: number) => Promise<R>, stopped: () => ShmswarmError | null): Promise<R> {
  const deadline = performance.now() + timeoutMs;
  let timedOut: unknown = null;
  for (;;) {
    const stop = stopped();
    if (stop) throw stop;
    const left = Math.max(0, deadline - performance.now());
    // Less than a ms left after a chunk that timed out: another attempt would be a 0 ms one,
    // which the native layer reads as "try once" (EBUSY), not as a timeout.
    if (timedOut && left < 1) throw timedOut;
    try {
      return await attempt(Math.min(left, WAIT_CHUNK_MS));
    } catch (e) {
      if (!isShmswarmError(e, 'ETIMEDOUT') || left <= WAIT_CHUNK_MS) throw e;
      timedOut = e;
    }
  }
}
