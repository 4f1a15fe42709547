#!/usr/bin/env node
// Soak: one writer publishing at 1 kHz and three watchers (one locking, one lock-free only, one
// lock-free with the locked fallback) for N minutes, each in its own process.
//
//   node bench/soak.js <minutes> [--rows 1000] [--json]     (npm run soak -- 10)
//
// Every frame is filled with its frame number, so a frame that mixes two writes is visible.
// Reports frames written and read, torn frames accepted (unmarked but mixed: must be 0), and each
// process's RSS and open file descriptors at the start (after a warm-up) and at the end.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Segment } from '../dist/core/index.js';
import { parseArgsOrExit, usageExit } from './lib/args.js';

const DIST = new URL('../dist/core/index.js', import.meta.url).href;
const WARMUP_MS = 3000;

const WRITER = `
const [name, endAt] = [process.argv[1], Number(process.argv[2])];
const seg = Segment.open(name);
const buf = new Float32Array(seg.length);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let written = 0, late = 0, errors = {};
const t0 = performance.now();
let next = t0;
while (Date.now() < endAt) {
  const k = seg.info().frames + 1;
  try {
    if (written & 1) seg.writeFrameInPlace((v) => v.fill(k));
    else { buf.fill(k); seg.writeFrame(buf); }
    written++;
  } catch (e) { errors[e.code] = (errors[e.code] ?? 0) + 1; }
  next += 1; // 1 kHz on absolute deadlines: a late frame does not shift the ones after it
  const wait = next - performance.now();
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
  else if (wait < -50) { late++; next = performance.now(); }
}
seg.close();
console.log(JSON.stringify({ written, late, errors, elapsedMs: performance.now() - t0 }));
`;

const WATCHER = `
const [name, endAt, mode] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const seg = Segment.open(name, { readonly: true });
const into = new Float32Array(seg.length);
const opts = mode === 'lock' ? { lock: true } : mode === 'lockfree' ? { lockFree: true } : {};
let read = 0, tornMarked = 0, tornAccepted = 0, missed = 0, errors = {}, last = seg.sequence(), lastFrames = -1;
while (Date.now() < endAt + 500) {
  try {
    last = await seg.waitForFrame(last, { timeoutMs: 1000 });
  } catch (e) {
    if (e.code !== 'ETIMEDOUT') errors[e.code] = (errors[e.code] ?? 0) + 1;
    continue;
  }
  let f;
  try {
    f = await seg.readFrameAsync({ ...opts, into, timeoutMs: 1000 });
  } catch (e) {
    errors[e.code] = (errors[e.code] ?? 0) + 1;
    continue;
  }
  if (!f) continue;
  read++;
  last = f.sequence;
  if (lastFrames >= 0 && f.frames > lastFrames + 1) missed += f.frames - lastFrames - 1;
  lastFrames = f.frames;
  const v = into[0];
  let whole = true;
  for (let i = 1; i < into.length; i++) if (into[i] !== v) { whole = false; break; }
  if (f.torn) tornMarked++;
  else if (!whole) tornAccepted++;
}
seg.close();
console.log(JSON.stringify({ read, missed, tornMarked, tornAccepted, errors }));
`;

function start(role, code, args) {
  const prelude = `import { Segment } from ${JSON.stringify(DIST)};\n`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', prelude + code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      let stats = null;
      try {
        stats = JSON.parse(out.trim().split('\n').pop());
      } catch {
        /* reported below */
      }
      resolve({ code, signal, stats, stderr: err.trim() });
    }),
  );
  return { role, child, done };
}

