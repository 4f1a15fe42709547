import { crc32 } from 'node:zlib';
import { McapRecordBuilder, Opcode, type McapTypes } from '@mcap/core';
import type { TypedArray } from '../core/dtypes.js';
import { FileSink } from './file-sink.js';
import type { FrameStamp, RecordingHeader } from './layout.js';
import { encodePointCloud2, POINTCLOUD2, POINTCLOUD2_SCHEMA } from './pointcloud.js';
import type { FrameFileWriter, RecordingSummary, WriterOptions } from './writer.js';

/** Metadata record names (docs/RECORDING.md). */
export const MCAP_METADATA = { header: 'shmswarm', summary: 'shmswarm.summary' } as const;

export function headerMetadata(h: RecordingHeader): Map<string, string> {
  return new Map([
    ['source', h.source],
    ['shape', `${h.rows}x${h.cols}`],
    ['dtype', h.dtype],
    ['fields', h.fields.join(',')],
    ['version', h.version],
    ...(h.startedMs === null ? [] : [['started_ns', String(BigInt(Math.round(h.startedMs * 1e6)))] as [string, string]]),
  ]);
}

/** Records encoded by @mcap/core's record builder, as one byte array. */
function records(write: (b: McapRecordBuilder) => void): Uint8Array {
  const b = new McapRecordBuilder();
  write(b);
  return b.buffer;
}

/** What the chunk template is encoded with: values its checks then find at their offsets. */
const PROBE = { log: 0x0102030405060708n, publish: 0x1112131415161718n, sequence: 0x21222324, crc: 0x31323334 } as const;

/**
 * One frame's chunk, encoded by the libraries: a Chunk record (uncompressed) holding one Message
 * record whose data is the PointCloud2 CDR message (@foxglove/cdr) whose `data` is the frame.
 * It is encoded once, around a frame of zeros; per frame only the fixed-size fields that change
 * are set at their offsets, and the frame goes to the file from its own buffer (PointCloud2 is
 * row-major, as the segment is), so a frame costs one CRC pass and no copy. test/record checks
 * the result against the libraries' own encoding of the same frame, byte for byte.
 */
export class ChunkTemplate {
  /** The chunk record up to the frame's first byte. */
  readonly head: Uint8Array;
  /** The chunk record after the frame's last byte (the message's is_dense). */
  readonly tail: Uint8Array;
  readonly frameBytes: number;
  #view: DataView;

  // Offsets fixed by the MCAP spec (Chunk: opcode, length, message_start_time, message_end_time,
  // uncompressed_size, uncompressed_crc, compression "", records length, records; Message:
  // opcode, length, channel_id, sequence, log_time, publish_time, data) and by CDR (a 4-byte
  // encapsulation header, then header.stamp's int32 sec and uint32 nanosec).
  static readonly START = 9;
  static readonly END = 17;
  static readonly CRC = 33;
  static readonly RECORDS = 49;
  static readonly SEQUENCE = 49 + 11;
  static readonly LOG = 49 + 15;
  static readonly PUBLISH = 49 + 23;
  static readonly SEC = 49 + 31 + 4;
  static readonly NANOSEC = 49 + 31 + 8;

  constructor(header: RecordingHeader, channelId: number, frameBytes: number) {
    this.frameBytes = frameBytes;
    const zeros = new Uint8Array(frameBytes);
    const cdr = encodePointCloud2(header, zeros, PROBE.publish);
    const message = records((b) => b.writeMessage({ channelId, sequence: PROBE.sequence, logTime: PROBE.log, publishTime: PROBE.publish, data: cdr }));
    const chunk = records((b) =>
      b.writeChunk({
        messageStartTime: PROBE.log, messageEndTime: PROBE.log, uncompressedSize: BigInt(message.byteLength), uncompressedCrc: PROBE.crc,
        compression: '', records: message,
      }),
    );
    // The frame sits just before the CDR's last byte (is_dense), which ends the chunk.
    const at = chunk.byteLength - 1 - frameBytes;
    this.head = chunk.slice(0, at);
    this.tail = chunk.slice(at + frameBytes);
    this.#view = new DataView(this.head.buffer, this.head.byteOffset, this.head.byteLength);
    const v = this.#view;
    const T = ChunkTemplate;
    const sec = Number(PROBE.publish / 1_000_000_000n);
    const ok =
      chunk[0] === Opcode.CHUNK && chunk[T.RECORDS] === Opcode.MESSAGE && v.getBigUint64(T.START, true) === PROBE.log &&
      v.getBigUint64(T.END, true) === PROBE.log && v.getUint32(T.CRC, true) === PROBE.crc && v.getUint32(T.SEQUENCE, true) === PROBE.sequence &&
      v.getBigUint64(T.LOG, true) === PROBE.log && v.getBigUint64(T.PUBLISH, true) === PROBE.publish && v.getInt32(T.SEC, true) === (sec | 0) &&
      v.getUint32(T.NANOSEC, true) === Number(PROBE.publish % 1_000_000_000n) && this.tail.byteLength === 1;
    if (!ok) throw new Error('the MCAP chunk template does not have the layout its offsets assume');
  }

