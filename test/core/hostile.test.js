// Segments nobody should trust: random bytes, empty, truncated, fields corrupted or set to extremes,
// a fuzzed validator, and an object shrunk under a process that maps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Segment, ShmswarmError } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit, waitForLine, runCli } from '../helpers.js';
import { mulberry32 } from '../../dist/core/simulate/prng.js';

const FORMAT_CODES = new Set(['EBADMAGIC', 'EBYTEORDER', 'EVERSION', 'ELAYOUT', 'ECORRUPT', 'ECHECKSUM', 'EUNINIT', 'ETRUNCATED']);

// A seeded PRNG, so a failing case can be reproduced from its seed and index.
const prng = mulberry32;

/** The bytes of a real segment, made with the API and read back from /dev/shm. */
function sample(t, options) {
  const name = uniqueName(t, 'sample');
  const seg = Segment.create(name, options);
  seg.writeFrame(Array.from({ length: seg.length }, (_, i) => (seg.dtype.endsWith('64') && seg.dtype[0] !== 'f' ? BigInt(i) : i)));
  const bytes = new Uint8Array(readFileSync('/dev/shm' + name));
  seg.close();
  Segment.unlink(name);
  return bytes;
}

// rows 4 × 'x,y,z' f32: data 64..112, block at 128, field names at 640, 704 bytes in all
const BLOCK = 128;
const FIELDS = BLOCK + 512;
const put = (b, off, width, value) => {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (width === 1) dv.setUint8(off, Number(value));
  else if (width === 2) dv.setUint16(off, Number(value), true);
  else if (width === 4) dv.setUint32(off, Number(BigInt.asUintN(32, BigInt(value))), true);
  else dv.setBigUint64(off, BigInt.asUintN(64, BigInt(value)), true);
  return b;
};
const I64_MAX = 2n ** 63n - 1n;

