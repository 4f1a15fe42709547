import type { WebSocket } from 'ws';
import { allocFrame, openFrameSource, parseDtype, ShmswarmError, type Frame, type FrameSource, type RawOptions, type TypedArray } from '../core/index.js';
import { fieldStats, type FieldStats } from '../core/stats.js';
import { Watcher, type WatchSnapshot } from '../core/watch.js';
import {
  dataOffsetFor, ENCODING_PLAIN, ENCODING_U16, FRAME_HEADER_BYTES, FrameFlag, MAX_SELECTED_FIELDS, quantOffsetFor, writeFrameHeader, type StatusMessage,
} from './protocol.js';

/**
 * Beyond this many agents a frame is subsampled: every step-th agent, at most this many (with
 * 3 fields as 16 bits, 300 KB a message). Measured (bench/serve.js, interleaved, load 12–18 on 2
 * cores): 100,000 agents were received at 36.6 frames/s sent as 50,000 against 6.5 and 12.4 sent
 * whole (600 KB); the page's picture of a subsample looks the same.
 */
export const THIN_ABOVE = 50_000;
/**
 * Beyond this many agents values go as 16 bits (half the bytes of f32). Measured (bench/serve.js):
 * headless Chromium took in about 20 frames/s of 100,000 × 4 f32 (1.6 MB), with the frames
 * queueing for 0.4 s, while its page's thread was idle most of the time: bytes are the limit.
 */
export const QUANTISE_ABOVE = 50_000;
/**
 * Statistics are computed over at most this many agents (every step-th beyond): over all of a
 * million agents they took ~50 ms of the server's thread four times a second. The page says so.
 */
export const STATS_AGENTS = 100_000;
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
  /** The segment fields this client's frames carry (null: all, until the page says which). */
  fields: number[] | null;
  /** Bytes of the last frame message sent to it (how many make it "behind"). */
  msgBytes: number;
  /** The sequence/count of the frame it last got, and the selection key it went with. */
  gotKey: string | null;
}

/** What one frame message holds: the header's fields for every client, the bytes once. */
interface Encoded {
  bytes: Uint8Array;
  frames: number;
}

/** The latest frame read, kept to encode it for each field selection (and again on a change). */
interface Latest {
  data: TypedArray;
  rows: number;
  cols: number;
  dtype: string;
  syncs: boolean;
  sequence: number;
  frames: number;
  lastWriteTime: number;
  torn: boolean;
  /** Encodings made of it, by selection key. */
  encoded: Map<string, Encoded>;
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
  #latest: Latest | null = null;
  /** Statistics of the latest frame (over every #statsStep-th agent), computed for a status. */
  #stats: FieldStats[] | null = null;
  #statsStep = 1;
  #statsOf: Latest | null = null;
  #statsScratch: TypedArray | null = null;
  #snap: WatchSnapshot | null = null;
  #lastStatus = 0;
  #events: string[] = [];
  /** Distinct frames seen, the sequence of objects that have none. */
  #count = 0;
  #closed = false;

