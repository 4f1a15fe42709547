// The shmswarm wire format over NATS (docs/BRIDGES.md, "Over the network: NATS"): subjects, the
// headers of frame and status messages, chunking, and the validation every received message
// goes through before any of its bytes reach shared memory. No NATS client here: headers are
// plain string maps, so the rules can be tested (and read) on their own.
import { allocFrame, parseDtype, parseFields, type Dtype } from '../core/index.js';

/** The version of this wire format, in every message. */
export const WIRE_VERSION = 1;

/** JetStream stream that keeps the latest frame of every publisher (one message per subject). */
export const LAST_STREAM = 'SHMSWARM_LAST';
/** Subject prefix of the latest-frame copies: `shmswarm-last.<subject>.<chunk>`. */
export const LAST_PREFIX = 'shmswarm-last';

/** Header names, exactly as written (NATS headers are case-sensitive on the wire). */
export const H = {
  version: 'Shmswarm-Version',
  kind: 'Shmswarm-Kind',
  id: 'Shmswarm-Id',
  frame: 'Shmswarm-Frame',
  skipped: 'Shmswarm-Skipped',
  name: 'Shmswarm-Name',
  host: 'Shmswarm-Host',
  state: 'Shmswarm-State',
  shape: 'Shmswarm-Shape',
  dtype: 'Shmswarm-Dtype',
  fields: 'Shmswarm-Fields',
  bytes: 'Shmswarm-Bytes',
  chunk: 'Shmswarm-Chunk',
  sequence: 'Shmswarm-Sequence',
  time: 'Shmswarm-Time',
} as const;

/** What a status message says about the source. */
export type SourceState = 'live' | 'writer-gone' | 'stopped';
const STATES: readonly SourceState[] = ['live', 'writer-gone', 'stopped'];

/** Largest frame a subscriber accepts unless told otherwise (--max-bytes). */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 2 ** 20;
/** Segments hold at most 2^40 bytes of matrix (include/shmswarm.h). */
const SEGMENT_MAX_BYTES = 2 ** 40;

/** `shmswarm.<name without the slash>`, or why the name cannot be a subject. */
export function defaultSubject(name: string): string {
  return checkSubject(`shmswarm.${name.replace(/^\//, '')}`, `the subject made from ${JSON.stringify(name)} (give one with --subject)`);
}

/**
 * A subject one publisher sends to and one mirror follows: dot-separated tokens of printable
 * ASCII, no spaces, no wildcards (`*`, `>`), at most 200 bytes (room for the latest-frame
 * subject around it). RangeError otherwise.
 */
export function checkSubject(subject: string, what = 'subject'): string {
  if (subject.length === 0 || subject.length > 200) throw new RangeError(`${what} must be 1 to 200 characters`);
  if (!/^[\x21-\x7e]+$/.test(subject)) throw new RangeError(`${what} "${subject}" must be printable ASCII without spaces`);
  const tokens = subject.split('.');
  if (tokens.some((t) => t.length === 0)) throw new RangeError(`${what} "${subject}" has an empty token (two dots, or a dot at an end)`);
  if (tokens.some((t) => t === '*' || t === '>' || t.includes('*') || t.includes('>')))
    throw new RangeError(`${what} "${subject}" has a wildcard (* or >): one subject is one segment`);
  return subject;
}

/** The subject of chunk `i` of the latest frame kept in JetStream for `subject`. */
export function lastSubject(subject: string, chunk: number): string {
  return `${LAST_PREFIX}.${subject}.${chunk}`;
}

/** What a publisher says about every frame. */
export interface FrameMeta {
  id: string;
  /** The publisher's frame counter: 1, 2, … for the frames it sent (gaps = lost in transit). */
  frame: number;
  /** Frames of the source the publisher did not send (rate limit, disconnected), so far. */
  skipped: number;
  name: string;
  host: string;
  rows: number;
  cols: number;
  dtype: Dtype;
  /** Field names, or null for unnamed columns. */
  fields: string[] | null;
  bytes: number;
  /** The source segment's sequence number of this frame (2 × its frame number). */
  sequence: number;
  /** When the source's writer published it, ms since the epoch. */
  time: number;
}

