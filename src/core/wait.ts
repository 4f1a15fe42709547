import { watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { ShmswarmError, isShmswarmError } from './errors.js';
import type { RawOptions } from './raw.js';
import { Segment, SHM_DIR } from './segment.js';
import { openFrameSource, type FrameSource } from './source.js';

export interface WaitOptions {
  /** Give up after this many ms (default 10 000). */
  timeoutMs?: number;
  /** Also wait for this many frames to be written (default 0). Not for raw objects. */
  frames?: number;
  /** Wait for a raw matrix (no header) instead of a segment. */
  raw?: RawOptions;
  /** Longest sleep between attempts when inotify says nothing (default 100 ms). */
  pollMs?: number;
}

export interface WaitResult {
  name: string;
  kind: FrameSource['kind'];
  rows: number;
  cols: number;
  dtype: string;
  /** ms from the call to success. */
  elapsedMs: number;
  /** Frames counted towards `frames` (0 without it). */
  newFrames: number;
  /** The segment's frames counter at the end (0 for raw and plain WA-1 objects). */
  frames: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_POLL_MS = 100;
/** A segment being created is initialised within microseconds; poll it quickly at first. */
const UNINIT_FIRST_POLL_MS = 2;
/** Slice of a frame wait after which we look whether the name was re-created under us. */
const FRAME_WAIT_SLICE_MS = 250;

function checkCount(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw new RangeError(`${what} must be a whole number from 0 to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

/** Errors that mean "not there yet": the name is missing, or its creator has not finished. */
function notReadyYet(e: unknown, raw: boolean): boolean {
  if (!isShmswarmError(e)) return false;
  if (e.code === 'ENOENT' || e.code === 'EUNINIT') return true;
  // A raw object is sized by its creator after shm_open: too small may still grow.
  return raw && e.code === 'ETRUNCATED';
}

/**
 * Wakes a sleeper when /dev/shm changes (inotify through fs.watch). A bounded poll backs it up,
 * so a missing inotify (watch limit reached, another platform) only makes waiting coarser.
 */
class DirWaker {
  #watcher: FSWatcher | null = null;
  #wake: (() => void) | null = null;

  constructor(file: string) {
    try {
      this.#watcher = watch(SHM_DIR, { persistent: false }, (_event, changed) => {
        if (changed === null || changed === file) this.#wake?.();
      });
      this.#watcher.on('error', () => this.close());
    } catch {
      this.#watcher = null;
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }
}

function openOnce(name: string, raw: RawOptions | undefined): FrameSource {
  if (raw) return openFrameSource(name, { raw });
  // initWaitMs 0: the retry loop below waits without blocking the thread.
  return Segment.open(name, { readonly: true, initWaitMs: 0 });
}

function timedOut(name: string, timeoutMs: number, why: string): ShmswarmError {
  return new ShmswarmError(`timed out after ${formatSeconds(timeoutMs)}: ${why}`, 'ETIMEDOUT', { segment: name, syscall: 'wait', reason: 'not-ready' });
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 2 : 1)} s`;
}

async function openWhenReady(name: string, raw: RawOptions | undefined, deadline: number, pollMs: number, timeoutMs: number): Promise<{ source: FrameSource; existedAtStart: boolean }> {
  const waker = new DirWaker(basename(name));
  let existedAtStart: boolean | null = null;
  let uninitPoll = UNINIT_FIRST_POLL_MS;
  try {
    for (;;) {
      let last: unknown;
      try {
        const source = openOnce(name, raw);
        return { source, existedAtStart: existedAtStart ?? true };
      } catch (e) {
        if (!notReadyYet(e, raw !== undefined)) throw e;
        last = e;
      }
      const missing = isShmswarmError(last, 'ENOENT');
      existedAtStart ??= !missing;
      const left = deadline - Date.now();
      if (left <= 0) {
        const why = missing
          ? raw
            ? (last as Error).message
            : `segment ${name} does not exist`
          : isShmswarmError(last, 'EUNINIT')
            ? `${name} exists but is not initialised (its creator is still creating it, or died doing so)`
            : `${name} is not ready: ${(last as Error).message}`;
        throw timedOut(name, timeoutMs, why);
      }
      if (missing) {
        uninitPoll = UNINIT_FIRST_POLL_MS;
        await waker.sleep(Math.min(pollMs, left));
      } else {
        // Writes through a mapping raise no inotify event: poll, backing off to pollMs.
        await waker.sleep(Math.min(uninitPoll, left));
        uninitPoll = Math.min(uninitPoll * 2, pollMs);
      }
    }
  } finally {
    waker.close();
  }
}

/**
 * Resolve once `name` exists and is initialised and, with `frames`, once that many more frames
 * were written (counted from the call; from the segment's creation when it did not exist yet).
 * Sleeps on inotify and the segment's futex, never spins. Rejects with code ETIMEDOUT and a
 * reason at the deadline; with other errors (not a segment, no permission) at once.
 */
export async function waitForSegment(name: string, options: WaitOptions = {}): Promise<WaitResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs > 1e12)
    throw new RangeError(`timeout must be a number of ms >= 0, got ${JSON.stringify(timeoutMs)}`);
  const wanted = checkCount(options.frames ?? 0, 'frames', Number.MAX_SAFE_INTEGER);
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  if (!(pollMs > 0)) throw new RangeError('pollMs must be > 0');
  if (options.raw && wanted > 0)
    throw new TypeError('a raw object has no frame counter: frames cannot be counted in raw mode');
  const deadline = started + timeoutMs;

  let { source, existedAtStart } = await openWhenReady(name, options.raw, deadline, pollMs, timeoutMs);
  try {
    let counted = 0;
    if (wanted > 0) {
      if (!(source instanceof Segment) || source.kind !== 'shmswarm')
        throw new ShmswarmError(`${name} is a plain WA-1 object without a frame counter: its frames cannot be counted`, 'ENOTSYNC', { segment: name });
      let seg: Segment = source;
      let state = seg.info();
      let base = existedAtStart ? state.frames : 0;
      for (;;) {
        counted = Math.max(counted, state.frames - base);
        if (counted >= wanted) break;
        const left = deadline - Date.now();
        if (left <= 0) {
          const writer = state.writerPid === null ? 'no writer has written to it'
            : state.writerAlive ? `writer pid ${state.writerPid} is running` : `writer pid ${state.writerPid} is not running`;
          throw timedOut(name, timeoutMs, `${counted} of ${wanted} new frames written to ${name} (${writer})`);
        }
        try {
          await seg.waitForFrame(state.sequence, { timeoutMs: Math.min(left, FRAME_WAIT_SLICE_MS) });
        } catch (e) {
          if (!isShmswarmError(e, 'ETIMEDOUT')) throw e;
          // A restarted writer may have re-created the name: our futex will never ring again.
          if (seg.nameStatus() !== 'same') {
            const carried = counted;
            seg.close();
            ({ source } = await openWhenReady(name, undefined, deadline, pollMs, timeoutMs));
            if (!(source instanceof Segment) || source.kind !== 'shmswarm')
              throw new ShmswarmError(`${name} was re-created as a plain WA-1 object without a frame counter`, 'ENOTSYNC', { segment: name });
            seg = source;
            // Frames of the new object count from its creation, on top of those already seen.
            base = -carried;
          }
        }
        state = seg.info();
      }
    }
    const info = source.kind === 'raw' ? null : source.info();
    return {
      name,
      kind: source.kind,
      rows: source.rows,
      cols: source.cols,
      dtype: source.dtype,
      elapsedMs: Date.now() - started,
      newFrames: counted,
      frames: info?.frames ?? 0,
    };
  } finally {
    source.close();
  }
}
