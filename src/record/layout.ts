import type { DtypeName, TypedArray } from '../core/dtypes.js';
import { parseDtype } from '../core/dtypes.js';

/** What a recording says about the segment it was made from (both formats). */
export interface RecordingHeader {
  format: 'arrow' | 'mcap';
  /** The segment recorded, e.g. /swarm. */
  source: string;
  rows: number;
  cols: number;
  dtype: DtypeName;
  fields: string[];
  /** shmswarm's version that wrote it. */
  version: string;
  /** ms since the epoch when recording started. */
  startedMs: number | null;
}

/** One frame as stored: when its writer published it and what the recorder knew then. */
export interface FrameStamp {
  /** The writer's frame number (the segment's frame counter after this frame). */
  frame: number;
  /** The segment's sequence counter. */
  sequence: number;
  /** Publish time, ns since the epoch (bigint: beyond 2^53). */
  timeNs: bigint;
  /** Frames published and not recorded so far (cumulative). */
  missed: number;
  /** Frames left out on purpose so far to stay within --max-rate (cumulative). */
  skipped: number;
}

/** Past this a header (field names) is not one shmswarm wrote. */
export const MAX_HEADER_BYTES = 16 << 20;

type Words = Uint8Array | Uint16Array | Uint32Array;

/**
 * The array's bits as unsigned words of its element size (8-byte elements as two 32-bit words):
 * copies through these keep every bit, where a copy through JS numbers may change a NaN's
 * payload, and avoid BigInt for i64/u64.
 */
function words(a: ArrayBufferView): { w: Words; per: number } {
  const { buffer, byteOffset, byteLength } = a;
  switch ((a as TypedArray).BYTES_PER_ELEMENT) {
    case 1: return { w: new Uint8Array(buffer, byteOffset, byteLength), per: 1 };
    case 2: return { w: new Uint16Array(buffer, byteOffset, byteLength / 2), per: 1 };
    case 4: return { w: new Uint32Array(buffer, byteOffset, byteLength / 4), per: 1 };
    default: return { w: new Uint32Array(buffer, byteOffset, byteLength / 4), per: 2 };
  }
}

/** Columns (one per field, each of `rows` elements) back into an agent-major frame, bit for bit. */
export function interleave<T extends TypedArray>(columns: TypedArray[], rows: number, out: T): T {
  const cols = columns.length;
  const { w: dst, per } = words(out);
  for (let c = 0; c < cols; c++) {
    const src = words(columns[c]).w;
    if (per === 1) for (let r = 0, i = c; r < rows; r++, i += cols) dst[i] = src[r];
    else
      for (let r = 0, i = 2 * c, step = 2 * cols; r < 2 * rows; r += 2, i += step) {
        dst[i] = src[r];
        dst[i + 1] = src[r + 1];
      }
  }
  return out;
}

/** The checks every reader applies to a header found in a file: sizes before anything is allocated. */
export function checkHeader(h: Partial<RecordingHeader>, what: string): RecordingHeader {
  const bad = (why: string) => new RecordingError(`${what}: ${why}`, 'EBADRECORDING');
  if (typeof h.source !== 'string') throw bad('no source segment in its metadata');
  if (!Number.isSafeInteger(h.rows) || h.rows! < 1) throw bad(`bad row count ${h.rows}`);
  if (!Number.isSafeInteger(h.cols) || h.cols! < 1) throw bad(`bad column count ${h.cols}`);
  let dtype;
  try {
    dtype = parseDtype(String(h.dtype));
  } catch {
    throw bad(`unknown dtype ${JSON.stringify(h.dtype)}`);
  }
  if (!Array.isArray(h.fields) || h.fields.length !== h.cols || h.fields.some((f) => typeof f !== 'string' || f === '' || f.includes(',')))
    throw bad('its field names do not match its column count');
  if (h.rows! * h.cols! * dtype.bytes > 2 ** 40) throw bad(`a frame of ${h.rows} × ${h.cols} ${dtype.name} is larger than any segment`);
  return {
    format: h.format!, source: h.source, rows: h.rows!, cols: h.cols!, dtype: dtype.name, fields: h.fields,
    version: typeof h.version === 'string' ? h.version : 'unknown', startedMs: typeof h.startedMs === 'number' ? h.startedMs : null,
  };
}

/**
 * A recording that cannot be read: `code` EBADRECORDING (not a recording shmswarm can replay, or
 * damaged), ETRUNCATED (it ends in the middle of a frame, or before its first), EEMPTY.
 */
export class RecordingError extends Error {
  constructor(message: string, readonly code: 'EBADRECORDING' | 'ETRUNCATED' | 'EEMPTY' | 'EFORMAT') {
    super(message);
    this.name = 'RecordingError';
  }
}

/** The file's format from --format or its extension: .mcap is MCAP, anything else Arrow. */
export function formatOf(path: string, asked?: string): 'arrow' | 'mcap' {
  if (asked !== undefined) return asked === 'mcap' ? 'mcap' : 'arrow';
  return /\.mcap$/i.test(path) ? 'mcap' : 'arrow';
}

/** ms since the epoch (a double) → ns (bigint). */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}
