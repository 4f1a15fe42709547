// The NATS bridge on loopback, against raw TCP in the same run (docs/PERFORMANCE.md, "NATS bridge").
// A writer process publishes stamped frames (bench/lib/stamp-writer.js); `shmswarm publish` and
// `shmswarm subscribe` carry them through a nats-server this script starts into a mirror — or
// bench/lib/tcp-bridge.js does the same over one TCP connection — and this process reads the
// mirror: frames per second arriving in it, the age of each frame read (p50, p90), and the CPU
// time per frame of each side of the bridge (/proc utime + stime over the window).
//   node bench/nats.js [--seconds 5] [--soak 60]
// --soak S: only the memory check: 24 MB frames at 60 Hz for S seconds, the RSS of the publisher
// and the subscriber every second.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Segment } from '../dist/core/index.js';
import { natsServerPath, HOW_TO_INSTALL, startNats } from '../test/nats/server.js';
import { parseArgsOrExit, usageExit } from './lib/args.js';

const USAGE = 'usage: node bench/nats.js [--seconds 5] [--only <n>[,<n>...]] [--soak 60] [--cpu-prof DIR] [--cli PATH] [--max-payload BYTES] [--server-gogc 400]   (--only: case numbers 1-4, in the order of the table)';
const { values } = parseArgsOrExit('bench/nats.js', USAGE, {
  options: { seconds: { type: 'string', default: '5' }, soak: { type: 'string' }, only: { type: 'string' }, 'cpu-prof': { type: 'string' }, cli: { type: 'string' }, 'max-payload': { type: 'string' }, 'server-gogc': { type: 'string', default: '400' } },
});
const ONLY = values.only === undefined ? null : values.only.split(',').map(Number);
if (ONLY && !ONLY.every((n) => Number.isInteger(n) && n >= 1 && n <= 4)) usageExit('bench/nats.js', USAGE, '--only takes case numbers from 1 to 4');
const SECONDS = Number(values.seconds);
if (!(SECONDS > 0 && SECONDS <= 600)) usageExit('bench/nats.js', USAGE, '--seconds must be from 0 to 600');
// --max-payload: the server's max_payload (default: nats-server's own, 1 MB), to see what chunk sizes cost.
const MAX_PAYLOAD = values['max-payload'] === undefined ? undefined : Number(values['max-payload']);
if (MAX_PAYLOAD !== undefined && !(Number.isInteger(MAX_PAYLOAD) && MAX_PAYLOAD >= 4096 && MAX_PAYLOAD <= 64 * 2 ** 20)) usageExit('bench/nats.js', USAGE, '--max-payload must be a whole number of bytes from 4096 to 67108864');
// --server-gogc: nats-server's GOGC. With Go's default (100) the server spends a large part of its
// CPU collecting the garbage of megabyte messages; README ("Across hosts: NATS") recommends 400
// for frames of a megabyte or more, and the bench runs the server as recommended.
const SERVER_GOGC = Number(values['server-gogc']);
if (!(Number.isInteger(SERVER_GOGC) && SERVER_GOGC >= 50 && SERVER_GOGC <= 10000)) usageExit('bench/nats.js', USAGE, '--server-gogc must be a whole number from 50 to 10000');
if (values.soak !== undefined && !(Number(values.soak) > 0)) usageExit('bench/nats.js', USAGE, '--soak must be a number of seconds > 0');
if (!natsServerPath()) {
  process.stderr.write(`bench/nats.js: ${HOW_TO_INSTALL}\n`);
  process.exit(1);
}

const HERE = dirname(fileURLToPath(import.meta.url));
// --cli PATH: another build's bin/shmswarm as the bridge (before/after comparisons in one run).
const BIN = values.cli ?? join(HERE, '..', 'bin', 'shmswarm');
// --cpu-prof DIR: the bridge's processes write V8 CPU profiles there (node --cpu-prof), one per process.
const PROF = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']];
const TICK_MS = 1000 / 100; // USER_HZ

function start(args, label) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  child.label = label;
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.err += d));
  child.exited = new Promise((r) => child.once('exit', r));
  return child;
}

