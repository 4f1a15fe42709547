import type { TypedArray } from './dtypes.js';
import { isShmswarmError, ShmswarmError } from './errors.js';
import type { RawOptions } from './raw.js';
import { openFrameSource, type FrameSource } from './source.js';

import { FrameClock, fieldStats, frameHash, type FieldStats, type PeriodStats } from './stats.js';

/** Seconds a frame may stay half-written before watch calls its writer stuck. */
const STUCK_AFTER_S = 1;
/** Raw objects larger than this are hashed only at each poll, not at every sample. */
const RAW_SAMPLE_MAX_BYTES = 1 << 20;

/**
 * - waiting: the name does not exist (yet);  gone: it existed and was removed;
 * - error: it exists but cannot be read (shrunk, not a segment, ...): see `message`;
 * - no-frames: attached, nothing published yet;  live: the last writer is running;
 * - writer-dead: the last writer is no longer running (the data is its last frame).
 */
export type WatchStatus = 'waiting' | 'gone' | 'error' | 'no-frames' | 'live' | 'writer-dead';

export type WatchEventKind = 'attached' | 'reattached' | 'replaced' | 'gone' | 'writer-died' | 'writer-started' | 'unreadable';

export interface WatchEvent {
  kind: WatchEventKind;
  message: string;
}

/** One look at the segment, as plain data (what --json prints). */
export interface WatchSnapshot {
  name: string;
  /** ms since the epoch. */
  time: number;
  status: WatchStatus;
  /** Why the status is error, or the last error code seen. */
  message: string | null;
  /** A frame has stayed half-written for STUCK_AFTER_S or more: its writer is stopped, or died holding the lock. */
  frameStuck: boolean;
  kind: 'shmswarm' | 'wa1' | 'raw' | null;
  rows: number | null;
  cols: number | null;
  dtype: string | null;
  fields: string[] | null;
  sequence: number | null;
  frames: number | null;
  writerPid: number | null;
  writerAlive: boolean | null;
  lastWriteTime: number | null;
  /** ms since the last frame was published. */
  ageMs: number | null;
  /**
   * The writer's rate over the last window (rateWindowMs): frames published in it, from the frame
   * counter (raw and WA-1 objects: content changes seen); 0 once no frame came for the whole
   * window; null until it can be measured.
   */
  framesPerSec: number | null;
  mbPerSec: number | null;
  /** How framesPerSec is measured: the segment's frame counter, or changes of a hash of the content (no counter). */
  rateBy: 'counter' | 'content' | null;
  /** Period between consecutive frames over the window, from the writer's publication times. */
  period: PeriodStats | null;
  /** Frames this watcher saw one by one since it attached. */
  seen: number | null;
  /** Frames the counter says the writer published since the watcher attached that it never saw (null: no counter). */
  missed: number | null;
  /** ms since the last frame, when none came for longer than the window (the rate is then 0); else null. */
  stalledMs: number | null;
  /** The rate's window, ms. */
  windowMs: number;
  /** Per-field figures of the latest frame read (kept while no newer frame comes). */
  stats: FieldStats[] | null;
  /** The latest frame was left half-written by a writer that died. */
  torn: boolean;
  /** Events since the previous snapshot. */
  events: WatchEvent[];
}

export interface WatcherOptions {
  raw?: RawOptions;
  /** Lock timeout for sources that need a lock (raw with a mutex). */
  timeoutMs?: number;
  /** Window of the rate and period figures (default 2000 ms). */
  rateWindowMs?: number;
  /** Opens the source; defaults to openFrameSource (tests may pass their own). */
  open?: (name: string) => FrameSource;
}

/**
 * What watch says of a frame seen half-written, with the same odd sequence, `seconds` apart.
 * (Below STUCK_AFTER_S it avoids the words "in progress for", which announce the stuck case.)
 */
