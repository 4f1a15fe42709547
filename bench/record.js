#!/usr/bin/env node
// Recording and replay (issue 17), every comparison made inside this one run. Lines on stdout,
// everything in bench/results/record-latest.json. docs/PERFORMANCE.md "Recording" quotes it.
//
//   node bench/record.js [--only throughput,keepup,maxrate,replay] [--keepup-seconds 60] [--out FILE]
//
// Sections:
//   throughput  240 KB frames (10,000 x 6 f32) back to back: the Arrow and MCAP writers against
//               appending the same raw bytes to a file, alternated in this process; then the real
//               `record` against `simulate --rate 0` (two processes)
//   keepup      `record` of a 10,000 x 6 ramp writer at 60 Hz (cheap to compute, so the writer
//               itself keeps 60 Hz) for --keepup-seconds: frames missed
//   maxrate     1,000,000 x 6 (24 MB frames) written as fast as it goes, `record --max-rate 5`
//   replay      a 60 Hz recording replayed at --speed 1: |replayed - recorded| interval, p50/p99
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgsOrExit, usageExit } from './lib/args.js';
import { percentile } from './lib/measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const BIN = join(ROOT, 'bin', 'shmswarm');
const SECTIONS = ['throughput', 'keepup', 'maxrate', 'replay'];
const USAGE = `usage: node bench/record.js [--only ${SECTIONS.join(',')}] [--keepup-seconds 60] [--out FILE]`;
const args = parseArgsOrExit('bench/record', USAGE, {
  options: { only: { type: 'string' }, 'keepup-seconds': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
}).values;
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const only = args.only?.split(',');
const unknown = only?.filter((s) => !SECTIONS.includes(s)) ?? [];
if (unknown.length) usageExit('bench/record', USAGE, `no section ${unknown.join(', ')}`);
const keepupSeconds = Number(args['keepup-seconds'] ?? 60);
if (!(keepupSeconds > 0)) usageExit('bench/record', USAGE, '--keepup-seconds must be a number > 0');
const want = (s) => !only || only.includes(s);
const outFile = args.out ?? join(HERE, 'results', 'record-latest.json');

const { Segment } = await import(join(ROOT, 'dist/core/index.js'));
const { openFrameWriter } = await import(join(ROOT, 'dist/record/writer.js'));
const { openRecording } = await import(join(ROOT, 'dist/record/index.js'));

const work = mkdtempSync(join(tmpdir(), 'shmswarm-bench-record-'));
const PREFIX = `/shmswarm-bench-record-${process.pid}-`;
let count = 0;
const children = new Set();
const names = new Set();
const newName = (label) => {
  const n = `${PREFIX}${label}-${++count}`;
  names.add(n);
  return n;
};
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  for (const n of names) {
    try {
      Segment.unlink(n);
    } catch {
      /* gone */
    }
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function cli(args) {
  const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let stderr = '';
  let stdout = '';
  c.stdout.on('data', (d) => (stdout += d));
  c.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => c.on('exit', (code, signal) => { children.delete(c); resolve({ code, signal, stdout, stderr }); }));
  return { child: c, done };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFrames(name, n = 1) {
  const w = cli(['wait', name, '--timeout', '30', '--frames', String(n), '-q']);
  const r = await w.done;
  if (r.code !== 0) throw new Error(`wait ${name}: ${r.stderr}`);
}
function info(file) {
  return openRecording(file).then((rec) => {
    const s = rec.stamps;
    const out = { frames: s.length, missed: rec.missed, skipped: rec.skipped, seconds: s.length > 1 ? Number(s.at(-1).timeNs - s[0].timeNs) / 1e9 : 0, bytes: rec.bytes, stamps: s };
    rec.close();
    return out;
  });
}

const targets = [];
const results = { started: new Date().toISOString(), loadavg: loadavg(), keepupSeconds };
const line = (s) => process.stdout.write(`${s}\n`);
line(`bench/record: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work may share the machine)`);

// ---------------------------------------------------------------- throughput
if (want('throughput')) {
  const rows = 10_000;
  const cols = 6;
  const frame = new Float32Array(rows * cols).map((_, i) => i * 0.5);
  const bytes = frame.byteLength;
  const header = (format) => ({ format, source: '/bench', rows, cols, dtype: 'f32', fields: ['x', 'y', 'z', 'vx', 'vy', 'vz'], version: 'bench', startedMs: Date.now() });
  // In turns of BLOCK frames (raw, Arrow, MCAP, raw, ...), each into its own file, so that a
  // busy machine slows the three alike while each keeps its own bytes in the cache for a turn (a
  // recorder writes frame after frame); the ratio is of the median frame times (also given: of the
  // means, which a preempted frame moves).
  const N = 600;
  const BLOCK = 10;
  const rawPath = join(work, 'raw.bin');
  const fd = openSync(rawPath, 'w');
  const u8 = new Uint8Array(frame.buffer);
  const writers = { arrow: await openFrameWriter({ path: join(work, 't.arrows'), overwrite: true, header: header('arrow') }), mcap: await openFrameWriter({ path: join(work, 't.mcap'), overwrite: true, header: header('mcap') }) };
  const times = { raw: [], arrow: [], mcap: [] };
  for (let k0 = 0; k0 < N; k0 += BLOCK) {
    for (let k = k0; k < k0 + BLOCK; k++) {
      const t0 = performance.now();
      for (let off = 0; off < u8.length; ) off += writeSync(fd, u8, off);
      times.raw.push(performance.now() - t0);
    }
    for (const f of ['arrow', 'mcap'])
      for (let k = k0; k < k0 + BLOCK; k++) {
        const t0 = performance.now();
        await writers[f].write(frame, { frame: k + 1, sequence: 2 * k + 2, timeNs: BigInt(Date.now()) * 1000000n, missed: 0, skipped: 0 });
        times[f].push(performance.now() - t0);
      }
  }
  closeSync(fd);
  for (const w of Object.values(writers)) await w.finish({ frames: N, missed: 0, skipped: 0 });
  rmSync(rawPath);
  const median = (xs) => percentile([...xs].sort((x, y) => x - y), 50);
  const mean = (xs) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const rate = (ms) => bytes / ms / 1e3;
  const t = { frameBytes: bytes, frames: N, method: `in turns of ${BLOCK} frames; MB/s of the median frame time` };
  for (const f of ['raw', 'arrow', 'mcap']) t[f] = { medianMs: median(times[f]), meanMs: mean(times[f]), MBs: rate(median(times[f])), meanMBs: rate(mean(times[f])) };
  t.arrowRatio = t.raw.medianMs / t.arrow.medianMs;
  t.mcapRatio = t.raw.medianMs / t.mcap.medianMs;
  t.arrowMeanRatio = t.raw.meanMs / t.arrow.meanMs;
  t.mcapMeanRatio = t.raw.meanMs / t.mcap.meanMs;
  const pc = (x) => `${(x * 100).toFixed(0)} %`;
  line(`throughput 240 KB frames, in-process, ${N} frames of each in turns of ${BLOCK}: raw append ${t.raw.MBs.toFixed(0)} MB/s, Arrow ${t.arrow.MBs.toFixed(0)} MB/s (${pc(t.arrowRatio)}), MCAP ${t.mcap.MBs.toFixed(0)} MB/s (${pc(t.mcapRatio)}) [medians; means: raw ${t.raw.meanMBs.toFixed(0)}, Arrow ${pc(t.arrowMeanRatio)}, MCAP ${pc(t.mcapMeanRatio)}]`);
  targets.push([`Arrow back to back >= 50 % of raw append (median frame)`, t.arrowRatio >= 0.5, pc(t.arrowRatio)]);
  targets.push([`MCAP back to back >= 50 % of raw append (median frame)`, t.mcapRatio >= 0.5, pc(t.mcapRatio)]);

  // The real command against a writer publishing back to back.
  t.endToEnd = {};
  for (const ext of ['arrows', 'mcap']) {
    const name = newName('tp');
    const sim = cli(['simulate', name, '--agents', '10000', '--dims', '3', '--pattern', 'ramp', '--rate', '0']);
    await waitFrames(name, 5);
    const file = join(work, `tp.${ext}`);
    const r = await cli(['record', name, file, '--duration', '5']).done;
    sim.child.kill('SIGTERM');
    await sim.done;
    const i = await info(file);
    rmSync(file);
    const published = Number(/wrote (\d+) frames/.exec((await sim.done).stderr)?.[1] ?? NaN);
    t.endToEnd[ext] = { recorded: i.frames, missed: i.missed, fps: i.frames / i.seconds, MBs: (i.frames * bytes) / i.seconds / 1e6, published, status: r.code };
    line(`throughput end to end, record ${ext} of simulate --rate 0 (10,000 x 6) for 5 s: ${i.frames} frames recorded, ${(i.frames / i.seconds).toFixed(0)} frames/s = ${t.endToEnd[ext].MBs.toFixed(0)} MB/s, ${i.missed} missed (the writer shares the 2 cores)`);
  }
  results.throughput = t;
}

// ---------------------------------------------------------------- keep-up at 60 Hz
let keepupFile;
if (want('keepup') || want('replay')) {
  const seconds = want('keepup') ? keepupSeconds : 5;
  results.keepup = {};
  for (const ext of want('keepup') ? ['arrows', 'mcap'] : ['arrows']) {
    const name = newName('keep');
    const sim = cli(['simulate', name, '--agents', '10000', '--dims', '3', '--pattern', 'ramp', '--rate', '60']);
    await waitFrames(name, 2);
    const file = join(work, `keep.${ext}`);
    const r = await cli(['record', name, file, '--duration', String(seconds)]).done;
    sim.child.kill('SIGTERM');
    await sim.done;
    const i = await info(file);
    results.keepup[ext] = { seconds, frames: i.frames, missed: i.missed, rate: (i.frames - 1) / i.seconds, status: r.code };
    if (want('keepup')) targets.push([`keep-up ${ext}: every frame of a 60 Hz 10,000 x 6 writer over ${seconds} s (0 missed)`, i.missed === 0 && r.code === 0, `${i.missed} missed`]);
    if (want('keepup')) line(`keep-up: record ${ext} of a 10,000 x 6 writer at 60 Hz for ${seconds} s: ${i.frames} frames, ${i.missed} missed (${results.keepup[ext].rate.toFixed(2)} frames/s)`);
    if (ext === 'arrows') keepupFile = file;
  }
}

// ---------------------------------------------------------------- 1,000,000 x 6 with --max-rate
if (want('maxrate')) {
  const name = newName('big');
  const sim = cli(['simulate', name, '--agents', '1000000', '--dims', '3', '--pattern', 'ramp', '--rate', '0']);
  await waitFrames(name, 2);
  const file = join(work, 'big.arrows');
  const r = await cli(['record', name, file, '--max-rate', '5', '--duration', '10']).done;
  sim.child.kill('SIGTERM');
  const s = await sim.done;
  const i = await info(file);
  rmSync(file);
  const written = /wrote (\d+) frames in ([\d.]+) s/.exec(s.stderr);
  results.maxrate = { frames: i.frames, rate: (i.frames - 1) / i.seconds, missed: i.missed, skipped: i.skipped, writerFps: written ? Number(written[1]) / Number(written[2]) : null, summary: r.stderr.trim().split('\n').slice(-2) };
  line(`max-rate: record --max-rate 5 of 1,000,000 x 6 (24 MB) for 10 s: ${i.frames} frames = ${results.maxrate.rate.toFixed(2)} frames/s, ${i.skipped} skipped, ${i.missed} missed; the writer made ${results.maxrate.writerFps?.toFixed(1)} frames/s`);
  line(`  its summary: ${results.maxrate.summary.join(' | ')}`);
  const kept = results.maxrate.rate >= 5 * 0.95;
  const said = /below --max-rate|skipped/.test(r.stderr);
  targets.push(['1,000,000 x 6 --max-rate 5: keeps the rate or says what it dropped', kept || said, `${results.maxrate.rate.toFixed(2)} frames/s${kept ? '' : said ? ', said so' : ', NOT said'}`]);
}

// ---------------------------------------------------------------- replay timing
if (want('replay')) {
  const rec = await info(keepupFile);
  const name = newName('replay');
  const rp = cli(['replay', keepupFile, name]);
  let seg;
  for (let k = 0; k < 500 && !seg; k++) {
    try {
      seg = Segment.open(name, { readonly: true });
    } catch {
      await sleep(5);
    }
  }
  const times = new Map();
  let seen = -1;
  for (;;) {
    try {
      seen = await seg.waitForFrame(seen, { timeoutMs: 2000 });
    } catch {
      break;
    }
    const f = seg.readFrame();
    times.set(f.frames, f.lastWriteTime);
    seen = f.sequence;
    if (f.frames >= rec.frames) break;
  }
  seg.close();
  await rp.done;
  const errs = [];
  for (let k = 2; k <= rec.frames; k++) {
    if (!times.has(k) || !times.has(k - 1)) continue;
    const replayed = times.get(k) - times.get(k - 1);
    const recorded = Number(rec.stamps[k - 1].timeNs - rec.stamps[k - 2].timeNs) / 1e6;
    errs.push(Math.abs(replayed - recorded));
  }
  errs.sort((a, b) => a - b);
  results.replay = { intervals: errs.length, framesSeen: times.size, p50Ms: percentile(errs, 50), p99Ms: percentile(errs, 99), maxMs: errs.at(-1) };
  targets.push(['replay --speed 1: recorded intervals to p99 <= 2 ms', results.replay.p99Ms <= 2, `p99 ${results.replay.p99Ms.toFixed(3)} ms`]);
  line(`replay --speed 1 of a ${rec.frames}-frame 60 Hz recording: |replayed - recorded interval| p50 ${results.replay.p50Ms.toFixed(3)} ms, p99 ${results.replay.p99Ms.toFixed(3)} ms, max ${results.replay.maxMs.toFixed(3)} ms over ${errs.length} intervals`);
}

results.targets = targets.map(([what, met, figure]) => ({ what, met, figure }));
for (const [what, met, figure] of targets) line(`target ${met ? 'met   ' : 'MISSED'} ${what}: ${figure}`);
line(`bench/record: load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
results.finished = new Date().toISOString();
mkdirSync(dirname(outFile), { recursive: true });
for (const k of Object.keys(results.keepup ?? {})) delete results.keepup[k].stamps;
writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
line(`bench/record: wrote ${outFile}`);
void readFileSync;
