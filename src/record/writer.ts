import type { TypedArray } from '../core/dtypes.js';
import type { FrameStamp, RecordingHeader } from './layout.js';

/** What the recorder counted, stored at the end of a file that has an end (MCAP). */
export interface RecordingSummary {
  frames: number;
  missed: number;
  skipped: number;
}

/** A recording being written: one call per frame, each frame in the kernel when it returns. */
export interface FrameFileWriter {
  readonly format: RecordingHeader['format'];
  /** Bytes in the file so far (all of them whole frames). */
  readonly bytes: number;
  /** Write one agent-major frame; it has reached the kernel when the promise resolves. */
  write(data: TypedArray, stamp: FrameStamp): Promise<void>;
  /** Write the end of the file (Arrow: end-of-stream; MCAP: summary and footer) and close it. */
  finish(summary: RecordingSummary): Promise<void>;
  /** Close without an end (after a failure): the file stays valid up to its last whole frame. */
  close(): void;
}

export interface WriterOptions {
  path: string;
  overwrite: boolean;
  header: RecordingHeader;
}

/** The writer for `header.format`, its library loaded now (never at start-up). */
export async function openFrameWriter(o: WriterOptions): Promise<FrameFileWriter> {
  if (o.header.format === 'mcap') return (await import('./mcap-writer.js')).McapFrameWriter.open(o);
  return (await import('./arrow-writer.js')).ArrowFrameWriter.open(o);
}
