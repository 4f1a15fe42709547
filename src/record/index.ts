// Frames over time: recording a segment to a file (Arrow IPC stream or MCAP), replaying a
// recording into a new segment, and following a segment frame by frame. Each format's library
// is loaded only when a file of that format is written or read.
export { record, RecordWriteError } from './recorder.js';
export type { RecordOptions, RecordProgress, RecordResult } from './recorder.js';
export { replay } from './replayer.js';
export type { ReplayOptions, ReplayResult } from './replayer.js';
export { openRecording } from './reader.js';
export type { Recording } from './reader.js';
export { RecordingError, formatOf } from './layout.js';
export type { RecordingHeader, FrameStamp } from './layout.js';
