import { SHM_DIR } from '../../core/segment.js';
import { parseDtype, type DtypeName } from '../../core/dtypes.js';

/*
 * Ready-to-paste code that maps one object from Julia or Python (`shmswarm info --julia/--python`).
 * Offsets follow docs/FORMAT.md: the matrix starts after the WA-1 header, at
 * roundup(16 + 8 * ndims, 64) (64 for a segment's 2 or 3 dims, 128 for a WA-1 object of 7-14);
 * the shmswarm block starts at the first 64-byte boundary after the last slot. Inside the block:
 * the sequence counter (u64, even = stable, odd = a frame is being written) at 128, the flags
 * (u32, bit 0 TORN: the writer died while writing the latest frame) at 220, stats_seq (u64) at 224.
 */

/** Offsets inside the shmswarm block (docs/FORMAT.md §3, lines 2 and 3). */
export const SEQ_IN_BLOCK = 128;
export const FLAGS_IN_BLOCK = 220;
export const STATS_SEQ_IN_BLOCK = 224;

export interface SnippetTarget {
  name: string;
  kind: 'shmswarm' | 'wa1' | 'raw';
  rows: number;
  cols: number;
  dtype: DtypeName;
  fields: readonly string[];
  /** Raw objects: byte offset of the matrix (--offset; 0 when absent). */
  dataOffset?: number;
  /** Frame buffers of a format 2 segment (frame n in slot n % slots); 1 when absent. */
  slots?: number;
  /** Plain WA-1 objects: the header's dims, Julia order (first varies fastest). Else [cols, rows(, slots)]. */
  dims?: readonly number[];
  /** Raw objects: the object holding the writer's pthread mutex (--mutex), and its offset. */
  mutex?: string | null;
  mutexOffset?: number;
}

const roundup = (x: number, a: number) => Math.ceil(x / a) * a;

/** Byte offset of the first element after a WA-1 header of `ndims` dims (InterProcessCommunication.jl). */
export function wa1DataOffset(ndims: number): number {
  return roundup(16 + 8 * ndims, 64);
}

/** The WA-1 dims (Julia order) that WrappedArray sees. */
export function dimsOf(t: SnippetTarget): readonly number[] {
  if (t.dims) return t.dims;
  const k = t.slots ?? 1;
  return k > 1 ? [t.cols, t.rows, k] : [t.cols, t.rows];
}

/** Byte offset of the matrix (of slot 0). */
export function dataOffsetOf(t: SnippetTarget): number {
  return t.kind === 'raw' ? (t.dataOffset ?? 0) : wa1DataOffset(dimsOf(t).length);
}

/** Byte offset of the shmswarm block, or null when the object has none (WA-1, raw). */
export function blockOffset(t: SnippetTarget): number | null {
  if (t.kind !== 'shmswarm') return null;
  const dataBytes = t.rows * t.cols * parseDtype(t.dtype).bytes * (t.slots ?? 1);
  return roundup(dataOffsetOf(t) + dataBytes, 64);
}

/** Byte offset of the sequence counter, or null when the object has none (WA-1, raw). */
export function sequenceOffset(t: SnippetTarget): number | null {
  const b = blockOffset(t);
  return b === null ? null : b + SEQ_IN_BLOCK;
}

/** A Julia string literal: JSON's escapes plus "$", which Julia would interpolate. */
function jl(s: string): string {
  return JSON.stringify(s).replace(/\$/g, '\\$');
}

const JULIA_KEYWORDS = new Set(
  'baremodule begin break catch const continue do else elseif end export false finally for function global if import let local macro module quote return struct true try using while'.split(' '),
);

/** A field name as a Julia Symbol: `:x` where that parses, else `Symbol("1x")` (names like "a b" and "a:b" stay apart). */
function juliaSymbol(f: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(f) && !JULIA_KEYWORDS.has(f) ? ':' + f : `Symbol(${jl(f)})`;
}

function describe(t: SnippetTarget): string {
  const what = t.kind === 'shmswarm' ? 'shmswarm segment' : t.kind === 'wa1' ? 'WA-1 object' : 'raw object';
  return `${what} ${t.name}: ${t.rows} agents × ${t.cols} fields (${t.fields.join(', ')}), ${t.dtype}`;
}

