import { statSync, readdirSync } from 'node:fs';
import { FrameFlag, ReadMode, WAIT_ON_THREAD, native, type NativeSegmentHandle } from './binding.js';
import { type Dtype, type DtypeArray, type DtypeName, type TypedArray, dtypeByCode, parseDtype } from './dtypes.js';
import { ShmswarmError, describeValue, isShmswarmError } from './errors.js';
import { checkSegmentName, defaultFields, parseFields } from './names.js';

/** Where POSIX shared-memory names live on Linux. */
export const SHM_DIR = '/dev/shm';

/** Largest matrix a segment may hold, all slots together (include/shmswarm.h SHMSWARM_MAX_DATA). */
const MAX_DATA_BYTES = 2 ** 40;
/** Most frame buffers a segment may have (SHMSWARM_SLOTS_MAX). */
export const MAX_SLOTS = 16;
const DEFAULT_TIMEOUT_MS = 1000;
/** waitForFrame polls this long for a frame already being written before using a worker. */
const WAIT_POLL_MS = 0.05;
/**
 * The scheduler slice waitForFrame's `lowLatency` asks for: with the default slice (about 3 ms)
 * a woken waiter waits for the task running on its CPU, often the writer, to yield first.
 */
const LOW_LATENCY_SLICE_NS = 100_000;
/** Asked once per thread (each worker_threads Worker loads its own copy of this module). */
let wakeSliceAsked = false;
/** The longest single native wait behind an asynchronous wait (see waitInSlices). */
const WAIT_CHUNK_MS = 500;

/**
 * `read` for waitInSlices, refusing to start another slice into a destination that was detached
 * or resized meanwhile (the native read refuses it at the end of a slice with the same words).
 */
export function stayingDestination<R>(data: ArrayBufferView, read: (sliceMs: number) => Promise<R>): (sliceMs: number) => Promise<R> {
  const bytes = data.byteLength;
  return (ms) => {
    if (data.byteLength !== bytes) throw new TypeError('the destination array was detached or resized while the read was pending');
    return read(ms);
  };
}

/**
 * A wait on a worker thread cannot be told that its worker_threads Worker is being terminated
 * (Node runs cleanup hooks only after pending thread work has finished), so terminate() would
 * wait out the whole timeout: long waits go in slices of at most WAIT_CHUNK_MS, each a fresh
 * `attempt` with the time left, until one ends other than ETIMEDOUT or the time is up.
 * `stopped` (checked between slices) ends it with ECANCELED, as close() ends a pending slice.
 */
export async function waitInSlices<R>(timeoutMs: number, attempt: (sliceMs: number) => Promise<R>, stopped: () => ShmswarmError | null): Promise<R> {
  const deadline = performance.now() + timeoutMs;
  let timedOut: unknown = null;
  for (;;) {
    const stop = stopped();
    if (stop) throw stop;
    const left = Math.max(0, deadline - performance.now());
    // Less than a ms left after a slice that timed out: another attempt would be a 0 ms one,
    // which the native layer reads as "try once" (EBUSY), not as a timeout.
    if (timedOut && left < 1) throw timedOut;
    try {
      return await attempt(Math.min(left, WAIT_CHUNK_MS));
    } catch (e) {
      if (!isShmswarmError(e, 'ETIMEDOUT') || left <= WAIT_CHUNK_MS) throw e;
      timedOut = e;
    }
  }
}
/** How long open() waits for a segment that is still being created. */
const DEFAULT_INIT_WAIT_MS = 250;

/**
 * `D` is the type of `dtype`: a DtypeName by default. Code that has the name only at run time
 * (a command-line flag) uses CreateOptions<string>; create() checks it then (RangeError).
 */
export interface CreateOptions<D extends string = DtypeName> {
  /** Agents: rows of the matrix. */
  rows: number;
  /** Fields per agent; implied by `fields` when given. */
  cols?: number;
  /** Field names, an array or "x,y,vx,vy". */
  fields?: string | readonly string[];
  /** Element type (default 'f32'); a literal also types the segment's arrays ('f64': Float64Array). */
  dtype?: D;
  /** Permission bits, applied exactly whatever the umask. Default 0o600. */
  mode?: number;
  /** Replace an existing shmswarm segment whose writer is not alive. */
  replace?: boolean;
  /**
   * Frame buffers, 1-16 (default 1: format 1). With k ≥ 2 (format 2) frame n goes to slot n % k,
   * so a writer publishing back to back does not overwrite the frame a lock-free reader is
   * copying unless it laps it by k - 1 frames: readers rarely need the lock and the writer rarely
   * waits for them. Costs k × the matrix memory; plain WA-1 readers (Julia) see a cols × rows × k array.
   */
  slots?: number;
  /** Lock timeout for this handle, in ms (default 1000): see OpenOptions.timeoutMs. */
  timeoutMs?: number;
}

export interface OpenOptions<D extends DtypeName = DtypeName> {
  /** Read only (default false): no writeFrame; views are private copies-on-write. */
  readonly?: boolean;
  /**
   * Lock timeout for this handle, in ms (default 1000): what writeFrame, beginFrame, and
   * readFrame, readFrameAsync, lock and lockAsync without their own `timeoutMs` wait at most.
   */
  timeoutMs?: number;
  /** How long to wait for a segment that is still being created (default 250 ms). */
  initWaitMs?: number;
  /**
   * The element type the caller expects: a segment of another type is refused (EINCOMPATIBLE),
   * so the handle's arrays can be typed as that one (`'f32'`: view() is a Float32Array).
   */
  dtype?: D;
}