export function stalledFrameMessage(seconds: number): string {
  if (seconds < STUCK_AFTER_S)
    return `a frame has been half-written for at least ${seconds.toFixed(1)} s (writer stalled mid-frame?)`;
  return `a frame has been in progress for ${seconds.toFixed(1)} s: its writer is stopped, or died holding the lock (a read that takes the lock repairs a dead one)`;
}

/**
 * Follows one segment name: attaches when it appears, re-attaches when it is re-created, notes
 * a writer's death, a removal or a shrink, and reads frames lock-free only when the sequence
 * moved, so watching never slows the writer. poll() never throws for the segment's state; it
 * returns it. Misuse (a bad name) still throws.
 */
export class Watcher {
  readonly name: string;
  #open: (name: string) => FrameSource;
  #src: FrameSource | null = null;
  #everAttached = false;
  #goneReported = false;
  #lastSeq = -1;
  #data: TypedArray | null = null;
  #scratch: TypedArray | null = null;
  #stats: FieldStats[] | null = null;
  #torn = false;
  #writerAlive: boolean | null = null;
  #writerPid: number | null = null;
  #clock: FrameClock | null = null;
  #windowMs: number;
  #rawMutex: boolean;
  #hash = -1;
  #changes = 0;
  #changedAt: number | null = null;
  #attachedAt = 0;
  #lastError: ShmswarmError | null = null;
  #lastKnown: Partial<WatchSnapshot> = {};
  #changed = false;
  /** The last lock-free read found the writer overwriting the frame throughout. */
  #busy = false;
  #oddSequence = -1;
  #oddSince = 0;

  constructor(name: string, options: WatcherOptions = {}) {
    this.name = name;
    this.#windowMs = options.rateWindowMs ?? 2000;
    this.#rawMutex = options.raw?.mutex !== undefined;
    this.#open = options.open ?? ((n) => openFrameSource(n, { raw: options.raw, timeoutMs: options.timeoutMs }));
  }

  /** The latest frame read (agent-major), for plotting; null before the first. */
  get frame(): TypedArray | null {
    return this.#data;
  }

  /** True when the last poll copied a new frame. */
  get changed(): boolean {
    return this.#changed;
  }

  /** The error behind a waiting/gone/error status (what --once reports). */
  get lastError(): ShmswarmError | null {
    return this.#lastError;
  }

