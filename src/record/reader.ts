import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';
import type { TypedArray } from '../core/dtypes.js';
import { RecordingError, type FrameStamp, type RecordingHeader } from './layout.js';

/** A recording opened and checked from end to end, ready to be read frame by frame. */
export interface Recording {
  readonly path: string;
  readonly header: RecordingHeader;
  /** The stamp of every whole frame, in file order. */
  readonly stamps: readonly FrameStamp[];
  /** The file has no proper end (a recorder killed or out of disk): `why` says how it ends. */
  readonly truncated: null | { why: string; bytes: number };
  /** Frames missed and skipped while recording: the stored summary, or counted from the frames. */
  readonly missed: number;
  readonly skipped: number;
  readonly bytes: number;
  /** Frames `from` onwards, agent-major, each copied into `into` (valid until the next one). */
  frames(from: number, into: TypedArray): Generator<{ index: number; stamp: FrameStamp; data: TypedArray }>;
  close(): void;
}

/** MCAP's magic: 0x89 "MCAP0" CR LF. */
const MCAP_MAGIC = [0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a];

/** Read `length` bytes at `offset` (fewer only at the end of the file). */
export function preadAt(fd: number, length: number, offset: number, into?: Uint8Array): Uint8Array {
  const buf = into ? into.subarray(0, length) : new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Open a recording, telling the format from its first bytes (not its name), and check all of
 * it before returning: a file that is empty, foreign, damaged or cut before its first whole
 * frame throws a RecordingError, so that nothing is created from it.
 */
export async function openRecording(path: string): Promise<Recording> {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new RecordingError(`${path} is not a regular file`, 'EBADRECORDING');
    if (st.size === 0) throw new RecordingError(`${path} is empty`, 'EEMPTY');
    const head = preadAt(fd, 8, 0);
    let rec: Recording;
    if (head.length === 8 && MCAP_MAGIC.every((b, i) => head[i] === b)) rec = await (await import('./mcap-reader.js')).openMcapRecording(path, fd, st.size);
    else if (head.length >= 4 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff)
      rec = await (await import('./arrow-reader.js')).openArrowRecording(path, fd, st.size);
    else throw new RecordingError(`${path} is neither an Arrow IPC stream nor an MCAP file`, 'EBADRECORDING');
    return rec;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
