/**
 * shmswarm: self-describing shared-memory matrices for live data between processes.
 * See docs/FORMAT.md for the byte layout shared with C/C++, Julia and Python.
 *
 * Every name exported here is a promise kept across minor versions; README's "The library" lists
 * the same names (test/core/exports.test.js compares the two). What only the CLI uses (the watch
 * view's snapshots, statistics, plots, the simulation, text helpers for people) is imported by
 * path and may change at any time.
 */

// Segments: create, open, write, read, wait for frames.
export { Segment, SHM_DIR, allocFrame } from './segment.js';
export type { CreateOptions, OpenOptions, SegmentInfo, Frame, ReadOptions, FreshReadOptions, FrameWaitOptions, SegmentSummary, NameStatus } from './segment.js';

// Errors: every failure that is not a wrong argument.
export { ShmswarmError, isShmswarmError } from './errors.js';

// Element types, segment names and field lists.
export { parseDtype, dtypeByCode, DTYPE_NAMES } from './dtypes.js';
export type { Dtype, DtypeName, TypedArray, DtypeArray, DtypeArrays } from './dtypes.js';
export { checkSegmentName, parseFields, defaultFields, NAME_MAX_BYTES, PORTABLE_NAME_BYTES } from './names.js';

// Another program's bare matrix (raw mode), and reading either kind through one interface.
export { RawSegment } from './raw.js';
export type { RawOptions } from './raw.js';
export { openFrameSource } from './source.js';
export type { FrameSource, SourceOptions } from './source.js';

// Waiting for a segment to appear, and checking one.
export { waitForSegment } from './wait.js';
export type { WaitOptions, WaitResult } from './wait.js';
export { collectCheck } from './check.js';
export type { CheckOptions, CheckReport, Assertion, RangeSpec } from './check.js';

// A frame as data: CSV, JSON, NDJSON (whole or in chunks) and .npy bytes.
export { frameTable, formatCsv, formatJson, formatNdjson, encodeNpy, csvChunks, jsonChunks, ndjsonChunks } from './format.js';
export type { FrameTable } from './format.js';
