/**
 * The page's binary frame message (docs/SERVE.md), shared by the server that writes it and the
 * page that reads it. No Node or DOM here: both sides import this file.
 *
 * Little-endian. 64 bytes of header; cols × u32, the segment's field index of each column sent
 * (padded to 8 bytes); for the quantised encoding, cols × (f32 min, f32 scale); then rows × cols
 * values, agent-major: the data starts at a multiple of 8 bytes, so typed arrays and GPU buffers
 * can use it in place.
 */

/** "SHSW" in the first four bytes. */
export const FRAME_MAGIC = 0x57534853;
/** 2: the fields table (only the fields the page asked for are sent). */
export const FRAME_VERSION = 2;
export const FRAME_HEADER_BYTES = 64;

/** The values as the segment holds them (or converted to f32: see FrameFlag.Converted). */
export const ENCODING_PLAIN = 0;
/** u16 per value; value = min[c] + q × scale[c]. */
export const ENCODING_U16 = 1;

export const FrameFlag = {
  /** The writer died while writing this frame: it may mix two frames. */
  Torn: 1,
  /** Every `step`-th agent only. */
  Subsampled: 2,
  /** f64, i64 or u64 values sent as f32 (the GPU reads no 64-bit values). */
  Converted: 4,
} as const;

/** Byte offsets of the header's fields. */
export const H = {
  magic: 0, // u32
  version: 4, // u16
  headerBytes: 6, // u16: where the fields table starts
  encoding: 8, // u8
  dtype: 9, // u8: WA-1 element type code of the values sent (9 = f32)
  flags: 10, // u16
  rows: 12, // u32: agents in this message
  cols: 16, // u32: columns in this message (see the fields table)
  totalRows: 20, // u32: agents in the segment
  step: 24, // u32: agent i of the message is agent i × step of the segment
  dataOffset: 28, // u32: where the values start
  sequence: 32, // f64: the segment's sequence counter (a read counter for raw and WA-1 objects)
  frames: 40, // f64: frames published by the writer (the read counter for raw and WA-1 objects)
  lastWriteTime: 48, // f64: ms since the epoch of the publish, NaN when unknown
  sentTime: 56, // f64: ms since the epoch when the server made the message
} as const;

export interface FrameHeader {
  encoding: number;
  dtype: number;
  flags: number;
  rows: number;
  cols: number;
  totalRows: number;
  step: number;
  dataOffset: number;
  sequence: number;
  frames: number;
  lastWriteTime: number;
  sentTime: number;
}

/** Where the quantisation table starts: after the header and the fields table (cols × u32, to 8 bytes). */
export function quantOffsetFor(cols: number): number {
  return FRAME_HEADER_BYTES + Math.ceil((cols * 4) / 8) * 8;
}

/** Bytes before the values: the header, the fields table, and the quantisation table. */
export function dataOffsetFor(encoding: number, cols: number): number {
  return quantOffsetFor(cols) + (encoding === ENCODING_U16 ? cols * 8 : 0);
}

/** The segment's field index of each column of a message whose header is `h`. */
export function readFieldsTable(buf: ArrayBuffer, h: FrameHeader): Uint32Array {
  return new Uint32Array(buf.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + h.cols * 4));
}

/**
 * What the page may send on /stream: the fields it draws (x, y and colour), so that only those
 * are sent. At most this many, each an index of the segment's fields; the server checks them.
 */
export const MAX_SELECTED_FIELDS = 3;
export interface FieldsMessage {
  type: 'fields';
  fields: number[];
}

