import { ReadMode, native, type NativeRawMapping } from './binding.js';
import { type Dtype, type DtypeName, type TypedArray, parseDtype } from './dtypes.js';
import { ShmswarmError, describeValue, isShmswarmError } from './errors.js';
import { checkSegmentName, defaultFields, parseFields } from './names.js';
import {
  frameTarget,
  type Frame, type FreshReadOptions, type NameStatus, type ReadOptions, type SegmentInfo,
} from './segment.js';
import { nameStatusOf } from './shm-listing.js';
import { stayingDestination, waitInChunks } from './wait-chunks.js';
import { checkSequence, optionsObject, readMode, timeoutOption } from './options.js';

/** Raw mode: a bare matrix in an object with no header (the seed's ofxSharedMemory layout). */
export interface RawOptions {
  /** Rows and columns: [rows, cols] or "300x3". */
  shape: readonly [number, number] | string;
  dtype?: DtypeName;
  /** Byte offset of the matrix in the object (default 0). */
  offset?: number;
  /** Name of a separate object holding a process-shared pthread mutex to lock around each copy. */
  mutex?: string;
  /** Byte offset of the mutex inside that object (default 0). */
  mutexOffset?: number;
  /** Lock timeout in ms (default 1000); a read's own `timeoutMs` applies to that read only. */
  timeoutMs?: number;
  /** Column names, "x,y,z" or an array (default c0, c1, …): a raw object stores none. */
  fields?: string | readonly string[];
}

const DEFAULT_TIMEOUT_MS = 1000;
function checkOffset(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`${what} must be an integer number of bytes >= 0, got ${describeValue(value)}`);
  return value;
}

/** "300x3", "300×3", [300, 3] → [rows, cols]; TypeError saying what is expected otherwise. */
export function parseShape(shape: unknown): [number, number] {
  let parts: unknown[];
  if (typeof shape === 'string') {
    const m = /^\s*(\d+)\s*[x×,]\s*(\d+)\s*$/i.exec(shape);
    if (!m) throw new TypeError(`shape "${shape}" must look like <rows>x<cols>, e.g. 300x3`);
    parts = [Number(m[1]), Number(m[2])];
  } else if (Array.isArray(shape) && shape.length === 2) {
    parts = shape;
  } else {
    throw new TypeError('shape must be "<rows>x<cols>" or [rows, cols]');
  }
  const [rows, cols] = parts;
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || (rows as number) < 1 || (cols as number) < 1)
    throw new TypeError(`shape must have rows and cols >= 1, got [${parts.map(describeValue).join(', ')}]`);
  return [rows as number, cols as number];
}

/** Map one of the objects a raw segment reads; a missing one is named for what it is. */
function openObject(name: string, writable: boolean, what: 'raw object' | 'mutex object'): NativeRawMapping {
  try {
    return native().RawMapping.open(name, writable);
  } catch (e) {
    if (isShmswarmError(e, 'ENOENT')) throw new ShmswarmError(`${what} ${name} does not exist`, 'ENOENT', { segment: name, syscall: 'shm_open', reason: what === 'raw object' ? 'matrix' : 'mutex' });
    throw e;
  }
}

/**
 * A bare rows × cols matrix in a shared-memory object that has no header, read as frames: the
 * seed's `/position_data`, optionally synchronised by a plain process-shared pthread mutex that
 * its writer keeps in another object (`/mutex_lock`). Read-only. The mutex is only ever locked
 * and unlocked, never initialised or destroyed: it belongs to the writer.
 *
 * Raw objects carry no sequence counter. `Frame.sequence` is therefore local to this handle: it
 * counts the distinct frame contents this handle has copied, so `since` still skips unchanged
 * frames (after copying them, since only the copy can tell). `frames` is always 0.
 */