// [label, mutate(bytes) -> bytes, expected code or 'wa1' (a readable plain WA-1 object)]
const CASES = [
  ['empty object', () => new Uint8Array(0), 'EUNINIT'],
  ['10 bytes', (b) => b.slice(0, 10), 'ETRUNCATED'],
  ['63 bytes', (b) => b.slice(0, 63), 'ETRUNCATED'],
  ['header only', (b) => b.slice(0, 64), 'ETRUNCATED'],
  ['cut inside the data', (b) => b.slice(0, 100), 'ETRUNCATED'],
  ['cut inside the block', (b) => b.slice(0, BLOCK + 100), 'ETRUNCATED'],
  ['cut inside the field names', (b) => b.slice(0, FIELDS + 3), 'ETRUNCATED'],
  ['cut before the block magic (a plain WA-1 matrix remains)', (b) => b.slice(0, BLOCK), 'wa1'],
  ['all zero', (b) => new Uint8Array(b.length), 'EUNINIT'],
  ['magic zero, the rest written (mid-creation)', (b) => put(b, 0, 4, 0), 'EUNINIT'],
  ['magic garbage', (b) => put(b, 0, 4, 0xdeadbeef), 'EBADMAGIC'],
  ['magic byte-swapped', (b) => put(b, 0, 4, 0x312d4157), 'EBYTEORDER'],
  ['etype 0', (b) => put(b, 4, 2, 0), 'ECORRUPT'],
  ['etype 11 (ComplexF32)', (b) => put(b, 4, 2, 11), 'ECORRUPT'],
  ['etype 13', (b) => put(b, 4, 2, 13), 'ECORRUPT'],
  ['etype max', (b) => put(b, 4, 2, 0xffff), 'ECORRUPT'],
  ['etype i8 (block disagrees)', (b) => put(b, 4, 2, 1), 'ECORRUPT'],
  ['ndims 0', (b) => put(b, 6, 2, 0), 'ECORRUPT'],
  ['ndims 3 (third dim is 0)', (b) => put(b, 6, 2, 3), 'ECORRUPT'],
  ['ndims max', (b) => put(b, 6, 2, 0xffff), 'ECORRUPT'],
  ['offset 0', (b) => put(b, 8, 8, 0), 'ECORRUPT'],
  ['offset 65', (b) => put(b, 8, 8, 65), 'ECORRUPT'],
  ['offset -1', (b) => put(b, 8, 8, -1), 'ECORRUPT'],
  ['offset max', (b) => put(b, 8, 8, I64_MAX), 'ECORRUPT'],
  ['cols 0', (b) => put(b, 16, 8, 0), 'ECORRUPT'],
  ['cols -1', (b) => put(b, 16, 8, -1), 'ECORRUPT'],
  ['cols max', (b) => put(b, 16, 8, I64_MAX), 'ECORRUPT'],
  ['cols 2^32 (block disagrees or too large)', (b) => put(b, 16, 8, 2n ** 32n), 'ECORRUPT'],
  ['rows max', (b) => put(b, 24, 8, I64_MAX), 'ECORRUPT'],
  ['rows 2^40 / 12 (fits the limit, not the object)', (b) => put(b, 24, 8, 2n ** 40n / 12n), 'ETRUNCATED'],
  ['rows and cols multiply past 2^64', (b) => put(put(b, 16, 8, 2n ** 32n + 1n), 24, 8, 2n ** 32n + 1n), 'ECORRUPT'],
  ['rows 5 (block disagrees)', (b) => put(b, 24, 8, 5), 'ECORRUPT'],
  ['block version 2', (b) => put(b, BLOCK + 8, 4, 2), 'EVERSION'],
  ['block version max', (b) => put(b, BLOCK + 8, 4, 0xffffffff), 'EVERSION'],
  ['block layout (another mutex size)', (b) => put(b, BLOCK + 12, 4, 48 | (64 << 16)), 'ELAYOUT'],
  ['block rows max', (b) => put(b, BLOCK + 16, 8, -1), 'ECORRUPT'],
  ['block cols', (b) => put(b, BLOCK + 24, 4, 0xffffffff), 'ECORRUPT'],
  ['block dtype', (b) => put(b, BLOCK + 28, 2, 10), 'ECORRUPT'],
  ['block data offset', (b) => put(b, BLOCK + 32, 8, -1), 'ECORRUPT'],
  ['block data bytes', (b) => put(b, BLOCK + 40, 8, -1), 'ECORRUPT'],
  ['block offset', (b) => put(b, BLOCK + 48, 8, 0), 'ECORRUPT'],
  ['fields_len max', (b) => put(b, BLOCK + 56, 4, 0xffffffff), 'ECORRUPT'],
  ['fields_len 4 (same padding)', (b) => put(b, BLOCK + 56, 4, 4), 'ECHECKSUM'],
  ['checksum', (b) => put(b, BLOCK + 60, 4, b[BLOCK + 60] ^ 1), 'ECHECKSUM'],
  ['created time', (b) => put(b, BLOCK + 64, 8, 0), 'ECHECKSUM'],
  ['total size max', (b) => put(b, BLOCK + 80, 8, -1), 'ECORRUPT'],
  ['creator pid', (b) => put(b, BLOCK + 88, 4, 1), 'ECHECKSUM'],
  ['mode', (b) => put(b, BLOCK + 92, 4, 0o777), 'ECHECKSUM'],
  ['init state zero', (b) => put(b, BLOCK + 96, 4, 0), 'EUNINIT'],
  ['a field name byte', (b) => put(b, FIELDS, 1, 'q'.charCodeAt(0)), 'ECHECKSUM'],
  ['block magic gone (a plain WA-1 matrix remains)', (b) => put(b, BLOCK, 8, 0), 'wa1'],
];

