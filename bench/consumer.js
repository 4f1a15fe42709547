#!/usr/bin/env node
// One consumer against a back-to-back writer, taken apart: how long waitForFrame and readFrame
// take per delivered frame, and how often the wait had to go through the worker thread.
//
//   node bench/consumer.js [rows] [cols]        (default 10000 6: the 240 KB frame)
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Segment, allocFrame, parseDtype } from '../dist/core/index.js';

const rows = Number(process.argv[2] ?? 10_000);
const cols = Number(process.argv[3] ?? 6);
const name = `/shmswarm-bench-consumer-${process.pid}`;
const seg = Segment.create(name, { rows, cols });
const roles = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'roles.js');
const writer = spawn(process.execPath, [roles, 'writer', JSON.stringify({ name, seconds: 2 })], { stdio: ['ignore', 'pipe', 'inherit'] });
let written = '';
writer.stdout.on('data', (d) => (written += d));
try {
  const buf = allocFrame(parseDtype('f32'), rows * cols);
  let last = seg.sequence();
  let frames = 0, workerWaits = 0, locked = 0, waitNs = 0n, readNs = 0n;
  const t0 = process.hrtime.bigint();
  while (process.hrtime.bigint() - t0 < 1_500_000_000n) {
    const s = seg.sequence();
    // The same test waitForFrame makes before it polls or queues a worker-thread wait.
    if (s === last || (s % 2 === 1 && s - 1 === last)) workerWaits++;
    const a = process.hrtime.bigint();
    await seg.waitForFrame(last, { timeoutMs: 3000 });
    const b = process.hrtime.bigint();
    const f = seg.readFrame({ into: buf, since: last });
    readNs += process.hrtime.bigint() - b;
    waitNs += b - a;
    if (!f) continue;
    if (f.locked) locked++;
    last = f.sequence;
    frames++;
  }
  await new Promise((r) => writer.on('exit', r));
  const w = JSON.parse(written.trim());
  process.stdout.write(`${rows} × ${cols} f32: ${frames} frames in 1.5 s (${Math.round(frames / 1.5)}/s) from a writer at ${Math.round(w.fps)}/s\n`);
  process.stdout.write(`per frame: waitForFrame ${(Number(waitNs) / 1e3 / frames).toFixed(1)} µs, readFrame ${(Number(readNs) / 1e3 / frames).toFixed(1)} µs; `);
  process.stdout.write(`waits that could not answer at once ${workerWaits}; reads under the mutex ${locked}\n`);
} finally {
  writer.kill();
  seg.close();
  Segment.unlink(name);
}