export class RawSegment {
  readonly name: string;
  readonly kind = 'raw' as const;
  readonly rows: number;
  readonly cols: number;
  readonly dtype: DtypeName;
  readonly fields: readonly string[];
  /** Byte offset of the matrix in the object. */
  readonly offset: number;
  /** The object holding the writer's mutex, or null: reads are then unsynchronised. */
  readonly mutex: string | null;
  readonly mutexOffset: number;

  #data: NativeRawMapping | null;
  #lock: NativeRawMapping | null;
  #dt: Dtype;
  #elements: number;
  #bytes: number;
  #fieldsNamed: boolean;
  #timeoutMs: number;
  #ino = 0;
  #last: Uint8Array | null = null;
  #changes = 0;

  private constructor(name: string, o: RawOptions) {
    checkSegmentName(name);
    const [rows, cols] = parseShape(o.shape);
    const dt = parseDtype(o.dtype ?? 'f32');
    const offset = checkOffset(o.offset ?? 0, 'offset');
    const mutexOffset = checkOffset(o.mutexOffset ?? 0, 'mutexOffset');
    if (o.mutex !== undefined) checkSegmentName(o.mutex);
    const fields = o.fields === undefined ? null : parseFields(o.fields);
    if (fields && fields.length !== cols) throw new RangeError(`${fields.length} field names given for ${cols} columns`);
    this.#timeoutMs = timeoutOption(o.timeoutMs, DEFAULT_TIMEOUT_MS);
    const bytes = rows * cols * dt.bytes;
    if (!Number.isSafeInteger(bytes)) throw new RangeError(`shape ${rows}x${cols} is too large`);

    this.name = name;
    this.rows = rows;
    this.cols = cols;
    this.dtype = dt.name;
    this.#dt = dt;
    this.#elements = rows * cols;
    this.#bytes = bytes;
    this.offset = offset;
    this.mutex = o.mutex ?? null;
    this.mutexOffset = mutexOffset;
    this.#fieldsNamed = fields !== null;
    this.fields = Object.freeze(fields ?? defaultFields(cols));

    // The data object is never written: map it read-only.
    this.#data = openObject(name, false, 'raw object');
    this.#lock = null;
    try {
      const size = this.#data.size();
      if (offset + bytes > size)
        throw new ShmswarmError(
          `${name}: object of ${size} bytes cannot hold ${rows}x${cols} ${dt.name} (${bytes} bytes) at offset ${offset}`,
          'ETRUNCATED',
          { segment: name, syscall: 'shape' },
        );
      this.#ino = this.#data.stat().ino;
      if (this.mutex !== null) {
        // Locking stores into the mutex, so its object must be mapped writable.
        this.#lock = openObject(this.mutex, true, 'mutex object');
        const msize = this.#lock.size();
        const need = native().mutexSize;
        if (mutexOffset % 8 !== 0 || mutexOffset + need > msize)
          throw new ShmswarmError(
            `${this.mutex}: object of ${msize} bytes has no 8-byte aligned ${need}-byte pthread mutex at offset ${mutexOffset}`,
            'ETRUNCATED',
            { segment: this.mutex, syscall: 'mutex' },
          );
        // One object may hold both (a mutex, then the matrix after it), but a mutex inside the
        // matrix would have the lock's stores read back as data.
        if (this.#lock.stat().ino === this.#ino && mutexOffset < offset + bytes && offset < mutexOffset + need)
          throw new ShmswarmError(
            `${this.mutex}: the mutex at offset ${mutexOffset} (${need} bytes) lies inside the matrix it guards (bytes ${offset}-${offset + bytes - 1} of the same object); name the writer's mutex, or the offset where it is`,
            'EINVAL',
            { segment: this.mutex, syscall: 'mutex' },
          );
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Map `name` as a bare matrix; the shape must fit in the object as it is now. */
  static open(name: string, options: RawOptions): RawSegment {
    if (!options || typeof options !== 'object') throw new TypeError('raw mode needs options with a shape');
    return new RawSegment(name, options);
  }

  get closed(): boolean {
    return this.#data === null;
  }

  /** Elements in one frame: rows × cols. */
  get length(): number {
    return this.#elements;
  }

  #live(): NativeRawMapping {
    if (!this.#data) throw new ShmswarmError(`${this.name}: this raw handle was closed; open it again`, 'ECLOSED', { segment: this.name });
    return this.#data;
  }

  /** What can be known about a raw object: shape as given, size and owner from fstat, no live state. */
  info(): SegmentInfo {
    const st = this.#live().stat();
    return {
      name: this.name,
      kind: 'raw',
      rows: this.rows,
      cols: this.cols,
      dtype: this.dtype,
      fields: [...this.fields],
      fieldsNamed: this.#fieldsNamed,
      elementBytes: this.#dt.bytes,
      dataBytes: this.#bytes,
      bytes: st.size,
      mode: st.mode,
      uid: st.uid,
      ino: st.ino,
      createdTime: null,
      creatorPid: null,
      sequence: 0,
      frames: 0,
      lastWriteTime: null,
      writerPid: null,
      writerAlive: false,
      torn: false,
      waiters: 0,
      formatVersion: null,
      slots: 1,
      raw: { offset: this.offset, mutex: this.mutex, mutexOffset: this.mutexOffset, synced: this.mutex !== null },
    };
  }

  #useLock(o: Partial<ReadOptions>): boolean {
    const mode = readMode(o);
    if (mode === ReadMode.LOCK && this.mutex === null)
      throw new TypeError(`raw segment ${this.name} has no mutex to lock; name the writer's mutex object (mutex option)`);
    return this.mutex !== null && mode !== ReadMode.NOLOCK;
  }

  #timeoutError(ms: number): ShmswarmError {
    let robust: boolean | null = null;
    try {
      robust = this.#lock!.mutexRobust(this.mutexOffset);
    } catch {
      // Closed or faulting meanwhile: the message just cannot say which kind of mutex it is.
    }
    // A robust mutex whose holder died is taken over at once, so a timeout means a live holder.
    const why =
      robust === true
        ? 'by a live holder: it is robust, so a holder that died would have been taken over'
        : robust === false
          ? '(it is not robust: if its holder died, only restarting the writer frees it)'
          : '(if its holder died and the mutex is not robust, only restarting the writer frees it)';
    return new ShmswarmError(
      `${this.mutex}: mutex still held after ${ms} ms ${why}`,
      'ETIMEDOUT',
      { segment: this.mutex ?? this.name, syscall: 'pthread_mutex_lock', reason: 'lock' },
    );
  }

  /** The lock's failure in the words of a foreign mutex: what it means and who can help. */
  #lockError(e: unknown, ms: number): unknown {
    if (isShmswarmError(e, 'ETIMEDOUT') || isShmswarmError(e, 'EBUSY')) return this.#timeoutError(ms);
    if (isShmswarmError(e, 'ENOTRECOVERABLE'))
      return new ShmswarmError(
        `${this.mutex}: mutex is not recoverable (a process took it from a dead holder and released it without making it consistent); only restarting the writer, which initialises it, frees it`,
        'ENOTRECOVERABLE',
        { segment: this.mutex ?? this.name, syscall: 'pthread_mutex_lock', reason: 'foreign-mutex' },
      );
    return e;
  }

  #lockSync(ms: number): boolean {
    try {
      return this.#lock!.lockMutex(this.mutexOffset, ms);
    } catch (e) {
      throw this.#lockError(e, ms);
    }
  }