test('hostile objects in /dev/shm are refused by Segment.open with a clear code and message', (t) => {
  const base = sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32' });
  assert.equal(base.length, FIELDS + 64);
  for (const [label, mutate, expected] of CASES) {
    const name = uniqueName(t, 'hostile');
    writeFileSync('/dev/shm' + name, mutate(base.slice()));
    for (const readonly of [true, false]) {
      let seg = null;
      let err = null;
      try {
        seg = Segment.open(name, { readonly, initWaitMs: 0 });
      } catch (e) {
        err = e;
      }
      if (expected === 'wa1') {
        if (readonly) {
          assert.ok(seg, `${label}: opens read-only (${err?.message})`);
          assert.equal(seg.kind, 'wa1', label);
          assert.equal(seg.readFrame().unsynced, true);
          seg.close();
        } else {
          assert.equal(err?.code, 'ENOTSYNC', `${label}: a plain WA-1 object does not open for writing`);
        }
        continue;
      }
      seg?.close();
      assert.ok(err instanceof ShmswarmError, `${label}: refused (readonly ${readonly}), got ${err ?? 'a segment'}`);
      assert.equal(err.code, expected, `${label}: ${err.message}`);
      assert.equal(err.segment, name);
      assert.ok(err.message.startsWith(`${name}: `) && err.message.length > name.length + 10, err.message);
    }
  }
});

// Version 2 (slots): rows 4 × 'x,y,z' f32 × 3 slots: D = 48, slots at 64..208, block at 256.
const D2 = 48;
const BLOCK2 = 256;
const CASES2 = [
  ['the good one', (b) => b, 'shmswarm'],
  ['slots 2 (dims[2] says 3)', (b) => put(b, BLOCK2 + 100, 4, 2), 'ECORRUPT'],
  ['slots 0', (b) => put(b, BLOCK2 + 100, 4, 0), 'ECORRUPT'],
  ['slots 1', (b) => put(b, BLOCK2 + 100, 4, 1), 'ECORRUPT'],
  ['slots 17', (b) => put(b, BLOCK2 + 100, 4, 17), 'ECORRUPT'],
  ['slots max', (b) => put(b, BLOCK2 + 100, 4, 0xffffffff), 'ECORRUPT'],
  ['dims[2] 2 (the block would start at 192: a plain WA-1 array)', (b) => put(b, 32, 8, 2), 'wa1'],
  ['dims[2] 0', (b) => put(b, 32, 8, 0), 'ECORRUPT'],
  ['dims[2] max', (b) => put(b, 32, 8, I64_MAX), 'ECORRUPT'],
  ['dims[2] × D overflows 2^64', (b) => put(b, 32, 8, 2n ** 60n), 'ECORRUPT'],
  ['dims[2] 2^40 / 48 (fits the limit, not the object)', (b) => put(b, 32, 8, 2n ** 40n / 48n), 'ETRUNCATED'],
  ['last slot cut short', (b) => b.slice(0, 64 + 3 * D2 - 1), 'ETRUNCATED'],
  ['cut inside the block', (b) => b.slice(0, BLOCK2 + 104), 'ETRUNCATED'],
  ['version 1 with ndims 3', (b) => put(b, BLOCK2 + 8, 4, 1), 'EVERSION'],
  ['version 3', (b) => put(b, BLOCK2 + 8, 4, 3), 'EVERSION'],
  ['ndims 2 (a plain WA-1 matrix: the block is not where ndims 2 puts it)', (b) => put(b, 6, 2, 2), 'wa1'],
  ['block rows = all slots', (b) => put(b, BLOCK2 + 16, 8, 12), 'ECORRUPT'],
  ['block data_bytes = all slots', (b) => put(b, BLOCK2 + 40, 8, 3 * D2), 'ECORRUPT'],
  ['block offset', (b) => put(b, BLOCK2 + 48, 8, 128), 'ECORRUPT'],
  ['total size', (b) => put(b, BLOCK2 + 80, 8, BLOCK2 + 512), 'ECORRUPT'],
  ['created time (checksummed)', (b) => put(b, BLOCK2 + 64, 8, 0), 'ECHECKSUM'],
  ['init state zero', (b) => put(b, BLOCK2 + 96, 4, 0), 'EUNINIT'],
];