async function until(check, what, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`bench/nats.js: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopAll(children) {
  for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  const timer = setTimeout(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')), 10_000);
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(timer);
}

/** CPU ms (user + system) of a live process. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function openMirror(name) {
  try {
    return Segment.open(name, { readonly: true });
  } catch {
    return null;
  }
}

const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : NaN);

/** One transport, one frame size, one rate: { fps, p50, p90, senderCpu, receiverCpu } (ms per frame). */
async function runCase(server, transport, bytes, rate, seconds) {
  const rows = bytes / 32;
  const tag = `${process.pid}-${transport}-${bytes}-${rate}`;
  const src = `/bench-nats-src-${tag}`;
  const mirror = `/bench-nats-mirror-${tag}`;
  const writer = start([join(HERE, 'lib', 'stamp-writer.js'), src, String(rows), String(rate)], 'writer');
  const children = [writer];
  let seg = null;
  let source = null;
  try {
    await until(() => writer.out.includes('ready'), 'the writer');
    let sender;
    let receiver;
    if (transport === 'nats') {
      receiver = start([...PROF, BIN, 'subscribe', src, '--from', server.url, '--as', mirror, '--max-bytes', '64M'], 'subscribe');
      children.push(receiver);
      await until(() => /Ctrl-C/.test(receiver.err), 'subscribe');
      sender = start([...PROF, BIN, 'publish', src, '--to', server.url], 'publish');
      children.push(sender);
    } else {
      const port = 20000 + Math.floor(Math.random() * 20000);
      receiver = start([...PROF, join(HERE, 'lib', 'tcp-bridge.js'), 'recv', mirror, String(port), String(rows), '4', 'f64'], 'tcp recv');
      children.push(receiver);
      await until(() => receiver.out.includes('listening'), 'the TCP receiver');
      sender = start([...PROF, join(HERE, 'lib', 'tcp-bridge.js'), 'send', src, String(port)], 'tcp send');
      children.push(sender);
    }
    seg = await until(() => openMirror(mirror), 'the mirror');
    await until(() => seg.info().frames > 2, 'frames in the mirror');
    await new Promise((r) => setTimeout(r, 1000)); // warm-up
    const into = new Float64Array(seg.length);
    const ages = [];
    source = Segment.open(src, { readonly: true });
    const s0 = source.info().frames;
    const f0 = seg.info().frames;
    const serverCpu = () => (transport === 'nats' ? cpuMs(server.pid) : 0);
    const c0 = [cpuMs(sender.pid), cpuMs(receiver.pid), serverCpu()];
    const t0 = performance.now();
    let seq = seg.sequence();
    while (performance.now() - t0 < seconds * 1000) {
      try {
        await seg.waitForFrame(seq, { timeoutMs: 500 });
      } catch {
        continue;
      }
      const f = seg.readFrame({ into });
      const now = Number(process.hrtime.bigint()) / 1e6;
      seq = f.sequence;
      ages.push(now - into[1]);
    }
    const secs = (performance.now() - t0) / 1000;
    const frames = seg.info().frames - f0;
    const sourceFps = (source.info().frames - s0) / secs;
    const c1 = [cpuMs(sender.pid), cpuMs(receiver.pid), serverCpu()];
    ages.sort((a, b) => a - b);
    return {
      transport, bytes, rate, sourceFps, fps: frames / secs, p50: pct(ages, 0.5), p90: pct(ages, 0.9),
      senderCpu: (c1[0] - c0[0]) / Math.max(1, frames), receiverCpu: (c1[1] - c0[1]) / Math.max(1, frames),
      serverCpu: (c1[2] - c0[2]) / Math.max(1, frames),
      note: transport === 'nats' ? (/refused|disconnected/.exec(receiver.err)?.[0] ?? '') : '',
    };
  } finally {
    seg?.close();
    source?.close();
    await stopAll(children.reverse());
  }
}

async function soak(server, seconds) {
  const rows = (24e6) / 32;
  const src = `/bench-nats-soak-src-${process.pid}`;
  const mirror = `/bench-nats-soak-mirror-${process.pid}`;
  const writer = start([join(HERE, 'lib', 'stamp-writer.js'), src, String(rows), '60'], 'writer');
  const children = [writer];
  try {
    await until(() => writer.out.includes('ready'), 'the writer');
    const sub = start([BIN, 'subscribe', src, '--from', server.url, '--as', mirror, '--max-bytes', '64M'], 'subscribe');
    children.push(sub);
    await until(() => /Ctrl-C/.test(sub.err), 'subscribe');
    const pub = start([BIN, 'publish', src, '--to', server.url], 'publish');
    children.push(pub);
    const seg = await until(() => openMirror(mirror), 'the mirror');
    const samples = [];
    for (let s = 1; s <= seconds; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      samples.push({ s, pub: rssMiB(pub.pid), sub: rssMiB(sub.pid), frames: seg.info().frames });
    }
    seg.close();
    const at = (i) => samples[Math.min(samples.length - 1, i)];
    const max = (k) => Math.max(...samples.slice(4).map((x) => x[k]));
    process.stdout.write(`soak: 24 MB frames at 60 Hz for ${seconds} s; mirrored ${at(samples.length - 1).frames} frames (${(at(samples.length - 1).frames / seconds).toFixed(1)}/s)\n`);
    process.stdout.write(`RSS MiB      at 5 s   max after 5 s   at ${seconds} s\n`);
    process.stdout.write(`publish    ${at(4).pub.toFixed(0).padStart(8)} ${max('pub').toFixed(0).padStart(15)} ${at(samples.length - 1).pub.toFixed(0).padStart(9)}\n`);
    process.stdout.write(`subscribe  ${at(4).sub.toFixed(0).padStart(8)} ${max('sub').toFixed(0).padStart(15)} ${at(samples.length - 1).sub.toFixed(0).padStart(9)}\n`);
    await stopAll(children.reverse());
    process.stdout.write(`${children.find((c) => c.label === 'subscribe').err.trim().split('\n').pop()}\n`);
  } finally {
    await stopAll(children);
  }
}

const server = await startNats(null, { maxPayload: MAX_PAYLOAD, env: { GOGC: String(SERVER_GOGC) } });
try {
  process.stdout.write(`bench/nats.js — ${new Date().toISOString()}, ${cpus()[0]?.model} × ${cpus().length}, Node ${process.versions.node}, nats-server GOGC=${SERVER_GOGC}${MAX_PAYLOAD ? `, max_payload ${MAX_PAYLOAD}` : ''}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  if (values.soak !== undefined) {
    await soak(server, Number(values.soak));
  } else {
    const cases = [
      [240_000, 60], [2_400_000, 60], [24_000_000, 60], [240_000, 0],
    ];
    const rows = [];
    for (const [bytes, rate] of cases.filter((_, i) => !ONLY || ONLY.includes(i + 1))) {
      for (const transport of ['nats', 'tcp']) {
        const r = await runCase(server, transport, bytes, rate, SECONDS);
        rows.push(r);
        process.stderr.write(`  ${transport} ${bytes / 1e6} MB ${rate || 'back to back'}: ${r.fps.toFixed(1)} fps\n`);
      }
    }
    process.stdout.write('\nframe     rate          transport  source frames/s  frames/s  age p50 ms  age p90 ms  CPU ms/frame: sender  receiver  nats-server\n');
    for (const r of rows)
      process.stdout.write(
        `${`${r.bytes / 1e6} MB`.padEnd(9)} ${(r.rate ? `${r.rate} Hz` : 'back to back').padEnd(13)} ${r.transport.padEnd(10)} ${r.sourceFps.toFixed(1).padStart(15)} ${r.fps.toFixed(1).padStart(8)} ${r.p50.toFixed(2).padStart(11)} ${r.p90.toFixed(2).padStart(11)} ${r.senderCpu.toFixed(2).padStart(20)} ${r.receiverCpu.toFixed(2).padStart(9)} ${(r.transport === 'nats' ? r.serverCpu.toFixed(2) : '-').padStart(12)} ${r.note}\n`,
      );
    process.stdout.write('\nratios NATS / TCP (same run):\n');
    for (let i = 0; i < rows.length; i += 2) {
      const [n, t] = [rows[i], rows[i + 1]];
      process.stdout.write(`${`${n.bytes / 1e6} MB`.padEnd(9)} ${(n.rate ? `${n.rate} Hz` : 'back to back').padEnd(13)} fps ${(n.fps / t.fps).toFixed(2)}×  age p50 ${(n.p50 / t.p50).toFixed(2)}×\n`);
    }
    // The targets of issue 18 ("Performance"), shmswarm-to-mirror against raw TCP in the same run.
    process.stdout.write('\ntargets (issue 18):\n');
    const verdict = (ok) => (ok ? 'met' : 'MISSED');
    for (let i = 0; i < rows.length; i += 2) {
      const [n, t] = [rows[i], rows[i + 1]];
      const what = `${n.bytes / 1e6} MB ${n.rate ? `@ ${n.rate} Hz` : 'back to back'}`;
      const line = (target, ok) => process.stdout.write(`  ${`${what}: ${target}`.padEnd(58)} ${verdict(ok)}\n`);
      if (n.rate && n.bytes < 24e6) {
        line(`>= 59 fps (${n.fps.toFixed(1)})`, n.fps >= 59);
        line(`p50 <= 2x TCP's (${n.p50.toFixed(2)} / ${t.p50.toFixed(2)} ms = ${(n.p50 / t.p50).toFixed(2)}x)`, n.p50 <= 2 * t.p50);
      } else if (n.rate) line(`>= 15 fps (${n.fps.toFixed(1)})`, n.fps >= 15);
      else line(`>= 1,000 frames/s (${n.fps.toFixed(0)})`, n.fps >= 1000);
    }
  }
} finally {
  await server.cleanup();
}
