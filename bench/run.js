#!/usr/bin/env node
// `npm run bench`: shmswarm against the memory limit and against the alternatives, on this machine,
// every comparison made inside this one run. A table on stdout, everything in bench/results/latest.json.
//
//   node bench/run.js [--only copy,offsets,wake,interference,alternatives,cli] [--quick] [--out FILE]
//   node bench/run.js --targets FILE     the targets table of an earlier run's JSON
//
// Sections (docs/PERFORMANCE.md explains each figure):
//   copy          items 1, 2, 3, 8: memcpy limit, publish, consistent read, growth with size
//   offsets       issue 22: writeFrame / readFrame({ into }) / C write/read from every 16-byte offset of a
//                 4 KiB period against aligned memcpy; the allocating readFrame() beside the `into` read
//   wake          item 4: writer -> reader wake latency in another process, C futex vs waitForFrame
//   interference  items 5, 8: writer rate with 0/1/3 watchers, continuous and locking readers
//   alternatives  item 6: frames/s end to end against sockets (raw, JSON) and Python shared_memory
//   cli           item 7: shmswarm info start-up, dump throughput, simulate boids steps/s
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync, readFileSync, rmSync, statSync, readdirSync, openSync, closeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgsOrExit, usageExit } from './lib/args.js';
import { latencySummary, median } from './lib/measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const ROLES = join(HERE, 'lib', 'roles.js');
const PY = join(HERE, 'py', 'shm_numpy.py');
const BIN = join(ROOT, 'bin', 'shmswarm');
const CBIN = join(HERE, 'c', 'build', 'shmbench');
const PREFIX = `/shmswarm-bench-${process.pid}-`;

const SIZES = [
  { label: '4 KB', rows: 100, cols: 10 },
  { label: '240 KB', rows: 10_000, cols: 6 },
  { label: '24 MB', rows: 1_000_000, cols: 6 },
];

// ---------------------------------------------------------------- arguments
const SECTIONS = ['copy', 'offsets', 'wake', 'interference', 'alternatives', 'cli'];
const USAGE = `usage: node bench/run.js [--only ${SECTIONS.join(',')}] [--quick] [--out FILE]
       node bench/run.js --targets FILE`;
// A mistyped option stops here instead of starting a six-minute run that overwrites latest.json.
const args = parseArgsOrExit('bench', USAGE, {
  options: { only: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, targets: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
}).values;
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const quick = Boolean(args.quick);
const only = args.only?.split(',');
const unknown = only?.filter((s) => !SECTIONS.includes(s)) ?? [];
if (unknown.length) usageExit('bench', USAGE, `no section ${unknown.join(', ')}`);
const outFile = args.out ?? join(HERE, 'results', 'latest.json');
const want = (s) => !only || only.includes(s);

// ---------------------------------------------------------------- processes and names
const children = new Set();
const names = new Set();
let nameCount = 0;
const newName = (label) => {
  const n = `${PREFIX}${label}-${++nameCount}`;
  names.add(n);
  return n;
};
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  for (const n of names) rmSync('/dev/shm' + n, { force: true });
  for (const e of readdirSync('/dev/shm')) if (e.startsWith(PREFIX.slice(1)) || e.startsWith('shmswarm-bench-py-' + process.pid)) rmSync('/dev/shm/' + e, { force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** A child whose stdout lines are collected; `ready` resolves at its "ready" line. */
function start(cmd, args, { stdin = 'ignore', env } = {}) {
  const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
  children.add(child);
  let buf = '';
  let err = '';
  const lines = [];
  let onLine = null;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  const line = (pred) => new Promise((resolve, reject) => {
    const hit = lines.find(pred);
    if (hit !== undefined) return resolve(hit);
    onLine = (l) => pred(l) && resolve(l);
    exited.then(() => setTimeout(() => {
      const late = lines.find(pred);
      if (late !== undefined) resolve(late);
      else reject(new Error(`${cmd} ${args.join(' ')} exited without the expected output: ${err.trim().split('\n').slice(0, 6).join(' | ')}`));
    }, 50));
  });
  return {
    child,
    ready: () => line((l) => l === 'ready'),
    result: async () => JSON.parse(await line((l) => l.startsWith('{'))),
    exited,
  };
}
const role = (name, args, env) => start(process.execPath, [ROLES, name, JSON.stringify(args)], { env });
const runJson = (cmd, args) => JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 }).trim().split('\n').pop());

