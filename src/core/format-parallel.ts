import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { parseDtype, type DtypeName, type TypedArray } from './dtypes.js';
import { allocateFrameMemory } from './errors.js';
import { csvChunks, finish, jsonChunks, ndjsonChunks, planChunks, textPlan, warmUp, type FrameTable, type TextFormat, type TextPlan } from './format.js';

/*
 * CSV, JSON and NDJSON of a big frame on several threads. The frame sits once in a
 * SharedArrayBuffer; its agents are cut into blocks that the main thread and the workers claim in
 * order from a shared counter. Workers send their blocks back (the buffers are transferred, not
 * copied) and the caller gets every buffer in agent order, so the bytes are exactly the serial
 * ones. The main thread claims at most WINDOW blocks past the one the caller needs next, a worker
 * at most twice that: memory stays bounded when the output is slower than the formatting, and a
 * worker is never held up by blocks the main thread has claimed but not finished.
 *
 * A worker costs tens of ms before its first block (isolate, modules, compiling the row loop):
 * textFormatter() starts the workers before the frame is read, so that cost overlaps the read.
 */

/**
 * Below this many values the serial path is used. Measured with `dump --csv` of random float32
 * frames on 2 cores (a shared VM): 1M values serial 259 ms, split 312; 3M 401 / 436; 6M (the
 * 24 MB bench frame) 568 / 559; 12M 870 / 736 (best of 5-7, wall time of the whole command).
 * A worker needs 50-100 ms (start-up, modules, compiling the row loop) before its first block.
 */
export const PARALLEL_MIN_VALUES = 6_000_000;
// Relative to dist/core/ and to the CLI bundle in dist/cli/ alike (scripts/bundle-cli.mjs).
const WORKER_PATH = '../core/format-worker.js';
/** Values per block: about 1 MiB of CSV of random float32s. */
const BLOCK_VALUES = 1 << 17;
const WINDOW = 8;
/** The longest a worker spends compiling its row loop before the frame arrives. */
export const WARM_MS = 300;
/** About how long reading a frame big enough to be split takes (24 MB: 20 ms): the main thread warms up meanwhile. */
const READ_MS = 20;

// Int32 slots of the control block shared with the workers.
export const CLAIMED = 0; // blocks handed out so far (main thread and workers)
export const TAKEN = 1; // blocks the caller has taken, in order
export const POSTED = 2; // blocks the workers have posted
export const STOP = 3; // 1: the caller is gone, workers stop
const CONTROL_SLOTS = 4;

/** What a worker gets once the frame is read. */
export interface BlockJob {
  table: FrameTable;
  format: TextFormat;
  blockRows: number;
  blocks: number;
  window: number;
  control: Int32Array;
}

export interface BlockMessage {
  block: number;
  chunks: Uint8Array[];
}

/** The rows of block `i`. */
export function blockRange(p: TextPlan, blockRows: number, i: number): [number, number] {
  const r0 = p.rowStart + i * blockRows;
  return [r0, Math.min(r0 + blockRows, p.rowEnd)];
}

/** How many threads (the main one included) to format `values` values with: 1 means serially. */
export function formatThreads(values: number): number {
  if (values < PARALLEL_MIN_VALUES) return 1;
  return Math.max(1, Math.min(availableParallelism(), 4, Math.ceil(values / BLOCK_VALUES)));
}

function serialChunks(t: FrameTable, format: TextFormat): Iterable<Uint8Array> {
  return format === 'csv' ? csvChunks(t) : format === 'json' ? jsonChunks(t) : ndjsonChunks(t);
}

/** A copy of `t` whose data lives in a SharedArrayBuffer (the same `t` if it already does). */
function sharedTable(t: FrameTable): FrameTable {
  const d = t.data as unknown as ArrayBufferView;
  if (!ArrayBuffer.isView(d)) throw new TypeError('parallel formatting needs the frame as a typed array');
  if (d.buffer instanceof SharedArrayBuffer) return t;
  const Ctor = d.constructor as { new (b: SharedArrayBuffer): ArrayBufferView & { set(a: ArrayBufferView): void } };
  const copy = allocateFrameMemory(d.byteLength, () => new Ctor(new SharedArrayBuffer(d.byteLength)));
  copy.set(d);
  return { ...t, data: copy as unknown as FrameTable['data'] };
}

interface Helper {
  worker: Worker;
  port: MessagePort;
}

/**
 * Formats one frame as CSV, JSON or NDJSON, on several threads when it is big. Make it before
 * reading the frame (its workers start meanwhile), read into `into` when given (shared memory:
 * no copy later), then call chunks() once. close() is idempotent and ends the workers.
 */
