import { FrameFlag, WAIT_ON_THREAD, native, type NativeSegmentHandle } from './binding.js';
import { type Dtype, type DtypeArray, type DtypeName, type TypedArray, dtypeByCode, parseDtype } from './dtypes.js';
import { ShmswarmError, allocateFrameMemory, describeValue, isShmswarmError } from './errors.js';
import { checkSegmentName, defaultFields } from './names.js';
import { nameStatusOf, shmNames, summarize, type NameStatus, type SegmentSummary } from './shm-listing.js';
// The /dev/shm listing lives in shm-listing.ts; these names stay importable from here.
export { SHM_DIR, summaryFields, type NameStatus, type SegmentSummary } from './shm-listing.js';
import { askLowLatencySlice, NEXT_FRAME_POLL_MS, stayingDestination, waitInChunks } from './wait-chunks.js';
import { checkFields, checkInteger, checkSequence, checkTimeout, elementType, firstNotOfType, isBigIntArray, optionalBoolean, optionsObject, readMode, timeoutOption } from './options.js';

/** Largest matrix a segment may hold, all slots together (include/shmswarm.h SHMSWARM_MAX_DATA). */
const MAX_DATA_BYTES = 2 ** 40;
/** Most frame buffers a segment may have (SHMSWARM_SLOTS_MAX). */
export const MAX_SLOTS = 16;
const DEFAULT_TIMEOUT_MS = 1000;
/** Asked once per thread (each worker_threads Worker loads its own copy of this module). */
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

/** An aligned, zeroed array for frames: see allocAligned in native/addon.cc. */
export function allocFrame(dtype: Dtype, elements: number): TypedArray {
  const bytes = elements * dtype.bytes;
  return allocateFrameMemory(bytes, () => new dtype.array(native().allocAligned(bytes), 0, elements));
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
  /** The bound readFrame's arguments and results (see NativeSegmentHandle.bound). */
  #io = new Float64Array(new ArrayBuffer(64));
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
    this.#bound = handle.bound(this.#io);
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
        const why = e.message.replace(`${name}: `, '');
        throw new ShmswarmError(`${name} is not a shmswarm segment (${why}); unlink it with { force: true } to remove it anyway`, 'ENOTSHMSWARM', {
          segment: name,
          detail: why,
        });
      }
      // Readable is not ours: a WA-1 array is another program's (a Julia WrappedArray).
      if (kind !== 'shmswarm')
        throw new ShmswarmError(
          `${name} is a WA-1 array (another program's, e.g. a Julia WrappedArray), not a shmswarm segment; unlink it with { force: true } to remove it anyway`,
          'ENOTSHMSWARM',
          { segment: name, reason: 'wa1' },
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
          `${name} exists but is not initialised (a creation still running or killed, or another program's object); not replacing it — if it is yours to remove: Segment.unlink(name, { force: true })`,
          'EEXIST',
          { segment: name, reason: 'uninitialised' },
        );
      throw new ShmswarmError(`${name} exists and is not a shmswarm segment; not replacing it`, 'EEXIST', { segment: name, reason: 'not-shmswarm' });
    }
    try {
      const info = seg.info();
      if (info.kind !== 'shmswarm')
        throw new ShmswarmError(`${name} exists and is not a shmswarm segment; not replacing it`, 'EEXIST', { segment: name, reason: 'not-shmswarm' });
      if (info.writerAlive)
        throw new ShmswarmError(`${name} has a live writer (pid ${info.writerPid}); not replacing it`, 'EBUSY', { segment: name, reason: 'live-writer' });
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
    const io = this.#io;
    io[6] = mode;
    io[7] = since;
    this.#bound.readFrame(data);
    if (io[4] & FrameFlag.UNCHANGED) return null;
    return Segment.#frame(data, io);
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
    const info = await waitInChunks(timeout, read, () => this.#stoppedWaiting('the lock'));
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
    if (lowLatency) askLowLatencySlice();
    // Already newer: no round trip through a wait (tens of µs to a few ms on a busy machine).
    // When the next frame is being written it is one copy away: a short bounded poll beats the
    // round trip (bench/: a reader of a back-to-back 240 KB writer). What counts as newer is
    // the C core's rule, applied there.
    if (this.kind === 'shmswarm') {
      const newer = h.newerSequence(afterSequence, NEXT_FRAME_POLL_MS);
      if (newer >= 0) return Promise.resolve(newer);
    }
    return this.#waitInChunks(h, afterSequence, timeoutMs);
  }

  #waitInChunks(h: NativeSegmentHandle, afterSequence: number, timeoutMs: number): Promise<number> {
    return waitInChunks(timeoutMs, (ms) => h.waitAsync(afterSequence, ms, WAIT_ON_THREAD), () => this.#stoppedWaiting('a frame'));
  }

  /** Why a chunked wait must not go on: close() between two chunks cancels it, as it cancels a pending one. */
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
      recovered = (await waitInChunks(left, probe, () => this.#stoppedWaiting('the lock'))) || recovered;
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
    return shmNames();
  }

  /** Every shared-memory object with what shmswarm can tell about it. */
  static list(): SegmentSummary[] {
    // A missing addon must fail the listing, not turn every segment into a foreign object.
    native();
    return shmNames().map((name) => summarize(name, (n) => Segment.open(n, { readonly: true, initWaitMs: 0 })));
  }
}
