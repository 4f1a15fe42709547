// The size cost of each frame's sequence number and publish time in an Arrow IPC stream: as
// per-batch custom metadata (what `record` writes) or as two more columns, against the raw
// matrices. docs/PERFORMANCE.md "Recording" quotes it.
//   node bench/record/arrow-size.js [rows] [cols] [frames]
import * as arrow from 'apache-arrow';
import { AsyncByteQueue } from 'apache-arrow/io/stream';

/** Counts the bytes the writer produces (as record's file sink takes them). */
class Counter extends AsyncByteQueue {
  bytes = 0;
  write(v) {
    this.bytes += v.byteLength;
  }
}

const rows = Number(process.argv[2] ?? 10000);
const cols = Number(process.argv[3] ?? 4);
const frames = Number(process.argv[4] ?? 100);
const names = Array.from({ length: cols }, (_, c) => `f${c}`);

function size(withColumns) {
  const type = new arrow.Float32();
  const fields = names.map((n) => new arrow.Field(n, type, false));
  if (withColumns) fields.push(new arrow.Field('frame', new arrow.Uint64(), false), new arrow.Field('time_ns', new arrow.Int64(), false));
  const schema = new arrow.Schema(fields, new Map([['shmswarm.source', '/swarm']]));
  const writer = new arrow.RecordBatchStreamWriter();
  const sink = new Counter();
  writer.reset(sink, schema);
  const col = new Float32Array(rows);
  for (let k = 0; k < frames; k++) {
    const children = names.map((_, c) => arrow.makeData({ type, length: rows, nullCount: 0, data: col }));
    if (withColumns)
      children.push(
        arrow.makeData({ type: new arrow.Uint64(), length: rows, nullCount: 0, data: new BigUint64Array(rows).fill(BigInt(k)) }),
        arrow.makeData({ type: new arrow.Int64(), length: rows, nullCount: 0, data: new BigInt64Array(rows).fill(1796607207390197248n) }),
      );
    const data = arrow.makeData({ type: new arrow.Struct(fields), length: rows, nullCount: 0, children });
    const meta = withColumns
      ? undefined
      : new Map([['shmswarm.frame', String(1000 + k)], ['shmswarm.sequence', String(2000 + 2 * k)], ['shmswarm.time_ns', '1796607207390197248'], ['shmswarm.missed', '0'], ['shmswarm.skipped', '0']]);
    writer.write(new arrow.RecordBatch(schema, data, meta));
  }
  writer.close();
  return sink.bytes;
}

const raw = rows * cols * 4 * frames;
const meta = size(false);
const columns = size(true);
const pct = (n) => `${(((n - raw) / raw) * 100).toFixed(2)} %`;
console.log(`${frames} frames of ${rows} x ${cols} f32: raw matrices ${raw} bytes`);
console.log(`  per-batch metadata (record's choice): ${meta} bytes, +${pct(meta)} (${((meta - raw) / frames).toFixed(0)} bytes a frame)`);
console.log(`  frame + time_ns columns:              ${columns} bytes, +${pct(columns)}`);
