import type { Recording } from './reader.js';

/** What `info <file>` shows about a recording: plain data, for people or --json. */
export interface RecordingInfo {
  file: string;
  format: 'arrow' | 'mcap';
  source: string;
  rows: number;
  cols: number;
  dtype: string;
  fields: string[];
  frames: number;
  /** From the first frame's publish time to the last one's, in seconds. */
  duration: number;
  /** Frames per second over that span (null with fewer than two frames). */
  meanRate: number | null;
  missed: number;
  skipped: number;
  /** First and last frame's publish time, ms since the epoch. */
  firstTime: number | null;
  lastTime: number | null;
  startedTime: number | null;
  bytes: number;
  version: string;
  /** Why the file ends early (null when it ends properly). */
  truncated: string | null;
}

export function recordingInfo(rec: Recording): RecordingInfo {
  const h = rec.header;
  const s = rec.stamps;
  const first = s[0]?.timeNs;
  const last = s.at(-1)?.timeNs;
  const duration = first !== undefined && last !== undefined ? Number(last - first) / 1e9 : 0;
  return {
    file: rec.path, format: h.format, source: h.source, rows: h.rows, cols: h.cols, dtype: h.dtype, fields: h.fields,
    frames: s.length,
    duration,
    meanRate: s.length > 1 && duration > 0 ? (s.length - 1) / duration : null,
    missed: rec.missed, skipped: rec.skipped,
    firstTime: first === undefined ? null : Number(first / 1000n) / 1000,
    lastTime: last === undefined ? null : Number(last / 1000n) / 1000,
    startedTime: h.startedMs,
    bytes: rec.bytes, version: h.version,
    truncated: rec.truncated?.why ?? null,
  };
}