/**
 * What create() takes as `dtype`: a DtypeName literal, kept to type the segment, or a string
 * known only at run time, checked then. Any other literal (`'f16'`) does not type-check.
 */
type CreateDtype<D extends string> = [D] extends [DtypeName] ? D : string extends D ? string : DtypeName;

export interface SegmentInfo {
  name: string;
  /** 'raw': a bare matrix read through RawSegment (no header, no live state). */
  kind: 'shmswarm' | 'wa1' | 'raw';
  rows: number;
  cols: number;
  dtype: DtypeName;
  fields: string[];
  /** False when the creator gave no names and `fields` are c0, c1, … */
  fieldsNamed: boolean;
  elementBytes: number;
  dataBytes: number;
  /** The object's size in bytes, from fstat. */
  bytes: number;
  /** Permission bits of the object now (fstat). */
  mode: number;
  uid: number;
  ino: number;
  createdTime: number | null;
  creatorPid: number | null;
  sequence: number;
  frames: number;
  /** ms since the epoch of the last publish, or null. */
  lastWriteTime: number | null;
  writerPid: number | null;
  writerAlive: boolean;
  /** The latest frame was left half-written by a writer that died. */
  torn: boolean;
  /** Processes blocked in waitForFrame. */
  waiters: number;
  /** 1 for format 1, 2 for a segment with slots; null for plain WA-1 and raw. */
  formatVersion: number | null;
  /** Frame buffers (1 unless created with `slots`). */
  slots: number;
  /** Raw mode only: where the matrix sits and which foreign mutex (if any) guards each copy. */
  raw?: { offset: number; mutex: string | null; mutexOffset: number; synced: boolean };
}

export interface Frame<T extends TypedArray = TypedArray> {
  /** rows × cols elements, agent-major. */
  data: T;
  sequence: number;
  frames: number;
  lastWriteTime: number | null;
  writerPid: number | null;
  /** A writer died mid-frame: the data may mix two frames. */
  torn: boolean;
  /** Copied under the mutex (asked for, or the lock-free retries ran out). */
  locked: boolean;
  /** The mutex's previous owner had died; its state was repaired on the way. */
  recovered: boolean;
  /** Plain WA-1 segment: copied without any consistency guarantee. */
  unsynced: boolean;
  /** Lock-free attempts that overlapped a write. */
  retries: number;
}

export interface ReadOptions<T extends TypedArray = TypedArray> {
  /** Take the mutex (the seed's way; required with foreign writers). Default: lock-free with fallback. */
  lock?: boolean;
  /** Never take the mutex: fail with ENOFRAME when the writer keeps overwriting. */
  lockFree?: boolean;
  /** Copy into this array (rows*cols elements of the segment's type) instead of a new one. */
  into?: T;
  /**
   * Return null, copying nothing, when the sequence still equals this one (a sequence number
   * read before: an integer >= 0; -1 for none seen). Only a read given `since` can return null.
   */
  since?: number;
  /** Lock timeout in ms for this call only (default: the handle's, see OpenOptions.timeoutMs). */
  timeoutMs?: number;
}

/** ReadOptions without `since`: such a read always returns a frame. */
export type FreshReadOptions<T extends TypedArray = TypedArray> = ReadOptions<T> & { since?: undefined };

export interface FrameWaitOptions {
  /** How long to wait, in ms (default 10000): then the promise rejects with ETIMEDOUT. */
  timeoutMs?: number;
  /** See waitForFrame. */
  lowLatency?: boolean;
}

export type NameStatus = 'same' | 'replaced' | 'gone';

/** What `name` points at now, against the inode mapped: after shm_unlink a mapping stays valid. */
export function nameStatusOf(name: string, ino: number): NameStatus {
  try {
    return statSync(SHM_DIR + name).ino === ino ? 'same' : 'replaced';
  } catch {
    return 'gone';
  }
}

function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${what} must be an integer, got ${describeValue(value)}`);
  if (value < min || value > max) throw new RangeError(`${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A timeout in ms: a number from 0 to 1e12 (the native layer's bound). */
function checkTimeout(ms: unknown, what = 'timeoutMs'): number {
  if (typeof ms !== 'number') throw new TypeError(`${what} must be a number of ms, got ${describeValue(ms)}`);
  if (!(ms >= 0) || ms > 1e12) throw new RangeError(`${what} must be a number of ms from 0 to 1e12, got ${ms}`);
  return ms;
}

/** An optional timeout: `fallback` when absent, else checked as above. */
export function timeoutOption(ms: unknown, fallback: number, what = 'timeoutMs'): number {
  return ms === undefined ? fallback : checkTimeout(ms, what);
}

/**
 * A sequence number as a caller passes it back: an integer >= 0, or -1 for "none seen" (as in
 * the native layer). NaN or "3" would silently mean "none seen" there: refused here.
 */
export function checkSequence(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${what} must be a sequence number (an integer >= 0, or -1 for none seen), got ${describeValue(value)}`);
  if (value < -1 || value > Number.MAX_SAFE_INTEGER)
    throw new RangeError(`${what} must be a sequence number from 0 to ${Number.MAX_SAFE_INTEGER}, or -1 for none seen, got ${value}`);
  return value;
}

/** An optional flag: true, false or absent (false); "yes" or 1 would be read as true by some code and not by other. */
export function optionalBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be true or false, got ${describeValue(value)}`);
  return value;
}

const NO_OPTIONS = Object.freeze({});

/** Options as given: null and undefined mean none; anything else that is not an object is a mistake. */
export function optionsObject<O extends object>(options: O | null | undefined, what = 'options'): Partial<O> {
  if (options === undefined || options === null) return NO_OPTIONS;
  if (typeof options !== 'object') throw new TypeError(`${what} must be an object, got ${describeValue(options)}`);
  return options;
}

/** Field names from create's options: a non-empty list, checked by parseFields. */
function checkFields(fields: unknown): string[] {
  if (typeof fields !== 'string' && !Array.isArray(fields))
    throw new TypeError(`fields must be a string such as "x,y" or an array of names, got ${describeValue(fields)}`);
  if (fields.length === 0) throw new TypeError('fields must not be empty: name at least one column');
  return parseFields(fields);
}

/** The native read mode from `lock` and `lockFree`. */
export function readMode(o: Partial<ReadOptions>): number {
  const lock = optionalBoolean(o.lock, 'lock');
  const lockFree = optionalBoolean(o.lockFree, 'lockFree');
  if (lock && lockFree) throw new TypeError('lock and lockFree exclude each other');
  return lock ? ReadMode.LOCK : lockFree ? ReadMode.NOLOCK : ReadMode.AUTO;
}

/** Which JS type an element of a `dtype` array must have. */
function elementType(dtype: Dtype): 'bigint' | 'number' {
  return dtype.bigint ? 'bigint' : 'number';
}

/** Index of the first element that is not of `type` (holes included), or -1. */
function firstNotOfType(values: readonly unknown[], type: 'bigint' | 'number'): number {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== type) return i;
  return -1;
}

