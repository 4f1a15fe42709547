import { McapWriter, type IWritable } from '@mcap/core';
import type { TypedArray } from '../core/dtypes.js';
import { FileSink } from './file-sink.js';
import type { FrameStamp, RecordingHeader } from './layout.js';
import { encodePointCloud2, POINTCLOUD2, POINTCLOUD2_SCHEMA } from './pointcloud.js';
import type { FrameFileWriter, RecordingSummary, WriterOptions } from './writer.js';

/** Metadata record names (docs/RECORDING.md). */
export const MCAP_METADATA = { header: 'shmswarm', summary: 'shmswarm.summary' } as const;

/**
 * @mcap/core's writable: every buffer it hands over reaches the kernel before write() resolves
 * (the writer reuses its buffer for the next record).
 */
class FileWritable implements IWritable {
  constructor(readonly file: FileSink) {}
  async write(buffer: Uint8Array): Promise<void> {
    this.file.write(buffer);
    this.file.commit();
  }
  position(): bigint {
    return BigInt(this.file.position);
  }
}

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

/**
 * MCAP, ROS 2 profile: one channel (topic = the segment name) of sensor_msgs/msg/PointCloud2 in
 * CDR, one message per frame, one chunk per message (so a killed recorder loses at most the frame
 * it was writing). A `shmswarm` metadata record first; `shmswarm.summary` and the summary
 * section at finish().
 */
export class McapFrameWriter implements FrameFileWriter {
  readonly format = 'mcap' as const;
  #file: FileSink;
  #writer: McapWriter;
  #header: RecordingHeader;
  #channel = 0;

  private constructor(file: FileSink, header: RecordingHeader) {
    this.#file = file;
    this.#header = header;
    this.#writer = new McapWriter({ writable: new FileWritable(file), chunkSize: 0 });
  }

  static async open(o: WriterOptions): Promise<McapFrameWriter> {
    const { pointFieldType } = await import('./pointcloud.js');
    if (pointFieldType(o.header.dtype) === undefined)
      throw Object.assign(new Error(`MCAP (sensor_msgs/PointCloud2) has no ${o.header.dtype} point type; record ${o.header.source} as Arrow (.arrows) instead`), { code: 'EFORMAT' });
    const file = new FileSink(o.path, o.overwrite);
    const w = new McapFrameWriter(file, o.header);
    try {
      await w.#start();
    } catch (e) {
      file.close();
      throw e;
    }
    return w;
  }

  async #start(): Promise<void> {
    await this.#writer.start({ profile: 'ros2', library: `shmswarm ${this.#header.version}` });
    await this.#writer.addMetadata({ name: MCAP_METADATA.header, metadata: headerMetadata(this.#header) });
    const schemaId = await this.#writer.registerSchema({ name: POINTCLOUD2, encoding: 'ros2msg', data: new TextEncoder().encode(POINTCLOUD2_SCHEMA) });
    this.#channel = await this.#writer.registerChannel({ schemaId, topic: this.#header.source, messageEncoding: 'cdr', metadata: new Map() });
  }

  get bytes(): number {
    return this.#file.committed;
  }

  async write(data: TypedArray, stamp: FrameStamp): Promise<void> {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const message = encodePointCloud2(this.#header, bytes, stamp.timeNs);
    const now = BigInt(Date.now()) * 1_000_000n;
    await this.#writer.addMessage({
      channelId: this.#channel,
      // MCAP sequences are u32: the writer's frame number modulo 2^32.
      sequence: stamp.frame >>> 0,
      publishTime: stamp.timeNs,
      logTime: now,
      data: message,
    });
  }

  async finish(summary: RecordingSummary): Promise<void> {
    try {
      await this.#writer.addMetadata({
        name: MCAP_METADATA.summary,
        metadata: new Map([['frames', String(summary.frames)], ['missed', String(summary.missed)], ['skipped', String(summary.skipped)]]),
      });
      await this.#writer.end();
    } finally {
      this.#file.close();
    }
  }

  close(): void {
    this.#file.close();
  }
}
