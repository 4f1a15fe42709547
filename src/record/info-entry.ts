// What `info <file>` loads: the reader and the summary, without the recorder or the replayer.
export { openRecording } from './reader.js';
export { recordingInfo } from './file-info.js';
export type { RecordingInfo } from './file-info.js';
