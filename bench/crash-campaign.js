#!/usr/bin/env node
// Crash campaign: a writer is SIGKILLed at a random point of its cycle, again and again. After
// every kill a fresh reader must get, within its 1 s lock timeout, either a whole frame (every
// element equal: the writer fills a frame with its frame number) or one marked torn, and the next
// writer must take the lock over and publish.
//
//   node bench/crash-campaign.js [kills=1000] [--rows 4096]
//
// test/reliability/crash.test.js runs the same campaign with 100 kills.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Segment } from '../dist/core/index.js';
import { parseArgsOrExit, usageExit } from './lib/args.js';
import { buildHelper } from '../test/native-c/build.js';

function waitReady(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const onData = (d) => {
      out += d;
      if (out.includes('ready\n')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`writer exited (${code ?? signal}) before its first frame: ${err.trim()}`)));
  });
}

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

function isWhole(data) {
  const v = data[0];
  for (let i = 1; i < data.length; i++) if (data[i] !== v) return false;
  return true;
}

/**
 * Run `kills` kill/read/take-over rounds on segment `name` (created here, unlinked at the end).
 * Returns plain counts; `violations` lists every round that broke the contract.
 */
export async function runCampaign({ name, kills = 1000, rows = 4096, maxDelayMs = 6, onProgress } = {}) {
  const helper = buildHelper();
  const seg = Segment.create(name, { rows, cols: 4, dtype: 'f32' });
  seg.close();
  const result = { kills: 0, whole: 0, tornMarked: 0, recoveredLocks: 0, violations: [], maxReadMs: 0, framesAtEnd: 0 };
  let lastFrames = 0;
  let child = null;
  try {
    for (let i = 0; i < kills; i++) {
      child = spawn(helper, ['writer', name], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await waitReady(child);
      } catch (e) {
        result.violations.push(`round ${i}: next writer did not take over: ${e.message}`);
        break;
      }
      // setTimeout(0) lands anywhere in the writer's cycle; the upper bound lets frames pile up.
      await pause(Math.random() * maxDelayMs);
      child.kill('SIGKILL');
      await exited(child);
      child = null;
      result.kills++;

      const t0 = process.hrtime.bigint();
      const reader = Segment.open(name, { readonly: true, timeoutMs: 1000 });
      try {
        const f = reader.readFrame({ timeoutMs: 1000 });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        result.maxReadMs = Math.max(result.maxReadMs, ms);
        if (f.recovered) result.recoveredLocks++;
        if (f.torn) result.tornMarked++;
        else if (isWhole(f.data)) result.whole++;
        else result.violations.push(`round ${i}: frame ${f.frames} mixes two frames and is not marked torn`);
        if (f.frames <= lastFrames) result.violations.push(`round ${i}: no new frame published (${f.frames})`);
        lastFrames = f.frames;
      } catch (e) {
        result.violations.push(`round ${i}: reader failed: ${e.code ?? ''} ${e.message}`);
      } finally {
        reader.close();
      }
      onProgress?.(result);
    }
    result.framesAtEnd = lastFrames;
  } finally {
    if (child) {
      child.kill('SIGKILL');
      await exited(child);
    }
    try {
      Segment.unlink(name);
    } catch {
      /* already gone */
    }
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const USAGE = 'usage: node bench/crash-campaign.js [kills=1000] [--rows N]';
  const { values, positionals } = parseArgsOrExit('crash-campaign', USAGE, { options: { rows: { type: 'string', default: '4096' } }, allowPositionals: true });
  const rows = Number(values.rows);
  const kills = Number(positionals[0] ?? 1000);
  if (positionals.length > 1 || !Number.isInteger(kills) || kills < 1 || !Number.isInteger(rows) || rows < 1) usageExit('crash-campaign', USAGE);
  const name = `/shmswarm-crash-campaign-${process.pid}`;
  const started = Date.now();
  const r = await runCampaign({
    name,
    kills,
    rows,
    onProgress: (p) => p.kills % 100 === 0 && console.error(`${p.kills} kills…`),
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`kills: ${r.kills} in ${secs} s (frame ${rows} x 4 f32)`);
  console.log(`reads after a kill: ${r.whole} whole, ${r.tornMarked} marked torn, ${r.recoveredLocks} took over a dead owner's lock`);
  console.log(`slowest read after a kill: ${r.maxReadMs.toFixed(2)} ms (lock timeout 1000 ms)`);
  console.log(`frames published by all writers: ${r.framesAtEnd}`);
  console.log(`violations: ${r.violations.length}`);
  for (const v of r.violations.slice(0, 20)) console.log(`  ${v}`);
  process.exitCode = r.violations.length ? 1 : 0;
}
