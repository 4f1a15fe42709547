import { allocFrame, type Segment } from '../core/segment.js';
import { parseDtype } from '../core/dtypes.js';
import { isShmswarmError } from '../core/errors.js';
import { csvField, valueFormatter } from '../core/format.js';

export interface FollowOptions {
  format: 'ndjson' | 'csv';
  /** Stop after this many frames. */
  frames?: number;
  /** Agents [start, end) and column indices to print. */
  rows: [number, number];
  columns: number[];
  signal?: AbortSignal;
}

/** What follow() yields: the text of one frame, or frames that went by unseen. */
export type FollowEvent = { kind: 'frame'; text: string } | { kind: 'missed'; count: number; before: number } | { kind: 'stopped'; why: 'removed' | 'replaced' };

const NAME_CHECK_MS = 500;

/**
 * Each new frame of `seg` as text, as it is published (`ros2 topic echo` for a segment): NDJSON
 * one object per frame {sequence, frame, time, fields, data: [[...], ...]}, or CSV rows
 * frame,time,agent,<fields> after one header line (LF). Frames published while the previous one
 * was being printed are reported as missed. Ends after `frames`, on the signal, or when the
 * segment is removed or replaced.
 */
export async function* follow(seg: Segment, o: FollowOptions): AsyncGenerator<FollowEvent> {
  const buf = allocFrame(parseDtype(seg.dtype), seg.length);
  const fmt = valueFormatter(seg.dtype);
  const json = (v: number | bigint) => {
    const s = fmt(v);
    return s === 'NaN' || s === 'Infinity' || s === '-Infinity' ? `"${s}"` : s;
  };
  const names = o.columns.map((c) => seg.fields[c]);
  const cols = seg.cols;
  const [r0, r1] = o.rows;
  if (o.format === 'csv') yield { kind: 'frame', text: ['frame', 'time', 'agent', ...names].map(csvField).join(',') + '\n' };
  const fieldsJson = JSON.stringify(names);
  let seen = -1;
  let last = -1;
  let count = 0;
  let nextCheck = performance.now() + NAME_CHECK_MS;
  while (!o.signal?.aborted && (o.frames === undefined || count < o.frames)) {
    if (performance.now() >= nextCheck) {
      nextCheck = performance.now() + NAME_CHECK_MS;
      const status = seg.nameStatus();
      if (status !== 'same') {
        yield { kind: 'stopped', why: status === 'gone' ? 'removed' : 'replaced' };
        return;
      }
    }
    const f = seg.readFrame({ since: seen, into: buf });
    if (f === null || f.frames === 0) {
      if (f) seen = f.sequence;
      try {
        await seg.waitForFrame(seen, { timeoutMs: NAME_CHECK_MS });
      } catch (e) {
        if (!isShmswarmError(e, 'ETIMEDOUT') && !isShmswarmError(e, 'ECANCELED')) throw e;
        nextCheck = 0;
      }
      continue;
    }
    seen = f.sequence;
    if (last >= 0 && f.frames - last > 1) yield { kind: 'missed', count: f.frames - last - 1, before: f.frames };
    last = f.frames;
    const time = f.lastWriteTime === null ? 'null' : (f.lastWriteTime / 1000).toFixed(6);
    const data = f.data as unknown as ArrayLike<number | bigint>;
    let text: string;
    if (o.format === 'ndjson') {
      const rows: string[] = [];
      for (let r = r0; r < r1; r++) rows.push('[' + o.columns.map((c) => json(data[r * cols + c])).join(',') + ']');
      text = `{"sequence":${f.sequence},"frame":${f.frames},"time":${time},"fields":${fieldsJson},"data":[${rows.join(',')}]}\n`;
    } else {
      const lines: string[] = [];
      for (let r = r0; r < r1; r++) lines.push(`${f.frames},${time},${r},` + o.columns.map((c) => fmt(data[r * cols + c])).join(',') + '\n');
      text = lines.join('');
    }
    count++;
    yield { kind: 'frame', text };
  }
}
