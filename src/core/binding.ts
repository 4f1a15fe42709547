import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ShmswarmError } from './errors.js';

/** The native addon's surface, as src/core uses it. */
export interface NativeLayout {
  kind: 'shmswarm' | 'wa1';
  dtype: number;
  elsize: number;
  rows: number;
  cols: number;
  dataOffset: number;
  /** One frame: rows × cols × elsize; also the stride between slots. */
  dataBytes: number;
  /** Frame buffers: slot i at dataOffset + i × dataBytes (1 for format 1 and plain WA-1). */
  slots: number;
  /** Block format version: 1, 2 (slots ≥ 2), 0 for plain WA-1. */
  version: number;
  blockOffset: number;
  totalSize: number;
  fields: string;
  createdMs: number;
  creatorPid: number;
  mode: number;
}
export interface NativeState {
  sequence: number;
  frames: number;
  lastWriteMs: number;
  writerPid: number;
  writerAlive: boolean;
  flags: number;
  waiters: number;
}
export interface NativeStat {
  size: number;
  ino: number;
  dev: number;
  uid: number;
  mode: number;
}
export interface NativeSegmentHandle {
  layout(): NativeLayout;
  state(): NativeState;
  sequence(): number;
  /** writeFrame and readFrame bound to this handle (no per-call unwrap); keep them with it. */
  /**
   * `io`: a Float64Array(8) over its own ArrayBuffer, kept by the handle: the bound readFrame
   * takes its mode from io[6] and `seen` from io[7] (-1: none) and leaves the frame's figures in
   * io[0..5] (sequence, frames, last write ms, writer pid, flags, retries).
   */
  bound(io: Float64Array): { writeFrame(src: ArrayBufferView): void; readFrame(dst: ArrayBufferView): void };
  stat(): NativeStat;
  view(writable: boolean): ArrayBuffer;
  writeFrame(src: ArrayBufferView): void;
  /** Locks and makes the sequence odd; returns the slot being written. */
  beginFrame(): number;
  endFrame(): void;
  readFrame(dst: ArrayBufferView, mode: number, seen: number, info: Float64Array): number;
  /** isPrivate: dst is the library's own, unseen by the caller until the read resolves (no staging copy). */
  readFrameAsync(dst: ArrayBufferView, mode: number, seen: number, timeoutMs: number, isPrivate?: boolean): Promise<number[]>;
  lock(timeoutMs: number): boolean;
  unlock(): void;
  lockProbeAsync(timeoutMs: number): Promise<boolean>;
  /** A frame newer than `seen` published now (the C core's rule), polling up to pollMs while the next is being written; -1 for none. */
  newerSequence(seen: number, pollMs: number): number;
  /** onThread: wait on a worker thread even where this environment's io_uring could. */
  waitAsync(seen: number, timeoutMs: number, onThread: boolean): Promise<number>;
  setTimeout(timeoutMs: number): void;
  close(): void;
}
export interface NativeRawMapping {
  size(): number;
  stat(): { size: number; ino: number; uid: number; mode: number };
  read(dst: ArrayBufferView, offset: number): void;
  lockMutex(offset: number, timeoutMs: number): boolean;
  unlockMutex(offset: number): void;
  /** null when it cannot be told (not glibc). */
  mutexRobust(offset: number): boolean | null;
  /** On a worker thread: lock the mutex at `offset`, copy from `data` at `dataOffset` into dst, unlock. Resolves `recovered`. */
  lockedReadAsync(offset: number, data: NativeRawMapping, dataOffset: number, dst: ArrayBufferView, timeoutMs: number, isPrivate?: boolean): Promise<boolean>;
  close(): void;
}
export interface WaitStats {
  ring: number;
  thread: number;
  ringState: 'unused' | 'ready' | 'unavailable';
  /** Why the ring is unavailable (the failing step and errno), or null. */
  reason: string | null;
}
export interface Native {
  SegmentHandle: {
    create(name: string, rows: number, cols: number, dtype: number, fields: string | null, mode: number, slots?: number): NativeSegmentHandle;
    open(name: string, writable: boolean): NativeSegmentHandle;
  };
  RawMapping: { open(name: string, writable: boolean): NativeRawMapping };
  setErrorClass(ctor: typeof ShmswarmError): void;
  unlink(name: string): void;
  validate(bytes: Uint8Array, size?: number): NativeLayout & { fieldsOffset: number; fieldsLength: number };
  allocAligned(bytes: number): ArrayBuffer;
  /** An agent-major rows × cols frame into column-major `out`, bit for bit (sizes checked; TypeError otherwise). */
  splitColumns(frame: ArrayBufferView, out: ArrayBufferView, rows: number, cols: number, elementBytes: number): void;
  pidAlive(pid: number, start?: number): boolean;
  /** Give the calling thread a scheduler slice of `ns` (Linux 6.12+); returns the slice applied. */
  setWakeSlice(ns: number): number;
  /** Which path served this environment's waits (tests and bench). */
  waitStats(): WaitStats;
  mutexSize: number;
  formatVersion: number;
  blockFixedBytes: number;
}

/** Frame flags (include/shmswarm.h SHMSWARM_FRAME_*). */
export const FrameFlag = { TORN: 0x1, UNCHANGED: 0x2, LOCKED: 0x4, RECOVERED: 0x8, UNSYNCED: 0x10 } as const;
/** Read modes (SHMSWARM_READ_*). */
export const ReadMode = { AUTO: 0, LOCK: 1, NOLOCK: 2 } as const;

/** SHMSWARM_WAIT=thread: waitForFrame sleeps on a worker thread, not in io_uring (tests, bench). */
export const WAIT_ON_THREAD = process.env.SHMSWARM_WAIT === 'thread';

let loaded: Native | undefined;

/**
 * How to build the addon, for the package at `path`: installed as a dependency (npm install
 * --ignore-scripts, or a failed build) `npm rebuild` runs its install script again; a clone
 * builds with its own scripts.
 */
export function buildAdvice(path: string): string {
  const how = path.includes('/node_modules/') ? 'run npm rebuild shmswarm' : 'run npm run build (or npm ci)';
  return `${how}; it needs cmake and a C++ compiler`;
}

/** The addon, loaded once; a missing build fails with one actionable message. */
export function native(): Native {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let addon: Native;
  try {
    // From dist/core/, or from the CLI bundle dist/cli/shmswarm.cjs: both two levels down.
    addon = require('../../build/Release/shmswarm.node') as Native;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ShmswarmError(`the native addon is not built (${why}); ${buildAdvice(fileURLToPath(import.meta.url))}`, 'ENOADDON');
  }
  addon.setErrorClass(ShmswarmError);
  loaded = addon;
  return addon;
}