/** Headers of chunk `index` of `chunks` of a frame. */
export function frameHeaders(m: FrameMeta, index: number, chunks: number): Record<string, string> {
  const h: Record<string, string> = {
    [H.version]: String(WIRE_VERSION),
    [H.kind]: 'frame',
    [H.id]: m.id,
    [H.frame]: String(m.frame),
    [H.skipped]: String(m.skipped),
    [H.name]: m.name,
    [H.host]: m.host,
    [H.shape]: `${m.rows}x${m.cols}`,
    [H.dtype]: m.dtype.name,
    [H.bytes]: String(m.bytes),
    [H.chunk]: `${index}/${chunks}`,
    [H.sequence]: String(m.sequence),
    [H.time]: m.time.toFixed(3),
  };
  if (m.fields) h[H.fields] = m.fields.join(',');
  return h;
}

/** Headers of a status message (no payload). `frame`: the last frame number sent, 0 for none. */
export function statusHeaders(s: { id: string; frame: number; skipped: number; name: string; host: string; state: SourceState }): Record<string, string> {
  return {
    [H.version]: String(WIRE_VERSION),
    [H.kind]: 'status',
    [H.id]: s.id,
    [H.frame]: String(s.frame),
    [H.skipped]: String(s.skipped),
    [H.name]: s.name,
    [H.host]: s.host,
    [H.state]: s.state,
  };
}

/** The chunks a frame of `bytes` is sent in when a message may carry `room` bytes of payload. */
export function chunkCount(bytes: number, room: number): number {
  return Math.max(1, Math.ceil(bytes / room));
}

/**
 * Kinds of problem a received message can have: the subscriber logs the first of each kind and
 * counts the rest, so a hostile publisher cannot flood the log.
 */
export type Problem =
  | 'version' // not this wire version
  | 'header' // a header missing or malformed
  | 'shape' // rows or columns not positive integers
  | 'too-large' // a frame larger than the limit or than a segment may hold
  | 'dtype' // an element type this format does not have
  | 'fields' // field names that are not cols valid names
  | 'size' // payload sizes that do not add up to the frame's bytes
  | 'chunk-order' // a chunk that is not the next one of the frame being assembled
  | 'incomplete'; // a frame abandoned before its last chunk came

export class WireProblem extends Error {
  constructor(readonly problem: Problem, message: string) {
    super(message);
    this.name = 'WireProblem';
  }
}

function bad(problem: Problem, message: string): never {
  throw new WireProblem(problem, message);
}

/** Headers as received: a getter by exact name. */
export type HeaderGet = (name: string) => string | undefined;

const UINT = /^(0|[1-9][0-9]{0,15})$/;

function uint(get: HeaderGet, name: string, problem: Problem = 'header'): number {
  const v = get(name);
  if (v === undefined) bad('header', `header ${name} is missing`);
  if (!UINT.test(v) || !Number.isSafeInteger(Number(v))) bad(problem, `header ${name} "${clip(v)}" is not a whole number`);
  return Number(v);
}

function text(get: HeaderGet, name: string, max = 512): string {
  const v = get(name);
  if (v === undefined) bad('header', `header ${name} is missing`);
  if (v.length > max || !/^[\x20-\x7e]*$/.test(v)) bad('header', `header ${name} is not printable ASCII of at most ${max} characters`);
  return v;
}

/** A received value as a log line may quote it: short and printable. */
function clip(v: string): string {
  const s = v.length > 40 ? v.slice(0, 40) + '…' : v;
  return s.replace(/[^\x20-\x7e]/g, '?');
}

export interface StatusMsg {
  kind: 'status';
  id: string;
  frame: number;
  skipped: number;
  name: string;
  host: string;
  state: SourceState;
}

export interface ChunkMsg {
  kind: 'frame';
  meta: FrameMeta;
  index: number;
  chunks: number;
}

/** The headers every message has. */
function common(get: HeaderGet) {
  const version = get(H.version);
  if (version === undefined) bad('header', `header ${H.version} is missing (not a shmswarm message)`);
  if (version !== String(WIRE_VERSION)) bad('version', `wire format version "${clip(version)}" is not ${WIRE_VERSION}, the one this shmswarm speaks`);
  const id = text(get, H.id, 64);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) bad('header', `header ${H.id} "${clip(id)}" is not 1-64 letters, digits, _ or -`);
  return { id, frame: uint(get, H.frame), skipped: uint(get, H.skipped), name: text(get, H.name, 256), host: text(get, H.host, 256) };
}

