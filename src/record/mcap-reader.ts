import { closeSync } from 'node:fs';
import { McapStreamReader, type TypedMcapRecord } from '@mcap/core';
import { parseDtype, type TypedArray } from '../core/dtypes.js';
import { checkHeader, MAX_HEADER_BYTES, RecordingError, type FrameStamp, type RecordingHeader } from './layout.js';
import { MCAP_METADATA } from './mcap-writer.js';
import { decodePointCloud2, POINTCLOUD2 } from './pointcloud.js';
import { preadAt, type Recording } from './reader.js';

const PIECE = 1 << 20;

/**
 * The records of an MCAP file in order, read by @mcap/core's stream reader (CRCs checked) in
 * pieces. `limit` bounds what the reader may hold back waiting for the rest of one record: a
 * damaged length must not make it buffer the whole file.
 */
function* records(fd: number, size: number, limit: () => number, bad: (why: string) => Error): Generator<TypedMcapRecord, boolean> {
  const reader = new McapStreamReader({ validateCrcs: true });
  const piece = new Uint8Array(PIECE);
  for (let pos = 0; pos < size; ) {
    const got = preadAt(fd, Math.min(PIECE, size - pos), pos, piece);
    if (got.length === 0) break;
    pos += got.length;
    reader.append(got);
    for (;;) {
      let r: TypedMcapRecord | undefined;
      try {
        r = reader.nextRecord();
      } catch (e) {
        throw bad((e as Error).message);
      }
      if (!r) break;
      yield r;
    }
    if (reader.bytesRemaining() > limit()) throw bad(`a record longer than any frame of this recording (${reader.bytesRemaining()} bytes pending)`);
  }
  return reader.done();
}

/**
 * An MCAP file written by `record`: a `shmswarm` metadata record, then PointCloud2 messages on
 * one channel. Read through once to check it and stamp its frames; frames() reads it again.
 */
export async function openMcapRecording(path: string, fd: number, size: number): Promise<Recording> {
  const bad = (why: string) => new RecordingError(`${path}: ${why}`, 'EBADRECORDING');
  let header: RecordingHeader | undefined;
  let frameBytes = 0;
  let channel: number | undefined;
  let summary: Map<string, string> | undefined;
  let profileSeen = false;
  const stamps: FrameStamp[] = [];
  const limit = () => (header ? frameBytes + 65536 + header.cols * 300 : MAX_HEADER_BYTES);
  const it = records(fd, size, limit, bad);
  let done = false;
  let lastSeq = -1;
  let gaps = 0;
  for (;;) {
    const n = it.next();
    if (n.done) {
      done = n.value;
      break;
    }
    const r = n.value;
    switch (r.type) {
      case 'Header':
        if (r.profile !== 'ros2') throw bad(`an MCAP file of profile "${r.profile}", not one shmswarm recorded (ros2)`);
        profileSeen = true;
        break;
      case 'Metadata':
        if (r.name === MCAP_METADATA.header) {
          const m = r.metadata;
          const shape = /^(\d+)x(\d+)$/.exec(m.get('shape') ?? '');
          const started = m.get('started_ns');
          header = checkHeader(
            {
              format: 'mcap', source: m.get('source'), rows: shape ? Number(shape[1]) : NaN, cols: shape ? Number(shape[2]) : NaN,
              dtype: m.get('dtype') as RecordingHeader['dtype'], fields: (m.get('fields') ?? '').split(','), version: m.get('version'),
              startedMs: started && /^\d+$/.test(started) ? Number(BigInt(started) / 1000n) / 1000 : null,
            },
            path,
          );
          frameBytes = header.rows * header.cols * parseDtype(header.dtype).bytes;
        } else if (r.name === MCAP_METADATA.summary) summary = r.metadata;
        break;
      case 'Channel':
        if (channel === undefined && header && r.topic === header.source) channel = r.id;
        break;
      case 'Schema':
        if (r.name !== POINTCLOUD2) throw bad(`a schema ${r.name}, not ${POINTCLOUD2}`);
        break;
      case 'Message': {
        if (!header) throw bad('a message before the shmswarm metadata record: not a recording shmswarm made');
        if (r.channelId !== channel) throw bad(`a message on channel ${r.channelId}, not the recording's`);
        checkCloud(r.data, header, stamps.length, bad);
        if (lastSeq >= 0) gaps += Math.max(0, ((r.sequence - lastSeq) >>> 0) - 1);
        lastSeq = r.sequence;
        stamps.push({ frame: r.sequence, sequence: 0, timeNs: r.publishTime, missed: gaps, skipped: 0 });
        break;
      }
      default:
        break;
    }
  }
  if (!profileSeen) throw new RecordingError(`${path} ends before its MCAP header`, 'ETRUNCATED');
  if (!header) throw new RecordingError(`${path} is an MCAP file but not a shmswarm recording (no "${MCAP_METADATA.header}" metadata record)`, 'EBADRECORDING');
  const h = header;
  const count = (key: string, fallback: number) => {
    const v = summary?.get(key);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : fallback;
  };
  return {
    path, header: h, stamps,
    truncated: done ? null : { why: 'it has no summary and footer (a recording that was killed)', bytes: size },
    missed: count('missed', gaps),
    skipped: count('skipped', 0),
    bytes: size,
    *frames(from: number, into: TypedArray) {
      const out = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
      const again = records(fd, size, limit, bad);
      let i = 0;
      for (let n = again.next(); !n.done; n = again.next()) {
        const r = n.value;
        if (r.type !== 'Message' || r.channelId !== channel) continue;
        if (i >= stamps.length) break;
        if (i >= from) {
          out.set(decodePointCloud2(r.data).data);
          yield { index: i, stamp: stamps[i], data: into };
        }
        i++;
      }
      if (i < stamps.length) throw new RecordingError(`${path} became shorter while being read`, 'ETRUNCATED');
    },
    close: () => closeSync(fd),
  };
}

function checkCloud(data: Uint8Array, h: RecordingHeader, index: number, bad: (why: string) => Error): void {
  let c;
  try {
    c = decodePointCloud2(data);
  } catch (e) {
    throw bad(`frame ${index} is not a PointCloud2 shmswarm can replay (${(e as Error).message})`);
  }
  if (c.rows !== h.rows || c.dtype !== h.dtype || c.fields.join(',') !== h.fields.join(','))
    throw bad(`frame ${index} is ${c.rows} points of ${c.fields.join(',')} (${c.dtype}), not ${h.rows} of ${h.fields.join(',')} (${h.dtype})`);
}