export class TextFormatter {
  /** A frame-sized array in shared memory to read the frame into, when the frame will be split. */
  readonly into: TypedArray | undefined;
  readonly threads: number;
  readonly blockValues: number;
  #helpers: Helper[] = [];
  #failure: Error | null = null;
  #failed: () => void = () => {};
  #failedOnce = new Promise<void>((resolve) => (this.#failed = resolve));
  #closed = false;

  readonly #warm: boolean;

  /**
   * `shared`: the frame to make `into` for; `blockValues`: for tests of the block boundaries.
   */
  constructor(readonly format: TextFormat, threads: number, options: { shared?: { dtype: DtypeName; elements: number }; blockValues?: number } = {}) {
    this.threads = threads;
    this.blockValues = options.blockValues ?? BLOCK_VALUES;
    // Measured: compiling during the read gains nothing measurable on the serial path (3M values).
    this.#warm = threads > 1;
    const shared = options.shared;
    if (threads > 1 && shared) {
      const d = parseDtype(shared.dtype);
      this.into = allocateFrameMemory(shared.elements * d.bytes, () => new d.array(new SharedArrayBuffer(shared.elements * d.bytes) as unknown as ArrayBuffer));
    }
    for (let k = 0; k < threads - 1; k++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL(WORKER_PATH, import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
      worker.on('error', (e) => this.#fail(e));
      // A worker that ends normally has posted every block it claimed.
      worker.on('exit', (code) => {
        if (code !== 0 && !this.#closed) this.#fail(new Error(`a formatting worker exited with code ${code}`));
      });
      this.#helpers.push({ worker, port: port1 });
    }
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    this.#failed();
  }

  /** Compiles the row loop on this thread: call it while the frame is being read (it takes up to READ_MS). */
  warmUp(): void {
    if (this.#warm) warmUp(READ_MS);
  }

  /** The text of `t`, as buffers in agent order. Ending the iteration early stops the workers. */
  chunks(t: FrameTable): Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
    if (this.#helpers.length === 0) return serialChunks(t, this.format);
    return this.#parallel(t);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#helpers) {
      h.port.close();
      void h.worker.terminate();
    }
  }

  async *#parallel(t: FrameTable): AsyncGenerator<Uint8Array> {
    const table = sharedTable(t);
    const plan = textPlan(table, this.format);
    const blockRows = Math.max(1, Math.ceil(this.blockValues / Math.max(1, table.columns.length)));
    const blocks = Math.ceil((plan.rowEnd - plan.rowStart) / blockRows);
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    const job: BlockJob = { table, format: this.format, blockRows, blocks, window: 2 * WINDOW, control };
    for (const h of this.#helpers) h.port.postMessage(job);
    const ready = new Map<number, Uint8Array[]>();
    const drain = () => {
      for (const h of this.#helpers)
        for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) {
          const { block, chunks } = m.message as BlockMessage;
          ready.set(block, chunks);
        }
    };
    try {
      if (plan.head.length) yield plan.head;
      // The last buffer is held back: its final agent's boundary is cut before it goes out.
      let last: Uint8Array | null = null;
      for (let next = 0; next < blocks; ) {
        drain();
        const got = ready.get(next);
        if (got) {
          ready.delete(next);
          next++;
          Atomics.store(control, TAKEN, next);
          Atomics.notify(control, TAKEN);
          for (const c of got) {
            if (last) yield last;
            last = c;
          }
          continue;
        }
        if (Atomics.load(control, CLAIMED) < Math.min(blocks, next + WINDOW)) {
          const i = Atomics.add(control, CLAIMED, 1);
          if (i < blocks) {
            const [r0, r1] = blockRange(plan, blockRows, i);
            ready.set(i, [...planChunks(plan, r0, r1)]);
            continue;
          }
        }
        // Block `next` is a worker's and not here yet.
        const seen = Atomics.load(control, POSTED);
        drain();
        if (ready.has(next)) continue;
        if (this.#failure) throw this.#failure;
        await Promise.race([(Atomics as unknown as AtomicsWaitAsync).waitAsync(control, POSTED, seen).value, this.#failedOnce]);
        if (this.#failure) throw this.#failure;
      }
      yield* finish(last, plan);
    } finally {
      Atomics.store(control, STOP, 1);
      Atomics.notify(control, TAKEN);
      this.close();
    }
  }
}

/**
 * The formatter for `selected` values (agents × fields) of a frame of `source`. Raw objects
 * cannot be read into shared memory (their copy goes through an ArrayBuffer); their frame is
 * copied once more when it is split.
 */
export function textFormatter(format: TextFormat, source: { kind: string; dtype: DtypeName; rows: number; cols: number }, selected: number): TextFormatter {
  const shared = source.kind === 'raw' ? undefined : { dtype: source.dtype, elements: source.rows * source.cols };
  return new TextFormatter(format, formatThreads(selected), { shared });
}

interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}