/**
 * Decode and check one message's headers (and the payload's size against them). Throws
 * WireProblem; never allocates by what a header claims.
 */
export function decodeMessage(get: HeaderGet, payloadBytes: number, maxFrameBytes: number): StatusMsg | ChunkMsg {
  const base = common(get);
  const kind = get(H.kind);
  if (kind === 'status') {
    const state = get(H.state) as SourceState | undefined;
    if (state === undefined || !STATES.includes(state)) bad('header', `header ${H.state} must be one of ${STATES.join(', ')}`);
    return { kind: 'status', ...base, state };
  }
  if (kind !== 'frame') bad('header', `header ${H.kind} must be frame or status, got "${clip(kind ?? '')}"`);
  const shape = text(get, H.shape, 64);
  const sm = /^([0-9]{1,20})x([0-9]{1,20})$/.exec(shape);
  if (!sm) bad('shape', `header ${H.shape} "${clip(shape)}" is not <rows>x<cols>`);
  const rows = Number(sm[1]);
  const cols = Number(sm[2]);
  if (!(rows >= 1) || !(cols >= 1)) bad('shape', `shape ${clip(shape)} has no elements`);
  const dtypeName = text(get, H.dtype, 16);
  let dtype: Dtype;
  try {
    dtype = parseDtype(dtypeName);
  } catch {
    bad('dtype', `element type "${clip(dtypeName)}" is not one of i8 u8 i16 u16 i32 u32 i64 u64 f32 f64`);
  }
  // Exact in floating point as long as the product stays below 2^53; anything above is refused.
  const need = rows * cols * dtype.bytes;
  if (cols > 2 ** 32 - 1 || !Number.isSafeInteger(need) || need > SEGMENT_MAX_BYTES || need > maxFrameBytes)
    bad('too-large', `shape ${clip(shape)} ${dtype.name} is ${need > 1e15 ? need.toExponential(2) : need} bytes, more than the ${maxFrameBytes} a frame may have here (--max-bytes)`);
  const bytes = uint(get, H.bytes, 'size');
  if (bytes !== need) bad('size', `header ${H.bytes} says ${bytes} bytes, the shape says ${need}`);
  let fields: string[] | null = null;
  const f = get(H.fields);
  if (f !== undefined) {
    try {
      fields = parseFields(f);
    } catch (e) {
      bad('fields', `field names refused: ${(e as Error).message}`);
    }
    if (fields.length !== cols) bad('fields', `${fields.length} field names for ${cols} columns`);
  }
  const chunk = text(get, H.chunk, 48);
  const cm = /^([0-9]{1,15})\/([0-9]{1,15})$/.exec(chunk);
  if (!cm) bad('header', `header ${H.chunk} "${clip(chunk)}" is not <index>/<count>`);
  const index = Number(cm[1]);
  const chunks = Number(cm[2]);
  if (chunks < 1 || index >= chunks || chunks > bytes) bad('header', `header ${H.chunk} "${clip(chunk)}" is not a chunk of a ${bytes}-byte frame`);
  if (payloadBytes === 0 || payloadBytes > bytes) bad('size', `chunk ${index}/${chunks} carries ${payloadBytes} bytes of a ${bytes}-byte frame`);
  if (chunks === 1 && payloadBytes !== bytes) bad('size', `a one-chunk frame carries ${payloadBytes} bytes, its shape needs ${bytes}`);
  const time = Number(text(get, H.time, 32));
  if (!Number.isFinite(time) || time < 0) bad('header', `header ${H.time} is not a time in ms`);
  const sequence = uint(get, H.sequence);
  return { kind: 'frame', index, chunks, meta: { ...base, rows, cols, dtype, fields, bytes, sequence, time } };
}

/** Two frames describe the same matrix: shape, element type and field names. */
export function sameShape(a: Pick<FrameMeta, 'rows' | 'cols' | 'dtype' | 'fields'>, b: Pick<FrameMeta, 'rows' | 'cols' | 'dtype' | 'fields'>): boolean {
  return a.rows === b.rows && a.cols === b.cols && a.dtype.name === b.dtype.name && (a.fields?.join(',') ?? '') === (b.fields?.join(',') ?? '');
}