test('hostile version 2 (slots) headers are refused by Segment.open with a clear code', (t) => {
  const base = sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32', slots: 3 });
  assert.equal(base.length, BLOCK2 + 512 + 64);
  assert.equal(Segment.validateHeader(base).blockOffset, BLOCK2);
  for (const [label, mutate, expected] of CASES2) {
    const name = uniqueName(t, 'hostile2');
    writeFileSync('/dev/shm' + name, mutate(base.slice()));
    let seg = null;
    let err = null;
    try {
      seg = Segment.open(name, { readonly: true, initWaitMs: 0 });
    } catch (e) {
      err = e;
    }
    if (expected === 'shmswarm' || expected === 'wa1') {
      assert.ok(seg, `${label}: opens (${err?.message})`);
      assert.equal(seg.kind, expected, label);
      if (expected === 'shmswarm') assert.equal(seg.slots, 3);
      else assert.equal(seg.readFrame().unsynced, true);
      seg.close();
      continue;
    }
    assert.ok(err instanceof ShmswarmError, `${label}: refused, got ${err ?? 'a segment'}`);
    assert.equal(err.code, expected, `${label}: ${err.message}`);
    assert.ok(err.message.startsWith(`${name}: `), err.message);
  }
});

test('random bytes are refused, whatever the seed', (t) => {
  const rnd = prng(0x5eed);
  for (let i = 0; i < 20; i++) {
    const size = 1 + Math.floor(rnd() * 8192);
    const bytes = Uint8Array.from({ length: size }, () => Math.floor(rnd() * 256));
    const name = uniqueName(t, 'random');
    writeFileSync('/dev/shm' + name, bytes);
    assert.throws(() => Segment.open(name, { initWaitMs: 0 }), (e) => e instanceof ShmswarmError && FORMAT_CODES.has(e.code), `case ${i}`);
  }
});

/** A validated layout must lie inside the size it was validated against. */
function assertConsistent(L, size, why) {
  assert.ok(L.kind === 'shmswarm' || L.kind === 'wa1', why);
  assert.ok(L.dataOffset >= 64 && L.dataOffset % 64 === 0, `${why}: data offset ${L.dataOffset}`);
  assert.ok(L.dataBytes >= 1, why);
  assert.ok(L.dataOffset + L.dataBytes <= size, `${why}: data ends past ${size}`);
  assert.ok(Number.isInteger(L.slots) && L.slots >= 1 && L.slots <= 16, `${why}: slots ${L.slots}`);
  assert.ok(L.dataOffset + L.slots * L.dataBytes <= size, `${why}: the last slot ends past ${size}`);
  assert.equal(L.version === 2, L.slots > 1, `${why}: version ${L.version} with ${L.slots} slots`);
  assert.ok(L.totalSize <= size, `${why}: total ${L.totalSize} > ${size}`);
  assert.equal(L.rows * L.cols * [0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8][L.dtype], L.dataBytes, why);
  if (L.kind === 'shmswarm') {
    assert.ok(L.blockOffset >= L.dataOffset + L.slots * L.dataBytes && L.blockOffset % 64 === 0, why);
    assert.ok(L.blockOffset + 512 <= size, why);
    assert.ok(L.fieldsOffset + L.fieldsLength <= size, why);
  }
}

function validateOrThrow(bytes, size, why) {
  try {
    const L = Segment.validateHeader(bytes, size);
    assertConsistent(L, Math.min(size, bytes.length), why);
    return L;
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(e instanceof ShmswarmError, `${why}: threw ${e}`);
    assert.ok(FORMAT_CODES.has(e.code), `${why}: code ${e.code}`);
    return e;
  }
}

test('validateHeader: field names are checked even when a forger fixed the checksum', (t) => {
  // A forger who knows FNV-1a can fix the checksum; the field names are still checked.
  const b = sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32' });
  put(b, FIELDS + 1, 1, 0x01);
  let h = 2166136261;
  const fnv = (bytes) => { for (const x of bytes) h = Math.imul(h ^ x, 16777619) >>> 0; };
  const line0 = b.slice(BLOCK, BLOCK + 64);
  line0.fill(0, 60, 64);
  fnv(b.subarray(0, 32));
  fnv(line0);
  fnv(b.subarray(BLOCK + 64, BLOCK + 96));
  fnv(b.subarray(FIELDS, FIELDS + 5));
  put(b, BLOCK + 60, 4, h);
  assert.throws(() => Segment.validateHeader(b), { code: 'ECORRUPT' });
});