function isBigIntArray(a: ArrayBufferView): boolean {
  return a instanceof BigInt64Array || a instanceof BigUint64Array;
}

/** An aligned, zeroed array for frames: see allocAligned in native/addon.cc. */
export function allocFrame(dtype: Dtype, elements: number): TypedArray {
  return new dtype.array(native().allocAligned(elements * dtype.bytes), 0, elements);
}

/**
 * Where a read copies to: the caller's `into`, checked, or a new array over its own ArrayBuffer
 * (V8's memory, never inside V8's heap, so a worker thread may copy into it). Not allocFrame:
 * its external buffers are freed only after the event loop turns, and a loop of reads piled
 * them up (docs/PERFORMANCE.md, "The first read", measures both).
 * Skipping the zero fill (Buffer.allocUnsafeSlow) saved nothing measurable: the cost is the
 * fresh memory.
 */
export function frameTarget<T extends TypedArray>(dtype: Dtype, elements: number, into: T | undefined): T {
  if (into === undefined) return new dtype.array(new ArrayBuffer(elements * dtype.bytes)) as T;
  if (!(into instanceof dtype.array) || into.length !== elements)
    throw new TypeError(`into must be a ${dtype.array.name} of ${elements} elements`);
  return into;
}

/**
 * A mapped shmswarm segment (or a plain WA-1 object, read-only). One owner, explicit close():
 * after it every call throws ShmswarmError ECLOSED and views become empty.
 *
 * `T` is the typed array of its elements: Float32Array for `create(name, { rows, cols })`, the
 * dtype's array for a literal `dtype` given to create() or open(), and any TypedArray when the
 * dtype is not known statically (narrow it with open's `dtype`).
 */
export class Segment<T extends TypedArray = TypedArray> {
  readonly name: string;
  readonly kind: 'shmswarm' | 'wa1';
  readonly rows: number;
  readonly cols: number;
  readonly dtype: DtypeName;
  /** Frame buffers: 1, or 2-16 for a format 2 segment (see CreateOptions.slots). */
  readonly slots: number;
  readonly readonly: boolean;
  /** Name warnings (e.g. too long for macOS) for the caller to show. */
  readonly warnings: readonly string[];

  #handle: NativeSegmentHandle | null;
  #dtype: Dtype;
  #elements: number;
  #fieldsNamed: boolean;
  /** The names stored in the header ("" when unnamed); the array is made on first use. */
  #fieldsText: string;
  #fields: readonly string[] | null = null;
  #createdMs: number | null;
  #creatorPid: number | null;
  #ino: number;
  #totalSize: number;
  #version: number;
  /** One typed array per slot, over the mapping. */
  #views: T[] | null = null;
  #info = new Float64Array(6);
  /** writeFrame/readFrame bound to #handle: the 4 KB hot path skips a per-call unwrap. */
  #bound: ReturnType<NativeSegmentHandle['bound']>;
  #inFrame = false;
  /** The handle's lock timeout (OpenOptions.timeoutMs). */
  #timeoutMs: number;
  /**
   * The timeout the native handle holds now. Its synchronous calls take no timeout argument,
   * so a call that needs another one sets it first (readFrameAsync passes its own).
   */
  #nativeTimeoutMs = DEFAULT_TIMEOUT_MS;

  private constructor(name: string, handle: NativeSegmentHandle, readonly: boolean, warnings: string[], timeoutMs: number) {
    const lay = handle.layout();
    this.name = name;
    this.#handle = handle;
    this.#bound = handle.bound();
    this.readonly = readonly;
    this.warnings = warnings;
    this.kind = lay.kind;
    this.rows = lay.rows;
    this.cols = lay.cols;
    this.#dtype = dtypeByCode(lay.dtype);
    this.dtype = this.#dtype.name;
    this.#elements = lay.rows * lay.cols;
    this.#fieldsNamed = lay.fields.length > 0;
    this.#fieldsText = lay.fields;
    this.#createdMs = lay.kind === 'shmswarm' ? lay.createdMs : null;
    this.#creatorPid = lay.kind === 'shmswarm' ? lay.creatorPid : null;
    this.#ino = handle.stat().ino;
    this.#totalSize = lay.totalSize;
    this.slots = lay.slots;
    this.#version = lay.version;
    this.#timeoutMs = timeoutMs;
    this.#useTimeout(handle, timeoutMs);
  }

