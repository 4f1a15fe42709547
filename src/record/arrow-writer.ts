import * as arrow from 'apache-arrow';
import { AsyncByteQueue } from 'apache-arrow/io/stream';
import { Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { parseDtype, type TypedArray } from '../core/dtypes.js';
import { splitColumns } from '../core/columns.js';
import { FileSink } from './file-sink.js';
import { type FrameStamp, type RecordingHeader } from './layout.js';
import type { FrameFileWriter, RecordingSummary, WriterOptions } from './writer.js';

/** The Arrow type of each dtype. */
export function arrowType(dtype: RecordingHeader['dtype']): arrow.DataType {
  switch (dtype) {
    case 'i8': return new arrow.Int8();
    case 'u8': return new arrow.Uint8();
    case 'i16': return new arrow.Int16();
    case 'u16': return new arrow.Uint16();
    case 'i32': return new arrow.Int32();
    case 'u32': return new arrow.Uint32();
    case 'i64': return new arrow.Int64();
    case 'u64': return new arrow.Uint64();
    case 'f32': return new arrow.Float32();
    case 'f64': return new arrow.Float64();
  }
}

/** Schema metadata keys (docs/RECORDING.md). */
export const SCHEMA_KEYS = {
  source: 'shmswarm.source',
  shape: 'shmswarm.shape',
  dtype: 'shmswarm.dtype',
  fields: 'shmswarm.fields',
  version: 'shmswarm.version',
  started: 'shmswarm.started_ns',
} as const;

/** Per-batch (message) custom metadata keys. */
export const BATCH_KEYS = {
  frame: 'shmswarm.frame',
  sequence: 'shmswarm.sequence',
  time: 'shmswarm.time_ns',
  missed: 'shmswarm.missed',
  skipped: 'shmswarm.skipped',
} as const;

export function arrowSchema(h: RecordingHeader): arrow.Schema {
  const type = arrowType(h.dtype);
  const fields = h.fields.map((f) => new arrow.Field(f, type, false));
  const meta = new Map<string, string>([
    [SCHEMA_KEYS.source, h.source],
    [SCHEMA_KEYS.shape, `${h.rows}x${h.cols}`],
    [SCHEMA_KEYS.dtype, h.dtype],
    [SCHEMA_KEYS.fields, h.fields.join(',')],
    [SCHEMA_KEYS.version, h.version],
  ]);
  if (h.startedMs !== null) meta.set(SCHEMA_KEYS.started, String(BigInt(Math.round(h.startedMs * 1e6))));
  return new arrow.Schema(fields, meta);
}

/**
 * The writer's byte queue replaced by one that hands every piece to the file: apache-arrow's
 * stream writer (RecordBatchStreamWriter) serialises, this only carries bytes.
 */
class SinkQueue extends AsyncByteQueue {
  constructor(readonly file: FileSink) {
    super();
  }
  override write(value: Uint8Array): void {
    this.file.write(value);
  }
}

/**
 * apache-arrow's stream writer, given one more way in: a frame's batch whose columns are always
 * the same arrays (refilled per frame) has the same layout every time, so the layout apache-arrow
 * assembles from the first batch (field nodes, buffer regions, body length) is kept, and each frame
 * is only its RecordBatch message (apache-arrow's Message encoder, with the frame's custom
 * metadata) and those arrays as the body — what `write(batch)` does, without rebuilding the batch,
 * schema and layout objects for every frame.
 */
class FrameStreamWriter extends arrow.RecordBatchStreamWriter {
  #rows = 0;
  #layout: ReturnType<arrow.RecordBatchStreamWriter['_assembleRecordBatch']> | null = null;

  /** Take `batch`'s layout for every frame to come (its column arrays are refilled in place). */
  keepLayout(batch: arrow.RecordBatch): void {
    this.#rows = batch.numRows;
    this.#layout = this._assembleRecordBatch(batch);
  }

  /** One record batch message: the kept columns as they are now, `metadata` as its custom metadata. */
  writeFrame(metadata: Map<string, string>): void {
    const l = this.#layout!;
    const header = new RecordBatchHeader(this.#rows, l.nodes, l.bufferRegions, null, l.variadicBufferCounts, metadata);
    this._writeMessage(Message.from(header, l.byteLength))._writeBodyBuffers(l.buffers);
    // Kept by apache-arrow for a file footer, which a stream has not: do not let them grow.
    this._recordBatchBlocks.length = 0;
  }
}

/**
 * Arrow IPC stream: the schema, then one record batch per frame (one column per field, rows =
 * agents) with the frame's stamp as the batch's custom metadata, then end-of-stream at finish().
 */
export class ArrowFrameWriter implements FrameFileWriter {
  readonly format = 'arrow' as const;
  #file: FileSink;
  #writer: FrameStreamWriter;
  #header: RecordingHeader;
  /** The frame column-major: the batch's column c is a view of its elements [c × rows, (c + 1) × rows). */
  #split: TypedArray;

  private constructor(file: FileSink, header: RecordingHeader) {
    this.#file = file;
    this.#header = header;
    const schema = arrowSchema(header);
    this.#writer = new FrameStreamWriter();
    const d = parseDtype(header.dtype);
    this.#split = new d.array(header.rows * header.cols);
    const columns = header.fields.map((_, c) => this.#split.subarray(c * header.rows, (c + 1) * header.rows));
    const children = schema.fields.map((f, c) => arrow.makeData({ type: f.type, length: header.rows, nullCount: 0, data: columns[c] as never }));
    const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: header.rows, nullCount: 0, children });
    this.#writer.reset(new SinkQueue(file) as unknown as arrow.RecordBatchStreamWriter['_sink'], schema);
    this.#writer.keepLayout(new arrow.RecordBatch(schema, struct));
    file.commit();
  }

  static async open(o: WriterOptions): Promise<ArrowFrameWriter> {
    const file = new FileSink(o.path, o.overwrite);
    try {
      return new ArrowFrameWriter(file, o.header);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  get bytes(): number {
    return this.#file.committed;
  }

  async write(data: TypedArray, stamp: FrameStamp): Promise<void> {
    const { rows, cols } = this.#header;
    splitColumns(data, rows, cols, this.#split);
    this.#writer.writeFrame(
      new Map<string, string>([
        [BATCH_KEYS.frame, String(stamp.frame)],
        [BATCH_KEYS.sequence, String(stamp.sequence)],
        [BATCH_KEYS.time, String(stamp.timeNs)],
        [BATCH_KEYS.missed, String(stamp.missed)],
        [BATCH_KEYS.skipped, String(stamp.skipped)],
      ]),
    );
    // The columns are reused for the next frame: they reach the kernel now.
    this.#file.commit();
  }

  async finish(_summary: RecordingSummary): Promise<void> {
    // close() writes the end-of-stream marker through the sink.
    this.#writer.close();
    try {
      this.#file.commit();
    } finally {
      this.#file.close();
    }
  }

  close(): void {
    this.#file.close();
  }
}
