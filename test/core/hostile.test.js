// Segments nobody should trust: random bytes, empty, truncated, fields corrupted or set to extremes,
// a fuzzed validator, and an object shrunk under a process that maps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, truncateSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Segment, ShmswarmError } from '../../dist/core/index.js';
import { uniqueName, spawnNode, waitExit, waitForLine, runCli } from '../helpers.js';
import { mulberry32 } from '../../dist/core/simulate/prng.js';
import { BLOCK, BLOCK2, CASES, CASES2, FIELDS, put, sample } from './hostile-cases.js';

const FORMAT_CODES = new Set(['EBADMAGIC', 'EBYTEORDER', 'EVERSION', 'ELAYOUT', 'ECORRUPT', 'ECHECKSUM', 'EUNINIT', 'ETRUNCATED']);

// A seeded PRNG, so a failing case can be reproduced from its seed and index.
const prng = mulberry32;

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
