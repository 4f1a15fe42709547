import { statSync } from 'node:fs';
import { allocFrame, Segment } from '../core/segment.js';
import { parseDtype } from '../core/dtypes.js';
import { isShmswarmError, ShmswarmError } from '../core/errors.js';
import { RateSchedule } from '../core/schedule.js';
import { msToNs, type RecordingHeader } from './layout.js';
import { openFrameWriter, type FrameFileWriter } from './writer.js';

export interface RecordOptions {
  /** The segment to record. */
  name: string;
  path: string;
  format: RecordingHeader['format'];
  /** Replace an existing file. */
  overwrite?: boolean;
  /** Stop after this many frames recorded. */
  frames?: number;
  durationMs?: number;
  /** At most this many frames per second; frames in between are skipped (counted). */
  maxRate?: number;
  /** Stops the recording (Ctrl-C): the file is ended properly. */
  signal?: AbortSignal;
  /**
   * Wait for frames with a short scheduler slice (waitForFrame's `lowLatency`): woken by a new
   * frame, the recorder preempts instead of queueing behind a busy CPU's task. It changes the
   * calling thread; the `record` command, which owns its process, turns it on.
   */
  lowLatency?: boolean;
  version: string;
  /** Called once the segment is open and the file created, before the first frame. */
  onStart?: (header: RecordingHeader) => void;
  /** Called about twice a second with the counts so far. */
  onProgress?: (p: RecordProgress) => void;
}

export interface RecordProgress {
  frames: number;
  bytes: number;
  missed: number;
  skipped: number;
  seconds: number;
}

export interface RecordResult extends RecordProgress {
  header: RecordingHeader;
  stoppedBy: 'frames' | 'duration' | 'signal' | 'removed' | 'replaced';
}

/** Writing the file failed (a full disk): it stays valid up to its first `frames` frames. */
export class RecordWriteError extends Error {
  readonly code = 'EWRITE';
  constructor(readonly path: string, readonly frames: number, override readonly cause: unknown) {
    super(`cannot write ${path}`);
    this.name = 'RecordWriteError';
  }
}

const NAME_CHECK_MS = 500;
const PROGRESS_MS = 500;

/** A turn of the event loop: lets a signal (a macrotask) in between two frames. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Records every frame published to `name` into a new file, each one in the kernel before the
 * next is taken. Frames it could not keep (gaps in the writer's frame counter) are counted as
 * missed. Throws before creating the file when the segment cannot be opened; a write failure
 * (a full disk) throws after leaving the file valid up to its last whole frame.
 */
export async function record(o: RecordOptions): Promise<RecordResult> {
  const seg = Segment.open(o.name, { readonly: true });
  let writer: FrameFileWriter | undefined;
  try {
    if (seg.kind !== 'shmswarm')
      throw new ShmswarmError(`${o.name} is a plain WA-1 array: it has no frame counter to record frames by`, 'EINCOMPATIBLE', { segment: o.name });
    const header: RecordingHeader = {
      format: o.format, source: o.name, rows: seg.rows, cols: seg.cols, dtype: seg.dtype, fields: [...seg.fields],
      version: o.version, startedMs: Date.now(),
    };
    writer = await openFrameWriter({ path: o.path, overwrite: o.overwrite === true, header });
    o.onStart?.(header);
    // 64-byte aligned: copies into a misaligned destination were many times slower (FIELD-NOTES).
    const buf = allocFrame(parseDtype(seg.dtype), seg.length);
    const start = performance.now();
    const schedule = o.maxRate ? new RateSchedule(o.maxRate, start) : null;
    let seen = -1;
    let lastFrame = -1;
    let frames = 0;
    let missed = 0;
    let skipped = 0;
    let nextCheck = start + NAME_CHECK_MS;
    let nextProgress = start + PROGRESS_MS;
    let stoppedBy: RecordResult['stoppedBy'] | null = null;
    const progress = (): RecordProgress => ({ frames, bytes: writer!.bytes, missed, skipped, seconds: (performance.now() - start) / 1000 });
    const endAt = o.durationMs === undefined ? Infinity : start + o.durationMs;

    while (stoppedBy === null) {
      if (o.signal?.aborted) {
        stoppedBy = 'signal';
        break;
      }
      const now = performance.now();
      if (now >= endAt) {
        stoppedBy = 'duration';
        break;
      }
      if (now >= nextCheck) {
        nextCheck = now + NAME_CHECK_MS;
        const status = seg.nameStatus();
        if (status !== 'same') {
          stoppedBy = status === 'gone' ? 'removed' : 'replaced';
          break;
        }
      }
      if (o.onProgress && now >= nextProgress) {
        nextProgress = now + PROGRESS_MS;
        o.onProgress(progress());
      }
      if (schedule) {
        const wait = schedule.delayMs(now);
        if (wait > 0) {
          await sleepUntil(Math.min(wait, endAt - now), o.signal);
          continue;
        }
      }
      const frame = seg.readFrame({ since: seen, into: buf });
      if (frame === null) {
        try {
          await seg.waitForFrame(seen, { timeoutMs: Math.max(1, Math.min(NAME_CHECK_MS, endAt - now)), lowLatency: o.lowLatency === true });
        } catch (e) {
          if (!isShmswarmError(e, 'ETIMEDOUT')) throw e;
          nextCheck = 0;
        }
        continue;
      }
      seen = frame.sequence;
      if (frame.frames === 0) continue; // the initial zeros: nothing was published yet
      const gap = lastFrame >= 0 ? Math.max(0, frame.frames - lastFrame - 1) : 0;
      if (schedule) skipped += gap;
      else missed += gap;
      lastFrame = frame.frames;
      try {
        await writer.write(frame.data, {
          frame: frame.frames, sequence: frame.sequence, timeNs: msToNs(frame.lastWriteTime ?? Date.now()), missed, skipped,
        });
      } catch (e) {
        throw new RecordWriteError(o.path, frames, e);
      }
      frames++;
      schedule?.advance();
      if (o.frames !== undefined && frames >= o.frames) stoppedBy = 'frames';
      else await turn();
    }
    const result: RecordResult = { ...progress(), header, stoppedBy };
    try {
      await writer.finish({ frames, missed, skipped });
    } catch (e) {
      throw new RecordWriteError(o.path, frames, e);
    }
    result.bytes = fileSize(o.path, result.bytes);
    return result;
  } catch (e) {
    writer?.close();
    throw e;
  } finally {
    seg.close();
  }
}

function fileSize(path: string, fallback: number): number {
  try {
    return statSync(path).size;
  } catch {
    return fallback;
  }
}

/** Sleep `ms`, cut short by the abort signal. */
function sleepUntil(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}
