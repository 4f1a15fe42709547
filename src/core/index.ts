/**
 * shmswarm: self-describing shared-memory matrices for live data between processes.
 * See docs/FORMAT.md for the byte layout shared with C/C++, Julia and Python.
 */
export { Segment, SHM_DIR, allocFrame } from './segment.js';
export type { CreateOptions, OpenOptions, SegmentInfo, Frame, ReadOptions, SegmentSummary, NameStatus } from './segment.js';
export { ShmswarmError, isShmswarmError } from './errors.js';
export { parseDtype, dtypeByCode, DTYPE_NAMES } from './dtypes.js';
export type { Dtype, DtypeName, TypedArray } from './dtypes.js';
export { checkSegmentName, parseFields, defaultFields, NAME_MAX_BYTES, PORTABLE_NAME_BYTES } from './names.js';
export { FrameFlag, ReadMode } from './binding.js';
export { openFrameSource } from './source.js';
export type { FrameSource, SourceOptions } from './source.js';
export { RawSegment } from './raw.js';
export type { RawOptions } from './raw.js';
