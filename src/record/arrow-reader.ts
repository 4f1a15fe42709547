import { closeSync } from 'node:fs';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { MessageHeader } from 'apache-arrow/enum';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { Schema as FbSchema } from 'apache-arrow/fb/schema';
import { ByteBuffer } from 'flatbuffers';
import { parseDtype, type Dtype, type TypedArray } from '../core/dtypes.js';
import { BATCH_KEYS, SCHEMA_KEYS, arrowType } from './arrow-writer.js';
import { checkHeader, interleave, MAX_HEADER_BYTES, RecordingError, type FrameStamp, type RecordingHeader } from './layout.js';
import { preadAt, type Recording } from './reader.js';

interface BatchAt {
  /** Where its body starts and how long it is. */
  body: number;
  bodyLength: number;
  /** Offsets of each column's values in the body. */
  columns: number[];
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/**
 * An Arrow IPC stream written by `record`, walked message by message: each message's metadata
 * is decoded by apache-arrow and checked against the file's size and the schema before any body
 * is read, so a damaged length never makes the reader allocate or loop on it.
 */
export async function openArrowRecording(path: string, fd: number, size: number): Promise<Recording> {
  let pos = 0;
  let header: RecordingHeader | undefined;
  let dtype: Dtype | undefined;
  const stamps: FrameStamp[] = [];
  const batches: BatchAt[] = [];
  let truncated: Recording['truncated'] = null;
  let ended = false;
  const bad = (why: string) => new RecordingError(`${path}: ${why} (at byte ${pos})`, 'EBADRECORDING');

  while (!ended) {
    if (pos === size) {
      truncated = { why: 'it has no end-of-stream marker (a recording that was killed)', bytes: size };
      break;
    }
    const prefix = preadAt(fd, 8, pos);
    if (prefix.length < 8) {
      truncated = { why: 'it ends in the middle of a message', bytes: pos };
      break;
    }
    const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
    if (dv.getInt32(0, true) !== -1) throw bad('not an Arrow IPC stream message');
    const metaLength = dv.getInt32(4, true);
    if (metaLength === 0) {
      ended = true;
      break;
    }
    if (metaLength < 0 || metaLength > MAX_HEADER_BYTES) throw bad(`a message header of ${metaLength} bytes`);
    if (pos + 8 + metaLength > size) {
      truncated = { why: 'it ends in the middle of a message', bytes: pos };
      break;
    }
    let message: Message;
    try {
      const meta = preadAt(fd, metaLength, pos + 8);
      if (!listsFit(meta)) throw new Error('a list longer than the header holding it');
      message = Message.decode(meta);
      message.header(); // the header is decoded lazily: a damaged one must fail here, not later as a TypeError
    } catch (e) {
      throw bad(`a message header that does not decode (${(e as Error).message})`);
    }
    const bodyLength = Number(message.bodyLength);
    const body = pos + 8 + metaLength;
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) throw bad('a message with a negative body length');
    if (body + bodyLength > size) {
      truncated = { why: 'it ends in the middle of a frame', bytes: pos };
      break;
    }
    if (!header) {
      if (message.headerType !== MessageHeader.Schema) throw bad('no schema at the start of the stream');
      ({ header, dtype } = schemaHeader(message, path));
    } else {
      if (message.headerType !== MessageHeader.RecordBatch) throw bad('a message that is not a record batch');
      const b = checkBatch(message, header, dtype!, bad);
      batches.push({ body, bodyLength, columns: b });
      stamps.push(stampOf(message.metadata, stamps.length, bad));
    }
    pos = body + bodyLength;
  }
  if (!header) throw new RecordingError(`${path} ends before its schema: no frame can be read`, 'ETRUNCATED');
  if (ended && pos + 8 !== size) throw new RecordingError(`${path}: ${size - pos - 8} bytes after the end of the stream`, 'EBADRECORDING');
  const last = stamps.at(-1);
  const h = header;
  const d = dtype!;
  return {
    path, header: h, stamps, truncated,
    missed: last?.missed ?? 0,
    skipped: last?.skipped ?? 0,
    bytes: size,
    *frames(from: number, into: TypedArray) {
      const bytes = h.rows * d.bytes;
      const scratch = new Uint8Array(pad8(bytes) * h.cols);
      for (let i = from; i < batches.length; i++) {
        const b = batches[i];
        const got = preadAt(fd, b.bodyLength, b.body, b.bodyLength <= scratch.byteLength ? scratch.subarray(0, b.bodyLength) : undefined);
        if (got.length !== b.bodyLength) throw new RecordingError(`${path} became shorter while being read`, 'ETRUNCATED');
        const columns = b.columns.map((off) => new d.array(got.buffer, got.byteOffset + off, h.rows));
        yield { index: i, stamp: stamps[i], data: interleave(columns, h.rows, into) };
      }
    },
    close: () => closeSync(fd),
  };
}