function noCounter(t: SnippetTarget, lang: 'julia' | 'python'): string[] {
  if (t.kind === 'raw' && t.mutex) {
    return lang === 'python'
      ? [
          `# The writer locks a pthread mutex at byte ${t.mutexOffset ?? 0} of ${t.mutex} around each frame; Python cannot take it,`,
          `# so this copy is not synchronised. Whole frames: shmswarm dump ${t.name} --raw ... --mutex ${t.mutex},`,
          `# or ShmswarmReader.open_raw in shmswarm's examples/julia/shmswarm_reader.jl.`,
        ]
      : [];
  }
  return [`# no sequence counter in this object: a copy is not synchronised with the writer`];
}

const numpyTypes: Record<DtypeName, string> = {
  i8: 'np.int8', u8: 'np.uint8', i16: 'np.int16', u16: 'np.uint16', i32: 'np.int32', u32: 'np.uint32',
  i64: 'np.int64', u64: 'np.uint64', f32: 'np.float32', f64: 'np.float64',
};

/** Python 3 + numpy: a live read-only view and, for shmswarm segments, a seqlock read_frame(). */
export function pythonSnippet(t: SnippetTarget): string {
  const B = blockOffset(t);
  const off = dataOffsetOf(t);
  const k = t.slots ?? 1;
  const lines = [
    `# ${describe(t)}`,
    `import mmap, os, time`,
    `import numpy as np`,
    ``,
    `ROWS, COLS, DTYPE = ${t.rows}, ${t.cols}, ${numpyTypes[t.dtype]}`,
    `FIELDS = ${JSON.stringify(t.fields)}`,
    `fd = os.open(${JSON.stringify(SHM_DIR + t.name)}, os.O_RDONLY)`,
    `buf = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)`,
    `os.close(fd)`,
  ];
  if (B === null) {
    lines.push(
      `# live[agent, field] follows the writer; copies of it may mix two frames`,
      `live = np.frombuffer(buf, dtype=DTYPE, count=ROWS * COLS, offset=${off}).reshape(ROWS, COLS)`,
      ...noCounter(t, 'python'),
      `frame = live.copy()`,
      `print(frame[:5])`,
    );
    return lines.join('\n') + '\n';
  }
  const fail = `raise RuntimeError(${JSON.stringify(`${t.name}: no whole frame within the timeout: the writer kept overwriting it, or died mid-frame (a process with write access that locks the segment repairs that)`)})`;
  lines.push(
    k > 1
      ? `# ${k} slots: frame n (sequence 2n) is slots[n % ${k}]; the writer fills another slot meanwhile`
      : `# live[agent, field] follows the writer; copies of it may mix two frames`,
    k > 1
      ? `slots = np.frombuffer(buf, dtype=DTYPE, count=${k} * ROWS * COLS, offset=${off}).reshape(${k}, ROWS, COLS)`
      : `live = np.frombuffer(buf, dtype=DTYPE, count=ROWS * COLS, offset=${off}).reshape(ROWS, COLS)`,
    `B = ${B}  # the shmswarm block`,
    `seq = np.frombuffer(buf, dtype=np.uint64, count=1, offset=B + ${SEQ_IN_BLOCK})  # even: stable, odd: a frame is being written`,
    `flags = np.frombuffer(buf, dtype=np.uint32, count=1, offset=B + ${FLAGS_IN_BLOCK})  # bit 0 TORN: the writer died while writing the latest frame`,
    ...(k > 1 ? [`stats_seq = np.frombuffer(buf, dtype=np.uint64, count=1, offset=B + ${STATS_SEQ_IN_BLOCK})  # odd seq of the frame whose flags are being stored`] : []),
    ``,
    `def read_frame(timeout=1.0):`,
    `    """A whole copy of the latest published frame, its sequence number, and whether it is torn."""`,
    `    deadline = time.monotonic() + timeout`,
    `    tries = 0`,
    `    while True:`,
  );
  if (k > 1) {
    lines.push(
      `        n = int(seq[0]) >> 1  # latest whole frame, also while frame n + 1 is being written`,
      `        torn = bool(int(flags[0]) & 1)`,
      `        if int(stats_seq[0]) < 2 * n + 1 and int(seq[0]) >> 1 == n:  # the flags read are frame n's`,
      `            frame = slots[n % ${k}].copy()`,
      `            if int(seq[0]) <= 2 * (n + ${k}) - 2:  # the writer had not started overwriting slot n % ${k}`,
      `                return frame, 2 * n, torn`,
    );
  } else {
    lines.push(
      `        before = int(seq[0])`,
      `        if not before & 1:`,
      `            torn = bool(int(flags[0]) & 1)`,
      `            frame = live.copy()`,
      `            if int(seq[0]) == before:`,
      `                return frame, before, torn`,
    );
  }
  lines.push(
    `        tries += 1`,
    `        if time.monotonic() >= deadline:`,
    `            ${fail}`,
    `        if tries > 3:`,
    `            time.sleep(0.0002)  # let the writer finish`,
    ``,
    `frame, sequence, torn = read_frame()`,
    `print(frame[:5])`,
  );
  return lines.join('\n') + '\n';
}

