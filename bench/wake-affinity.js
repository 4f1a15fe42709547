#!/usr/bin/env node
// Why a second wake-up costs so much here: the C wake-up readers of `npm run bench`, free to
// run anywhere and pinned to one vCPU (taskset), against a C writer publishing every 200 µs.
// A wake-up that lands on an idle vCPU of a KVM guest pays for waking that vCPU.
//
//   node bench/wake-affinity.js          (needs bench/c/build/shmbench: run `npm run bench` once)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Segment } from '../dist/core/index.js';

const CBIN = join(dirname(fileURLToPath(import.meta.url)), 'c', 'build', 'shmbench');
if (!existsSync(CBIN)) {
  process.stderr.write('wake-affinity: bench/c/build/shmbench is missing; run `npm run bench -- --only copy --quick` first\n');
  process.exit(1);
}

async function run(mode, pin) {
  const name = `/shmswarm-bench-affinity-${process.pid}`;
  const seg = Segment.create(name, { rows: 100, cols: 10 });
  const ring = Segment.create(`${name}-ring`, { rows: 1 << 16, cols: 1, dtype: 'i64' });
  let writer = null;
  try {
    const args = [CBIN, mode, name, '3000'];
    const reader = pin === null ? spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', pin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (d) => {
      out += d;
      if (!writer && out.includes('ready')) writer = spawn(CBIN, ['wake-writer', name, '200', '30'], { stdio: 'ignore' });
    });
    await new Promise((r) => reader.on('exit', r));
    const s = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))).samples.sort((a, b) => a - b);
    const p = (q) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] / 1e3).toFixed(1);
    process.stdout.write(`${mode.padEnd(17)} ${pin === null ? 'any vCPU  ' : `vCPU ${pin} only`}  p50 ${p(0.5).padStart(6)} µs  p99 ${p(0.99).padStart(7)} µs\n`);
  } finally {
    writer?.kill();
    seg.close();
    ring.close();
    Segment.unlink(name);
    Segment.unlink(`${name}-ring`);
  }
}

for (const mode of ['wake-reader', 'wake-reader-loop']) for (const pin of [null, '1']) await run(mode, pin);
