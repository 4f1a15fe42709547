#!/usr/bin/env node
// The allocating readFrame() against readFrame({ into }) and the destinations it could use, in one
// process, interleaved: loops of reads of one 240 KB frame, mean per read (garbage collection and
// page faults included). Issue 22's "first read": node bench/alloc-read.js [reads per loop]
import { Segment, allocFrame, parseDtype } from '../dist/core/index.js';

const reads = Number(process.argv[2] ?? 2000);
const n = 61440;
const name = `/shmswarm-bench-alloc-${process.pid}`;
const seg = Segment.create(name, { rows: n, fields: ['v'], dtype: 'f32' });
Segment.unlink(name);
try {
  seg.writeFrame(new Float32Array(n).fill(2));
  const F32 = parseDtype('f32');
  const into = allocFrame(F32, n);
  const cases = {
    'readFrame({ into })': () => seg.readFrame({ into }),
    'readFrame()': () => seg.readFrame(),
    'into Buffer.allocUnsafeSlow (no zero fill)': () => seg.readFrame({ into: new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n) }),
    'into allocFrame (what readFrame() used before)': () => seg.readFrame({ into: allocFrame(F32, n) }),
  };
  for (let round = 0; round < 3; round++) {
    const row = [];
    for (const [k, f] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reads; i++) f();
      row.push(`${k} ${(Number(process.hrtime.bigint() - t0) / reads / 1e3).toFixed(1)} µs`);
    }
    process.stdout.write(row.join(' | ') + '\n');
  }
} finally {
  seg.close();
}