/**
 * Julia: InterProcessCommunication.jl's WrappedArray reads the WA-1 header itself; a raw object
 * is mapped with Mmap at its offset. Julia is column-major, so the matrix is A[field, agent].
 * `readerPath` is shmswarm's examples/julia/shmswarm_reader.jl, for raw objects with a mutex.
 */
export function juliaSnippet(t: SnippetTarget, readerPath = 'shmswarm_reader.jl'): string {
  const B = blockOffset(t);
  const path = SHM_DIR + t.name;
  const dt = parseDtype(t.dtype);
  const T = dt.julia;
  const off = dataOffsetOf(t);
  const dims = dimsOf(t);
  const N = dims.length;
  const k = t.slots ?? 1;
  const fields = `(${t.fields.map(juliaSymbol).join(', ')}${t.fields.length === 1 ? ',' : ''})`;
  const dimsText = `(${dims.join(', ')}${N === 1 ? ',' : ''})`;
  const arrayType = N === 1 ? `Vector{${T}}` : N === 2 ? `Matrix{${T}}` : `Array{${T},${N}}`;
  const lines = [`# ${describe(t)}`];

  if (t.kind === 'raw') {
    const n = t.rows * t.cols * dt.bytes;
    if (off % dt.bytes === 0) {
      lines.push(
        `# column-major: A[field, agent] is a ${t.cols}×${t.rows} Matrix{${T}}`,
        `using Mmap`,
        `const A = Mmap.mmap(open(${jl(path)}), Matrix{${T}}, (${t.cols}, ${t.rows}), ${off})  # live, read-only`,
      );
    } else {
      lines.push(
        `# offset ${off} is not a multiple of ${dt.bytes} bytes: Julia cannot wrap it as a Matrix{${T}} ("not properly aligned"),`,
        `# so A is a reinterpreted view of the bytes: A[field, agent], ${t.cols}×${t.rows}, element type ${T}`,
        `using Mmap`,
        `const BYTES = Mmap.mmap(open(${jl(path)}), Vector{UInt8}, (${off + n},), 0)`,
        `const A = reshape(reinterpret(${T}, view(BYTES, ${off + 1}:${off + n})), ${t.cols}, ${t.rows})  # live, read-only`,
      );
    }
    lines.push(`const FIELDS = ${fields}`);
    if (t.mutex) {
      lines.push(
        `# The writer locks a process-shared pthread mutex at byte ${t.mutexOffset ?? 0} of ${t.mutex} around each frame.`,
        `# Copy under it with shmswarm's reader (never InterProcessCommunication's Mutex(...): it re-initialises the mutex):`,
        `include(${jl(readerPath)})`,
        `const RAW = ShmswarmReader.open_raw(${jl(t.name)}, ${T}, (${t.cols}, ${t.rows}); offset = ${off}, mutex = ${jl(t.mutex)}, mutex_offset = ${t.mutexOffset ?? 0})`,
        `frame = ShmswarmReader.read_frame(RAW).data  # a ${t.cols}×${t.rows} Matrix{${T}}, copied under the writer's lock`,
      );
    } else {
      lines.push(...noCounter(t, 'julia'), `frame = copy(A)`);
    }
    return lines.join('\n') + '\n';
  }

  const what =
    t.kind === 'shmswarm' && k > 1
      ? `column-major, ${k} slots: A[field, agent, n % ${k} + 1] is frame n`
      : N === 2
        ? 'column-major: A[field, agent]'
        : `column-major, ${N} dims as the header says: reshape(A, (${t.cols}, ${t.rows})) is A[field, agent]`;
  lines.push(
    `# ${what}. A is a ${dims.join('×')} WrappedArray{${T},${N}} (a DenseArray; parent(A) is the ${arrayType});`,
    `# the Mmap line gives the ${arrayType} itself. InterProcessCommunication ≥ 0.1.6 on Julia ≥ 1.12.`,
    `using InterProcessCommunication, Mmap`,
    `const A = WrappedArray(${jl(t.name)}; readonly=true)  # live, read-only (opening never unlinks: only a volatile creator does)`,
    `# without InterProcessCommunication: const A = Mmap.mmap(open(${jl(path)}), ${arrayType}, ${dimsText}, ${off})`,
    `const FIELDS = ${fields}`,
  );
  if (B === null) {
    lines.push(...noCounter(t, 'julia'), `frame = copy(A)  # an ${arrayType}`);
    return lines.join('\n') + '\n';
  }
  lines.push(
    `# the shmswarm block: seq (u64; even: stable, odd: a frame is being written) at 128,`,
    `# flags (u32; bit 0 TORN: the writer died while writing the latest frame) at 220, stats_seq (u64) at 224`,
    `const BLOCK = Mmap.mmap(open(${jl(path)}), Vector{UInt8}, (256,), ${B})`,
    `load_u64(at) = unsafe_load(Ptr{UInt64}(pointer(BLOCK) + at), :acquire)  # Julia ≥ 1.10`,
    `is_torn() = unsafe_load(Ptr{UInt32}(pointer(BLOCK) + ${FLAGS_IN_BLOCK}), :acquire) & 0x1 != 0`,
    ``,
    `"A whole copy of the latest published frame, its sequence number, and whether it is torn."`,
    `function read_frame(; timeout = 1.0)`,
    `    deadline = time() + timeout`,
    `    tries = 0`,
    `    while true`,
  );
  if (k > 1) {
    lines.push(
      `        n = load_u64(${SEQ_IN_BLOCK}) >> 1  # latest whole frame, also while frame n + 1 is being written`,
      `        torn = is_torn()`,
      `        if load_u64(${STATS_SEQ_IN_BLOCK}) < 2 * n + 1 && load_u64(${SEQ_IN_BLOCK}) >> 1 == n  # the flags read are frame n's`,
      `            frame = A[:, :, n % ${k} + 1]`,
      `            Threads.atomic_fence()`,
      `            load_u64(${SEQ_IN_BLOCK}) <= 2 * (n + ${k}) - 2 && return frame, Int(2 * n), torn  # slot not overwritten meanwhile`,
      `        end`,
    );
  } else {
    lines.push(
      `        before = load_u64(${SEQ_IN_BLOCK})`,
      `        if iseven(before)`,
      `            torn = is_torn()`,
      `            frame = copy(A)`,
      `            Threads.atomic_fence()`,
      `            load_u64(${SEQ_IN_BLOCK}) == before && return frame, Int(before), torn`,
      `        end`,
    );
  }
  lines.push(
    `        tries += 1`,
    `        time() < deadline || error(${jl(`${t.name}: no whole frame within the timeout: the writer kept overwriting it, or died mid-frame (a process with write access that locks the segment repairs that)`)})`,
    `        tries > 3 && sleep(0.001)  # let the writer finish`,
    `    end`,
    `end`,
    ``,
    `frame, sequence, torn = read_frame()`,
  );
  return lines.join('\n') + '\n';
}