/**
 * apache-arrow believes the lengths of a header's lists: a damaged one of 2^31 entries loops for
 * minutes. Each entry takes at least 4 bytes of the header, so a longer list is damage.
 */
function listsFit(meta: Uint8Array): boolean {
  const most = meta.length / 4;
  const m = FbMessage.getRootAsMessage(new ByteBuffer(meta));
  if (m.customMetadataLength() > most) return false;
  if (m.headerType() === MessageHeader.RecordBatch) {
    const b = m.header(new FbRecordBatch()) as FbRecordBatch | null;
    return !b || (b.nodesLength() <= most && b.buffersLength() <= most && b.variadicBufferCountsLength() <= most);
  }
  const sc = m.headerType() === MessageHeader.Schema ? (m.header(new FbSchema()) as FbSchema | null) : null;
  if (!sc) return true;
  if (sc.fieldsLength() > most || sc.customMetadataLength() > most || sc.featuresLength() > most) return false;
  for (let i = 0; i < sc.fieldsLength(); i++) {
    const f = sc.fields(i);
    if (f && (f.childrenLength() > most || f.customMetadataLength() > most)) return false;
  }
  return true;
}

function schemaHeader(message: Message, path: string): { header: RecordingHeader; dtype: Dtype } {
  const schema = message.header() as unknown as { fields: { name: string; type: { toString(): string }; nullable: boolean }[]; metadata: Map<string, string> };
  const m = schema.metadata;
  if (!m.has(SCHEMA_KEYS.source))
    throw new RecordingError(`${path} is an Arrow stream but not a shmswarm recording (no ${SCHEMA_KEYS.source} in its schema metadata)`, 'EBADRECORDING');
  const shape = /^(\d+)x(\d+)$/.exec(m.get(SCHEMA_KEYS.shape) ?? '');
  const started = m.get(SCHEMA_KEYS.started);
  const header = checkHeader(
    {
      format: 'arrow', source: m.get(SCHEMA_KEYS.source), rows: shape ? Number(shape[1]) : NaN, cols: shape ? Number(shape[2]) : NaN,
      dtype: m.get(SCHEMA_KEYS.dtype) as RecordingHeader['dtype'], fields: schema.fields.map((f) => f.name), version: m.get(SCHEMA_KEYS.version),
      startedMs: started && /^\d+$/.test(started) ? Number(BigInt(started) / 1000n) / 1000 : null,
    },
    path,
  );
  const dtype = parseDtype(header.dtype);
  const want = arrowType(header.dtype).toString();
  if (schema.fields.some((f) => f.type.toString() !== want))
    throw new RecordingError(`${path}: its columns are not all ${want} as its metadata says (${header.dtype})`, 'EBADRECORDING');
  return { header, dtype };
}

/** The body offset of each column's values, after checking the batch is rows × cols without nulls or compression. */
function checkBatch(message: Message, h: RecordingHeader, d: Dtype, bad: (why: string) => Error): number[] {
  const b = message.header() as unknown as { length: number | bigint; nodes: { length: number | bigint; nullCount: number | bigint }[]; buffers: { offset: number | bigint; length: number | bigint }[]; compression: unknown };
  if (Number(b.length) !== h.rows) throw bad(`a frame of ${b.length} rows in a recording of ${h.rows}`);
  if (b.compression) throw bad('a compressed frame');
  if (b.nodes.length !== h.cols || b.nodes.some((n) => Number(n.length) !== h.rows || Number(n.nullCount) !== 0)) throw bad('a frame whose columns do not match the schema');
  if (b.buffers.length !== 2 * h.cols) throw bad('a frame whose buffers do not match the schema');
  const bodyLength = Number(message.bodyLength);
  const bytes = h.rows * d.bytes;
  return h.fields.map((_, c) => {
    const values = b.buffers[2 * c + 1];
    const off = Number(values.offset);
    if (Number(values.length) < bytes || off < 0 || off % d.bytes !== 0 || off + bytes > bodyLength) throw bad(`a column ${h.fields[c]} outside its frame`);
    return off;
  });
}

function stampOf(meta: Map<string, string>, index: number, bad: (why: string) => Error): FrameStamp {
  const int = (key: string): bigint => {
    const v = meta.get(key);
    if (v === undefined || !/^\d{1,20}$/.test(v)) throw bad(`frame ${index} has no valid ${key}`);
    return BigInt(v);
  };
  return {
    frame: Number(int(BATCH_KEYS.frame)),
    sequence: Number(int(BATCH_KEYS.sequence)),
    timeNs: int(BATCH_KEYS.time),
    missed: Number(int(BATCH_KEYS.missed)),
    skipped: meta.has(BATCH_KEYS.skipped) ? Number(int(BATCH_KEYS.skipped)) : 0,
  };
}