  /** Set one frame's fields in head, its uncompressed CRC (of the chunk's records) last. */
  fill(frame: Uint8Array, sequence: number, logTime: bigint, publishTime: bigint): void {
    const v = this.#view;
    const T = ChunkTemplate;
    v.setBigUint64(T.START, logTime, true);
    v.setBigUint64(T.END, logTime, true);
    v.setUint32(T.SEQUENCE, sequence >>> 0, true);
    v.setBigUint64(T.LOG, logTime, true);
    v.setBigUint64(T.PUBLISH, publishTime, true);
    v.setInt32(T.SEC, Number(publishTime / 1_000_000_000n), true);
    v.setUint32(T.NANOSEC, Number(publishTime % 1_000_000_000n), true);
    // The CRC of the chunk's records (the message), by zlib's native crc32 in three pieces.
    v.setUint32(T.CRC, crc32(this.tail, crc32(frame, crc32(this.head.subarray(T.RECORDS)))), true);
  }

  get recordsBytes(): number {
    return this.head.byteLength - ChunkTemplate.RECORDS + this.frameBytes + this.tail.byteLength;
  }
}

const CHANNEL = 0;
const SCHEMA = 1;

/**
 * MCAP, ROS 2 profile: one channel (topic = the segment name) of sensor_msgs/msg/PointCloud2 in
 * CDR, one message per frame, one chunk per message (so a killed recorder loses at most the frame
 * it was writing), each chunk followed by its message index. A `shmswarm` metadata record, the
 * schema and the channel first; `shmswarm.summary`, the data end and the summary section
 * (schema, channel, statistics, metadata and chunk indexes, summary offsets, footer) at finish().
 * Every record is encoded by @mcap/core's McapRecordBuilder, the frame's chunk through
 * ChunkTemplate. The data end's data_section_crc is 0 ("not available" in the spec, as the C++
 * writer's default): each chunk has its own CRC, which readers check.
 */
export class McapFrameWriter implements FrameFileWriter {
  readonly format = 'mcap' as const;
  #file: FileSink;
  #header: RecordingHeader;
  #template: ChunkTemplate;
  #metadataIndexes: { name: string; offset: bigint; length: bigint }[] = [];
  /** Per chunk, what its index needs beyond what every chunk shares: its log time and offset. */
  #chunkLogTimes: bigint[] = [];
  #chunkStarts: number[] = [];
  /** The message index after each chunk: the same size every frame, encoded into one builder. */
  #index = new McapRecordBuilder();
  #indexBytes = 0;

  private constructor(file: FileSink, header: RecordingHeader, frameBytes: number) {
    this.#file = file;
    this.#header = header;
    this.#template = new ChunkTemplate(header, CHANNEL, frameBytes);
  }