  /** Copy under the lock when there is one; the lock is released even when the copy faults. */
  #copy(data: TypedArray, locked: boolean): void {
    const h = this.#live();
    if (!locked) return h.read(data, this.offset);
    try {
      h.read(data, this.offset);
    } finally {
      this.#lock!.unlockMutex(this.mutexOffset);
    }
  }

  #finish<T extends TypedArray>(data: T, locked: boolean, recovered: boolean, since: number | undefined): Frame<T> | null {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, this.#bytes);
    if (!this.#last || Buffer.compare(bytes, this.#last) !== 0) {
      this.#changes++;
      if (!this.#last) this.#last = new Uint8Array(this.#bytes);
      this.#last.set(bytes);
    }
    if (since !== undefined && since === this.#changes) return null;
    return {
      data,
      sequence: this.#changes,
      frames: 0,
      lastWriteTime: null,
      writerPid: null,
      torn: false,
      locked,
      recovered,
      unsynced: !locked,
      retries: 0,
    };
  }

  /**
   * A copy of the matrix: under the writer's mutex when one was named (blocking this thread up
   * to the timeout; ETIMEDOUT after it), else unsynchronised and flagged `unsynced`.
   */
  readFrame<T extends TypedArray = TypedArray>(options?: FreshReadOptions<T> | null): Frame<T>;
  readFrame<T extends TypedArray = TypedArray>(options: ReadOptions<T>): Frame<T> | null;
  readFrame<T extends TypedArray = TypedArray>(options?: ReadOptions<T> | null): Frame<T> | null {
    this.#live();
    const o = optionsObject(options);
    const locked = this.#useLock(o);
    const data = frameTarget(this.#dt, this.#elements, o.into);
    const since = o.since === undefined ? undefined : checkSequence(o.since, 'since');
    const recovered = locked ? this.#lockSync(timeoutOption(o.timeoutMs, this.#timeoutMs)) : false;
    this.#copy(data, locked);
    return this.#finish(data, locked, recovered, since);
  }

  /** readFrame with the lock wait, the copy and the unlock on a worker thread: the event loop stays free. */
  readFrameAsync<T extends TypedArray = TypedArray>(options?: FreshReadOptions<T> | null): Promise<Frame<T>>;
  readFrameAsync<T extends TypedArray = TypedArray>(options: ReadOptions<T>): Promise<Frame<T> | null>;
  async readFrameAsync<T extends TypedArray = TypedArray>(options?: ReadOptions<T> | null): Promise<Frame<T> | null> {
    const h = this.#live();
    const o = optionsObject(options);
    const locked = this.#useLock(o);
    const data = frameTarget(this.#dt, this.#elements, o.into);
    const since = o.since === undefined ? undefined : checkSequence(o.since, 'since');
    if (!locked) {
      h.read(data, this.offset);
      return this.#finish(data, false, false, since);
    }
    const timeout = timeoutOption(o.timeoutMs, this.#timeoutMs);
    // As in Segment.readFrameAsync: only the caller's `into` needs the staging copy, and the
    // wait goes in chunks so that terminating a worker thread does not wait it out.
    const isPrivate = o.into === undefined;
    const lock = this.#lock!;
    const stopped = () => (this.closed ? new ShmswarmError(`raw segment ${this.name} was closed during the read`, 'ECANCELED', { segment: this.name }) : null);
    let recovered: boolean;
    try {
      const read = stayingDestination(data, (ms) => lock.lockedReadAsync(this.mutexOffset, h, this.offset, data, ms, isPrivate));
      recovered = await waitInChunks(timeout, read, stopped);
    } catch (e) {
      throw this.#lockError(e, timeout);
    }
    if (this.closed) throw new ShmswarmError(`raw segment ${this.name} was closed during the read`, 'ECANCELED', { segment: this.name });
    return this.#finish(data, true, recovered, since);
  }

  /** Whether the name still points at the object mapped here (the seed's writer re-creates it on restart). */
  nameStatus(): NameStatus {
    this.#live();
    return nameStatusOf(this.name, this.#ino);
  }

  /** Unmap both objects. Idempotent; never unlinks, never touches the mutex. */
  close(): void {
    const d = this.#data;
    const l = this.#lock;
    this.#data = null;
    this.#lock = null;
    this.#last = null;
    d?.close();
    l?.close();
  }
}