  constructor(name: string, options: FeedOptions = {}) {
    this.name = name;
    this.#watcher = new Watcher(name, {
      raw: options.raw,
      open: (n) => {
        const src = this.#tap(checkViewable(openFrameSource(n, { raw: options.raw })));
        // A new object under the name: nothing of the old one is kept.
        this.#read = null;
        this.#into = this.#spare = null;
        return src;
      },
    });
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
  /** The buffer the next read goes into, and the one holding the frame read before. */
  #into: TypedArray | null = null;
  #spare: TypedArray | null = null;

  /**
   * `src` as the watcher sees it. A poll's read of a segment with a sequence counter goes into
   * this feed's own buffers and the watcher is told nothing new came, so it computes no
   * statistics (tens of ms for a million agents): the feed computes them, over at most
   * STATS_AGENTS agents, for the status (four times a second). Objects without a sequence
   * counter are read by the watcher every time.
   */
  #tap(src: FrameSource): FrameSource {
    const readFrame = (options?: Parameters<FrameSource['readFrame']>[0]) => {
      if (this.#grabbing && src.kind === 'shmswarm') {
        const elements = src.rows * src.cols;
        if (this.#into?.length !== elements || !(this.#into instanceof parseDtype(src.dtype).array)) this.#into = allocFrame(parseDtype(src.dtype), elements);
        // Into the spare buffer: a failed lock-free attempt must not spoil the frame kept.
        const f = src.readFrame({ ...options, since: this.#read?.sequence ?? -1, into: this.#into });
        if (f) {
          this.#read = { sequence: f.sequence, frames: f.frames, lastWriteTime: f.lastWriteTime, torn: f.torn };
          this.#grabbed = f.data;
          this.#into = this.#spare;
          this.#spare = f.data;
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
    const c: Client = { ws, sent: 0, skipped: 0, base: null, lastFrames: 0, fields: null, msgBytes: 0, gotKey: null };
    this.#clients.add(c);
    ws.once('close', () => this.#clients.delete(c));
    if (this.#snap) this.#sendStatus(c, this.#snap);
    this.#offer(c);
    this.#schedule(0);
  }

  /**
   * The fields `ws`'s page draws (checked: at most MAX_SELECTED_FIELDS distinct integer indices;
   * false when not, and nothing changes). Its frames carry only those from now on, the latest
   * frame again at once in them. Indices past the segment's fields are left out when encoding.
   */
  select(ws: WebSocket, fields: unknown): boolean {
    if (!Array.isArray(fields) || fields.length < 1 || fields.length > MAX_SELECTED_FIELDS) return false;
    if (!fields.every((f) => Number.isInteger(f) && f >= 0 && f < MAX_VIEW_COLS)) return false;
    const unique = [...new Set(fields as number[])];
    for (const c of this.#clients) {
      if (c.ws !== ws) continue;
      c.fields = unique;
      this.#offer(c);
    }
    return true;
  }

  /** The latest frame to `c` in its fields, unless it has it already or is behind. */
  #offer(c: Client): void {
    const l = this.#latest;
    if (!l) return;
    const key = this.#key(c, l.cols);
    if (c.gotKey === `${l.sequence}:${l.frames}:${key}`) return;
    if (this.#behind(c)) return;
    const e = this.#encodeFor(l, key);
    if (e) this.#send(c, e, `${l.sequence}:${l.frames}:${key}`);
  }

  /** The columns `c` gets of a `cols`-field frame, as a key ("" for all). */
  #key(c: Client, cols: number): string {
    if (c.fields === null) return '';
    const inside = c.fields.filter((f) => f < cols);
    return inside.length === 0 ? '' : inside.join(',');
  }

  #encodeFor(l: Latest, key: string): Encoded | null {
    let e = l.encoded.get(key);
    if (!e) {
      const cols = key === '' ? [...Array(l.cols).keys()] : key.split(',').map(Number);
      const made = this.#encode(l, cols);
      if (!made) return null;
      e = made;
      l.encoded.set(key, e);
    }
    return e;
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#tick();
    }, ms);
  }

  #behind(c: Client): boolean {
    return c.msgBytes > 0 && c.ws.bufferedAmount > BEHIND_FRAMES * c.msgBytes;
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
    if (snap.events.some((e) => e.kind === 'attached' || e.kind === 'reattached' || e.kind === 'replaced')) {
      this.#sentSeq = -1;
      this.#latest = this.#statsOf = null;
      this.#stats = null;
    }
    const frame = this.#grabbed ?? (this.#watcher.changed ? this.#watcher.frame : null);
    const syncs = snap.kind === 'shmswarm';
    const fresh = !syncs || (this.#read !== null && this.#read.sequence !== this.#sentSeq);
    if (fresh && frame && snap.rows !== null && snap.cols !== null && snap.dtype !== null && !(!syncs && this.#sameAsLast(frame))) {
      this.#count++;
      const read = this.#read;
      const l: Latest = {
        data: frame, rows: snap.rows, cols: snap.cols, dtype: snap.dtype, syncs,
        sequence: syncs ? (read?.sequence ?? 0) : this.#count, frames: syncs ? (read?.frames ?? 0) : this.#count,
        lastWriteTime: read?.lastWriteTime ?? NaN, torn: (syncs ? read?.torn : snap.torn) ?? false, encoded: new Map(),
      };
      if (syncs) this.#sentSeq = l.sequence;
      this.#latest = l;
      for (const c of this.#clients) if (this.#behind(c)) c.skipped++;
    }
    // Every socket that is not behind gets the latest frame in its fields, once: a new frame, or
    // the last one after it caught up or changed its fields.
    for (const c of this.#clients) this.#offer(c);
    if (statusDue || this.#events.length > 0) {
      if (syncs) this.#computeStats();
      this.#lastStatus = now;
      for (const c of this.#clients) this.#sendStatus(c, snap);
      this.#events = [];
    }
    this.#schedule(syncs ? POLL_MS : UNSYNCED_POLL_MS);
  }

  /** Statistics of the latest frame for the status, over every step-th agent (once per frame). */
  #computeStats(): void {
    const l = this.#latest;
    if (!l || l === this.#statsOf) return;
    const fields = this.#snap?.fields;
    if (!fields || fields.length !== l.cols) return;
    this.#statsOf = l;
    const step = l.rows > STATS_AGENTS ? Math.ceil(l.rows / STATS_AGENTS) : 1;
    this.#statsStep = step;
    if (step === 1) {
      this.#stats = fieldStats(l.data, fields);
      return;
    }
    const n = Math.ceil(l.rows / step), cols = l.cols;
    const Array_ = l.data.constructor as new (n: number) => TypedArray;
    if (this.#statsScratch?.length !== n * cols || this.#statsScratch.constructor !== Array_) this.#statsScratch = new Array_(n * cols);
    const sub = this.#statsScratch, data = l.data;
    for (let r = 0, k = 0; r < l.rows; r += step) for (let c = 0, i = r * cols; c < cols; c++) sub[k++] = data[i + c];
    this.#stats = fieldStats(sub, fields);
  }

  #send(c: Client, e: Encoded, gotKey: string): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(e.bytes);
    c.msgBytes = e.bytes.byteLength;
    c.gotKey = gotKey;
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
      stats: (s.kind === 'shmswarm' ? this.#stats : s.stats)?.map((f) => ({ field: f.field, min: finite(f.min), mean: finite(f.mean), max: finite(f.max), std: finite(f.std), nonFinite: f.nonFinite })) ?? null,
      torn: s.torn, events: this.#events,
      sent: c.sent, skipped: c.skipped,
      missed: c.base === null || s.frames === null || s.kind !== 'shmswarm' ? 0 : Math.max(0, s.frames - c.base - c.sent),
      thinning: quantised || converted ? { step, encoding: quantised ? 'u16' : 'plain', agentsSent: Math.ceil((s.rows ?? 0) / step), converted } : null,
      statsStep: s.kind === 'shmswarm' ? this.#statsStep : 1,
      sentFields: c.fields === null || s.cols === null ? null : this.#key(c, s.cols) === '' ? null : this.#key(c, s.cols).split(',').map(Number),
    };
    c.ws.send(JSON.stringify(msg));
  }

  /** How frames of `rows` agents go: every step-th agent, and whether as 16-bit values. */
  #thinning(rows: number): { step: number; quantised: boolean } {
    return { step: rows > this.#thinAbove ? Math.ceil(rows / this.#thinAbove) : 1, quantised: rows > this.#quantiseAbove };
  }

  /** The message of frame `l` carrying the segment columns `sel` (in that order). */
  #encode(l: Latest, sel: number[]): Encoded | null {
    const { rows, cols: segCols, data: frame } = l;
    const cols = sel.length;
    const dt = parseDtype(l.dtype);
    const { step, quantised } = this.#thinning(rows);
    const n = Math.ceil(rows / step);
    const encoding = quantised ? ENCODING_U16 : ENCODING_PLAIN;
    const plainAsIs = !quantised && GPU_DTYPES.has(dt.name);
    const size = quantised ? 2 : plainAsIs ? dt.bytes : 4;
    const offset = dataOffsetFor(encoding, cols);
    const buf = new ArrayBuffer(offset + n * cols * size);
    const bytes = new Uint8Array(buf);
    new Uint32Array(buf, FRAME_HEADER_BYTES, cols).set(sel);
    let flags = l.torn ? FrameFlag.Torn : 0;
    if (step > 1) flags |= FrameFlag.Subsampled;
    const all = cols === segCols && sel.every((f, i) => f === i);
    if (quantised) {
      quantise(frame, rows, segCols, step, sel, new DataView(buf, quantOffsetFor(cols), cols * 8), new Uint16Array(buf, offset));
    } else if (plainAsIs && all) {
      bytes.set(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength), offset);
    } else {
      if (!plainAsIs) flags |= FrameFlag.Converted;
      const out = plainAsIs ? new (dt.array as unknown as new (b: ArrayBuffer, o: number, n: number) => TypedArray)(buf, offset, n * cols) : new Float32Array(buf, offset, n * cols);
      const big = typeof frame[0] === 'bigint';
      for (let r = 0, k = 0; r < rows; r += step) {
        const base = r * segCols;
        for (let c = 0; c < cols; c++, k++) out[k] = big ? Number(frame[base + sel[c]]) : (frame[base + sel[c]] as number);
      }
    }
    writeFrameHeader(new DataView(buf), {
      encoding, dtype: quantised ? 4 : plainAsIs ? dt.code : 9, flags, rows: n, cols, totalRows: rows, step, dataOffset: offset,
      sequence: l.sequence, frames: l.frames, lastWriteTime: l.lastWriteTime, sentTime: Date.now(),
    });
    return { bytes, frames: l.frames };
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
function quantise(frame: TypedArray, rows: number, cols: number, step: number, sel: number[], table: DataView, out: Uint16Array): void {
  const big = typeof frame[0] === 'bigint';
  const at = (i: number) => (big ? Number(frame[i]) : (frame[i] as number));
  for (let j = 0; j < sel.length; j++) {
    const c = sel[j];
    let min = Infinity, max = -Infinity;
    for (let r = 0; r < rows; r += step) {
      const v = at(r * cols + c);
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!(min <= max)) min = max = 0;
    const scale = max > min ? (max - min) / 65535 : 1;
    table.setFloat32(j * 8, min, true);
    table.setFloat32(j * 8 + 4, scale, true);
    const inv = 1 / scale;
    for (let r = 0, k = j; r < rows; r += step, k += sel.length) {
      const q = Math.round((at(r * cols + c) - min) * inv);
      out[k] = q >= 0 && q <= 65535 ? q : q > 65535 ? 65535 : 0;
    }
  }
}
