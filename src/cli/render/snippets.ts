import { SHM_DIR } from './segment.js';
import { parseDtype, type DtypeName } from './dtypes.js';

/*
 * Ready-to-paste code that maps one segment from Julia or Python. The offsets follow
 * include/shmswarm.h: the matrix starts at byte 64 (after the WA-1 header); the shmswarm block
 * starts at the first 64-byte boundary after the matrix, and its sequence counter (u64, even =
 * stable, odd = a frame is being written) sits 128 bytes into the block.
 */

/** WA-1 header bytes before the matrix (shmswarm_layout.data_offset). */
export const DATA_OFFSET = 64;
/** Offset of the sequence counter inside the shmswarm block (shmswarm__block.seq). */
export const SEQ_IN_BLOCK = 128;

export interface SnippetTarget {
  name: string;
  kind: 'shmswarm' | 'wa1' | 'raw';
  rows: number;
  cols: number;
  dtype: DtypeName;
  fields: readonly string[];
  /** Byte offset of the matrix; 64 for segments, the --offset of a raw object. */
  dataOffset?: number;
  /** Frame buffers of a format 2 segment (frame n in slot n % slots); 1 when absent. */
  slots?: number;
}

/** Byte offset of the sequence counter, or null when the object has none (WA-1, raw). */
export function sequenceOffset(t: SnippetTarget): number | null {
  if (t.kind !== 'shmswarm') return null;
  const dataBytes = t.rows * t.cols * parseDtype(t.dtype).bytes * (t.slots ?? 1);
  return Math.ceil((DATA_OFFSET + dataBytes) / 64) * 64 + SEQ_IN_BLOCK;
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

function offsetOf(t: SnippetTarget): number {
  return t.dataOffset ?? (t.kind === 'raw' ? 0 : DATA_OFFSET);
}

function describe(t: SnippetTarget): string {
  const what = t.kind === 'shmswarm' ? 'shmswarm segment' : t.kind === 'wa1' ? 'WA-1 object' : 'raw object';
  return `${what} ${t.name}: ${t.rows} agents × ${t.cols} fields (${t.fields.join(', ')}), ${t.dtype}`;
}

const numpyTypes: Record<DtypeName, string> = {
  i8: 'np.int8', u8: 'np.uint8', i16: 'np.int16', u16: 'np.uint16', i32: 'np.int32', u32: 'np.uint32',
  i64: 'np.int64', u64: 'np.uint64', f32: 'np.float32', f64: 'np.float64',
};

/** Python 3 + numpy: a live read-only view and, for shmswarm segments, a seqlock read_frame(). */
export function pythonSnippet(t: SnippetTarget): string {
  const seq = sequenceOffset(t);
  const path = SHM_DIR + t.name;
  const lines = [
    `# ${describe(t)}`,
    `import mmap, os`,
    `import numpy as np`,
    ``,
    `ROWS, COLS, DTYPE = ${t.rows}, ${t.cols}, ${numpyTypes[t.dtype]}`,
    `FIELDS = ${JSON.stringify(t.fields)}`,
    `fd = os.open(${JSON.stringify(path)}, os.O_RDONLY)`,
    `buf = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)`,
    `os.close(fd)`,
    `# live[agent, field] follows the writer; copies of it may mix two frames`,
    `live = np.frombuffer(buf, dtype=DTYPE, count=ROWS * COLS, offset=${offsetOf(t)}).reshape(ROWS, COLS)`,
  ];
  const k = t.slots ?? 1;
  if (seq === null) {
    lines.push(
      `# no sequence counter in this object: a copy is not synchronised with the writer`,
      `frame = live.copy()`,
    );
  } else if (k > 1) {
    lines.splice(
      lines.length - 2,
      2,
      `# ${k} slots: frame n (sequence 2n) is slots[n % ${k}]; the writer fills another slot meanwhile`,
      `slots = np.frombuffer(buf, dtype=DTYPE, count=${k} * ROWS * COLS, offset=${offsetOf(t)}).reshape(${k}, ROWS, COLS)`,
      `seq = np.frombuffer(buf, dtype=np.uint64, count=1, offset=${seq})  # odd: frame (seq + 1) / 2 is being written`,
      ``,
      `def read_frame(tries=1000):`,
      `    """A whole copy of the latest published frame and its sequence number."""`,
      `    for _ in range(tries):`,
      `        n = int(seq[0]) >> 1                  # latest whole frame, also while the next is written`,
      `        frame = slots[n % ${k}].copy()`,
      `        if int(seq[0]) <= 2 * (n + ${k}) - 2:  # the writer had not started overwriting slot n % ${k}`,
      `            return frame, 2 * n`,
      `    raise RuntimeError(${JSON.stringify(`the writer kept overwriting ${t.name}; try again`)})`,
      ``,
      `frame, sequence = read_frame()`,
    );
  } else {
    lines.push(
      `seq = np.frombuffer(buf, dtype=np.uint64, count=1, offset=${seq})  # even: stable, odd: being written`,
      ``,
      `def read_frame(tries=1000):`,
      `    """A consistent copy of the latest frame and its sequence number (seqlock read)."""`,
      `    for _ in range(tries):`,
      `        before = int(seq[0])`,
      `        if before & 1:`,
      `            continue`,
      `        frame = live.copy()`,
      `        if int(seq[0]) == before:`,
      `            return frame, before`,
      `    raise RuntimeError(${JSON.stringify(`the writer kept overwriting ${t.name}; try again`)})`,
      ``,
      `frame, sequence = read_frame()`,
    );
  }
  lines.push(`print(frame[:5])`);
  return lines.join('\n') + '\n';
}

/**
 * Julia: InterProcessCommunication.jl's WrappedArray reads the WA-1 header itself; a raw object
 * is mapped with Mmap at its offset. Julia is column-major, so the matrix is A[field, agent].
 */
export function juliaSnippet(t: SnippetTarget): string {
  const seq = sequenceOffset(t);
  const path = SHM_DIR + t.name;
  const T = parseDtype(t.dtype).julia;
  const fields = `(${t.fields.map(juliaSymbol).join(', ')}${t.fields.length === 1 ? ',' : ''})`;
  const k = t.slots ?? 1;
  const mmapLine =
    k > 1
      ? `Mmap.mmap(open(${jl(path)}), Array{${T},3}, (${t.cols}, ${t.rows}, ${k}), ${offsetOf(t)})`
      : `Mmap.mmap(open(${jl(path)}), Matrix{${T}}, (${t.cols}, ${t.rows}), ${offsetOf(t)})`;
  const lines = [
    `# ${describe(t)}`,
    k > 1
      ? `# column-major, ${k} slots: A[field, agent, n % ${k} + 1] is frame n; A is a ${t.cols}×${t.rows}×${k} Array{${T},3}`
      : `# column-major: A[field, agent] is a ${t.cols}×${t.rows} Matrix{${T}}`,
  ];
  if (t.kind === 'raw') {
    lines.push(`using Mmap`, `const A = ${mmapLine}  # live, read-only`);
  } else {
    lines.push(
      `using InterProcessCommunication, Mmap`,
      `const A = WrappedArray(${jl(t.name)}; readonly=true)  # live, read-only`,
      `# without InterProcessCommunication: const A = ${mmapLine}`,
    );
  }
  lines.push(`const FIELDS = ${fields}`);
  if (seq === null) {
    lines.push(`# no sequence counter in this object: a copy is not synchronised with the writer`, `frame = copy(A)`);
  } else if (k > 1) {
    lines.push(
      `const SEQ = Mmap.mmap(open(${jl(path)}), Vector{UInt64}, 1, ${seq})  # odd: frame (seq + 1) ÷ 2 is being written`,
      ``,
      `"A whole copy of the latest published frame and its sequence number (Julia ≥ 1.10)."`,
      `function read_frame(; tries = 1000)`,
      `    p = pointer(SEQ)`,
      `    for _ in 1:tries`,
      `        n = unsafe_load(p, :acquire) >> 1   # latest whole frame, also while the next is written`,
      `        frame = A[:, :, n % ${k} + 1]`,
      `        Threads.atomic_fence()`,
      `        unsafe_load(p, :acquire) <= 2 * (n + ${k}) - 2 && return frame, 2 * n`,
      `    end`,
      `    error(${jl(`the writer kept overwriting ${t.name}; try again`)})`,
      `end`,
      ``,
      `frame, sequence = read_frame()`,
    );
  } else {
    lines.push(
      `const SEQ = Mmap.mmap(open(${jl(path)}), Vector{UInt64}, 1, ${seq})  # even: stable, odd: being written`,
      ``,
      `"A consistent copy of the latest frame and its sequence number (seqlock read; Julia ≥ 1.10)."`,
      `function read_frame(; tries = 1000)`,
      `    p = pointer(SEQ)`,
      `    for _ in 1:tries`,
      `        before = unsafe_load(p, :acquire)`,
      `        isodd(before) && continue`,
      `        frame = copy(A)`,
      `        Threads.atomic_fence()`,
      `        unsafe_load(p, :acquire) == before && return frame, before`,
      `    end`,
      `    error(${jl(`the writer kept overwriting ${t.name}; try again`)})`,
      `end`,
      ``,
      `frame, sequence = read_frame()`,
    );
  }
  return lines.join('\n') + '\n';
}
