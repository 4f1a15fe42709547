// A line-by-line JavaScript transliteration of shmswarm_reader.jl's byte logic (validate,
// read_frame!, frames), kept beside it so that CI, which has no Julia, can run that logic against
// real segments (test/bridge/julia-reader.test.js). Not a reader to use: it works on a snapshot
// of the object's bytes.
//
// Rules that keep it traceable:
// - The constants are not copied: they are read from the `const NAME = value` lines of
//   shmswarm_reader.jl itself (loadConstants), so a wrong offset there is wrong here.
// - Same function names (read_frame! is read_frame_bang), same order of loads and checks, same
//   identifiers for constants, element types, error codes and helpers, the same operators and
//   integer literals; each check names the .jl line it transliterates. The test compares,
//   function by function, the sequence of those tokens in both files: a check, a load, an
//   operator or a literal added, dropped, changed or moved on one side only fails it.
// - Every load goes through ld/ld_acquire, which throw OUT_OF_BOUNDS for any byte at or past the
//   object's size: "reads nothing at or past size" is checked on every input.
// - Integers are BigInt (Julia's Int64/UInt64): this cannot see an overflow the Julia would have.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const JL_PATH = fileURLToPath(new URL('./shmswarm_reader.jl', import.meta.url));

/** The constants of shmswarm_reader.jl: integers as BigInt, ETYPES as type names, MUTEX_SIZES as an object. */
export function loadConstants(text = readFileSync(JL_PATH, 'utf8')) {
  const c = {};
  for (const m of text.matchAll(/^const (\w+) = (.+?)\s*(?:#.*)?$/gm)) {
    const [, name, value] = m;
    let v;
    if ((v = /^(?:Cint\()?(0x[0-9A-Fa-f]+|\d+)\)?$/.exec(value))) c[name] = BigInt(v[1]);
    else if ((v = /^\(((?:\w+, )*\w+)\)$/.exec(value))) c[name] = v[1].split(', ');
    else if ((v = /^Dict\((.*)\)$/.exec(value))) c[name] = Object.fromEntries([...v[1].matchAll(/:(\w+) => (\d+)/g)].map((x) => [x[1], BigInt(x[2])]));
  }
  return c;
}

const K = loadConstants();
const { WA1_MAGIC, WA1_MAGIC_SWAPPED, WA1_MAX_NDIMS, OFF_ETYPE, OFF_NDIMS, OFF_DATA_OFFSET, OFF_DIMS, ETYPES } = K;
const { BLOCK_MAGIC, FORMAT_1, FORMAT_2, SLOTS_MAX, CACHELINE, MUTEX_RESERVE, BLOCK_FIXED, FIELDS_MAX, MAX_DATA, READY, TORN } = K;
const { B_VERSION, B_LAYOUT, B_ROWS, B_COLS, B_DTYPE, B_ELSIZE, B_DATA_OFFSET, B_DATA_BYTES, B_BLOCK_OFFSET, B_FIELDS_LEN } = K;
const { B_CHECKSUM, B_CREATED, B_TOTAL_SIZE, B_INIT_STATE, B_SLOTS, B_SEQ, B_FRAMES, B_FLAGS, B_STATS_SEQ, FNV_BASIS, FNV_PRIME, MUTEX_SIZES } = K;

// Julia's element types, as names (the identifiers the trace compares) and sizes.
const [Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64] = ['Int8', 'UInt8', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64'];
const SIZEOF = { Int8: 1n, UInt8: 1n, Int16: 2n, UInt16: 2n, Int32: 4n, UInt32: 4n, Int64: 8n, UInt64: 8n, Float32: 4n, Float64: 8n };
const ARCH = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l' }[process.arch];
// Error codes, as the identifiers the .jl spells :ECODE.
const [EUNINIT, ETRUNCATED, EBYTEORDER, EBADMAGIC, ECORRUPT, EVERSION, ELAYOUT, ECHECKSUM, ENOFRAME, EBUS] =
  ['EUNINIT', 'ETRUNCATED', 'EBYTEORDER', 'EBADMAGIC', 'ECORRUPT', 'EVERSION', 'ELAYOUT', 'ECHECKSUM', 'ENOFRAME', 'EBUS'];

export class ShmswarmError extends Error {
  constructor(code, msg) {
    super(msg);
    this.code = code;
  }
}

function fail(code, msg) {
  throw new ShmswarmError(code, msg);
}

function roundup(x, a) {
  return div(x + a - 1n, a) * a;
}

function div(a, b) {
  return a / b;
}

function typemax(T) {
  return { UInt32: 0xffffffffn }[T];
}

function iseven(x) {
  return x % 2n === 0n;
}

/** A snapshot of an object: its bytes, and the size the reader was told (fstat). */
export function memory(bytes, size = bytes.length) {
  return { bytes, size: BigInt(size) };
}

// .jl 99-100: plain and acquire loads (the same here: a snapshot has no other thread).
function ld(T, mem, base, off) {
  const at = BigInt(base) + BigInt(off);
  const n = SIZEOF[T];
  if (at < 0n || at + n > mem.size || at + n > BigInt(mem.bytes.length)) throw new ShmswarmError('OUT_OF_BOUNDS', `load of ${n} bytes at ${at} past the object's ${mem.size} bytes`);
  const dv = new DataView(mem.bytes.buffer, mem.bytes.byteOffset + Number(at), Number(n));
  return { Int8: () => BigInt(dv.getInt8(0)), UInt8: () => BigInt(dv.getUint8(0)), Int16: () => BigInt(dv.getInt16(0, true)), UInt16: () => BigInt(dv.getUint16(0, true)),
    Int32: () => BigInt(dv.getInt32(0, true)), UInt32: () => BigInt(dv.getUint32(0, true)), Int64: () => dv.getBigInt64(0, true), UInt64: () => dv.getBigUint64(0, true) }[T]();
}

function ld_acquire(T, mem, base, off) {
  return ld(T, mem, base, off);
}

function u32(x) {
  return BigInt.asUintN(32, x);
}

/** Julia's 1-based a[i]. */
function getindex(a, i) {
  return a[Number(i) - 1];
}

function unsafe_string(mem, p, n) {
  return Buffer.from(mem.bytes.subarray(Number(p), Number(p) + Number(n))).toString('latin1');
}

function time_ns() {
  return Number(process.hrtime.bigint());
}

function object_size(seg) {
  return BigInt(statSync(`/dev/shm${seg.name}`).size);
}

// .jl 102-107
function fnv1a(h, mem, p, n) {
  for (let i = 0n; i < n; i++) {
    h = u32((h ^ ld(UInt8, mem, p, i)) * FNV_PRIME);
  }
  return h;
}

/** .jl 115-209: docs/FORMAT.md §7 checks 1-20 over `mem` (base = byte 0). */
export function validate(mem, base = 0n, size = mem.size) {
  size > 0n || fail(EUNINIT, 'empty object (size 0)'); // .jl 116, check 1
  size >= 64n || fail(ETRUNCATED, 'object smaller than a header'); // .jl 117, check 2
  const magic = ld_acquire(UInt32, mem, base, 0n); // .jl 118
  if (magic !== WA1_MAGIC) { // .jl 119, check 3
    magic === WA1_MAGIC_SWAPPED && fail(EBYTEORDER, 'opposite byte order');
    magic === 0n && fail(EUNINIT, 'no magic yet');
    fail(EBADMAGIC, 'not WA-1');
  }
  const etype = ld(UInt16, mem, base, OFF_ETYPE); // .jl 124-126
  const ndims = ld(UInt16, mem, base, OFF_NDIMS);
  const offset = ld(Int64, mem, base, OFF_DATA_OFFSET);
  (1n <= etype && etype <= BigInt(ETYPES.length)) || fail(ECORRUPT, 'element type'); // .jl 127, check 4
  const T = getindex(ETYPES, etype); // .jl 128
  const elsize = SIZEOF[T];
  (1n <= ndims && ndims <= WA1_MAX_NDIMS) || fail(ECORRUPT, 'ndims'); // .jl 130, check 5
  const want_off = roundup(OFF_DIMS + 8n * ndims, CACHELINE); // .jl 131
  offset === want_off || fail(ECORRUPT, 'data offset'); // .jl 132, check 6
  size >= want_off || fail(ETRUNCATED, 'smaller than its header'); // .jl 133, check 7
  const dims = []; // .jl 134, check 8
  let cols = 0n;
  let rows = 1n;
  for (let i = 1n; i <= ndims; i++) {
    const d = ld(Int64, mem, base, OFF_DIMS + 8n * (i - 1n)); // .jl 137
    d >= 1n || fail(ECORRUPT, 'dimension < 1');
    dims.push(d);
    if (i === 1n) {
      cols = d;
    } else {
      d <= div(MAX_DATA, rows) || fail(ECORRUPT, 'shape too large'); // .jl 143
      rows *= d;
    }
  }
  cols <= typemax(UInt32) || fail(ECORRUPT, 'too many columns'); // .jl 147
  cols <= div(div(MAX_DATA, elsize), rows) || fail(ECORRUPT, 'shape too large'); // .jl 148
  const data_bytes = rows * cols * elsize;
  const data_end = want_off + data_bytes;
  size >= data_end || fail(ETRUNCATED, 'cannot hold its data'); // .jl 151, check 9
  const boff = roundup(data_end, CACHELINE); // .jl 152
  if (!(ndims === 2n || ndims === 3n) || size < boff + 8n || ld(UInt64, mem, base, boff) !== BLOCK_MAGIC) { // .jl 153, check 10
    return { kind: 'wa1', T, dims, rows, cols, data_offset: want_off, data_bytes, slots: 1n, version: 0n, block_offset: 0n, fields: [] };
  }
  size >= boff + BLOCK_FIXED || fail(ETRUNCATED, 'ends inside the block'); // .jl 158, check 11
  const blk = base + boff;
  const version = ld(UInt32, mem, blk, B_VERSION); // .jl 160
  (version === FORMAT_1 || version === FORMAT_2) || fail(EVERSION, 'format version'); // .jl 161, check 12
  ndims === (version === FORMAT_1 ? 2n : 3n) || fail(EVERSION, 'ndims for the version'); // .jl 162
  const layout = ld(UInt32, mem, blk, B_LAYOUT); // .jl 163, check 13
  const lmutex = layout & 0xffffn;
  const msize = MUTEX_SIZES[ARCH] ?? null;
  (layout >> 16n === CACHELINE && 1n <= lmutex && lmutex <= MUTEX_RESERVE && (msize === null || lmutex === msize)) ||
    fail(ELAYOUT, 'another mutex size or cache line');
  ld_acquire(UInt32, mem, blk, B_INIT_STATE) === READY || fail(EUNINIT, 'block not initialised'); // .jl 168, check 14
  let k = 1n;
  if (version === FORMAT_2) { // .jl 170, check 14a
    k = ld(UInt32, mem, blk, B_SLOTS);
    (2n <= k && k <= SLOTS_MAX) || fail(ECORRUPT, 'slots');
    k === getindex(dims, 3) || fail(ECORRUPT, 'slots against dims[3]');
  }
  const frows = div(rows, k); // .jl 175
  const fbytes = div(data_bytes, k);
  (ld(UInt64, mem, blk, B_ROWS) === frows && ld(UInt32, mem, blk, B_COLS) === cols && ld(UInt16, mem, blk, B_DTYPE) === etype && // .jl 177, check 15
    ld(UInt16, mem, blk, B_ELSIZE) === elsize && ld(UInt64, mem, blk, B_DATA_OFFSET) === want_off &&
    ld(UInt64, mem, blk, B_DATA_BYTES) === fbytes && ld(UInt64, mem, blk, B_BLOCK_OFFSET) === boff) ||
    fail(ECORRUPT, 'block disagrees with the WA-1 header');
  const nf = ld(UInt32, mem, blk, B_FIELDS_LEN); // .jl 181
  nf <= FIELDS_MAX || fail(ECORRUPT, 'field names too long'); // .jl 182, check 16
  const fields_off = boff + BLOCK_FIXED;
  const total = ld(UInt64, mem, blk, B_TOTAL_SIZE); // .jl 184
  total === fields_off + roundup(nf, CACHELINE) || fail(ECORRUPT, 'total size'); // .jl 185, check 17
  size >= total || fail(ETRUNCATED, 'smaller than its layout'); // .jl 186, check 18
  let h = fnv1a(FNV_BASIS, mem, base, 32n); // .jl 187, check 19
  h = fnv1a(h, mem, blk, B_CHECKSUM);
  for (let z = 0; z < 4; z++) {
    h = u32(h * FNV_PRIME);
  }
  h = fnv1a(h, mem, blk + B_CREATED, 32n);
  version === FORMAT_2 && (h = fnv1a(h, mem, blk + B_SLOTS, 4n));
  h = fnv1a(h, mem, base + fields_off, nf);
  h === ld(UInt32, mem, blk, B_CHECKSUM) || fail(ECHECKSUM, 'checksum'); // .jl 197
  let names = []; // .jl 198, check 20
  if (nf > 0n) {
    for (let i = 0n; i < nf; i++) {
      const b = ld(UInt8, mem, base, fields_off + i);
      (0x20n <= b && b <= 0x7en) || fail(ECORRUPT, 'field names not printable');
    }
    names = unsafe_string(mem, base + fields_off, nf).split(',');
    (BigInt(names.length) === cols && names.every((n) => n.length > 0)) || fail(ECORRUPT, 'field names do not match the columns');
  }
  return { kind: 'shmswarm', T, dims, rows: frows, cols, data_offset: want_off, data_bytes: fbytes, slots: k, version, block_offset: boff, fields: names };
}

/** .jl open_segment, on a snapshot: `bytes` is the object, `name` where check_size looks. */
export function open_segment(name, bytes = readFileSync('/dev/shm' + name)) {
  const mem = memory(bytes);
  const L = validate(mem);
  const slots = [];
  for (let i = 0n; i < L.slots; i++) slots.push(L.data_offset + i * L.data_bytes);
  const fields = L.kind === 'shmswarm' && L.fields.length ? L.fields : Array.from({ length: Number(L.cols) }, (_, i) => `c${i}`);
  return { name, kind: L.kind, rows: L.rows, cols: L.cols, fields, dims: L.dims, T: L.T, slot_bytes: L.data_bytes, slots, block: L.kind === 'shmswarm' ? L.block_offset : null, mem, base: 0n };
}

// .jl check_size
function check_size(seg) {
  seg.base === null && closed(seg);
  object_size(seg) >= seg.mem.size || fail(EBUS, 'shrank under this reader');
}

// .jl 321
function is_torn(mem, blk) {
  return (ld_acquire(UInt32, mem, blk, B_FLAGS) & TORN) !== 0n;
}

function closed(seg) {
  throw new Error(`segment ${seg.name} is closed`);
}

function dimension_mismatch(seg) {
  throw new RangeError(`dst must be ${seg.slot_bytes} bytes`);
}

/** Julia's sleep(s), for the retry loop's backoff. */
function sleep(s) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000);
}

function copyto(dst, seg, slot) {
  dst.set(seg.mem.bytes.subarray(Number(slot), Number(slot + seg.slot_bytes)));
}

/** .jl read_frame!(dst, seg): dst is a Uint8Array of one frame's bytes (cols × rows column-major = rows × cols C order). */
export function read_frame_bang(dst, seg, timeout = 1.0) {
  BigInt(dst.length) == seg.slot_bytes || dimension_mismatch(seg);
  check_size(seg);
  if (seg.block === null) {
    copyto(dst, seg, getindex(seg.slots, 1));
    return { data: dst, sequence: null, torn: false };
  }
  const blk = seg.block;
  const mem = seg.mem;
  const k = BigInt(seg.slots.length);
  const deadline = time_ns() / 1e9 + timeout;
  let tries = 0;
  for (;;) {
    tries > 0 && check_size(seg);
    const s1 = ld_acquire(UInt64, mem, blk, B_SEQ);
    if (k > 1n) {
      const n = s1 >> 1n;
      const torn = is_torn(mem, blk);
      if (ld_acquire(UInt64, mem, blk, B_STATS_SEQ) < 2n * n + 1n && ld_acquire(UInt64, mem, blk, B_SEQ) >> 1n === n) {
        copyto(dst, seg, getindex(seg.slots, n % k + 1n));
        if (ld_acquire(UInt64, mem, blk, B_SEQ) <= 2n * (n + k) - 2n) {
          return { data: dst, sequence: 2n * n, torn };
        }
      }
    } else if (iseven(s1)) {
      const torn = is_torn(mem, blk);
      copyto(dst, seg, getindex(seg.slots, 1));
      if (ld_acquire(UInt64, mem, blk, B_SEQ) === s1) {
        return { data: dst, sequence: s1, torn };
      }
    }
    tries += 1;
    time_ns() / 1e9 < deadline || fail(ENOFRAME, `no whole frame after ${tries} tries`);
    tries > 3 && sleep(0.001);
  }
}

/** .jl read_frame(seg) */
export function read_frame(seg, timeout = 1.0) {
  return read_frame_bang(new Uint8Array(Number(seg.slot_bytes)), seg, timeout);
}

/** .jl frames(seg) */
export function frames(seg) {
  check_size(seg);
  if (seg.block === null) return null;
  return ld_acquire(UInt64, seg.mem, seg.block, B_FRAMES);
}
