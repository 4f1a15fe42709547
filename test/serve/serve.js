// Helpers for serve's tests: the real `shmswarm serve` on a free loopback port, a WebSocket
// client that collects what /stream sends, and the real Chromium (skipped with how to get it
// when missing, except under CI=true, where a missing browser fails).
import { existsSync } from 'node:fs';
import { WebSocket } from 'ws';
import { spawnCli, waitExit, waitForLine } from '../helpers.js';

export const CHROMIUM = process.env.SHMSWARM_CHROMIUM ?? '/usr/bin/chromium';
// WebGL in headless Chromium without a GPU: ANGLE on SwiftShader.
export const CHROMIUM_ARGS = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'];

/** Skip (or, under CI=true, fail) when there is no Chromium. Returns false when the test must stop. */
export function needChromium(t) {
  if (existsSync(CHROMIUM)) return true;
  const why = `no Chromium at ${CHROMIUM}: apt-get install chromium (or set SHMSWARM_CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(why);
  t.skip(why);
  return false;
}

/** Launch Chromium headless; closed when the test ends. */
export async function launchChromium(t) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  return browser;
}

/**
 * `shmswarm serve [args]` on a free loopback port: { url, child, stderr() }. Stopped (SIGTERM,
 * then checked to exit 0) when the test ends.
 */
export async function startServe(t, args = [], options = {}) {
  const child = spawnCli(['serve', ...args, '--port', '0'], options);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exit = waitExit(child, 60_000);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exit;
  });
  const url = (await waitForLine(child, /^http:\/\//, 15_000)).trim();
  return { url, child, exit, stderr: () => stderr };
}

/**
 * A /stream client that keeps every message: frames (ArrayBuffers, with their header read) and
 * status objects. `until(pred)` resolves when pred(client) holds.
 */
export function streamClient(t, url, { headers, name } = {}) {
  const u = new URL('stream', url);
  u.protocol = 'ws:';
  if (name) u.searchParams.set('name', name);
  const ws = new WebSocket(u, { headers });
  const c = { ws, frames: [], statuses: [], closed: null, error: null };
  ws.binaryType = 'arraybuffer';
  ws.on('message', (data, isBinary) => {
    if (isBinary) c.frames.push(frameOf(data));
    else c.statuses.push(JSON.parse(String(data)));
  });
  ws.on('close', (code, reason) => (c.closed = { code, reason: String(reason) }));
  ws.on('error', (e) => (c.error = e));
  ws.on('unexpected-response', (_req, res) => {
    c.error = new Error(`HTTP ${res.statusCode}`);
    c.status = res.statusCode;
    c.closed = { code: -1, reason: `HTTP ${res.statusCode}` };
  });
  t.after(() => ws.terminate());
  c.until = (pred, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const start = Date.now();
      const check = () => {
        if (pred(c)) return resolve(c);
        if (Date.now() - start > timeoutMs) return reject(new Error(`timed out; frames ${c.frames.length}, statuses ${c.statuses.length}, closed ${JSON.stringify(c.closed)}, last status ${JSON.stringify(c.statuses.at(-1))?.slice(0, 400)}`));
        setTimeout(check, 20);
      };
      check();
    });
  return c;
}

/** The header of a frame message (docs/SERVE.md), and the bytes. */
export function frameOf(buf) {
  const v = new DataView(buf);
  return {
    magic: v.getUint32(0, true), version: v.getUint16(4, true), headerBytes: v.getUint16(6, true),
    encoding: v.getUint8(8), dtype: v.getUint8(9), flags: v.getUint16(10, true), rows: v.getUint32(12, true),
    cols: v.getUint32(16, true), totalRows: v.getUint32(20, true), step: v.getUint32(24, true), dataOffset: v.getUint32(28, true),
    sequence: v.getFloat64(32, true), frames: v.getFloat64(40, true), lastWriteTime: v.getFloat64(48, true), sentTime: v.getFloat64(56, true),
    // The fields table: the segment's field index of each column sent (padded to 8 bytes).
    fieldsTable: [...new Uint32Array(buf, 64, v.getUint32(16, true))],
    buf,
  };
}

export { waitExit };