test('validateHeader fuzz: bit flips, extreme values at every field, truncation (seeded)', (t) => {
  const seed = 20261126;
  const rnd = prng(seed);
  const bases = [
    sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32' }),
    sample(t, { rows: 1, cols: 1, dtype: 'u8' }),
    sample(t, { rows: 1000, fields: ['x', 'y', 'vx', 'vy'], dtype: 'f64' }),
    sample(t, { rows: 7, cols: 3, dtype: 'i64' }),
    sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32', slots: 3 }),
    sample(t, { rows: 3, cols: 5, dtype: 'f64', slots: 16 }),
  ];
  const interesting = [0n, 1n, 2n, 63n, 64n, 65n, 512n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
  let cases = 0;
  let accepted = 0;
  for (const base of bases) {
    for (const L0 of [Segment.validateHeader(base)]) assertConsistent(L0, base.length, 'base');
    const { blockOffset: boff, slots } = Segment.validateHeader(base);
    const fieldOffsets = [0, 4, 6, 8, 16, 24, 32, 40, 48, 56];
    if (slots > 1) fieldOffsets.push(boff + 100, boff + 100, boff + 100); // slots, more often
    for (let o = 0; o < 128; o += 4) fieldOffsets.push(boff + o);
    // every single-bit flip of the immutable, checksummed part must be refused (block magic excepted)
    for (let byte = boff + 8; byte < boff + (slots > 1 ? 104 : 100); byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = base.slice();
        b[byte] ^= 1 << bit;
        const r = validateOrThrow(b, b.length, `flip ${byte}.${bit}`);
        assert.ok(r instanceof ShmswarmError, `flip of block byte ${byte - boff} bit ${bit} was accepted`);
        cases++;
      }
    }
    for (let bit = 0; bit < 128; bit++) {
      const b = base.slice();
      b[bit >> 3] ^= 1 << (bit & 7); // magic, etype, ndims, offset
      const r = validateOrThrow(b, b.length, `WA-1 flip ${bit}`);
      if (bit < 32 || bit >= 64) assert.ok(r instanceof ShmswarmError || r.kind === 'wa1', `WA-1 flip ${bit} accepted as shmswarm`);
      cases++;
    }
    for (let i = 0; i < 1500; i++) {
      const b = base.slice();
      const what = rnd();
      let size = b.length;
      if (what < 0.3) {
        const pos = rnd() < 0.7 ? Math.floor(rnd() * Math.min(b.length, 64)) : boff + Math.floor(rnd() * 128);
        b[pos] ^= 1 << Math.floor(rnd() * 8);
      } else if (what < 0.7) {
        const off = fieldOffsets[Math.floor(rnd() * fieldOffsets.length)];
        const v = rnd() < 0.5 ? interesting[Math.floor(rnd() * interesting.length)] : BigInt(Math.floor(rnd() * 2 ** 32)) * BigInt(Math.floor(rnd() * 2 ** 32));
        const width = [1, 2, 4, 8][Math.floor(rnd() * 4)];
        if (off + width <= b.length) put(b, off, width, width === 8 ? v : v & ((1n << BigInt(8 * width)) - 1n));
      } else if (what < 0.9) {
        size = Math.floor(rnd() * (b.length + 1));
      } else {
        for (let k = 0; k < 4; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        size = Math.floor(rnd() * (b.length + 1));
      }
      const r = validateOrThrow(b, size, `seed ${seed} case ${cases}`);
      if (!(r instanceof ShmswarmError)) accepted++;
      cases++;
    }
  }
  t.diagnostic(`${cases} cases, ${accepted} accepted with a consistent layout`);
  assert.ok(cases >= 3000);
});

// A child maps a segment; the parent shrinks the object; every call in the child must fail with
// EBUS (or ETRUNCATED) instead of SIGBUS killing it.
for (const [label, shrinkTo] of [['to 0 bytes', 0], ['to 100 bytes', 100]]) {
  test(`a segment shrunk under a reader and a writer (${label}): errors, not a dead process`, async (t) => {
    const name = uniqueName(t);
    const seg = Segment.create(name, { rows: 1000, fields: 'x,y,vx,vy', dtype: 'f32' });
    seg.writeFrame(new Float32Array(4000).fill(1));
    seg.close();
    const child = spawnNode(`
      const r = Segment.open(${JSON.stringify(name)}, { readonly: true });
      const w = Segment.open(${JSON.stringify(name)});
      r.readFrame();
      console.log('mapped');
      process.stdin.once('data', async () => {
        const out = {};
        const tryIt = async (k, f) => { try { await f(); out[k] = 'ok'; } catch (e) { out[k] = e.code ?? String(e); } };
        await tryIt('readFrame', () => r.readFrame());
        await tryIt('readFrameLocked', () => r.readFrame({ lock: true }));
        await tryIt('readFrameAsync', () => r.readFrameAsync());
        await tryIt('info', () => r.info());
        await tryIt('sequence', () => r.sequence());
        await tryIt('waitForFrame', () => r.waitForFrame(2, { timeoutMs: 10 }));
        await tryIt('waitForFrameWritable', () => w.waitForFrame(2, { timeoutMs: 10 }));
        await tryIt('writeFrame', () => w.writeFrame(new Float32Array(4000)));
        await tryIt('lock', () => w.lock());
        await tryIt('reopen', () => Segment.open(${JSON.stringify(name)}, { readonly: true, initWaitMs: 0 }));
        r.close();
        w.close();
        console.log(JSON.stringify(out));
      });`, { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    const exit = waitExit(child);
    await waitForLine(child, /^mapped$/);
    truncateSync('/dev/shm' + name, shrinkTo);
    child.stdin.end('go\n');
    const r = await exit;
    assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    t.diagnostic(JSON.stringify(out));
    for (const k of ['readFrame', 'readFrameLocked', 'readFrameAsync', 'info', 'sequence', 'waitForFrame', 'waitForFrameWritable', 'writeFrame', 'lock'])
      assert.ok(['EBUS', 'ETRUNCATED'].includes(out[k]), `${k}: ${out[k]}`);
    assert.equal(out.reopen, shrinkTo === 0 ? 'EUNINIT' : 'ETRUNCATED');
  });
}

// Mapping an object to look at it must not allocate it: a sparse object of any size is cheap to
// make in /dev/shm, and pre-faulting it before its header is trusted gave its pages real memory
// (a 4 GiB one made `list` take 21 s and filled /dev/shm).
test('opening, info and list leave a sparse object sparse', (t) => {
  const blocksOf = (name) => statSync('/dev/shm' + name).blocks;
  // No header at all: 1 GiB of holes.
  const bare = uniqueName(t, 'sparse');
  writeFileSync('/dev/shm' + bare, '');
  truncateSync('/dev/shm' + bare, 1 << 30);
  assert.throws(() => Segment.open(bare, { readonly: true, initWaitMs: 0 }), (e) => e instanceof ShmswarmError && FORMAT_CODES.has(e.code));
  // A valid segment whose data pages were handed back (fallocate --punch-hole).
  const valid = uniqueName(t, 'punched');
  Segment.create(valid, { rows: 1 << 20, cols: 16 }).close(); // 64 MiB of data
  const punch = spawnSync('fallocate', ['--punch-hole', '--offset', '4096', '--length', String(60 << 20), '/dev/shm' + valid]);
  const punched = punch.status === 0;
  const before = { bare: blocksOf(bare), valid: blocksOf(valid) };
  assert.ok(before.bare <= 8, `the bare object starts with ${before.bare} blocks`);
  const r = Segment.open(valid, { readonly: true });
  assert.equal(r.rows, 1 << 20);
  r.close();
  for (const args of [['info', bare], ['info', valid], ['list', '--all']]) runCli(args);
  assert.equal(blocksOf(bare), before.bare, 'the bare object gained pages');
  if (punched) assert.ok(blocksOf(valid) <= before.valid + 8, `the punched segment went from ${before.valid} to ${blocksOf(valid)} blocks`);
  else t.diagnostic(`fallocate --punch-hole unavailable (${punch.error?.message ?? punch.stderr}); only the bare object checked`);
});
