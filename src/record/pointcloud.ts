import { CdrReader, CdrWriter } from '@foxglove/cdr';
import type { DtypeName } from '../core/dtypes.js';

/**
 * sensor_msgs/msg/PointCloud2 in the text form rosbag2 stores as an MCAP schema (ros2msg): the
 * message, then each message it depends on after a line of 80 '=' and "MSG: <type>".
 */
const SEPARATOR = '='.repeat(80);
export const POINTCLOUD2_SCHEMA = [
  'std_msgs/Header header',
  'uint32 height',
  'uint32 width',
  'PointField[] fields',
  'bool is_bigendian',
  'uint32 point_step',
  'uint32 row_step',
  'uint8[] data',
  'bool is_dense',
  SEPARATOR,
  'MSG: std_msgs/Header',
  'builtin_interfaces/Time stamp',
  'string frame_id',
  SEPARATOR,
  'MSG: builtin_interfaces/Time',
  'int32 sec',
  'uint32 nanosec',
  SEPARATOR,
  'MSG: sensor_msgs/PointField',
  'uint8 INT8    = 1',
  'uint8 UINT8   = 2',
  'uint8 INT16   = 3',
  'uint8 UINT16  = 4',
  'uint8 INT32   = 5',
  'uint8 UINT32  = 6',
  'uint8 FLOAT32 = 7',
  'uint8 FLOAT64 = 8',
  'string name',
  'uint32 offset',
  'uint8  datatype',
  'uint32 count',
  '',
].join('\n');

export const POINTCLOUD2 = 'sensor_msgs/msg/PointCloud2';

/** PointField datatypes; i64 and u64 have none. */
const DATATYPE: Partial<Record<DtypeName, number>> = { i8: 1, u8: 2, i16: 3, u16: 4, i32: 5, u32: 6, f32: 7, f64: 8 };
const BY_DATATYPE = Object.fromEntries(Object.entries(DATATYPE).map(([k, v]) => [v, k])) as Record<number, DtypeName>;
const BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 8: 8 };

export function pointFieldType(dtype: DtypeName): number | undefined {
  return DATATYPE[dtype];
}

/** frame_id of every message: the segment has no coordinate frame of its own. */
export const FRAME_ID = 'shmswarm';

export interface CloudLayout {
  rows: number;
  fields: string[];
  dtype: DtypeName;
}

/** The CDR size of one message for this layout: the writer's buffer is made once, exactly. */
function messageSize(l: CloudLayout, bytes: number): number {
  let n = 4 + 8 + 4 + FRAME_ID.length + 1; // encapsulation, stamp, frame_id
  n = align(n, 4) + 4 + 4 + 4; // height, width, fields length
  for (const f of l.fields) n = align(align(n, 4) + 4 + f.length + 1, 4) + 4 + 1 + 3 + 4;
  n += 1; // is_bigendian
  n = align(n, 4) + 4 + 4 + 4 + bytes + 1;
  return n + 16;
}

function align(n: number, a: number): number {
  // The CDR payload is aligned from after the 4-byte encapsulation header.
  return 4 + Math.ceil((n - 4) / a) * a;
}

/** One frame (agent-major bytes) as a PointCloud2 message: one point per agent, one PointField per field. */
export function encodePointCloud2(l: CloudLayout, frame: Uint8Array, timeNs: bigint): Uint8Array {
  const datatype = DATATYPE[l.dtype]!;
  const size = BYTES[datatype];
  const pointStep = l.fields.length * size;
  const w = new CdrWriter({ size: messageSize(l, frame.byteLength) });
  w.int32(Number(timeNs / 1_000_000_000n));
  w.uint32(Number(timeNs % 1_000_000_000n));
  w.string(FRAME_ID);
  w.uint32(1); // height: an unordered cloud
  w.uint32(l.rows);
  w.sequenceLength(l.fields.length);
  l.fields.forEach((name, k) => {
    w.string(name);
    w.uint32(k * size);
    w.uint8(datatype);
    w.uint32(1);
  });
  w.int8(0); // is_bigendian: false (bool)
  w.uint32(pointStep);
  w.uint32(pointStep * l.rows);
  w.uint8Array(frame, true);
  w.int8(1); // is_dense
  return w.data;
}

export interface DecodedCloud {
  timeNs: bigint;
  rows: number;
  fields: string[];
  dtype: DtypeName;
  /** The points, agent-major (a view into the message). */
  data: Uint8Array;
}

/**
 * A PointCloud2 message back, checked: throws (a plain Error with the reason) unless it is one
 * dense little-endian row of points whose fields are packed one after another with one type.
 */
export function decodePointCloud2(message: Uint8Array): DecodedCloud {
  const r = new CdrReader(message);
  const sec = r.int32();
  const nanosec = r.uint32();
  r.string();
  const height = r.uint32();
  const width = r.uint32();
  const n = r.sequenceLength();
  if (n < 1 || n > message.byteLength) throw new Error(`${n} point fields`);
  const fields: string[] = [];
  let datatype = -1;
  for (let k = 0; k < n; k++) {
    const name = r.string();
    const offset = r.uint32();
    const type = r.uint8();
    const count = r.uint32();
    if (k === 0) datatype = type;
    if (type !== datatype || !(type in BYTES)) throw new Error(`point field ${name} has another or an unknown datatype (${type})`);
    if (offset !== k * BYTES[type] || count !== 1) throw new Error(`point field ${name} is not packed after the one before it`);
    fields.push(name);
  }
  const bigEndian = r.int8();
  const pointStep = r.uint32();
  const rowStep = r.uint32();
  const length = r.sequenceLength();
  if (bigEndian !== 0) throw new Error('big-endian points');
  if (height !== 1 || pointStep !== n * BYTES[datatype] || rowStep !== pointStep * width) throw new Error('points are not one packed row');
  if (length !== pointStep * width || r.offset + length > message.byteLength) throw new Error(`data holds ${length} bytes, not ${pointStep * width}`);
  const data = message.subarray(r.offset, r.offset + length);
  return { timeNs: BigInt(sec) * 1_000_000_000n + BigInt(nanosec), rows: width, fields, dtype: BY_DATATYPE[datatype], data };
}
