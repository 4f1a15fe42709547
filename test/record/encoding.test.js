// The recorders' fast paths against the plain ones they replace: the native column split against
// a word-by-word transpose, and the MCAP chunk patched per frame against the chunk @mcap/core and
// @foxglove/cdr encode for the same frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McapRecordBuilder } from '@mcap/core';
import { crc32 } from '@foxglove/crc';
import { splitColumns } from '../../dist/core/columns.js';
import { ChunkTemplate } from '../../dist/record/mcap-writer.js';
import { encodePointCloud2 } from '../../dist/record/pointcloud.js';

/** Column-major copy through unsigned words of the element's size (8-byte elements as two u32). */
function transpose(frame, rows, cols) {
  const size = frame.BYTES_PER_ELEMENT;
  const W = size === 1 ? Uint8Array : size === 2 ? Uint16Array : Uint32Array;
  const per = size === 8 ? 2 : 1;
  const src = new W(frame.buffer, frame.byteOffset, (frame.byteLength / W.BYTES_PER_ELEMENT));
  const out = new W(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) for (let k = 0; k < per; k++) out[(c * rows + r) * per + k] = src[(r * cols + c) * per + k];
  return new Uint8Array(out.buffer);
}

function randomBytes(n, seed) {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test('splitColumns: every dtype, bit for bit (NaN payloads, i64 extremes), odd shapes', () => {
  const shapes = [[1, 1], [7, 3], [10, 6], [1001, 5], [3, 17]];
  for (const T of [Uint8Array, Int8Array, Int16Array, Uint16Array, Int32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]) {
    for (const [rows, cols] of shapes) {
      const frame = new T(randomBytes(rows * cols * T.BYTES_PER_ELEMENT, rows * 31 + cols).buffer);
      if (T === Float32Array) new Uint32Array(frame.buffer)[0] = 0x7fa00001; // a signalling NaN with a payload
      if (T === Float64Array) new Uint32Array(frame.buffer).set([0x00000001, 0x7ff40000], 0);
      if (T === BigInt64Array) frame[frame.length - 1] = -(2n ** 63n);
      const out = new T(rows * cols);
      assert.equal(splitColumns(frame, rows, cols, out), out);
      assert.deepEqual(new Uint8Array(out.buffer), transpose(frame, rows, cols), `${T.name} ${rows}x${cols}`);
    }
  }
});

test('splitColumns refuses sizes that do not match, and overlapping arrays, before touching memory', () => {
  const frame = new Float32Array(12).fill(1);
  const out = new Float32Array(12);
  assert.throws(() => splitColumns(frame, 4, 4, out), TypeError); // 16 elements asked of 12
  assert.throws(() => splitColumns(frame, 3, 4, new Float32Array(11)), TypeError); // output too small
  assert.throws(() => splitColumns(frame, 0, 12, out), TypeError);
  assert.throws(() => splitColumns(frame, 2.5, 4, out), TypeError);
  assert.throws(() => splitColumns(frame, 3, 4, frame), TypeError); // in place
  const shared = new Float32Array(20);
  assert.throws(() => splitColumns(shared.subarray(0, 12), 3, 4, shared.subarray(8, 20)), TypeError);
  assert.deepEqual([...out], new Array(12).fill(0), 'the output untouched');
});

test('MCAP: the chunk patched per frame is byte for byte the chunk the libraries encode', () => {
  for (const [dtype, T] of [['f32', Float32Array], ['f64', Float64Array], ['u8', Uint8Array], ['i16', Int16Array]]) {
    const header = { format: 'mcap', source: '/enc', rows: 7, cols: 3, dtype, fields: ['x', 'y', 'z'], version: 'test', startedMs: 0 };
    const bytes = header.rows * header.cols * T.BYTES_PER_ELEMENT;
    const t = new ChunkTemplate(header, 0, bytes);
    const stamps = [
      { sequence: 1, log: 1_700_000_000_000_000_000n, publish: 1_700_000_000_123_456_789n },
      { sequence: 2 ** 32 + 5, log: 1_800_000_000_000_000_001n, publish: 999_999_999n }, // the sequence wraps (u32)
      { sequence: 2 ** 31 + 1, log: 0n, publish: 2_147_483_647_999_999_999n }, // the largest stamp.sec
    ];
    stamps.forEach((s, k) => {
      const frame = randomBytes(bytes, k + 1);
      t.fill(frame, s.sequence, s.log, s.publish);
      const ours = Buffer.concat([t.head, frame, t.tail]);
      const message = new McapRecordBuilder();
      message.writeMessage({ channelId: 0, sequence: s.sequence >>> 0, logTime: s.log, publishTime: s.publish, data: encodePointCloud2(header, frame, s.publish) });
      const records = message.buffer;
      const chunk = new McapRecordBuilder();
      chunk.writeChunk({ messageStartTime: s.log, messageEndTime: s.log, uncompressedSize: BigInt(records.byteLength), uncompressedCrc: crc32(records), compression: '', records });
      assert.deepEqual(ours, Buffer.from(chunk.buffer), `${dtype}, stamp ${k}`);
      assert.equal(t.recordsBytes, records.byteLength);
    });
  }
});