/** RSS in KiB and the number of open descriptors of a live process (Linux /proc). */
export function sampleProcess(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { rssKiB: rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

export async function soak({ minutes, rows = 1000, name = `/shmswarm-soak-${process.pid}` }) {
  const seg = Segment.create(name, { rows, cols: 4, dtype: 'f32' });
  seg.close();
  const durationMs = minutes * 60_000;
  const endAt = Date.now() + WARMUP_MS + durationMs;
  const procs = [
    start('writer', WRITER, [name, String(endAt)]),
    start('watcher (lock)', WATCHER, [name, String(endAt), 'lock']),
    start('watcher (lock-free)', WATCHER, [name, String(endAt), 'lockfree']),
    start('watcher (auto)', WATCHER, [name, String(endAt), 'auto']),
  ];
  try {
    await pause(WARMUP_MS);
    const first = procs.map((p) => sampleProcess(p.child.pid));
    // Samples in between tell a plateau (V8 sizing its heap) from a leak (a steady climb).
    const every = Math.min(60_000, durationMs / 10);
    const samples = procs.map(() => []);
    const timer = setInterval(() => {
      if (endAt - Date.now() > 1500) procs.forEach((p, i) => samples[i].push(sampleProcess(p.child.pid).rssKiB));
    }, every);
    await pause(Math.max(0, endAt - Date.now() - 1000));
    clearInterval(timer);
    const last = procs.map((p) => sampleProcess(p.child.pid));
    const results = await Promise.all(procs.map((p) => p.done));
    return {
      minutes,
      rows,
      cols: 4,
      sampleEveryS: every / 1000,
      processes: procs.map((p, i) => ({ role: p.role, pid: p.child.pid, start: first[i], end: last[i], rssSamplesKiB: samples[i], ...results[i] })),
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    try {
      Segment.unlink(name);
    } catch {
      /* gone */
    }
  }
}

function render(r) {
  const lines = [];
  lines.push(`soak: ${r.minutes} min, frames of ${r.rows} x ${r.cols} f32, writer paced at 1 kHz (+${WARMUP_MS / 1000} s warm-up)`);
  lines.push('');
  lines.push('process               frames                      torn marked  torn accepted  errors        RSS start -> end (KiB)  fds start -> end');
  for (const p of r.processes) {
    const s = p.stats ?? {};
    const frames = p.role === 'writer' ? `${s.written} written` : `${s.read} read (${s.missed} skipped)`;
    const errors = Object.keys(s.errors ?? {}).length ? JSON.stringify(s.errors) : 'none';
    lines.push(
      `${p.role.padEnd(21)} ${String(frames).padEnd(27)} ${String(s.tornMarked ?? '-').padEnd(12)} ${String(s.tornAccepted ?? '-').padEnd(14)} ${errors.padEnd(13)} ${`${p.start.rssKiB} -> ${p.end.rssKiB}`.padEnd(23)} ${p.start.fds} -> ${p.end.fds}`,
    );
    if (p.code !== 0 || p.signal) lines.push(`  exited ${p.code ?? p.signal}: ${p.stderr}`);
  }
  lines.push('', `RSS (KiB) at start, every ${r.sampleEveryS} s, at end:`);
  for (const p of r.processes) lines.push(`  ${p.role.padEnd(21)} ${[p.start.rssKiB, ...p.rssSamplesKiB, p.end.rssKiB].join(' ')}`);
  const w = r.processes[0].stats;
  if (w) lines.push('', `writer: ${((w.written * 1000) / w.elapsedMs).toFixed(0)} frames/s on average over ${(w.elapsedMs / 1000).toFixed(1)} s, ${w.late} times more than 50 ms late`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const USAGE = 'usage: node bench/soak.js <minutes> [--rows N] [--json]';
  const { values, positionals } = parseArgsOrExit('soak', USAGE, { options: { rows: { type: 'string', default: '1000' }, json: { type: 'boolean' } }, allowPositionals: true });
  const json = Boolean(values.json);
  const rows = Number(values.rows);
  const minutes = Number(positionals[0]);
  if (positionals.length !== 1 || !(minutes > 0) || !Number.isInteger(rows) || rows < 1) usageExit('soak', USAGE);
  const r = await soak({ minutes, rows });
  console.log(json ? JSON.stringify(r, null, 2) : render(r));
  const bad = r.processes.some((p) => p.code !== 0 || !p.stats || (p.stats.tornAccepted ?? 0) > 0);
  process.exitCode = bad ? 1 : 0;
}
