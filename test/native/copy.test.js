// The core's frame copy (shmswarm_copy, issue 22) seen from C and from Node: every byte lands at
// every size class and source/destination offset, and frames written from and read into
// misaligned views of the caller's memory come back exactly, however they are read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Segment } from '../../dist/core/index.js';
import { uniqueName } from '../helpers.js';
import { buildProgram } from '../native-c/build.js';

test('C: shmswarm_copy matches memcpy at every size class and offset, and picks its method by relative alignment (test/native-c/copy_test.c)', (t) => {
  const exe = buildProgram('copy_test', ['-O2']);
  const r = spawnSync(exe, [uniqueName(t, 'copy-c')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /^not ok/m);
  assert.match(r.stdout, /^1\.\.(\d+)$/m);
  assert.ok(Number(/^1\.\.(\d+)$/m.exec(r.stdout)[1]) >= 38, r.stdout);
});

/** A Float32Array of `n` elements at byte `offset` of a fresh buffer, filled with `salt`'s pattern. */
function view(n, offset, salt) {
  const a = new Float32Array(new ArrayBuffer(n * 4 + offset + 64), offset, n);
  for (let i = 0; i < n; i++) a[i] = salt * 1e6 + i;
  return a;
}

// 4 KB (the vector loop's lower band), 240 KB, and 240 KB + 12 (a tail not a multiple of 32).
for (const n of [1024, 61440, 61443]) {
  for (const slots of [1, 4]) {
    test(`Node: ${n * 4}-byte frames (${slots} slot${slots > 1 ? 's' : ''}) round-trip through writeFrame/readFrame({ into }) at every 16-byte offset of a 4 KiB period`, (t) => {
      const name = uniqueName(t, `copy-${n}-${slots}`);
      const w = Segment.create(name, { rows: n, fields: ['v'], dtype: 'f32', slots });
      const r = Segment.open(name, { dtype: 'f32' });
      try {
        const into = new ArrayBuffer(n * 4 + 4096 + 64);
        for (let off = 0; off < 4096; off += 16) {
          const src = view(n, (off * 7) % 4096 & ~3, off);
          w.writeFrame(src);
          const dst = new Float32Array(into, off, n);
          const guard = new Uint8Array(into);
          guard.fill(0xa5, 0, off);
          guard.fill(0xa5, off + n * 4);
          const lock = off % 64 === 32;
          assert.notEqual(r.readFrame({ into: dst, lock }), null);
          assert.deepEqual(dst, src, `offset ${off}`);
          assert.ok(guard.subarray(0, off).every((b) => b === 0xa5) && guard.subarray(off + n * 4).every((b) => b === 0xa5),
            `offset ${off}: a byte around the frame changed`);
        }
      } finally {
        r.close();
        w.close();
      }
    });
  }
}

test('Node: readFrameAsync({ into }) delivers into a misaligned view exactly (the staged copy)', async (t) => {
  const n = 61443;
  const name = uniqueName(t, 'copy-async');
  const w = Segment.create(name, { rows: n, fields: ['v'], dtype: 'f32' });
  const r = Segment.open(name, { dtype: 'f32' });
  try {
    for (const off of [4, 16, 48, 4080]) {
      const src = view(n, 0, off);
      w.writeFrame(src);
      const dst = new Float32Array(new ArrayBuffer(n * 4 + 4096), off, n);
      await r.readFrameAsync({ into: dst });
      assert.deepEqual(dst, src, `offset ${off}`);
    }
  } finally {
    r.close();
    w.close();
  }
});

test('Node: an allocating readFrame() returns the whole frame in an array of its own, never one a later read reuses', async (t) => {
  const n = 61443;
  const name = uniqueName(t, 'copy-alloc');
  const w = Segment.create(name, { rows: n, fields: ['v'], dtype: 'f32' });
  const r = Segment.open(name, { dtype: 'f32' });
  try {
    const held = [];
    for (let k = 1; k <= 6; k++) {
      const src = view(n, 0, k);
      w.writeFrame(src);
      const f = k % 2 ? r.readFrame() : await r.readFrameAsync();
      assert.equal(f.data.byteOffset, 0);
      assert.equal(f.data.buffer.byteLength, n * 4);
      assert.deepEqual(f.data, src);
      held.push([f.data, src]);
    }
    for (const [data, src] of held) assert.deepEqual(data, src);
    assert.equal(new Set(held.map(([d]) => d.buffer)).size, held.length);
    // Nothing new: null, and nothing allocated reaches the caller.
    assert.equal(r.readFrame({ since: r.readFrame().sequence }), null);
  } finally {
    r.close();
    w.close();
  }
});
