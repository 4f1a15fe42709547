import type { WebSocket } from 'ws';
import { allocFrame, openFrameSource, parseDtype, ShmswarmError, type Frame, type FrameSource, type RawOptions, type TypedArray } from '../core/index.js';
import { Watcher, type WatchSnapshot } from '../core/watch.js';
import {
  dataOffsetFor, ENCODING_PLAIN, ENCODING_U16, FrameFlag, writeFrameHeader, type StatusMessage,
} from './protocol.js';

/** Beyond this many agents a frame is subsampled: every step-th agent, at most this many. */
export const THIN_ABOVE = 100_000;
/**
 * Beyond this many agents values go as 16 bits (half the bytes of f32). Measured (bench/serve.js):
 * headless Chromium took in about 20 frames/s of 100,000 × 4 f32 (1.6 MB), with the frames
 * queueing for 0.4 s, while its page's thread was idle most of the time: bytes are the limit.
 */
export const QUANTISE_ABOVE = 50_000;
/** Status messages (rate, stats, counters) at most this often, and at once on an event. */
const STATUS_MS = 250;
/** How often a segment with a sequence counter is looked at while someone watches. */
const POLL_MS = 4;
/** Objects without a sequence counter (raw, plain WA-1) are copied this often. */
const UNSYNCED_POLL_MS = 33;
/** A socket holding more than this many frames unsent is behind: it gets no new frame. */
const BEHIND_FRAMES = 2;

/**
 * The most fields and the largest frame the view takes: an object anyone can make in /dev/shm may
 * claim 2^26 columns, whose statistics alone would take gigabytes (docs/SERVE.md).
 */
export const MAX_VIEW_COLS = 4096;
export const MAX_VIEW_BYTES = 2 ** 30;