// ---------------------------------------------------------------- output
const results = {};
function table(title, head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => String(c)));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  process.stdout.write(`\n${title}\n${fmt(cells[0])}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n`);
  for (const r of cells.slice(1)) process.stdout.write(fmt(r) + '\n');
}
const ns = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e4 ? `${(v / 1e3).toFixed(1)} µs` : v >= 1e3 ? `${(v / 1e3).toFixed(2)} µs` : `${Math.round(v)} ns`);
const x = (r) => `${r.toFixed(2)}×`;
const num = (v) => (!Number.isFinite(v) ? 'n/a' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const log = (m) => process.stderr.write(`bench: ${m}\n`);

// ---------------------------------------------------------------- environment
function machine() {
  const sh = (c, a) => {
    try {
      return execFileSync(c, a, { encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? null,
    nproc: cpus().length,
    node: process.version,
    gcc: sh('gcc', ['-dumpfullversion']),
    python: sh('python3', ['-c', 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)']),
    kernel: sh('uname', ['-r']),
    loadavgStart: loadavg(),
    quick,
  };
}

function buildC() {
  mkdirSync(dirname(CBIN), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-I', join(ROOT, 'include'), '-o', CBIN, join(HERE, 'c', 'shmbench.c'), '-lpthread', '-lrt'], { stdio: 'inherit' });
}

// ---------------------------------------------------------------- 1, 2, 3, 8: copy costs
async function sectionCopy() {
  const out = [];
  for (const s of SIZES) {
    // Many short batches: on a loaded machine the best of them is the one nobody interrupted.
    const batchMs = s.rows >= 1e6 ? 10 : 3;
    log(`copy ${s.label}`);
    // Interleaved rounds of the C and the Node process; each figure is the best of them all.
    const c = [], n = [];
    for (let round = 0; round < (quick ? 1 : 4); round++) {
      c.push(runJson(CBIN, ['copy', String(s.rows), String(s.cols), String(batchMs)]));
      const r = role('copy', { name: newName('copy'), rows: s.rows, cols: s.cols, batchMs });
      n.push(await r.result());
    }
    const best = (rs, k) => Math.min(...rs.map((r) => (Array.isArray(r[k]) ? r[k][0] : r[k])));
    const meds = (rs, k) => median(rs.map((r) => (Array.isArray(r[k]) ? r[k][1] : r[k])));
    const C = (k) => best(c, k), N = (k) => best(n, k);
    const row = { size: s.label, bytes: s.rows * s.cols * 4, c: {}, node: {}, cMedian: {}, nodeMedian: {} };
    for (const k of Object.keys(c[0])) if (k !== 'bytes') { row.c[k] = C(k); row.cMedian[k] = meds(c, k); }
    for (const k of Object.keys(n[0])) if (k !== 'bytes') { row.node[k] = N(k); row.nodeMedian[k] = meds(n, k); }
    out.push(row);
  }
  const lw = (r) => r.c.memcpyWrite, lr = (r) => r.c.memcpyRead;
  table('1-2. Publish one frame (best batch; ratio to the C memcpy into the segment = the limit)',
    ['size', 'memcpy (limit)', 'C write_frame', 'Node writeFrame', 'writeFrame, aligned src', 'Node in-place', 'paced 60 Hz: memcpy', 'C write_frame', 'Node writeFrame'],
    out.map((r) => [r.size, ns(lw(r)),
      `${ns(r.c.writeFrame)} ${x(r.c.writeFrame / lw(r))}`,
      `${ns(r.node.writeFrame)} ${x(r.node.writeFrame / lw(r))}`,
      `${ns(r.node.writeFrameAlignedSrc)} ${x(r.node.writeFrameAlignedSrc / lw(r))}`,
      `${ns(r.node.inPlace)} ${x(r.node.inPlace / lw(r))}`,
      ns(r.c.pacedMemcpyNs), ns(r.c.pacedWriteFrameNs), ns(r.node.pacedWriteFrameNs)]));
  table('3. Consistent read of one frame (ratio to the C memcpy out of the segment)',
    ['size', 'memcpy (limit)', 'memcpy to +16 B', 'C lock-free', 'C locked', 'Node lock-free', 'Node auto', 'Node locked', 'Node lock-free into new Float32Array', 'Node unchanged (since)'],
    out.map((r) => [r.size, ns(lr(r)), `${ns(r.c.memcpyReadMisaligned)} ${x(r.c.memcpyReadMisaligned / lr(r))}`,
      `${ns(r.c.readLockFree)} ${x(r.c.readLockFree / lr(r))}`, `${ns(r.c.readLocked)} ${x(r.c.readLocked / lr(r))}`,
      `${ns(r.node.readLockFree)} ${x(r.node.readLockFree / lr(r))}`, `${ns(r.node.readAuto)} ${x(r.node.readAuto / lr(r))}`,
      `${ns(r.node.readLocked)} ${x(r.node.readLocked / lr(r))}`,
      `${ns(r.node.readLockFreePlain)} ${x(r.node.readLockFreePlain / lr(r))}`, ns(r.node.readUnchanged)]));
  table('8. How cost grows with the frame (Node, per frame and per byte)',
    ['size', 'writeFrame', 'ns/KB', 'readFrame lock-free', 'ns/KB', 'fixed cost over memcpy: write', 'read'],
    out.map((r) => [r.size, ns(r.node.writeFrame), (r.node.writeFrame / (r.bytes / 1024)).toFixed(1),
      ns(r.node.readLockFree), (r.node.readLockFree / (r.bytes / 1024)).toFixed(1),
      ns(r.node.writeFrame - lw(r)), ns(r.node.readLockFree - lr(r))]));
  results.copy = out;
}

// ---------------------------------------------------------------- issue 22: copies from any address
// Per offset the best of `reps` sweeps (the paths interleaved inside each process, the C and the Node
// process in alternating rounds), then the median and the worst over the 256 offsets; every ratio
// is paired: each offset's figure over its process's aligned memcpy (or the same path from aligned
// buffers) measured at the same offset.
const OFFSET_SIZES = [
  { label: '4 KB', bytes: 4096, reps: 15, inner: 32, rounds: 5 },
  { label: '240 KB', bytes: 245760, reps: 9, inner: 1, rounds: 5 },
  { label: '24 MB', bytes: 24 * 1024 * 1024, reps: 4, inner: 1, rounds: 3 },
];
async function sectionOffsets() {
  const out = [];
  const stats = (a) => ({ median: median(a), worst: Math.max(...a) });
  for (const s of OFFSET_SIZES) {
    log(`offsets ${s.label}`);
    const c = [], n = [], ca = [];
    const rounds = quick ? 1 : s.rounds;
    for (let round = 0; round < rounds; round++) {
      c.push(runJson(CBIN, ['offsets', String(s.bytes), String(s.reps), String(s.inner)]));
      if (s.bytes < 1e7) ca.push(runJson(CBIN, ['offsets', String(s.bytes), String(s.reps), String(s.inner), 'aliased']));
      const r = role('offsets', { name: newName('offsets'), bytes: s.bytes, reps: s.reps, inner: s.inner, loop: s.bytes > 1e7 ? 20 : 2000 });
      n.push(await r.result());
    }
    // Best of the rounds at each offset: load that hit one round is not the copy's cost.
    const perOffset = (rs, k) => rs[0][k].map((_, o) => Math.min(...rs.map((r) => r[k][o])));
    // Ratios are paired: each offset's figure over the reference measured at the same offset in
    // the same process, then the median of the rounds' ratios. At 24 MB the aligned memcpy itself
    // moved by 1.3x between offsets (memory bandwidth shared with the host), which a ratio to its
    // median counted against every path; and each process has its own physical pages, so a best
    // of the rounds taken per path could divide one process's figure by another's.
    const paired = (rs, k, ref) => stats(rs[0][k].map((_, o) => median(rs.map((r) => r[k][o] / r[ref][o]))));
    const refOf = (k) => (/write/i.test(k) ? 'memcpyWriteAligned' : 'memcpyReadAligned');
    const sameAligned = { writeFrame: 'writeFrameAligned', readFrame: 'readFrameAligned' };
    const row = { size: s.label, bytes: s.bytes, reps: s.reps, rounds };
    for (const k of ['memcpyWriteAligned', 'memcpyReadAligned', 'memcpyWrite', 'memcpyRead', 'writeFrame', 'readFrame', 'writeFrameAligned', 'readFrameAligned'])
      for (const [tag, rs] of [['c', c], ['ca', ca]])
        if (rs.length) {
          row[`${tag}_${k}`] = stats(perOffset(rs, k));
          row[`${tag}_${k}_x`] = paired(rs, k, refOf(k));
          if (sameAligned[k]) row[`${tag}_${k}_xa`] = paired(rs, k, sameAligned[k]);
        }
    for (const k of ['writeFrame', 'readFrame', 'writeFrameAligned', 'readFrameAligned', 'memcpyWriteAligned', 'memcpyReadAligned']) {
      row[`node_${k}`] = stats(perOffset(n, k));
      row[`node_${k}_x`] = paired(n, k, refOf(k));
      if (sameAligned[k]) row[`node_${k}_xa`] = paired(n, k, sameAligned[k]);
    }
    row.loopInto = Math.min(...n.map((r) => r.loopInto));
    row.loopAlloc = Math.min(...n.map((r) => r.loopAlloc));
    out.push(row);
  }
  results.offsets = out;
  // Absolute median / worst over the offsets, each with the paired ratio's median / worst.
  const cell = (v, ratio) => `${ns(v.median)} ${x(ratio.median)} / ${ns(v.worst)} ${x(ratio.worst)}`;
  const plain = (v) => `${ns(v.median)} / ${ns(v.worst)}`;
  const title = (who, ref) => `Copies from any address, ${who}: median / worst over 256 offsets (every 16 B of 4 KiB), each with the median / worst of its ratio to ${ref} at the same offset — ${results.machine.cpu}`;
  const cTable = (tag, who, ref) => table(title(who, ref),
    ['size', 'memcpy aligned → segment', 'memcpy from offset', 'write_frame', 'write_frame, aligned', 'memcpy segment → aligned', 'memcpy to offset', 'read_frame', 'read_frame, aligned'],
    out.filter((r) => r[`${tag}_writeFrame`]).map((r) => [r.size, plain(r[`${tag}_memcpyWriteAligned`]), cell(r[`${tag}_memcpyWrite`], r[`${tag}_memcpyWrite_x`]),
      cell(r[`${tag}_writeFrame`], r[`${tag}_writeFrame_x`]), cell(r[`${tag}_writeFrameAligned`], r[`${tag}_writeFrameAligned_x`]), plain(r[`${tag}_memcpyReadAligned`]),
      cell(r[`${tag}_memcpyRead`], r[`${tag}_memcpyRead_x`]), cell(r[`${tag}_readFrame`], r[`${tag}_readFrame_x`]), cell(r[`${tag}_readFrameAligned`], r[`${tag}_readFrameAligned_x`])]));
  cTable('c', 'C process', 'memcpy between the same buffers at offset 0 (page-aligned) and the segment');
  cTable('ca', 'C process, the swept buffers where Zen 4 aliases (2 KiB either side of the frame modulo 256 MiB)', 'memcpy between page-aligned buffers of their own and the segment');
  table(title('Node process (views at every offset of 64-byte-aligned buffers)', 'TypedArray#set between the same buffers at offset 0 and the segment'),
    ['size', 'set aligned → segment', 'writeFrame', 'writeFrame, aligned', 'set segment → aligned', 'readFrame({ into })', 'readFrame, aligned into'],
    out.map((r) => [r.size, plain(r.node_memcpyWriteAligned), cell(r.node_writeFrame, r.node_writeFrame_x), cell(r.node_writeFrameAligned, r.node_writeFrameAligned_x),
      plain(r.node_memcpyReadAligned), cell(r.node_readFrame, r.node_readFrame_x), cell(r.node_readFrameAligned, r.node_readFrameAligned_x)]));
  table('Reads in a loop, Node (mean per call, garbage collection included; ratio to TypedArray#set segment → aligned)',
    ['size', 'readFrame({ into })', 'readFrame() (allocates)'],
    out.map((r) => [r.size, `${ns(r.loopInto)} ${x(r.loopInto / r.node_memcpyReadAligned.median)}`, `${ns(r.loopAlloc)} ${x(r.loopAlloc / r.node_memcpyReadAligned.median)}`]));
}

// ---------------------------------------------------------------- 4: wake latency
async function sectionWake() {
  const { Segment } = await import('../dist/core/index.js');
  const samples = quick ? 2000 : 10_000;
  // SHMSWARM_WAIT=thread forces the worker-thread wait that io_uring replaced (two wake-ups).
  const readers = ['C shmswarm_wait', 'C via worker + eventfd', 'Node waitForFrame', 'Node waitForFrame, lowLatency', 'Node waitForFrame, worker thread'];
  // Rounds interleave the three readers so they share the machine's load; samples are pooled.
  const rounds = quick ? 1 : 4;
  const out = [];
  for (const gapUs of [200, 0]) {
    const pooled = Object.fromEntries(readers.map((r) => [r, []]));
    let published = 0;
    for (let round = 0; round < rounds; round++) {
      for (const reader of readers) {
        log(`wake ${reader}, gap ${gapUs} µs, round ${round + 1}`);
        const n = samples / rounds;
        const name = newName('wake');
        const seg = Segment.create(name, { rows: 100, cols: 10 });
        const ring = Segment.create(`${name}-ring`, { rows: 1 << 20, cols: 1, dtype: 'i64' });
        names.add(`${name}-ring`);
        const r = reader.startsWith('C shm') ? start(CBIN, ['wake-reader', name, String(n)])
          : reader.startsWith('C via') ? start(CBIN, ['wake-reader-loop', name, String(n)])
            : role('wake-reader', { name, samples: n, lowLatency: reader.endsWith('lowLatency') }, reader.endsWith('worker thread') ? { SHMSWARM_WAIT: 'thread' } : undefined);
        await r.ready();
        const w = start(CBIN, ['wake-writer', name, String(gapUs), '120']);
        const res = await r.result();
        w.child.kill('SIGTERM');
        published += (await w.result()).published;
        await w.exited;
        seg.close();
        ring.close();
        Segment.unlink(name);
        Segment.unlink(`${name}-ring`);
        names.delete(name);
        names.delete(`${name}-ring`);
        for (const v of res.samples) pooled[reader].push(v);
      }
    }
    for (const reader of readers) out.push({ gapUs, reader, published, ...latencySummary(pooled[reader]) });
  }
  const us = (v) => `${v.toFixed(1)} µs`;
  table(`4. Wake latency, C writer -> reader in another process (${samples.toLocaleString('en-US')} frames each)`,
    ['frames', 'reader', 'p50', 'p99', 'p99.9', 'max', 'p50 added over C'],
    out.map((r) => {
      const c = out.find((o) => o.gapUs === r.gapUs && o.reader.startsWith('C shm'));
      return [r.gapUs ? `${r.gapUs} µs apart` : 'back to back', r.reader, us(r.p50Us), us(r.p99Us), us(r.p999Us), us(r.maxUs),
        r === c ? '' : us(r.p50Us - c.p50Us)];
    }));
  results.wake = out;
}

// ---------------------------------------------------------------- 5: interference
// Watchers look every 100 ms, `shmswarm watch`'s default on a terminal; continuous readers copy
// every new frame as fast as they can; the locking reader copies every new frame under the mutex.
const CONFIGS = [
  { label: 'writer alone', readers: [] },
  { label: '1 watcher (10 Hz)', readers: ['watch'] },
  { label: '3 watchers (10 Hz)', readers: ['watch', 'watch', 'watch'] },
  { label: '1 continuous reader', readers: ['spin'] },
  { label: '3 continuous readers', readers: ['spin', 'spin', 'spin'] },
  { label: '1 locking reader', readers: ['lock'] },
  { label: 'writer alone again', readers: [] },
];

// Each size runs with the default single frame buffer and with three slots (`--slots 3`), where
// the writer fills one slot while readers copy the last whole one.
const SLOT_COUNTS = [1, 3];

async function sectionInterference() {
  const { Segment } = await import('../dist/core/index.js');
  const seconds = quick ? 1 : 2;
  const out = [];
  const watcherCost = [];
  for (const s of SIZES) {
    for (const slots of SLOT_COUNTS) {
      const rows = [];
      for (const cfg of CONFIGS) {
        log(`interference ${s.label}, ${slots} slot${slots > 1 ? 's' : ''}: ${cfg.label}`);
        const name = newName('intf');
        const seg = Segment.create(name, { rows: s.rows, cols: s.cols, slots });
        const readers = cfg.readers.map((kind) => role('reader', { name, kind, hz: 10 }));
        await Promise.all(readers.map((r) => r.ready()));
        const w = role('writer', { name, seconds });
        const wr = await w.result();
        const rr = await Promise.all(readers.map((r) => r.result()));
        seg.close();
        Segment.unlink(name);
        names.delete(name);
        rows.push({ size: s.label, slots, config: cfg.label, writer: wr, readers: rr });
      }
      // Three watchers' cost, the 5 % target, is below the noise of one 2 s comparison on this kind
      // of host (two identical solo runs above often differ by 10 %): also measure it as the median
      // of interleaved 1 s pairs, the writer alone then with three watchers.
      const pairs = { alone: [], watched: [] };
      for (let pair = 0; pair < (quick ? 2 : 4); pair++) {
        log(`interference ${s.label}, ${slots} slot${slots > 1 ? 's' : ''}: watcher cost, pair ${pair + 1}`);
        for (const watched of [false, true]) {
          const name = newName('intf');
          const seg = Segment.create(name, { rows: s.rows, cols: s.cols, slots });
          const readers = watched ? [0, 1, 2].map(() => role('reader', { name, kind: 'watch', hz: 10 })) : [];
          await Promise.all(readers.map((r) => r.ready()));
          const wr = await role('writer', { name, seconds: 1 }).result();
          await Promise.all(readers.map((r) => r.result()));
          seg.close();
          Segment.unlink(name);
          names.delete(name);
          pairs[watched ? 'watched' : 'alone'].push(wr.fps);
        }
      }
      watcherCost.push({ size: s.label, slots, aloneFps: pairs.alone, watchedFps: pairs.watched, cost: 1 - median(pairs.watched) / median(pairs.alone) });
      // The writer alone, before and after the others: the mean is the reference (load drifts).
      const alone = rows.filter((r) => r.readers.length === 0);
      const solo = alone.reduce((a, r) => a + r.writer.fps, 0) / alone.length;
      const soloCpu = alone.reduce((a, r) => a + r.writer.fpsCpu, 0) / alone.length;
      const limitMs = Math.max(10, 2000 / solo);
      for (const r of rows) {
        const rr = r.readers;
        out.push({
          ...r, fps: r.writer.fps, ratio: r.writer.fps / solo, ratioCpu: r.writer.fpsCpu / soloCpu, limitMs,
          torn: rr.reduce((a, q) => a + q.torn, 0),
          worstGapMs: rr.length ? Math.max(...rr.map((q) => q.maxGapMs)) : null,
          progress: rr.every((q) => q.whole > 0 && (q.kind === 'watch' ? q.emptyTicks === 0 : q.maxGapMs <= limitMs)),
        });
      }
    }
  }
  // The scheduler's own floor for "worst gap": as many busy C loops as there are busy processes
  // above (writer + 1 or 3 readers), no shared memory, the same length of time.
  const control = [];
  for (const n of [2, 4]) {
    log(`interference control: ${n} busy loops`);
    const ps = Array.from({ length: n }, () => start(CBIN, ['spin-gaps', String(seconds * 1000)]));
    const gaps = (await Promise.all(ps.map((p) => p.result()))).map((r) => r.maxGapMs);
    control.push({ processes: n, worstGapMs: Math.max(...gaps), gapsMs: gaps });
  }
  results.interferenceControl = control;
  table(`5. Interference: writer publishing back to back (Node writeFrame) for ${seconds} s`,
    ['size', 'slots', 'readers', 'writer frames/s', 'vs alone', 'per CPU-s vs alone', 'writer off CPU', 'slept', 'preempted', 'whole frames read (each reader)', 'locked fallbacks', 'worst gap', 'limit', 'torn accepted', 'progress'],
    out.map((r) => [r.size, r.slots, r.config, num(r.fps), `${(r.ratio * 100).toFixed(1)}%`, `${(r.ratioCpu * 100).toFixed(1)}%`,
      `${Math.max(0, (1 - r.writer.cpuSeconds / r.writer.seconds) * 100).toFixed(0)}%`, r.writer.sleeps, r.writer.preempted,
      r.readers.map((q) => q.whole).join(' / ') || '-', r.readers.map((q) => q.locked).join(' / ') || '-',
      r.worstGapMs === null ? '-' : `${r.worstGapMs.toFixed(2)} ms`, `${r.limitMs.toFixed(1)} ms`, r.torn,
      r.readers.length ? (r.progress ? 'yes' : 'NO') : '-']));
  process.stdout.write(control.map((c) => `control: ${c.processes} busy C loops on ${results.machine.nproc} vCPUs, no shared memory: worst gap ${c.worstGapMs.toFixed(2)} ms (${c.gapsMs.map((g) => g.toFixed(1)).join(' / ')})`).join('\n') + '\n');
  table('5b. Three 10 Hz watchers\' cost to the writer: medians of interleaved 1 s runs, alone / with the watchers',
    ['size', 'slots', 'writer alone, frames/s', 'with 3 watchers', 'cost'],
    watcherCost.map((w) => [w.size, w.slots, w.aloneFps.map(num).join(' / '), w.watchedFps.map(num).join(' / '), `${(w.cost * 100).toFixed(1)} %`]));
  results.interference = out;
  results.watcherCost = watcherCost;
}

// ---------------------------------------------------------------- 6: alternatives
async function sectionAlternatives() {
  const out = [];
  for (const s of SIZES) {
    const bytes = s.rows * s.cols * 4;
    const seconds = quick ? 1 : 2;
    // Interleaved rounds; each method keeps its better one (load drifts during the run).
    const rounds = [];
    for (let round = 0; round < (quick ? 1 : 2); round++) rounds.push(await alternativesRound(s, bytes, seconds));
    const row = { size: s.label, bytes };
    for (const k of ['shmswarm', 'shmswarm3', 'c3', 'raw', 'json', 'python'])
      row[k] = rounds.map((r) => r[k]).reduce((a, b) => ((b.fps || 0) > (a.fps || 0) ? b : a));
    out.push(row);
  }
  results.alternatives = out;
  table('6. End to end: whole frames per second from a writer process to a consumer process (each frame copied once)',
    ['size', 'shmswarm', '3 slots', 'C, 3 slots', 'raw bytes, Unix socket', 'JSON, Unix socket', 'Python shared_memory + numpy', '3 slots / raw', '3 slots / JSON', '3 slots / Python', '1 slot / raw', '1 slot / Python', 'torn: shmswarm', 'Python'],
    out.map((r) => [r.size, num(r.shmswarm.fps), num(r.shmswarm3.fps), num(r.c3.fps), num(r.raw.fps), num(r.json.fps), num(r.python.fps),
      x(r.shmswarm3.fps / r.raw.fps), x(r.shmswarm3.fps / r.json.fps), vsPython(r.shmswarm3.fps, r.python),
      x(r.shmswarm.fps / r.raw.fps), vsPython(r.shmswarm.fps, r.python), r.shmswarm.torn + r.shmswarm3.torn + r.c3.torn, r.python.torn]));
}

// A ratio to Python's whole frames/s, or what happened when it delivered none (every copy it
// made was torn): a ratio to zero would print as Infinity×.
function vsPython(fps, py) {
  if (!Number.isFinite(py.fps)) return 'n/a';
  if (py.fps > 0) return x(fps / py.fps);
  return `Python: ${py.frames ?? 0} whole frames, ${py.torn} torn`;
}

async function alternativesRound(s, bytes, seconds) {
  const { Segment } = await import('../dist/core/index.js');
  const row = {};
  // A consumer started first, then a writer publishing back to back into a fresh segment.
  const pair = async (label, slots, consumer, writer) => {
    log(`alternatives ${s.label}: ${label}`);
    const name = newName('alt');
    const seg = Segment.create(name, { rows: s.rows, cols: s.cols, slots });
    const c = consumer(name);
    await c.ready();
    await writer(name).result();
    const r = await c.result();
    seg.close();
    Segment.unlink(name);
    names.delete(name);
    return r;
  };
  for (const slots of SLOT_COUNTS)
    row[slots === 1 ? 'shmswarm' : `shmswarm${slots}`] = await pair(`shmswarm, ${slots} slot${slots > 1 ? 's' : ''}`, slots,
      (name) => role('shm-consumer', { name }), (name) => role('writer', { name, seconds }));
  // The same pair in C (shmswarm_write_frame / shmswarm_wait + read): the protocol's own limit.
  row.c3 = await pair('shmswarm in C, 3 slots', 3,
    (name) => start(CBIN, ['e2e-consumer', name]), (name) => start(CBIN, ['e2e-writer', name, String(seconds)]));
  for (const mode of ['raw', 'json']) {
    log(`alternatives ${s.label}: ${mode} over a Unix socket`);
    const path = join(tmpdir(), `shmswarm-bench-${process.pid}-${mode}.sock`);
    rmSync(path, { force: true });
    const c = role('sock-consumer', { path, bytes, mode });
    await c.ready();
    const w = role('sock-writer', { path, bytes, mode, seconds });
    await w.result();
    row[mode] = await c.result();
    rmSync(path, { force: true });
  }
  if (!results.machine.python) {
    row.python = { fps: NaN, torn: '-', skipped: 'python3 with numpy not found' };
    return row;
  }
  log(`alternatives ${s.label}: Python shared_memory + numpy`);
  {
    const name = `shmswarm-bench-py-${process.pid}-${s.rows}`;
    names.add('/' + name);
    const w = start('python3', [PY, 'writer', name, String(bytes), String(seconds)], { stdin: 'pipe' });
    await w.ready();
    const c = start('python3', [PY, 'reader', name, String(bytes)]);
    await c.ready();
    w.child.stdin.write('go\n');
    await w.result();
    row.python = await c.result();
    w.child.stdin.end('done\n');
    await w.exited;
  }
  return row;
}
// ---------------------------------------------------------------- 7: the CLI
function cliReady() {
  const ok = (args) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' }).status === 0;
  return ok(['dump', '--help']) && ok(['simulate', '--help']) && ok(['info', '--help']);
}

function wallMs(cmd, args, runs) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  return { best: Math.min(...t), median: median(t) };
}

async function sectionCli() {
  if (!cliReady()) {
    log('cli: dump/simulate not available yet; item 7 pending');
    results.cli = { pending: true };
    return;
  }
  const { Segment } = await import('../dist/core/index.js');
  const out = {};
  const runs = quick ? 5 : 15;
  const name = newName('cli');
  const seg = Segment.create(name, { rows: 1_000_000, cols: 6, fields: 'x,y,z,vx,vy,vz' });
  const data = new Float32Array(6_000_000);
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 200 - 100;
  seg.writeFrame(data);
  log('cli: start-up');
  // Interleaved, so both see the same load.
  // Interleaved, so all see the same load; --version parses without the core or the addon.
  const node0 = [], version = [], info = [];
  for (let i = 0; i < runs; i++) {
    node0.push(wallMs(process.execPath, ['-e', '0'], 1).best);
    version.push(wallMs(process.execPath, [BIN, '--version'], 1).best);
    info.push(wallMs(process.execPath, [BIN, 'info', name], 1).best);
  }
  out.startup = {
    nodeMs: median(node0), versionMs: median(version), infoMs: median(info),
    nodeBestMs: Math.min(...node0), versionBestMs: Math.min(...version), infoBestMs: Math.min(...info),
  };
  // What a dump costs before its first value: the same command for one agent.
  const floor = [];
  for (let i = 0; i < runs; i++) floor.push(wallMs(process.execPath, [BIN, 'dump', name, '--csv', '--rows', '0:1'], 1).best);
  out.dumpStartupMs = Math.min(...floor);
  for (const fmt of ['csv', 'npy']) {
    log(`cli: dump --${fmt}`);
    const file = join(tmpdir(), `shmswarm-bench-${process.pid}.${fmt}`);
    const t = [];
    let size = 0;
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const fd = openSync(file, 'w');
      const t0 = process.hrtime.bigint();
      const args = fmt === 'csv' ? ['--csv'] : ['--npy', '-'];
      const r = spawnSync(process.execPath, [BIN, 'dump', name, ...args], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      closeSync(fd);
      if (r.status !== 0) throw new Error(`dump --${fmt} failed: ${r.stderr}`);
      size = statSync(file).size;
    }
    rmSync(file, { force: true });
    const ms = Math.min(...t);
    const work = ms - out.dumpStartupMs;
    out[fmt] = {
      ms, outputBytes: size, frameMBps: 24 / (ms / 1000), outputMBps: size / 1e6 / (ms / 1000),
      frameMBpsAfterStartup: 24 / (work / 1000), outputMBpsAfterStartup: size / 1e6 / (work / 1000),
    };
  }
  seg.close();
  Segment.unlink(name);
  names.delete(name);
  out.boids = [];
  for (const agents of [1_000, 10_000, 100_000]) {
    log(`cli: simulate boids ${agents}`);
    out.boids.push({ agents, ...(await boids(agents)) });
  }
  table('7. The CLI', ['measure', 'value', 'against'],
    [['shmswarm info wall time (median)', `${out.startup.infoMs.toFixed(1)} ms`, `node -e 0: ${out.startup.nodeMs.toFixed(1)} ms (${x(out.startup.infoMs / out.startup.nodeMs)})`],
      ['shmswarm --version wall time (median)', `${out.startup.versionMs.toFixed(1)} ms`, `${x(out.startup.versionMs / out.startup.nodeMs)} node -e 0`],
      ['shmswarm info wall time (best)', `${out.startup.infoBestMs.toFixed(1)} ms`, `node -e 0: ${out.startup.nodeBestMs.toFixed(1)} ms (${x(out.startup.infoBestMs / out.startup.nodeBestMs)})`],
      ['dump --csv, 24 MB frame', `${num(out.csv.frameMBps)} MB/s of frame`, `${num(out.csv.outputMBps)} MB/s of CSV, ${(out.csv.ms / 1000).toFixed(2)} s`],
      ['dump --csv, after start-up', `${num(out.csv.frameMBpsAfterStartup)} MB/s of frame`, `${num(out.csv.outputMBpsAfterStartup)} MB/s of CSV; start-up (--rows 0:1) ${out.dumpStartupMs.toFixed(0)} ms`],
      ['dump --npy, 24 MB frame', `${num(out.npy.frameMBps)} MB/s`, `${(out.npy.ms / 1000).toFixed(3)} s`],
      ...out.boids.map((b) => [`simulate --pattern boids, ${b.agents.toLocaleString('en-US')} agents`, `${num(b.stepsPerSec)} steps/s`, `${(b.nsPerAgentStep).toFixed(0)} ns per agent-step`])]);
  results.cli = out;
}

// Run `simulate --pattern boids` as fast as it goes for a few seconds; steps are frames published.
async function boids(agents) {
  const { Segment } = await import('../dist/core/index.js');
  const name = newName('boids');
  const seconds = quick ? 2 : 4;
  const p = start(process.execPath, [BIN, 'simulate', name, '--pattern', 'boids', '--agents', String(agents), '--rate', '0', '--unlink-on-exit']);
  let seg = null;
  const t0 = Date.now();
  while (!seg && Date.now() - t0 < 10_000) {
    try {
      seg = Segment.open(name, { readonly: true });
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  if (!seg) throw new Error(`simulate did not create ${name}`);
  await new Promise((r) => setTimeout(r, 500)); // warm-up
  const f0 = seg.info().frames, a = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const f1 = seg.info().frames, b = process.hrtime.bigint();
  seg.close();
  p.child.kill('SIGTERM');
  await p.exited;
  rmSync('/dev/shm' + name, { force: true });
  names.delete(name);
  const stepsPerSec = (f1 - f0) / (Number(b - a) / 1e9);
  return { stepsPerSec, nsPerAgentStep: 1e9 / stepsPerSec / agents };
}

// ---------------------------------------------------------------- the targets of issue 5
function targets() {
  const rows = [];
  const add = (what, value, ok) => rows.push([what, value, ok === null ? 'n/a' : ok ? 'met' : 'MISSED']);
  const c = results.copy;
  if (c) {
    const by = (label) => c.find((r) => r.size === label);
    for (const l of ['240 KB', '24 MB']) {
      const r = by(l);
      add(`publish ${l}: writeFrame ≤ 1.2× memcpy`, x(r.node.writeFrame / r.c.memcpyWrite), r.node.writeFrame / r.c.memcpyWrite <= 1.2);
    }
    add('publish 4 KB: writeFrame ≤ 250 ns', ns(by('4 KB').node.writeFrame), by('4 KB').node.writeFrame <= 250);
    for (const l of ['240 KB', '24 MB']) {
      const r = by(l);
      add(`lock-free read ${l} ≤ 1.3× memcpy`, x(r.node.readLockFree / r.c.memcpyRead), r.node.readLockFree / r.c.memcpyRead <= 1.3);
    }
  }
  const o = results.offsets;
  if (o) {
    for (const r of o) {
      // Each process against its own aligned memcpy (C memcpy; TypedArray#set in Node), measured
      // at every offset beside the path.
      // Ratios paired offset by offset (see sectionOffsets). Runs kept from before pairing have
      // no *_x fields and are judged against the reference's median, as they were then.
      const old = (v, ref) => ({ median: v.median / ref.median, worst: v.worst / ref.median });
      const ratio = (who, k, suffix, ref) => r[`${who}_${k}${suffix}`] ?? old(r[`${who}_${k}`], ref);
      const paths = [['C write_frame', 'c', 'writeFrame', r.c_memcpyWriteAligned, r.c_writeFrameAligned], ['Node writeFrame', 'node', 'writeFrame', r.node_memcpyWriteAligned, r.node_writeFrameAligned],
        ['C read_frame', 'c', 'readFrame', r.c_memcpyReadAligned, r.c_readFrameAligned], ['Node readFrame({ into })', 'node', 'readFrame', r.node_memcpyReadAligned, r.node_readFrameAligned]];
      if (r.size === '4 KB') {
        // One call's fixed cost dominates: each path against the same path from aligned buffers.
        for (const [p, who, k, , a] of paths) {
          const v = ratio(who, k, '_xa', a);
          add(`${p} 4 KB from any offset: worst ≤ 1.15× the same path aligned`, x(v.worst), v.worst <= 1.15);
        }
      } else {
        for (const [p, who, k, ref] of paths) {
          const v = ratio(who, k, '_x', ref);
          add(`${p} ${r.size} from any offset: median ≤ 1.05× aligned memcpy`, x(v.median), v.median <= 1.05);
          add(`${p} ${r.size} from any offset: worst ≤ 1.15× aligned memcpy`, x(v.worst), v.worst <= 1.15);
        }
      }
    }
    const r = o.find((q) => q.size === '240 KB');
    if (r) add('allocating readFrame() 240 KB in a loop ≤ 2× aligned memcpy', x(r.loopAlloc / r.node_memcpyReadAligned.median), r.loopAlloc / r.node_memcpyReadAligned.median <= 2);
  }
  const w = results.wake;
  if (w) {
    // The default wait and the opt-in `lowLatency` (a short scheduler slice), each judged alone.
    for (const reader of ['Node waitForFrame', 'Node waitForFrame, lowLatency']) {
      for (const gap of [200, 0]) {
        const cw = w.find((r) => r.gapUs === gap && r.reader.startsWith('C shm'));
        const nw = w.find((r) => r.gapUs === gap && r.reader === reader);
        if (!nw) continue; // runs from before lowLatency existed
        const label = `${gap ? '200 µs apart' : 'back to back'}${reader.endsWith('lowLatency') ? ', lowLatency' : ''}`;
        add(`waitForFrame p50 adds ≤ 20 µs, ${label}`, `${(nw.p50Us - cw.p50Us).toFixed(1)} µs`, nw.p50Us - cw.p50Us <= 20);
        add(`waitForFrame p99 ≤ 300 µs, ${label}`, `${nw.p99Us.toFixed(1)} µs`, nw.p99Us <= 300);
      }
    }
  }
  // Items 5 and 6 are judged on three slots (`--slots 3`, the configuration docs/PERFORMANCE.md
  // recommends for a writer that publishes back to back); the single-buffer figure is shown beside.
  const i = results.interference;
  if (i) {
    const slotsOf = (q) => q.slots ?? 1; // runs from before slots existed
    const judged = Math.max(...i.map(slotsOf));
    const tag = judged > 1 ? `, ${judged} slots` : '';
    for (const size of ['4 KB', '240 KB', '24 MB']) {
      const paired = (n) => results.watcherCost?.find((q) => q.size === size && q.slots === n);
      if (paired(judged)) {
        const single = judged > 1 && paired(1) ? `; 1 slot: ${(paired(1).cost * 100).toFixed(1)} %` : '';
        add(`3 watchers cost the writer ≤ 5 %, ${size}${tag}`, `${(paired(judged).cost * 100).toFixed(1)} % (medians of paired runs)${single}`, paired(judged).cost <= 0.05);
      } else {
        const cost = (n) => i.find((q) => q.size === size && slotsOf(q) === n && q.config.startsWith('3 watchers'));
        const r = cost(judged);
        const single = judged > 1 && cost(1) ? `; 1 slot: ${((1 - cost(1).ratio) * 100).toFixed(1)} %` : '';
        add(`3 watchers cost the writer ≤ 5 %, ${size}${tag}`, `${((1 - r.ratio) * 100).toFixed(1)} % (per CPU-s ${((1 - r.ratioCpu) * 100).toFixed(1)} %)${single}`, r.ratio >= 0.95);
      }
      // Watchers look every 100 ms by design: for them progress is a new frame at every look.
      const worstOf = (n) => {
        const rs = i.filter((q) => q.size === size && slotsOf(q) === n && q.readers.length);
        const busy = rs.flatMap((q) => q.readers).filter((q) => q.kind !== 'watch');
        const empty = rs.flatMap((q) => q.readers).filter((q) => q.kind === 'watch').reduce((a, q) => a + q.emptyTicks, 0);
        return { rs, worst: Math.max(...busy.map((q) => q.maxGapMs)), empty };
      };
      const g = worstOf(judged);
      const single1 = judged > 1 ? `; 1 slot: ${worstOf(1).worst.toFixed(1)} ms` : '';
      add(`every reader a whole frame every ${g.rs[0].limitMs.toFixed(0)} ms, ${size}${tag}`,
        `continuous/locking: worst gap ${g.worst.toFixed(1)} ms; watcher looks without a new frame: ${g.empty}${single1}`, g.rs.every((q) => q.progress));
    }
    const alt = (results.alternatives ?? []).reduce((a, q) => a + q.shmswarm.torn + (q.shmswarm3?.torn ?? 0) + (q.c3?.torn ?? 0), 0);
    const torn = i.reduce((a, q) => a + q.torn, 0) + alt;
    add('torn frames accepted by shmswarm readers', String(torn), torn === 0);
  }
  const a = results.alternatives;
  if (a) {
    const best = (q) => q.shmswarm3 ?? q.shmswarm;
    const tag = a[0].shmswarm3 ? ', 3 slots' : '';
    const single = (q, k) => (q.shmswarm3 ? `; 1 slot: ${x(q.shmswarm.fps / q[k].fps)}` : '');
    const r = a.find((q) => q.size === '240 KB');
    add(`end to end 240 KB ≥ 5× raw Unix socket${tag}`, x(best(r).fps / r.raw.fps) + single(r, 'raw'), best(r).fps / r.raw.fps >= 5);
    add(`end to end 240 KB ≥ 500× JSON Unix socket${tag}`, x(best(r).fps / r.json.fps) + single(r, 'json'), best(r).fps / r.json.fps >= 500);
    for (const q of a)
      add(`ahead of Python shared_memory + numpy, ${q.size}${tag}`, vsPython(best(q).fps, q.python) + (q.python.fps > 0 ? single(q, 'python') : ''), Number.isFinite(q.python.fps) ? best(q).fps > q.python.fps : null);
  }
  const cl = results.cli;
  if (cl && !cl.pending) {
    add('shmswarm info ≤ 1.5× node -e 0 (medians)', x(cl.startup.infoMs / cl.startup.nodeMs), cl.startup.infoMs / cl.startup.nodeMs <= 1.5);
    const after = cl.csv.frameMBpsAfterStartup ? `; after start-up ${num(cl.csv.frameMBpsAfterStartup)} MB/s of frame, ${num(cl.csv.outputMBpsAfterStartup)} MB/s of CSV` : '';
    add('dump --csv ≥ 100 MB/s (of frame)', `${num(cl.csv.frameMBps)} MB/s (${num(cl.csv.outputMBps)} MB/s of CSV)${after}`, cl.csv.frameMBps >= 100);
    const b = (n) => cl.boids.find((q) => q.agents === n);
    add('boids 10,000 agents ≥ 120 steps/s', `${num(b(10_000).stepsPerSec)} steps/s`, b(10_000).stepsPerSec >= 120);
    const growth = b(100_000).nsPerAgentStep / b(1_000).nsPerAgentStep;
    add('boids cost per agent flat 1,000 → 100,000 (≤ 2×)', x(growth), growth <= 2);
  } else if (cl) {
    add('CLI targets', 'pending: dump/simulate not available', null);
  }
  results.targets = rows.map(([what, value, status]) => ({ what, value, status }));
  table('Targets (issues 5, 22)', ['target', 'this run', ''], rows);
}

// ---------------------------------------------------------------- main
// --targets FILE: the targets table of an earlier run, nothing measured.
if (args.targets) {
  Object.assign(results, JSON.parse(readFileSync(args.targets, 'utf8')));
  targets();
  process.exit(0);
}
const t0 = Date.now();
results.machine = machine();
buildC();
process.stdout.write(`shmswarm bench — ${results.machine.date}, ${results.machine.cpu} × ${results.machine.nproc}, Node ${results.machine.node}, gcc ${results.machine.gcc}, load ${results.machine.loadavgStart.map((l) => l.toFixed(2)).join(' ')}\n`);
// The machine's own scheduling noise, for reading every latency and gap below.
const jitter = () => runJson(CBIN, ['jitter', quick ? '200' : '1000']);
results.machine.jitterStart = jitter();
process.stdout.write(`a 1 ms sleep wakes late by p50 ${results.machine.jitterStart.p50Us} µs, p99 ${results.machine.jitterStart.p99Us} µs, max ${results.machine.jitterStart.maxUs} µs\n`);
if (want('copy')) await sectionCopy();
if (want('offsets')) await sectionOffsets();
if (want('wake')) await sectionWake();
if (want('interference')) await sectionInterference();
if (want('alternatives')) await sectionAlternatives();
if (want('cli')) await sectionCli();
targets();
results.machine.loadavgEnd = loadavg();
results.machine.jitterEnd = jitter();
results.machine.seconds = (Date.now() - t0) / 1000;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile + '.tmp', JSON.stringify(results, null, 1) + '\n');
renameSync(outFile + '.tmp', outFile);
const je = results.machine.jitterEnd;
process.stdout.write(`\n${results.machine.seconds.toFixed(0)} s, load at the end ${results.machine.loadavgEnd.map((l) => l.toFixed(2)).join(' ')}, a 1 ms sleep late by p50 ${je.p50Us} µs, p99 ${je.p99Us} µs; results in ${outFile}\n`);
