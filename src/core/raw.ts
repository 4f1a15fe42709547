import type { DtypeName, TypedArray } from './dtypes.js';
import type { Frame, ReadOptions, SegmentInfo } from './segment.js';

/** Raw mode: a bare matrix in an object with no header (the seed's ofxSharedMemory layout). */
export interface RawOptions {
  /** Rows and columns: [rows, cols] or "300x3". */
  shape: readonly [number, number] | string;
  dtype?: DtypeName | string;
  /** Byte offset of the matrix in the object (default 0). */
  offset?: number;
  /** Name of a separate object holding a process-shared pthread mutex to lock around each copy. */
  mutex?: string;
  /** Byte offset of the mutex inside that object (default 0). */
  mutexOffset?: number;
  /** Lock timeout in ms (default 1000). */
  timeoutMs?: number;
}

/** A raw segment read as frames. Implemented by the bridge work (issue 4). */
export class RawSegment {
  static open(name: string, options: RawOptions): RawSegment {
    void name;
    void options;
    throw new Error('raw mode is not implemented yet');
  }
  readonly name = '';
  readonly kind = 'raw' as const;
  readonly rows = 0;
  readonly cols = 0;
  readonly dtype: DtypeName = 'f32';
  readonly fields: readonly string[] = [];
  info(): SegmentInfo {
    throw new Error('raw mode is not implemented yet');
  }
  readFrame<T extends TypedArray = TypedArray>(options?: ReadOptions<T>): Frame<T> | null {
    void options;
    throw new Error('raw mode is not implemented yet');
  }
  async readFrameAsync<T extends TypedArray = TypedArray>(options?: ReadOptions<T>): Promise<Frame<T> | null> {
    return this.readFrame(options);
  }
  close(): void {}
}