/** Element types the GPU reads as they are; the others (64-bit) go as f32. */
const GPU_DTYPES = new Set(['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'f32']);

export interface FeedOptions {
  raw?: RawOptions;
  /** Agents above which frames are subsampled (default THIN_ABOVE). */
  thinAbove?: number;
  /** Agents above which values go as 16 bits (default QUANTISE_ABOVE). */
  quantiseAbove?: number;
}

interface Client {
  ws: WebSocket;
  sent: number;
  skipped: number;
  /** The writer's frame counter just before the first frame this client got (for `missed`). */
  base: number | null;
  lastFrames: number;
}

/** What one frame message holds: the header's fields for every client, the bytes once. */
interface Encoded {
  bytes: Uint8Array;
  frames: number;
}

/**
 * One segment followed for every WebSocket watching it: a Watcher polled while anyone is
 * connected, each new frame made into one message (docs/SERVE.md) and sent to every socket that
 * is not behind. A socket that is behind gets the next frame after it catches up, never a backlog.
 * Reads are lock-free (Watcher): nothing here writes to shared memory.
 */
export class Feed {
  readonly name: string;
  #watcher: Watcher;
  #thinAbove: number;
  #quantiseAbove: number;
  #clients = new Set<Client>();
  #timer: NodeJS.Timeout | null = null;
  #last: Encoded | null = null;
  #snap: WatchSnapshot | null = null;
  #lastStatus = 0;
  #events: string[] = [];
  /** Distinct frames seen, the sequence of objects that have none. */
  #count = 0;
  #closed = false;

  constructor(name: string, options: FeedOptions = {}) {
    this.name = name;
    this.#watcher = new Watcher(name, { raw: options.raw, open: (n) => this.#tap(checkViewable(openFrameSource(n, { raw: options.raw }))) });
    this.#thinAbove = options.thinAbove ?? THIN_ABOVE;
    this.#quantiseAbove = Math.min(this.#thinAbove, options.quantiseAbove ?? QUANTISE_ABOVE);
  }

  /** What the header says of the last frame read (the snapshot's figures come from before the read). */
  #read: Pick<Frame, 'sequence' | 'frames' | 'lastWriteTime' | 'torn'> | null = null;
  /** The sequence of the last frame sent (-1: none), so that no frame goes out twice. */
  #sentSeq = -1;
  /** Set while a poll is only for a frame: the read bypasses the watcher (see #tap). */
  #grabbing = false;
  #grabbed: TypedArray | null = null;
  #into: TypedArray | null = null;

  /**
   * `src` as the watcher sees it. Between status messages a poll wants only the frame: its read
   * goes into this feed's own buffer and the watcher is told nothing new came, so it computes no
   * statistics (tens of ms for a million agents); they are computed for the status, four times a
   * second. Objects without a sequence counter are read by the watcher every time.
   */
  #tap(src: FrameSource): FrameSource {
    const readFrame = (options?: Parameters<FrameSource['readFrame']>[0]) => {
      if (this.#grabbing && src.kind === 'shmswarm') {
        const elements = src.rows * src.cols;
        if (this.#into?.length !== elements || !(this.#into instanceof parseDtype(src.dtype).array)) this.#into = allocFrame(parseDtype(src.dtype), elements);
        const f = src.readFrame({ ...options, since: this.#read?.sequence ?? -1, into: this.#into });
        if (f) {
          this.#read = { sequence: f.sequence, frames: f.frames, lastWriteTime: f.lastWriteTime, torn: f.torn };
          this.#grabbed = f.data;
        }
        return null;
      }
      const f = src.readFrame(options);
      if (f) this.#read = { sequence: f.sequence, frames: f.frames, lastWriteTime: f.lastWriteTime, torn: f.torn };
      return f;
    };
    return new Proxy(src, {
      get: (target, p) => {
        if (p === 'readFrame') return readFrame;
        const v = Reflect.get(target, p, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Start sending to `ws`: the latest status and frame now, then every new frame. */
  add(ws: WebSocket): void {
    const c: Client = { ws, sent: 0, skipped: 0, base: null, lastFrames: 0 };
    this.#clients.add(c);
    ws.once('close', () => this.#clients.delete(c));
    if (this.#snap) this.#sendStatus(c, this.#snap);
    if (this.#last) this.#send(c, this.#last);
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#tick();
    }, ms);
  }

  #behind(c: Client): boolean {
    return this.#last !== null && c.ws.bufferedAmount > BEHIND_FRAMES * this.#last.bytes.byteLength;
  }

  #tick(): void {
    if (this.#clients.size === 0 || this.#closed) return;
    const now = Date.now();
    const statusDue = now - this.#lastStatus >= STATUS_MS;
    // Nobody can take a frame: reading one would be work thrown away (a million agents is
    // tens of ms). The frames published meanwhile count as missed.
    if (!statusDue && [...this.#clients].every((c) => this.#behind(c))) return this.#schedule(POLL_MS);
    this.#grabbing = !statusDue;
    this.#grabbed = null;
    let snap: WatchSnapshot;
    try {
      snap = this.#watcher.poll(now);
    } finally {
      this.#grabbing = false;
    }
    this.#snap = snap;
    for (const e of snap.events) this.#events.push(e.message);
    // A new segment under the name starts its sequence again.
    if (snap.events.some((e) => e.kind === 'attached' || e.kind === 'reattached' || e.kind === 'replaced')) this.#sentSeq = -1;
    const frame = this.#grabbed ?? (this.#watcher.changed ? this.#watcher.frame : null);
    const syncs = snap.kind === 'shmswarm';
    const fresh = !syncs || (this.#read !== null && this.#read.sequence !== this.#sentSeq);
    if (fresh && frame && snap.rows !== null && snap.cols !== null && snap.dtype !== null) {
      const encoded = this.#encode(snap, frame);
      if (encoded) {
        if (syncs) this.#sentSeq = this.#read!.sequence;
        this.#last = encoded;
        for (const c of this.#clients) {
          if (this.#behind(c)) c.skipped++;
          else this.#send(c, encoded);
        }
      }
    }
    if (statusDue || this.#events.length > 0) {
      this.#lastStatus = now;
      for (const c of this.#clients) this.#sendStatus(c, snap);
      this.#events = [];
    }
    this.#schedule(syncs ? POLL_MS : UNSYNCED_POLL_MS);
  }

  #send(c: Client, e: Encoded): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(e.bytes);
    c.sent++;
    // A counter that went back is a new segment under the name: count from there.
    if (c.base === null || e.frames < c.lastFrames) {
      c.base = e.frames - 1;
      c.sent = 1;
    }
    c.lastFrames = e.frames;
  }

  #sendStatus(c: Client, s: WatchSnapshot): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    const { step, quantised } = this.#thinning(s.rows ?? 0);
    const converted = s.dtype !== null && !quantised && !GPU_DTYPES.has(s.dtype);
    const finite = (n: number) => (Number.isFinite(n) ? n : null);
    const msg: StatusMessage = {
      type: 'status', name: s.name, status: s.status, message: s.message, kind: s.kind, rows: s.rows, cols: s.cols,
      dtype: s.dtype, fields: s.fields, frames: s.frames, writerPid: s.writerPid, writerAlive: s.writerAlive,
      ageMs: s.ageMs, framesPerSec: s.framesPerSec, mbPerSec: s.mbPerSec,
      stats: s.stats?.map((f) => ({ field: f.field, min: finite(f.min), mean: finite(f.mean), max: finite(f.max), std: finite(f.std), nonFinite: f.nonFinite })) ?? null,
      torn: s.torn, events: this.#events,
      sent: c.sent, skipped: c.skipped,
      missed: c.base === null || s.frames === null || s.kind !== 'shmswarm' ? 0 : Math.max(0, s.frames - c.base - c.sent),
      thinning: quantised || converted ? { step, encoding: quantised ? 'u16' : 'plain', agentsSent: Math.ceil((s.rows ?? 0) / step), converted } : null,
    };
    c.ws.send(JSON.stringify(msg));
  }

  /** How frames of `rows` agents go: every step-th agent, and whether as 16-bit values. */
  #thinning(rows: number): { step: number; quantised: boolean } {
    return { step: rows > this.#thinAbove ? Math.ceil(rows / this.#thinAbove) : 1, quantised: rows > this.#quantiseAbove };
  }

  /** The frame message for `frame` (null when an object without a sequence did not change). */
  #encode(s: WatchSnapshot, frame: TypedArray): Encoded | null {
    const rows = s.rows!, cols = s.cols!;
    const dt = parseDtype(s.dtype!);
    const syncs = s.kind === 'shmswarm';
    if (!syncs && this.#last && this.#sameAsLast(frame)) return null;
    this.#count++;
    const { step, quantised } = this.#thinning(rows);
    const n = Math.ceil(rows / step);
    const encoding = quantised ? ENCODING_U16 : ENCODING_PLAIN;
    const plainAsIs = !quantised && GPU_DTYPES.has(dt.name);
    const size = quantised ? 2 : plainAsIs ? dt.bytes : 4;
    const offset = dataOffsetFor(encoding, cols);
    const buf = new ArrayBuffer(offset + n * cols * size);
    const bytes = new Uint8Array(buf);
    let flags = (syncs ? this.#read?.torn : s.torn) ? FrameFlag.Torn : 0;
    if (step > 1) flags |= FrameFlag.Subsampled;
    if (quantised) {
      quantise(frame, rows, cols, step, new DataView(buf, 64, cols * 8), new Uint16Array(buf, offset));
    } else if (plainAsIs) {
      bytes.set(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength), offset);
    } else {
      flags |= FrameFlag.Converted;
      const out = new Float32Array(buf, offset);
      for (let i = 0; i < out.length; i++) out[i] = Number(frame[i]);
    }
    const read = this.#read;
    const frames = syncs ? (read?.frames ?? 0) : this.#count;
    writeFrameHeader(new DataView(buf), {
      encoding, dtype: quantised ? 4 : plainAsIs ? dt.code : 9, flags, rows: n, cols, totalRows: rows, step, dataOffset: offset,
      sequence: syncs ? (read?.sequence ?? 0) : this.#count,
      frames,
      lastWriteTime: read?.lastWriteTime ?? NaN,
      sentTime: Date.now(),
    });
    return { bytes, frames };
  }

  #lastRaw: Uint8Array | null = null;

  /** Objects without a sequence counter are copied on every look: send only what changed. */
  #sameAsLast(frame: TypedArray): boolean {
    const now = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    const same = this.#lastRaw !== null && Buffer.compare(this.#lastRaw, now) === 0;
    if (!same) this.#lastRaw = now.slice();
    return same;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const c of this.#clients) c.ws.terminate();
    this.#clients.clear();
    this.#watcher.close();
  }
}

/** `src` if the view can take it; else closed, and an ETOOBIG error that the status shows. */
export function checkViewable(src: FrameSource): FrameSource {
  const bytes = src.rows * src.cols * parseDtype(src.dtype).bytes;
  if (src.cols <= MAX_VIEW_COLS && bytes <= MAX_VIEW_BYTES) return src;
  src.close();
  const why = src.cols > MAX_VIEW_COLS ? `${src.cols} fields (the view takes at most ${MAX_VIEW_COLS})` : `a ${bytes}-byte frame (the view takes at most ${MAX_VIEW_BYTES})`;
  throw new ShmswarmError(`${src.name} has ${why}; read it with /frame.npy or shmswarm dump`, 'ETOOBIG', { segment: src.name });
}

/**
 * Every step-th agent of `frame` as u16: per column, q = round((v - min) / scale) over the agents
 * sent, with (min, scale) as two f32 in `table`. Values that are not finite become 0 (min).
 */
function quantise(frame: TypedArray, rows: number, cols: number, step: number, table: DataView, out: Uint16Array): void {
  const big = typeof frame[0] === 'bigint';
  const at = (i: number) => (big ? Number(frame[i]) : (frame[i] as number));
  for (let c = 0; c < cols; c++) {
    let min = Infinity, max = -Infinity;
    for (let r = 0; r < rows; r += step) {
      const v = at(r * cols + c);
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!(min <= max)) min = max = 0;
    const scale = max > min ? (max - min) / 65535 : 1;
    table.setFloat32(c * 8, min, true);
    table.setFloat32(c * 8 + 4, scale, true);
    const inv = 1 / scale;
    for (let r = 0, k = c; r < rows; r += step, k += cols) {
      const q = Math.round((at(r * cols + c) - min) * inv);
      out[k] = q >= 0 && q <= 65535 ? q : q > 65535 ? 65535 : 0;
    }
  }
}