  /**
   * A Segment over a handle just opened or created, checked against the dtype asked for. The
   * handle is closed if that fails: a call that throws leaves no descriptor or mapping behind.
   */
  static #adopt<T extends TypedArray>(
    name: string, handle: NativeSegmentHandle, readonly: boolean, warnings: string[], timeoutMs: number, want: Dtype | null,
  ): Segment<T> {
    try {
      const seg = new Segment<T>(name, handle, readonly, warnings, timeoutMs);
      if (want && seg.dtype !== want.name)
        throw new ShmswarmError(`${name}: segment holds ${seg.dtype} elements, not ${want.name} as asked`, 'EINCOMPATIBLE', { segment: name });
      return seg;
    } catch (e) {
      handle.close();
      throw e;
    }
  }

  /**
   * Create a new segment; EEXIST if the name is taken (unless `replace` and its writer is dead).
   * Every option is checked before anything is created.
   */
  static create<D extends string = 'f32'>(name: string, options: CreateOptions<CreateDtype<D>>): Segment<DtypeArray<D>> {
    const { warnings } = checkSegmentName(name);
    const o: Partial<CreateOptions<string>> = optionsObject(options);
    const dtype = parseDtype(o.dtype ?? 'f32');
    const rows = checkInteger(o.rows, 'rows', 1, Number.MAX_SAFE_INTEGER);
    const fields = o.fields === undefined ? null : checkFields(o.fields);
    const cols = o.cols === undefined ? fields?.length : checkInteger(o.cols, 'cols', 1, 2 ** 32 - 1);
    if (cols === undefined) throw new TypeError('give cols or fields');
    if (fields && fields.length !== cols)
      throw new RangeError(`${fields.length} field names given for ${cols} columns`);
    if (rows * cols * dtype.bytes > MAX_DATA_BYTES)
      throw new RangeError(`${rows} × ${cols} ${dtype.name} is larger than the ${MAX_DATA_BYTES} bytes a segment may hold`);
    const mode = o.mode === undefined ? 0o600 : checkInteger(o.mode, 'mode', 0, 0o777);
    const slots = o.slots === undefined ? 1 : checkInteger(o.slots, 'slots', 1, MAX_SLOTS);
    if (slots > 1 && rows * cols * dtype.bytes * slots > MAX_DATA_BYTES)
      throw new RangeError(`${slots} slots of ${rows} × ${cols} ${dtype.name} are larger than the ${MAX_DATA_BYTES} bytes a segment may hold`);
    const replace = optionalBoolean(o.replace, 'replace');
    const timeoutMs = timeoutOption(o.timeoutMs, DEFAULT_TIMEOUT_MS);
    const make = () => native().SegmentHandle.create(name, rows, cols, dtype.code, fields ? fields.join(',') : null, mode, slots);
    let handle: NativeSegmentHandle;
    try {
      handle = make();
    } catch (e) {
      if (!replace || !isShmswarmError(e, 'EEXIST')) throw e;
      Segment.#removeIfAbandoned(name);
      handle = make();
    }
    return Segment.#adopt(name, handle, false, warnings, timeoutMs, null);
  }

  /**
   * Open an existing segment. A plain WA-1 object (e.g. from Julia) opens read-only. Every
   * option is checked before anything is opened.
   */
  static open<D extends DtypeName = DtypeName>(name: string, options?: OpenOptions<D> | null): Segment<DtypeArray<D>> {
    const { warnings } = checkSegmentName(name);
    const o: Partial<OpenOptions> = optionsObject(options);
    const readonly = optionalBoolean(o.readonly, 'readonly');
    const timeoutMs = timeoutOption(o.timeoutMs, DEFAULT_TIMEOUT_MS);
    const initWait = timeoutOption(o.initWaitMs, DEFAULT_INIT_WAIT_MS, 'initWaitMs');
    const want = o.dtype === undefined ? null : parseDtype(o.dtype);
    const deadline = Date.now() + initWait;
    for (;;) {
      let handle: NativeSegmentHandle;
      try {
        handle = native().SegmentHandle.open(name, !readonly);
      } catch (e) {
        // A creator is between shm_open and publishing the header: give it a moment.
        if (!isShmswarmError(e, 'EUNINIT') || Date.now() >= deadline) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        continue;
      }
      return Segment.#adopt(name, handle, readonly, warnings, timeoutMs, want);
    }
  }

  /**
   * Remove a segment's name. Only shmswarm segments unless `force` (ENOTSHMSWARM for anything
   * else, WA-1 arrays included); ENOENT when the name does not exist.
   */
  static unlink(name: string, options?: { force?: boolean } | null): void {
    checkSegmentName(name);
    const force = optionalBoolean(optionsObject(options).force, 'force');
    if (!force) {
      let kind: Segment['kind'];
      try {
        const seg = Segment.open(name, { readonly: true, initWaitMs: 0 });
        kind = seg.kind;
        seg.close();
      } catch (e) {
        if (!isShmswarmError(e) || e.code === 'ENOENT' || e.code === 'EACCES') throw e;
        throw new ShmswarmError(
          `${name} is not a shmswarm segment (${e.message.replace(`${name}: `, '')}); use --force to remove it anyway`,
          'ENOTSHMSWARM',
          { segment: name },
        );
      }
      // Readable is not ours: a WA-1 array is another program's (a Julia WrappedArray).
      if (kind !== 'shmswarm')
        throw new ShmswarmError(
          `${name} is a WA-1 array (another program's, e.g. a Julia WrappedArray), not a shmswarm segment; use --force to remove it anyway`,
          'ENOTSHMSWARM',
          { segment: name },
        );
    }
    native().unlink(name);
  }

  static #removeIfAbandoned(name: string): void {
    let seg: Segment;
    try {
      seg = Segment.open(name, { readonly: true, initWaitMs: 0 });
    } catch (e) {
      // No magic yet: a creation still running, one that was killed, or another program's
      // object that starts with zeros (a seed mutex does). Nothing tells them apart safely.
      if (isShmswarmError(e, 'EUNINIT'))
        throw new ShmswarmError(
          `${name} exists but is not initialised (a creation still running or killed, or another program's object); not replacing it — if it is yours to remove: shmswarm unlink --force ${name}`,
          'EEXIST',
          { segment: name },
        );
      throw new ShmswarmError(`${name} exists and is not a shmswarm segment; not replacing it`, 'EEXIST', { segment: name });
    }
    try {
      const info = seg.info();
      if (info.kind !== 'shmswarm')
        throw new ShmswarmError(`${name} exists and is not a shmswarm segment; not replacing it`, 'EEXIST', { segment: name });
      if (info.writerAlive)
        throw new ShmswarmError(`${name} has a live writer (pid ${info.writerPid}); not replacing it`, 'EBUSY', { segment: name });
    } finally {
      seg.close();
    }
    native().unlink(name);
  }

  #live(): NativeSegmentHandle {
    if (!this.#handle) throw new ShmswarmError(`${this.name}: this handle was closed; open the segment again`, 'ECLOSED', { segment: this.name });
    return this.#handle;
  }

  /** Make the native handle's timeout `ms` for the call about to be made (a no-op when it already is). */
  #useTimeout(h: NativeSegmentHandle, ms: number): void {
    if (ms === this.#nativeTimeoutMs) return;
    h.setTimeout(ms);
    this.#nativeTimeoutMs = ms;
  }

  /**
   * One name per column: the stored ones, or c0, c1, … when the creator gave none. Made on first
   * use: a foreign WA-1 object may have millions of columns, and opening it (as `list` does for
   * every object) must not name them all.
   */
  get fields(): readonly string[] {
    return (this.#fields ??= Object.freeze(this.#fieldsNamed ? this.#fieldsText.split(',') : defaultFields(this.cols)));
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  /** Elements in one frame: rows × cols. */
  get length(): number {
    return this.#elements;
  }

  /** Header, live state and object metadata. */
  info(): SegmentInfo {
    const h = this.#live();
    const st = h.stat();
    // Shrunk inside its last page, the object reads as zeros instead of faulting: say so.
    if (st.size < this.#totalSize)
      throw new ShmswarmError(
        `${this.name}: segment is smaller than its header says (${st.size} of ${this.#totalSize} bytes; shrunk while mapped)`,
        'ETRUNCATED',
        { segment: this.name, syscall: 'fstat' },
      );
    const s = h.state();
    const sync = this.kind === 'shmswarm';
    const seg = this;
    let fields: string[] | undefined;
    return {
      name: this.name,
      kind: this.kind,
      rows: this.rows,
      cols: this.cols,
      dtype: this.dtype,
      // Named only when asked for (see `fields`): `list` leaves out the names of many unnamed columns.
      get fields() {
        return (fields ??= [...seg.fields]);
      },
      fieldsNamed: this.#fieldsNamed,
      elementBytes: this.#dtype.bytes,
      dataBytes: this.#elements * this.#dtype.bytes,
      bytes: st.size,
      mode: st.mode,
      uid: st.uid,
      ino: st.ino,
      createdTime: this.#createdMs,
      creatorPid: this.#creatorPid,
      sequence: s.sequence,
      frames: s.frames,
      lastWriteTime: sync && s.frames > 0 ? s.lastWriteMs : null,
      writerPid: sync && s.writerPid > 0 ? s.writerPid : null,
      writerAlive: s.writerAlive,
      torn: (s.flags & FrameFlag.TORN) !== 0,
      waiters: s.waiters,
      formatVersion: sync ? this.#version : null,
      slots: this.slots,
    };
  }

  /** The sequence counter alone: even = stable, odd = a frame is being written. */
  sequence(): number {
    return this.#live().sequence();
  }

  /**
   * A zero-copy typed array over the matrix (rows*cols, agent-major). For writers it is the
   * shared memory itself; for read-only handles a private copy-on-write mapping that shows the
   * live data until this process stores into it. Reads through it are not consistent frames:
   * use readFrame for that. Emptied by close().
   *
   * With slots > 1 it is the slot of the latest published frame at the time of the call: a
   * later frame goes to another slot, so fetch the view again for each frame.
   *
   * Only for segments whose size nobody else can change. If another process shrinks the object
   * (`truncate -s 0 /dev/shm/NAME`), touching the view kills this process with SIGBUS: plain
   * JavaScript element accesses cannot be guarded. For segments of others, read-only readers
   * included, use readFrame(), whose copy is guarded (EBUS instead of a signal).
   */
  view(): T {
    const views = this.#slotViews();
    if (views.length === 1) return views[0];
    return views[Math.floor(this.#live().sequence() / 2) % views.length];
  }

  #slotViews(): T[] {
    if (!this.#views) {
      const ab = this.#live().view(!this.readonly);
      const bytes = this.#elements * this.#dtype.bytes;
      this.#views = Array.from({ length: this.slots }, (_, i) => new this.#dtype.array(ab, i * bytes, this.#elements) as T);
    }
    return this.#views;
  }

  /**
   * Publish a whole frame: a typed array (of the segment's type, copied without conversion;
   * another numeric one is converted) or an array of numbers, bigints for i64/u64. Anything
   * else is a TypeError: strings or `{ length }` would be published as NaN.
   */
  writeFrame(src: TypedArray | readonly number[] | readonly bigint[]): void {
    const h = this.#live();
    if (this.readonly) throw new TypeError(`segment ${this.name} was opened read-only`);
    this.#useTimeout(h, this.#timeoutMs);
    if (src instanceof this.#dtype.array && src.length === this.#elements) {
      this.#bound.writeFrame(src);
      return;
    }
    this.#bound.writeFrame(this.#converted(src));
  }

  /** A frame given as another typed array or a plain array, in the segment's element type. */
  #converted(src: unknown): TypedArray {
    const type = elementType(this.#dtype);
    const expected = `${type === 'bigint' ? 'bigints' : 'numbers'} for dtype ${this.dtype}`;
    let values: ArrayLike<unknown>;
    if (ArrayBuffer.isView(src) && !(src instanceof DataView)) {
      if (isBigIntArray(src) !== (type === 'bigint'))
        throw new TypeError(`writeFrame expects ${expected}, got a ${src.constructor.name}`);
      values = src as unknown as ArrayLike<unknown>;
    } else if (Array.isArray(src)) {
      values = src;
    } else {
      throw new TypeError(`writeFrame expects a typed array or an array of ${this.#elements} ${expected}, got ${describeValue(src)}`);
    }
    if (values.length !== this.#elements)
      throw new RangeError(`frame has ${values.length} elements; segment ${this.name} holds ${this.rows} × ${this.cols} = ${this.#elements}`);
    if (Array.isArray(values)) {
      const bad = firstNotOfType(values, type);
      if (bad >= 0) throw new TypeError(`writeFrame expects ${expected}; element ${bad} is ${describeValue(values[bad])}`);
    }
    const copy = new this.#dtype.array(this.#elements);
    (copy as unknown as { set(a: ArrayLike<unknown>): void }).set(values);
    return copy;
  }

  /**
   * In-place publishing without an extra copy: takes the lock, marks the frame as being written
   * and returns the shared view to fill; endFrame() publishes it. Keep the section short:
   * readers fall back to waiting while it is open.
   *
   * With slots > 1 the array is the slot the new frame goes to, and it still holds the frame
   * published `slots` frames earlier, not the previous one: write the whole frame.
   *
   * Like view(), the array is the shared memory itself: if another process shrinks the object,
   * storing into it kills this process with SIGBUS (writeFrame copies under a guard: EBUS).
   */
  beginFrame(): T {
    const h = this.#live();
    if (this.readonly) throw new TypeError(`segment ${this.name} was opened read-only`);
    const views = this.#slotViews();
    this.#useTimeout(h, this.#timeoutMs);
    const slot = h.beginFrame();
    this.#inFrame = true;
    return views[slot];
  }

  /** Publish the frame begun by beginFrame(); ShmswarmError ENOTBEGUN without one. */
  endFrame(): void {
    const h = this.#live();
    if (!this.#inFrame) throw new ShmswarmError(`${this.name}: endFrame() without beginFrame()`, 'ENOTBEGUN', { segment: this.name });
    this.#inFrame = false;
    h.endFrame();
  }

  /** beginFrame, fill(view), endFrame. If fill throws, the frame is still ended (the lock must not stay held). */
  writeFrameInPlace(fill: (view: T) => void): void {
    const view = this.beginFrame();
    try {
      fill(view);
    } finally {
      this.endFrame();
    }
  }

  static #frame<T extends TypedArray>(data: T, info: ArrayLike<number>): Frame<T> {
    const flags = info[4];
    return {
      data,
      sequence: info[0],
      frames: info[1],
      lastWriteTime: info[1] > 0 ? info[2] : null,
      writerPid: info[3] > 0 ? info[3] : null,
      torn: (flags & FrameFlag.TORN) !== 0,
      locked: (flags & FrameFlag.LOCKED) !== 0,
      recovered: (flags & FrameFlag.RECOVERED) !== 0,
      unsynced: (flags & FrameFlag.UNSYNCED) !== 0,
      retries: info[5],
    };
  }

  /**
   * A consistent copy of the current frame: lock-free (seqlock) with bounded retries and a
   * locked fallback, or under the mutex with `lock`. With `since`, returns null without copying
   * when no newer frame was published; without it, always a frame. May block up to the lock
   * timeout: use readFrameAsync where the event loop must stay free.
   *
   * The type argument `U` may narrow the array type of a segment whose dtype is not known
   * statically; it is not checked (give open() a `dtype`, which is).
   */
  readFrame<U extends T = T>(options?: FreshReadOptions<U> | null): Frame<U>;
  readFrame<U extends T = T>(options: ReadOptions<U>): Frame<U> | null;
  readFrame<U extends T = T>(options?: ReadOptions<U> | null): Frame<U> | null {
    const h = this.#live();
    const o = optionsObject(options);
    const mode = readMode(o);
    const data = frameTarget(this.#dtype, this.#elements, o.into);
    const since = o.since === undefined ? -1 : checkSequence(o.since, 'since');
    this.#useTimeout(h, timeoutOption(o.timeoutMs, this.#timeoutMs));
    const flags = this.#bound.readFrame(data, mode, since, this.#info);
    if (flags & FrameFlag.UNCHANGED) return null;
    return Segment.#frame(data, this.#info);
  }

  /**
   * readFrame with the copy (and any lock wait) on a worker thread. Every failure rejects. With
   * `into` the frame is copied twice (staged, then into `into` on this thread): JS could detach
   * or shrink `into` meanwhile. The array made without `into`, and an `into` over a
   * SharedArrayBuffer, are written directly.
   */
  readFrameAsync<U extends T = T>(options?: FreshReadOptions<U> | null): Promise<Frame<U>>;
  readFrameAsync<U extends T = T>(options: ReadOptions<U>): Promise<Frame<U> | null>;
  async readFrameAsync<U extends T = T>(options?: ReadOptions<U> | null): Promise<Frame<U> | null> {
    const h = this.#live();
    const o = optionsObject(options);
    const data = frameTarget(this.#dtype, this.#elements, o.into);
    const since = o.since === undefined ? -1 : checkSequence(o.since, 'since');
    const timeout = timeoutOption(o.timeoutMs, this.#timeoutMs);
    const mode = readMode(o);
    // An array made here is seen by no one until the read resolves: the copy may go straight
    // into it. The caller's `into` could be detached meanwhile, so the native read stages it.
    const isPrivate = o.into === undefined;
    const read = stayingDestination(data, (ms) => h.readFrameAsync(data, mode, since, ms, isPrivate));
    const info = await waitInSlices(timeout, read, () => this.#stoppedWaiting('the lock'));
    if (info[4] & FrameFlag.UNCHANGED) return null;
    return Segment.#frame(data, info);
  }

  /**
   * Resolves with the new sequence once a frame newer than `afterSequence` is published
   * (a futex wait in io_uring, completed on this thread's event loop; on a worker thread where
   * io_uring cannot, or with SHMSWARM_WAIT=thread); rejects with code ETIMEDOUT, or ECANCELED
   * on close(). Every failure is a rejection, wrong arguments (TypeError, RangeError) and a
   * closed handle (ECLOSED) included: it never throws.
   *
   * `lowLatency`: on first use, ask Linux (6.12+) for a 100 µs scheduler slice for the calling
   * thread, so that the wake-up preempts whatever runs on its CPU (docs/PERFORMANCE.md measured
   * about 10 µs less at the median). The slice stays with the thread, and threads it starts
   * later inherit it, as they inherit a nice value; where the kernel has no per-thread slices the
   * wait goes on without it.
   */
  waitForFrame(afterSequence: number, options?: FrameWaitOptions | null): Promise<number> {
    try {
      return this.#waitForFrame(afterSequence, optionsObject(options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #waitForFrame(afterSequence: number, options: Partial<FrameWaitOptions>): Promise<number> {
    const h = this.#live();
    checkSequence(afterSequence, 'afterSequence');
    const timeoutMs = checkTimeout(options.timeoutMs ?? 10_000);
    const lowLatency = optionalBoolean(options.lowLatency, 'lowLatency');
    if (lowLatency && !wakeSliceAsked) {
      wakeSliceAsked = true;
      try {
        native().setWakeSlice(LOW_LATENCY_SLICE_NS);
      } catch {
        // No per-thread slices here (kernel before 6.12, not Linux): wait without one.
      }
    }
    // Already newer: no round trip through a worker thread (two thread wake-ups, tens of µs to
    // a few ms on a busy machine). An odd sequence is a frame being written; the one before it
    // is published. When that one is the caller's, the next is one copy away: a short bounded
    // poll here beats the thread round trip (bench/: a reader of a back-to-back 240 KB writer).
    // An odd afterSequence was a frame in progress: newer is the one after it (as in C).
    if (this.kind === 'shmswarm') {
      const seen = afterSequence > 0 && afterSequence % 2 === 1 ? afterSequence - 1 : afterSequence;
      let seq = h.sequence();
      if (seq % 2 === 1 && seq - 1 === seen) {
        const end = performance.now() + WAIT_POLL_MS;
        do seq = h.sequence();
        while (seq % 2 === 1 && performance.now() < end);
      }
      const stable = seq % 2 === 0 ? seq : seq - 1;
      if (stable !== seen) return Promise.resolve(stable);
    }
    return this.#waitInChunks(h, afterSequence, timeoutMs);
  }

  #waitInChunks(h: NativeSegmentHandle, afterSequence: number, timeoutMs: number): Promise<number> {
    return waitInSlices(timeoutMs, (ms) => h.waitAsync(afterSequence, ms, WAIT_ON_THREAD), () => this.#stoppedWaiting('a frame'));
  }

  /** Why a sliced wait must not go on: close() between two slices cancels it, as it cancels a pending one. */
  #stoppedWaiting(what: string): ShmswarmError | null {
    return this.closed ? new ShmswarmError(`${this.name}: closed while waiting for ${what}`, 'ECANCELED', { segment: this.name }) : null;
  }


  /**
   * Take the segment's robust mutex, waiting up to timeoutMs (default: the handle's, see
   * OpenOptions.timeoutMs) on this thread. `recovered` is true when the previous owner had
   * died holding it (its half-written frame is then marked torn). Pair with unlock(); prefer
   * lockAsync for long waits.
   */
  lock(options?: { timeoutMs?: number } | null): { recovered: boolean } {
    const h = this.#live();
    const o = optionsObject(options);
    return { recovered: h.lock(timeoutOption(o.timeoutMs, this.#timeoutMs)) };
  }

  /** lock() whose waiting happens on a worker thread; the lock is then taken on this thread. */
  async lockAsync(options?: { timeoutMs?: number } | null): Promise<{ recovered: boolean }> {
    const h = this.#live();
    const o = optionsObject(options);
    const timeout = timeoutOption(o.timeoutMs, this.#timeoutMs);
    // Free, it is had at once. Held, also by this thread (EDEADLK), it is waited for on a pool
    // thread: as with readFrameAsync({ lock: true }), this thread may unlock meanwhile; awaiting
    // it while holding the lock deadlocks until the timeout, as any lock held across an await.
    try {
      return { recovered: h.lock(0) };
    } catch (e) {
      if (!isShmswarmError(e, 'EBUSY') && !isShmswarmError(e, 'EDEADLK')) throw e;
    }
    const deadline = performance.now() + timeout;
    let recovered = false;
    for (;;) {
      const left = Math.max(0, deadline - performance.now());
      const probe = (ms: number) => this.#live().lockProbeAsync(ms);
      recovered = (await waitInSlices(left, probe, () => this.#stoppedWaiting('the lock'))) || recovered;
      try {
        return { recovered: this.#live().lock(0) || recovered };
      } catch (e) {
        if (!isShmswarmError(e, 'EBUSY') || performance.now() >= deadline) {
          if (isShmswarmError(e, 'EBUSY'))
            throw new ShmswarmError(`${this.name}: lock was taken again before this thread could get it`, 'ETIMEDOUT', { segment: this.name });
          throw e;
        }
      }
    }
  }

  unlock(): void {
    this.#live().unlock();
  }

  /** Compare the mapping with what the name points at now: re-created, unlinked, or the same. */
  nameStatus(): NameStatus {
    this.#live();
    return nameStatusOf(this.name, this.#ino);
  }

  /**
   * close(), then remove the name if it still names this object: never a segment someone
   * re-created under it meanwhile. Returns whether the name was removed.
   */
  closeAndUnlink(): boolean {
    if (this.closed) return false;
    const ours = this.nameStatus() === 'same';
    this.close();
    if (ours) native().unlink(this.name);
    return ours;
  }

  /** Unmap and close. Idempotent; pending waitForFrame calls reject with ECANCELED. */
  close(): void {
    if (!this.#handle) return;
    const h = this.#handle;
    this.#handle = null;
    this.#views = null;
    h.close();
  }

  /** Validate header bytes as a pure function (no mapping): the layout, or a ShmswarmError. */
  static validateHeader(bytes: Uint8Array, size?: number) {
    return native().validate(bytes, size);
  }

  /** The names of POSIX shared-memory objects (Linux: /dev/shm), semaphores excluded. */
  static names(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(SHM_DIR);
    } catch {
      return [];
    }
    return entries.filter((n) => !n.startsWith('sem.')).sort().map((n) => '/' + n);
  }

  /** Every shared-memory object with what shmswarm can tell about it. */
  static list(): SegmentSummary[] {
    // A missing addon must fail the listing, not turn every segment into a foreign object.
    native();
    return Segment.names().map((name) => summarize(name));
  }
}

export interface SegmentSummary {
  name: string;
  kind: 'shmswarm' | 'wa1' | 'foreign';
  bytes: number | null;
  rows?: number;
  cols?: number;
  dtype?: DtypeName;
  fields?: string[];
  /** Frame buffers (shmswarm segments). */
  slots?: number;
  frames?: number;
  sequence?: number;
  lastWriteTime?: number | null;
  writerPid?: number | null;
  writerAlive?: boolean;
  /** Why a foreign object is not readable as a segment. */
  reason?: string;
}

/**
 * Past this many unnamed columns a summary (`list`, `info --json`) leaves their names (c0, c1, …)
 * out: a foreign object of 2^26 columns made every `list` take 30 s and 2.8 GB to name them, and
 * `info --json` run out of memory.
 */
const SUMMARY_UNNAMED_FIELDS_MAX = 4096;

/** The field names a summary of `info` shows: undefined for many unnamed columns (see above). */
export function summaryFields(info: Pick<SegmentInfo, 'fields' | 'fieldsNamed' | 'cols'>): string[] | undefined {
  return info.fieldsNamed || info.cols <= SUMMARY_UNNAMED_FIELDS_MAX ? info.fields : undefined;
}

function summarize(name: string): SegmentSummary {
  let bytes: number | null = null;
  try {
    bytes = statSync(SHM_DIR + name).size;
  } catch {
    /* gone meanwhile or not stat-able */
  }
  try {
    checkSegmentName(name);
    const seg = Segment.open(name, { readonly: true, initWaitMs: 0 });
    try {
      const i = seg.info();
      return {
        name, kind: seg.kind, bytes: i.bytes, rows: i.rows, cols: i.cols, dtype: i.dtype, slots: i.slots,
        fields: summaryFields(i),
        frames: i.frames, sequence: i.sequence, lastWriteTime: i.lastWriteTime, writerPid: i.writerPid, writerAlive: i.writerAlive,
      };
    } finally {
      seg.close();
    }
  } catch (e) {
    const reason = e instanceof ShmswarmError ? `${e.code}: ${e.message.replace(`${name}: `, '')}` : (e as Error).message;
    return { name, kind: 'foreign', bytes, reason };
  }
}