  #detach(): void {
    this.#src?.close();
    this.#src = null;
    this.#lastSeq = -1;
    this.#clock = null;
    this.#hash = -1;
    this.#writerAlive = null;
  }

  #attach(events: WatchEvent[]): boolean {
    try {
      this.#src = this.#open(this.name);
    } catch (e) {
      if (!isShmswarmError(e)) throw e;
      this.#lastError = e;
      return false;
    }
    this.#lastError = null;
    this.#goneReported = false;
    const s = this.#src;
    events.push(
      this.#everAttached
        ? { kind: 'reattached', message: `${this.name} is back (${s.rows} × ${s.cols} ${s.dtype}); watching it again` }
        : { kind: 'attached', message: `watching ${this.name} (${s.rows} × ${s.cols} ${s.dtype})` },
    );
    this.#everAttached = true;
    this.#clock = new FrameClock(this.#windowMs, s.kind === 'shmswarm');
    this.#attachedAt = Date.now();
    this.#changes = 0;
    this.#changedAt = null;
    this.#data = null;
    this.#scratch = null;
    this.#stats = null;
    return true;
  }

  #snapshot(now: number, status: WatchStatus, events: WatchEvent[], extra: Partial<WatchSnapshot> = {}): WatchSnapshot {
    return {
      name: this.name, time: now, status, message: this.#lastError ? this.#lastError.message : null,
      kind: null, rows: null, cols: null, dtype: null, fields: null, sequence: null, frames: null,
      writerPid: null, writerAlive: null, lastWriteTime: null, ageMs: null, framesPerSec: null, mbPerSec: null,
      rateBy: null, period: null, seen: null, missed: null, stalledMs: null, windowMs: this.#windowMs, frameStuck: false,
      stats: this.#stats, torn: this.#torn, ...this.#lastKnown, ...extra, events,
    };
  }

  /** Look once: attach or re-attach as needed, read a new frame if there is one. */
  poll(now = Date.now()): WatchSnapshot {
    const events: WatchEvent[] = [];
    this.#changed = false;
    if (this.#src?.nameStatus) {
      const ns = this.#src.nameStatus();
      if (ns === 'replaced') {
        events.push({ kind: 'replaced', message: `${this.name} was re-created; re-attaching` });
        this.#detach();
      } else if (ns === 'gone') {
        this.#detach();
        this.#lastError = new ShmswarmError(`${this.name}: segment was removed`, 'ENOENT', { segment: this.name });
      }
    }
    if (!this.#src && !this.#attach(events)) {
      const missing = this.#lastError?.code === 'ENOENT' || this.#lastError?.code === 'EUNINIT';
      if (missing && this.#everAttached && !this.#goneReported) {
        this.#goneReported = true;
        events.push({ kind: 'gone', message: `${this.name} was removed; waiting for it to come back` });
      } else if (!missing && this.#lastError && !events.some((e) => e.kind === 'unreadable')) {
        if (this.#lastKnown.message !== this.#lastError.message)
          events.push({ kind: 'unreadable', message: `${this.name} cannot be read: ${this.#lastError.message}` });
      }
      const status: WatchStatus = missing ? (this.#everAttached ? 'gone' : 'waiting') : 'error';
      this.#lastKnown.message = this.#lastError?.message ?? null;
      const message = status === 'gone' ? `${this.name} was removed` : this.#lastKnown.message;
      return this.#snapshot(now, status, events, { framesPerSec: null, mbPerSec: null, ageMs: null, period: null, stalledMs: null, message });
    }
    const src = this.#src!;
    try {
      const info = src.info();
      const syncs = src.kind === 'shmswarm';
      if (syncs) this.#clock!.observe(now, info.frames, info.lastWriteTime);
      if (syncs && info.writerPid !== null) {
        if (this.#writerAlive === true && !info.writerAlive)
          events.push({ kind: 'writer-died', message: `writer pid ${info.writerPid} of ${this.name} is no longer running; waiting for a new writer` });
        else if (info.writerAlive && (this.#writerAlive === false || (this.#writerPid !== null && this.#writerPid !== info.writerPid)))
          events.push({ kind: 'writer-started', message: `writer pid ${info.writerPid} is writing ${this.name}` });
        this.#writerAlive = info.writerAlive;
        this.#writerPid = info.writerPid;
      }
      // A segment nobody wrote yet holds zeros, not data: nothing to read.
      if (!syncs || (info.frames > 0 && info.sequence !== this.#lastSeq)) this.#read(syncs, now);
      const clock = this.#clock!.read(now);
      const lastWrite = syncs ? info.lastWriteTime : this.#changedAt;
      const ageMs = lastWrite === null ? (syncs ? null : now - this.#attachedAt) : Math.max(0, now - lastWrite);
      const published = syncs ? info.frames > 0 : this.#changes > 0;
      this.#lastKnown = {
        kind: src.kind, rows: src.rows, cols: src.cols, dtype: src.dtype, fields: [...src.fields],
        sequence: info.sequence, frames: info.frames, writerPid: info.writerPid, writerAlive: syncs ? info.writerAlive : null,
        lastWriteTime: info.lastWriteTime, message: null,
      };
      const status: WatchStatus = !syncs ? 'live' : info.frames === 0 ? 'no-frames' : info.writerAlive ? 'live' : 'writer-dead';
      const stuck = this.#stuckMessage(info.sequence, now);
      return this.#snapshot(now, status, events, {
        frameStuck: stuck !== null && (now - this.#oddSince) / 1000 >= STUCK_AFTER_S,
        message: stuck ?? (this.#busy ? 'no whole frame without the lock this time: the writer kept overwriting it' : null),
        ageMs: syncs ? ageMs : lastWrite === null ? null : ageMs,
        framesPerSec: clock.framesPerSec,
        mbPerSec: clock.framesPerSec === null ? null : (clock.framesPerSec * info.dataBytes) / 1e6,
        rateBy: syncs ? 'counter' : 'content',
        period: clock.period,
        seen: clock.seen,
        missed: clock.missed,
        stalledMs: (published || !syncs) && ageMs !== null && ageMs > this.#windowMs ? ageMs : null,
      });
    } catch (e) {
      if (!isShmswarmError(e)) throw e;
      this.#lastError = e;
      // A lock that stays held (a raw writer stopped with its mutex) says nothing about the
      // object: stay attached, or every look would report it gone and back. Shrunk under us
      // (EBUS/ETRUNCATED) or otherwise unreadable: drop it and look again next time.
      const held = e.code === 'ETIMEDOUT' || e.code === 'EBUSY';
      if (!held) this.#detach();
      if (!held || this.#lastKnown.message !== e.message)
        events.push({ kind: 'unreadable', message: `${this.name} cannot be read: ${e.message}` });
      this.#lastKnown.message = e.message;
      return this.#snapshot(now, 'error', events);
    }
  }

  /**
   * An odd sequence that has not moved since the last look is a frame nobody finished meanwhile:
   * a stalled writer, not one that keeps overwriting; past STUCK_AFTER_S, a stopped writer or
   * one that died holding the lock. The first look at an odd sequence cannot tell: null.
   */
  #stuckMessage(sequence: number, now: number): string | null {
    if (sequence % 2 === 0 || sequence !== this.#oddSequence) {
      this.#oddSequence = sequence % 2 === 1 ? sequence : -1;
      this.#oddSince = now;
      return null;
    }
    return stalledFrameMessage((now - this.#oddSince) / 1000);
  }

  /**
   * A cheap look between polls, for the period figures: the frame counter (two atomic loads, no
   * copy, nothing the writer notices); for objects with no counter, a hash of a small frame read
   * without a lock. Never throws for the segment's state (poll() reports it).
   */
  sample(now = Date.now()): void {
    const src = this.#src;
    if (!src || !this.#clock) return;
    try {
      if (src.kind === 'shmswarm') {
        const info = src.info();
        this.#clock.observe(now, info.frames, info.lastWriteTime);
      } else if (!this.#rawMutex && src.rows * src.cols * 8 <= RAW_SAMPLE_MAX_BYTES) {
        // Into the scratch buffer: what poll() shows stays as it was.
        const frame = src.readFrame({ into: this.#scratch ?? undefined });
        if (frame) {
          this.#scratch = frame.data;
          this.#seeContent(frame.data, now);
        }
      }
    } catch (e) {
      if (!isShmswarmError(e)) throw e;
    }
  }

  #seeContent(data: ArrayBufferView, now: number): void {
    const h = frameHash(data);
    if (this.#hash !== -1 && h !== this.#hash) {
      this.#changes++;
      this.#changedAt = now;
    }
    this.#hash = h;
    this.#clock!.observe(now, this.#changes, now);
  }

  #read(syncs: boolean, now: number): void {
    const src = this.#src!;
    this.#busy = false;
    try {
      // Into a scratch buffer: a failed lock-free attempt must not spoil the frame we show.
      const frame = src.readFrame(syncs ? { lockFree: true, since: this.#lastSeq, into: this.#scratch ?? undefined } : { into: this.#scratch ?? undefined });
      if (!frame) return;
      this.#scratch = this.#data;
      this.#data = frame.data;
      this.#lastSeq = frame.sequence;
      this.#torn = frame.torn;
      this.#stats = fieldStats(frame.data, src.fields);
      this.#changed = true;
      if (!syncs) this.#seeContent(frame.data, now);
    } catch (e) {
      // The writer kept overwriting this frame: show the previous one, try again next poll.
      if (!isShmswarmError(e, 'ENOFRAME')) throw e;
      this.#busy = true;
    }
  }

  close(): void {
    this.#detach();
  }
}