  static async open(o: WriterOptions): Promise<McapFrameWriter> {
    const { pointFieldType } = await import('./pointcloud.js');
    const { parseDtype } = await import('../core/dtypes.js');
    if (pointFieldType(o.header.dtype) === undefined)
      throw Object.assign(new Error(`MCAP (sensor_msgs/PointCloud2) has no ${o.header.dtype} point type; record ${o.header.source} as Arrow (.arrows) instead`), { code: 'EFORMAT' });
    const file = new FileSink(o.path, o.overwrite);
    try {
      const w = new McapFrameWriter(file, o.header, o.header.rows * o.header.cols * parseDtype(o.header.dtype).bytes);
      w.#start();
      return w;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  #start(): void {
    const h = this.#header;
    this.#file.write(records((b) => {
      b.writeMagic();
      b.writeHeader({ profile: 'ros2', library: `shmswarm ${h.version}` });
    }));
    this.#metadata(MCAP_METADATA.header, headerMetadata(h));
    this.#file.write(records((b) => {
      b.writeSchema({ id: SCHEMA, name: POINTCLOUD2, encoding: 'ros2msg', data: new TextEncoder().encode(POINTCLOUD2_SCHEMA) });
      b.writeChannel({ id: CHANNEL, schemaId: SCHEMA, topic: h.source, messageEncoding: 'cdr', metadata: new Map() });
    }));
    this.#file.commit();
  }

  #metadata(name: string, metadata: Map<string, string>): void {
    const offset = BigInt(this.#file.position);
    let length = 0n;
    this.#file.write(records((b) => (length = b.writeMetadata({ name, metadata }))));
    this.#metadataIndexes.push({ name, offset, length });
  }

  get bytes(): number {
    return this.#file.committed;
  }

  async write(data: TypedArray, stamp: FrameStamp): Promise<void> {
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const t = this.#template;
    if (frame.byteLength !== t.frameBytes) throw new RangeError(`a frame of ${frame.byteLength} bytes, not ${t.frameBytes}`);
    const logTime = BigInt(Date.now()) * 1_000_000n;
    // MCAP sequences are u32: the writer's frame number modulo 2^32.
    t.fill(frame, stamp.frame, logTime, stamp.timeNs);
    const chunkStart = this.#file.position;
    this.#index.reset();
    this.#index.writeMessageIndex({ channelId: CHANNEL, records: [[logTime, 0n]] });
    const index = this.#index.buffer;
    this.#indexBytes = index.byteLength;
    this.#file.write(t.head);
    this.#file.write(frame);
    this.#file.write(t.tail);
    this.#file.write(index);
    // The template and the frame's buffer are reused for the next frame: they reach the kernel now.
    this.#file.commit();
    this.#chunkLogTimes.push(logTime);
    this.#chunkStarts.push(chunkStart);
  }

  /** The chunk indexes, made at the end from what each frame kept. */
  #chunkIndexes(): McapTypes.ChunkIndex[] {
    const t = this.#template;
    const chunkLength = BigInt(t.head.byteLength + t.frameBytes + t.tail.byteLength);
    const size = BigInt(t.recordsBytes);
    return this.#chunkStarts.map((start, k) => ({
      messageStartTime: this.#chunkLogTimes[k], messageEndTime: this.#chunkLogTimes[k], chunkStartOffset: BigInt(start), chunkLength,
      messageIndexOffsets: new Map([[CHANNEL, BigInt(start) + chunkLength]]), messageIndexLength: BigInt(this.#indexBytes),
      compression: '', compressedSize: size, uncompressedSize: size,
    }));
  }

  async finish(summary: RecordingSummary): Promise<void> {
    try {
      this.#metadata(MCAP_METADATA.summary, new Map([['frames', String(summary.frames)], ['missed', String(summary.missed)], ['skipped', String(summary.skipped)]]));
      this.#file.write(records((b) => b.writeDataEnd({ dataSectionCrc: 0 })));
      this.#file.write(this.#summary(BigInt(this.#file.position)));
      this.#file.commit();
    } finally {
      this.#file.close();
    }
  }

  /** The summary section, summary offsets and footer (as McapWriter.end() lays them out). */
  #summary(summaryStart: bigint): Uint8Array {
    const h = this.#header;
    const b = new McapRecordBuilder();
    const messages = this.#chunkStarts.length;
    const groups: { groupOpcode: number; groupStart: bigint; groupLength: bigint }[] = [];
    const group = (groupOpcode: number, write: () => bigint) => {
      const groupStart = summaryStart + BigInt(b.length);
      groups.push({ groupOpcode, groupStart, groupLength: write() });
    };
    group(Opcode.SCHEMA, () => b.writeSchema({ id: SCHEMA, name: POINTCLOUD2, encoding: 'ros2msg', data: new TextEncoder().encode(POINTCLOUD2_SCHEMA) }));
    group(Opcode.CHANNEL, () => b.writeChannel({ id: CHANNEL, schemaId: SCHEMA, topic: h.source, messageEncoding: 'cdr', metadata: new Map() }));
    group(Opcode.STATISTICS, () =>
      b.writeStatistics({
        messageCount: BigInt(messages), schemaCount: 1, channelCount: 1, attachmentCount: 0, metadataCount: this.#metadataIndexes.length,
        chunkCount: messages, messageStartTime: this.#chunkLogTimes[0] ?? 0n, messageEndTime: this.#chunkLogTimes.at(-1) ?? 0n,
        channelMessageCounts: new Map(messages > 0 ? [[CHANNEL, BigInt(messages)]] : []),
      }),
    );
    group(Opcode.METADATA_INDEX, () => this.#metadataIndexes.reduce((n, m) => n + b.writeMetadataIndex(m), 0n));
    group(Opcode.CHUNK_INDEX, () => this.#chunkIndexes().reduce((n, c) => n + b.writeChunkIndex(c), 0n));
    const summaryOffsetStart = summaryStart + BigInt(b.length);
    for (const g of groups) if (g.groupLength !== 0n) b.writeSummaryOffset(g);
    b.writeFooter({ summaryStart, summaryOffsetStart, summaryCrc: 0 });
    b.writeMagic();
    const bytes = b.buffer;
    // summary_crc: every byte from the summary's start up to the footer's summary_crc field.
    const crcAt = bytes.byteLength - 8 - 4;
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(crcAt, crc32(bytes.subarray(0, crcAt)), true);
    return bytes;
  }

  close(): void {
    this.#file.close();
  }
}
