// Shared test helpers: unique segment names that are unlinked after each test (pass or fail),
// the real CLI binary, and child processes that use the built library.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'shmswarm');
export const DIST = join(ROOT, 'dist', 'core', 'index.js');
export const SHM_PREFIX = `shmswarm-test-${process.pid}-`;

let counter = 0;
const made = new Set();

function unlinkQuietly(name) {
  const path = '/dev/shm' + name;
  if (existsSync(path)) {
    try {
      spawnSync('rm', ['-f', path]);
    } catch {
      /* already gone */
    }
  }
}

/**
 * A fresh segment name, unlinked when the test `t` ends (and again when the file ends).
 * Pass the test context so cleanup runs even when the test fails.
 */
export function uniqueName(t, label = 'seg') {
  const name = `/${SHM_PREFIX}${label}-${++counter}`;
  made.add(name);
  if (t && typeof t.after === 'function') t.after(() => unlinkQuietly(name));
  return name;
}

// Anything this process named, and anything left with its prefix, goes at the end of the file.
after(() => {
  for (const name of made) unlinkQuietly(name);
  for (const entry of readdirSync('/dev/shm')) if (entry.startsWith(SHM_PREFIX)) unlinkQuietly('/' + entry);
});

/** Run the real CLI to completion: { status, signal, stdout, stderr }. */
export function runCli(args, options = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: options.encoding ?? 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    input: options.input,
    timeout: options.timeout ?? 30_000,
    cwd: options.cwd,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Start the real CLI in the background; the caller kills or awaits it. */
export function spawnCli(args, options = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Run an ES module snippet in a child Node process with `shmswarm` (the built library) in
 * scope as the default import; returns the ChildProcess. Use for cross-process tests.
 */
export function spawnNode(code, options = {}) {
  const prelude = `import * as shmswarm from ${JSON.stringify(DIST)};\nconst { Segment } = shmswarm;\n`;
  return spawn(process.execPath, ['--input-type=module', '-e', prelude + code, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolve with { code, signal, stdout, stderr } when the child exits. */
export function waitExit(child, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // let the pipes drain
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** Resolve when the child's stdout has printed a line matching `pattern`. */
export function waitForLine(child, pattern, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${buf}`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(line);
      }
    };
    child.stdout.on('data', onData);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A rows × cols f32 WA-1 object (a Julia WrappedArray's bytes), as another program would make it. */
export function writeWa1Matrix(name, rows, cols, values) {
  const b = Buffer.alloc(64 + rows * cols * 4);
  b.writeUInt32LE(0x57412d31, 0);
  b.writeUInt16LE(9, 4); // Float32
  b.writeUInt16LE(2, 6);
  b.writeBigInt64LE(64n, 8);
  b.writeBigInt64LE(BigInt(cols), 16); // Julia order: first dim varies fastest
  b.writeBigInt64LE(BigInt(rows), 24);
  Buffer.from(new Float32Array(values).buffer).copy(b, 64);
  writeFileSync('/dev/shm' + name, b);
}

/**
 * A 4 × 2 segment (with `options`) whose writer published `first` (JS source of a Float32Array),
 * then died (SIGKILL) inside beginFrame/endFrame after setting element 0 to -1: the sequence
 * stays odd until a locker repairs it.
 */
export async function dieMidFrame(t, name, options, first) {
  const child = spawnNode(`
    const seg = Segment.create(${JSON.stringify(name)}, { rows: 4, fields: ['x', 'y'], ...${JSON.stringify(options)} });
    seg.writeFrame(${first});
    seg.beginFrame()[0] = -1;
    console.log('mid-frame');
    setInterval(() => seg, 1000); // keeps seg reachable: a collected handle would be closed
  `);
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /mid-frame/);
  child.kill('SIGKILL');
  await waitExit(child);
}