/** A whole frame, assembled: `data` holds exactly meta.bytes bytes. */
export interface WholeFrame {
  meta: FrameMeta;
  data: Uint8Array;
}

/**
 * Puts chunks together. Chunks of one frame come in order on one subject (NATS keeps the
 * order of one publisher's messages on a subject): chunk 0 starts a frame, chunk i is taken
 * only right after chunk i - 1 of the same publisher's same frame, and the frame is whole when
 * its last chunk lands with exactly `bytes` bytes. Anything else drops the frame being built
 * (reported, never delivered in part).
 *
 * Two buffers take turns, so a whole frame handed out stays intact while the next one is
 * assembled; the caller must be done with a frame before the second one after it completes. A
 * frame in one message is handed out as the message's payload itself (any byte alignment).
 */
export class Assembler {
  readonly #report: (p: WireProblem) => void;
  #buffers: [Uint8Array | null, Uint8Array | null] = [null, null];
  #turn = 0;
  #meta: FrameMeta | null = null;
  #chunks = 0;
  #next = 0;
  #filled = 0;

  constructor(report: (p: WireProblem) => void) {
    this.#report = report;
  }

  /** Take one decoded chunk; returns the frame it completes, or null. */
  add(m: ChunkMsg, payload: Uint8Array): WholeFrame | null {
    const cur = this.#meta;
    if (m.index === 0) {
      if (cur) this.#drop('incomplete', `frame ${cur.frame} from publisher ${cur.id} was dropped: chunk ${this.#next} of ${this.#chunks} never came before the next frame began`);
      // A frame in one message is whole as it came (decodeMessage checked its size): no copy.
      if (m.chunks === 1) return { meta: m.meta, data: payload };
      this.#begin(m);
    } else if (!cur || cur.id !== m.meta.id || cur.frame !== m.meta.frame || m.chunks !== this.#chunks || m.index !== this.#next) {
      const expected = cur ? `expected chunk ${this.#next}/${this.#chunks} of frame ${cur.frame}` : 'no chunk 0 before it';
      this.#drop('chunk-order', `chunk ${m.index}/${m.chunks} of frame ${m.meta.frame} came out of order (${expected}); the frame is dropped`);
      return null;
    }
    const meta = this.#meta!;
    const buf = this.#buffers[this.#turn]!;
    const last = m.index === m.chunks - 1;
    const filled = this.#filled + payload.byteLength;
    if (filled > meta.bytes || (last && filled !== meta.bytes)) {
      this.#drop('size', `the chunks of frame ${meta.frame} carry ${last && filled < meta.bytes ? 'fewer' : 'more'} than the ${meta.bytes} bytes its shape needs; the frame is dropped`);
      return null;
    }
    buf.set(payload, this.#filled);
    this.#filled = filled;
    this.#next = m.index + 1;
    if (!last) return null;
    this.#meta = null;
    this.#turn ^= 1;
    return { meta, data: buf };
  }

  #begin(m: ChunkMsg): void {
    this.#meta = m.meta;
    this.#chunks = m.chunks;
    this.#next = 0;
    this.#filled = 0;
    const buf = this.#buffers[this.#turn];
    // Allocated only for a frame whose size passed the limit, and kept while frames keep that size.
    if (!buf || buf.byteLength !== m.meta.bytes) {
      const elements = m.meta.bytes / m.meta.dtype.bytes;
      const frame = allocFrame(m.meta.dtype, elements);
      this.#buffers[this.#turn] = new Uint8Array(frame.buffer, frame.byteOffset, m.meta.bytes);
    }
  }

  #drop(problem: Problem, message: string): void {
    this.#meta = null;
    this.#report(new WireProblem(problem, message));
  }

  /** A frame is being put together (chunk 0 taken, the last one not yet). */
  get building(): boolean {
    return this.#meta !== null;
  }

  /** Forget a frame being assembled (after a reconnection it can no longer complete); whether there was one. */
  abandon(): boolean {
    const had = this.#meta !== null;
    this.#meta = null;
    return had;
  }
}
