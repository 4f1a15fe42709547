import type { DtypeName, TypedArray } from './dtypes.js';
import { RawSegment, type RawOptions } from './raw.js';
import { Segment, type Frame, type NameStatus, type ReadOptions, type SegmentInfo } from './segment.js';

/**
 * What dump, watch, info and check read from: a shmswarm segment, a plain WA-1 object, or a raw
 * matrix with an optional foreign mutex. Read-only.
 */
export interface FrameSource {
  readonly name: string;
  readonly kind: 'shmswarm' | 'wa1' | 'raw';
  readonly rows: number;
  readonly cols: number;
  readonly dtype: DtypeName;
  readonly fields: readonly string[];
  info(): SegmentInfo;
  readFrame<T extends TypedArray = TypedArray>(options?: ReadOptions<T>): Frame<T> | null;
  readFrameAsync<T extends TypedArray = TypedArray>(options?: ReadOptions<T>): Promise<Frame<T> | null>;
  close(): void;
  /** Only segments with a header can tell whether their name was re-created or removed. */
  nameStatus?(): NameStatus;
}

export interface SourceOptions {
  /** Read the object as a bare matrix (no header) instead of a segment. */
  raw?: RawOptions;
  /** Lock timeout in ms. */
  timeoutMs?: number;
}

/** Open `name` for reading as a segment, or as a raw matrix when `raw` is given. */
export function openFrameSource(name: string, options: SourceOptions = {}): FrameSource {
  if (options.raw) return RawSegment.open(name, { timeoutMs: options.timeoutMs, ...options.raw });
  return Segment.open(name, { readonly: true, timeoutMs: options.timeoutMs });
}