export function writeFrameHeader(view: DataView, h: FrameHeader): void {
  view.setUint32(H.magic, FRAME_MAGIC, true);
  view.setUint16(H.version, FRAME_VERSION, true);
  view.setUint16(H.headerBytes, FRAME_HEADER_BYTES, true);
  view.setUint8(H.encoding, h.encoding);
  view.setUint8(H.dtype, h.dtype);
  view.setUint16(H.flags, h.flags, true);
  view.setUint32(H.rows, h.rows, true);
  view.setUint32(H.cols, h.cols, true);
  view.setUint32(H.totalRows, h.totalRows, true);
  view.setUint32(H.step, h.step, true);
  view.setUint32(H.dataOffset, h.dataOffset, true);
  view.setFloat64(H.sequence, h.sequence, true);
  view.setFloat64(H.frames, h.frames, true);
  view.setFloat64(H.lastWriteTime, h.lastWriteTime, true);
  view.setFloat64(H.sentTime, h.sentTime, true);
}

/** Bytes per value of each WA-1 element type code a frame message may carry. */
export const DTYPE_BYTES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 9: 4 };

/** The header of a message, or a reason it is not one that this page (version 1) reads. */
export function readFrameHeader(buf: ArrayBuffer): FrameHeader | string {
  if (buf.byteLength < FRAME_HEADER_BYTES) return `a ${buf.byteLength}-byte message is shorter than a frame header`;
  const v = new DataView(buf);
  if (v.getUint32(H.magic, true) !== FRAME_MAGIC) return 'not a frame message (bad magic)';
  if (v.getUint16(H.version, true) !== FRAME_VERSION) return `frame message version ${v.getUint16(H.version, true)}, this page reads ${FRAME_VERSION}`;
  const h: FrameHeader = {
    encoding: v.getUint8(H.encoding),
    dtype: v.getUint8(H.dtype),
    flags: v.getUint16(H.flags, true),
    rows: v.getUint32(H.rows, true),
    cols: v.getUint32(H.cols, true),
    totalRows: v.getUint32(H.totalRows, true),
    step: v.getUint32(H.step, true),
    dataOffset: v.getUint32(H.dataOffset, true),
    sequence: v.getFloat64(H.sequence, true),
    frames: v.getFloat64(H.frames, true),
    lastWriteTime: v.getFloat64(H.lastWriteTime, true),
    sentTime: v.getFloat64(H.sentTime, true),
  };
  const size = h.encoding === ENCODING_U16 ? 2 : DTYPE_BYTES[h.dtype];
  if (h.cols > 65_536) return `a frame of ${h.cols} columns is more than this page takes`;
  if (size === undefined || (h.encoding !== ENCODING_PLAIN && h.encoding !== ENCODING_U16)) return `unknown encoding ${h.encoding} / dtype ${h.dtype}`;
  if (h.dataOffset !== dataOffsetFor(h.encoding, h.cols) || h.dataOffset + h.rows * h.cols * size !== buf.byteLength)
    return `a ${h.rows} × ${h.cols} frame does not fit a ${buf.byteLength}-byte message`;
  return h;
}

/** The JSON text messages of /stream. */
export interface StatusMessage {
  type: 'status';
  /** The watch snapshot's fields (WatchSnapshot, events as their messages). */
  name: string;
  status: string;
  message: string | null;
  kind: string | null;
  rows: number | null;
  cols: number | null;
  dtype: string | null;
  fields: string[] | null;
  frames: number | null;
  writerPid: number | null;
  writerAlive: boolean | null;
  ageMs: number | null;
  framesPerSec: number | null;
  mbPerSec: number | null;
  stats: { field: string; min: number | null; mean: number | null; max: number | null; std: number | null; nonFinite: number }[] | null;
  torn: boolean;
  events: string[];
  /** This connection: frame messages sent, and frames left out because the socket was behind. */
  sent: number;
  skipped: number;
  /** Frames the writer published since this connection opened that it did not receive. */
  missed: number;
  /** How the frames are thinned, or null when every agent goes as it is. */
  thinning: { step: number; encoding: 'u16' | 'plain'; agentsSent: number; converted: boolean } | null;
  /** `stats` are over every statsStep-th agent (1: all agents). */
  statsStep: number;
  /** The fields this connection's frames carry (segment field indices). */
  sentFields: number[] | null;
}
