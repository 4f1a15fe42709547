/**
 * shmswarm: self-describing shared-memory matrices for live data between processes.
 * See docs/FORMAT.md for the byte layout shared with C/C++, Julia and Python.
 */
export { Segment, SHM_DIR, allocFrame } from './segment.js';
export type { CreateOptions, OpenOptions, SegmentInfo, Frame, ReadOptions, FreshReadOptions, FrameWaitOptions, SegmentSummary, NameStatus } from './segment.js';
export { ShmswarmError, isShmswarmError } from './errors.js';
export { parseDtype, dtypeByCode, DTYPE_NAMES } from './dtypes.js';
export type { Dtype, DtypeName, TypedArray, DtypeArray, DtypeArrays } from './dtypes.js';
export { checkSegmentName, printableName, parseFields, defaultFields, NAME_MAX_BYTES, PORTABLE_NAME_BYTES } from './names.js';
export { FrameFlag, ReadMode } from './binding.js';
export { openFrameSource } from './source.js';
export type { FrameSource, SourceOptions } from './source.js';
export { RawSegment } from './raw.js';
export type { RawOptions } from './raw.js';
export { parseShape } from './raw.js';
export { collectCheck, parseRange } from './check.js';
export type { CheckOptions, CheckReport, Assertion, RangeSpec } from './check.js';
export { waitForSegment } from './wait.js';
export type { WaitOptions, WaitResult } from './wait.js';
export { formatCsv, formatJson, formatNdjson, encodeNpy, formatTable, formatFloat32, formatFloat64, frameTable, csvChunks, jsonChunks, ndjsonChunks } from './format.js';
export type { FrameTable } from './format.js';
export { resolveRows, selectFields } from './rows.js';
export { pythonSnippet, juliaSnippet } from './snippets.js';
export { Watcher } from './watch.js';
export type { WatchSnapshot, WatchStatus, WatchEvent, WatcherOptions } from './watch.js';
export { fieldStats, RateMeter, FrameClock, frameHash } from './stats.js';
export type { FieldStats, Rate, PeriodStats, ClockReading } from './stats.js';
export { RateSchedule } from './schedule.js';
export { Boids, openSimulationTarget, makeFrameWriter, runSimulation, simulationFields, rampFrameNumber } from './simulate/index.js';
