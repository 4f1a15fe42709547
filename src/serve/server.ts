import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  checkSegmentName, csvChunks, encodeNpy, frameTable, isShmswarmError, openFrameSource, parseDtype, Segment, ShmswarmError,
  type FrameSource, type RawOptions, type SegmentInfo,
} from '../core/index.js';
import { summaryFields } from '../core/segment.js';
import { Feed, QUANTISE_ABOVE, THIN_ABOVE } from './feed.js';

/** Largest request head accepted (431 beyond): the endpoints need only a path and a token. */
const MAX_HEADER_BYTES = 8192;
/** WebSocket clients at once, over all segments; more are refused with 503. */
const MAX_SOCKETS = 32;
/** The page sends only its choice of fields: a message is at most this big (ws closes bigger ones with 1009)... */
const MAX_CLIENT_MESSAGE = 256;
/** ... and more than this many in a second closes the socket (1008). */
const MAX_CLIENT_MESSAGES_PER_S = 10;
/** /frame.csv and /frame.npy requests at once (each holds a copy of the frame); more get 503. */
const MAX_FRAME_REQUESTS = 4;
/** TCP connections at once; the kernel queues more until one closes. */
const MAX_CONNECTIONS = 256;
/** /frame.csv and /frame.npy: frames of more fields or bytes are refused (413 ETOOBIG). */
const MAX_DOWNLOAD_COLS = 65_536;
const MAX_DOWNLOAD_BYTES = 2 ** 30;
/** Lock-free attempts at one consistent frame for /frame.csv and /frame.npy. */
const FRAME_ATTEMPTS = 50;
const COOKIE = 'shmswarm_token';

export interface ServeOptions {
  /** Serve this segment only; without it, any segment named in the request (?name=/x). */
  name?: string;
  /** Read `name` as a bare matrix (needs `name`). */
  raw?: RawOptions;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** When set, every request must carry it (Authorization: Bearer, the page's cookie, or ?token=). */
  token?: string;
  /** Agents above which frames are subsampled (default 50,000). */
  thinAbove?: number;
  /** Agents above which values go as 16 bits (default 50,000). */
  quantiseAbove?: number;
  /** Where the built page is (default: dist/serve/page next to this module). */
  pageDir?: URL;
}

export interface SwarmServer {
  /** http://host:port/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** True when the built page was found (the JSON, CSV and .npy endpoints work without it). */
  readonly pageBuilt: boolean;
  /** Stops listening, closes every socket and timer, detaches from every segment. */
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1].startsWith('127.');
}

interface Page {
  html: Buffer;
  js: Buffer;
  css: Buffer;
}

function loadPage(dir: URL): Page | null {
  try {
    return {
      html: readFileSync(new URL('index.html', dir)),
      js: readFileSync(new URL('app.js', dir)),
      css: readFileSync(new URL('app.css', dir)),
    };
  } catch {
    return null;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Errors of the segment as HTTP: status and one JSON line with the code. */
function statusFor(e: unknown): number {
  if (!isShmswarmError(e)) return e instanceof TypeError || e instanceof RangeError ? 400 : 500;
  switch (e.code) {
    case 'ENOENT':
    case 'EUNINIT':
      return 404;
    case 'EACCES':
    case 'EPERM':
      return 403;
    case 'ENOFRAME':
    case 'ETIMEDOUT':
    case 'EBUSY':
      return 503;
    default:
      return 500;
  }
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code = 'EHTTP') {
    super(message);
  }
}

/**
 * The HTTP and WebSocket server of `shmswarm serve` (endpoints and messages in docs/SERVE.md).
 * Read-only: frames are copied lock-free, never under the segment's lock.
 */
export async function startServer(o: ServeOptions = {}): Promise<SwarmServer> {
  if (o.raw && !o.name) throw new TypeError('raw needs a segment name');
  if (o.name !== undefined) checkSegmentName(o.name);
  const host = o.host ?? '127.0.0.1';
  const page = loadPage(o.pageDir ?? new URL('../serve/page/', import.meta.url));
  const token = o.token !== undefined ? digest(o.token) : null;
  const loopback = isLoopback(host);
  const feeds = new Map<string, Feed>();
  let sockets = 0;
  let frameRequests = 0;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE, perMessageDeflate: false, clientTracking: true });

  /** The token of a request, if any: Authorization: Bearer, then the cookie, then ?token=. */
  function presented(req: IncomingMessage, url: URL): { value: string; from: 'header' | 'cookie' | 'query' } | null {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return { value: auth.slice(7).trim(), from: 'header' };
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k !== COOKIE) continue;
      try {
        return { value: decodeURIComponent(v.join('=')), from: 'cookie' };
      } catch {
        return { value: '', from: 'cookie' }; // not percent-encoding: a wrong token
      }
    }
    const q = url.searchParams.get('token');
    return q === null ? null : { value: q, from: 'query' };
  }

  function authorised(p: { value: string } | null): boolean {
    if (!token) return true;
    // Compared as digests: equal lengths, and the time does not depend on where they differ.
    return p !== null && timingSafeEqual(digest(p.value), token);
  }

  /**
   * A loopback server answers only to loopback host names: a web page elsewhere cannot reach it
   * through a name of its own that resolves to 127.0.0.1 (DNS rebinding).
   */
  function hostAllowed(req: IncomingMessage): boolean {
    if (!loopback) return true;
    const h = req.headers.host;
    if (!h) return false;
    const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(h);
    return m !== null && isLoopback(m[1]);
  }

  /** The segment a request is about: the served one, or ?name= when serving any. */
  function segmentOf(url: URL): string {
    const asked = url.searchParams.get('name');
    if (o.name !== undefined) {
      if (asked !== null && asked !== o.name) throw new HttpError(404, `this server serves ${o.name} only`, 'ENOENT');
      return o.name;
    }
    if (asked === null) throw new HttpError(400, 'name the segment: ?name=/swarm', 'ENONAME');
    try {
      checkSegmentName(asked);
    } catch (e) {
      throw new HttpError(400, (e as Error).message, 'EBADNAME');
    }
    return asked;
  }

  function open(name: string): FrameSource {
    return openFrameSource(name, { raw: name === o.name ? o.raw : undefined });
  }

  function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  }

  function sendError(res: ServerResponse, status: number, message: string, code: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // 426 names the protocol to upgrade to (RFC 9110 §15.5.22).
    send(res, status, 'application/json', JSON.stringify({ error: message, code }) + '\n', status === 426 ? { Upgrade: 'websocket', Connection: 'Upgrade' } : {});
  }

  /** One consistent frame, copied without the lock (a writer that keeps overwriting it: 503). */
  async function consistentFrame(src: FrameSource) {
    for (let i = 0; ; i++) {
      try {
        return src.readFrame(src.kind === 'shmswarm' ? { lockFree: true } : {})!;
      } catch (e) {
        if (!isShmswarmError(e, 'ENOFRAME') || i >= FRAME_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  }

  function infoJson(info: SegmentInfo): Record<string, unknown> {
    // As info --json: key by key, so that unnamed columns are not all named.
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(info) as (keyof SegmentInfo)[]) out[k] = k === 'fields' ? summaryFields(info) : info[k];
    return out;
  }

  async function writeChunks(res: ServerResponse, chunks: Iterable<Uint8Array>): Promise<void> {
    for (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const securityHeaders = {
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
      'Referrer-Policy': 'no-referrer',
    };
    const path = url.pathname;
    if (path === '/' || path === '/index.html') {
      if (!page) throw new HttpError(503, 'the page was not built (npm run build:ts builds it); /info.json, /frame.csv and /frame.npy work without it', 'ENOPAGE');
      return send(res, 200, 'text/html; charset=utf-8', page.html, securityHeaders);
    }
    if (path === '/app.js' || path === '/app.css') {
      if (!page) throw new HttpError(404, `${path} was not built`, 'ENOPAGE');
      return send(res, 200, path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', path.endsWith('.js') ? page.js : page.css, securityHeaders);
    }
    if (path === '/config.json') {
      return send(res, 200, 'application/json', JSON.stringify({ name: o.name ?? null, raw: o.raw !== undefined, thinAbove: o.thinAbove ?? THIN_ABOVE, quantiseAbove: o.quantiseAbove ?? QUANTISE_ABOVE }) + '\n');
    }
    if (path === '/list.json') {
      const list = Segment.list().filter((s) => s.kind !== 'foreign' && (o.name === undefined || s.name === o.name));
      return send(res, 200, 'application/json', JSON.stringify(list, null, 2) + '\n');
    }
    if (path === '/info.json' || path === '/frame.csv' || path === '/frame.npy') {
      const name = segmentOf(url);
      const isFrame = path !== '/info.json';
      if (isFrame && frameRequests >= MAX_FRAME_REQUESTS) throw new HttpError(503, `${MAX_FRAME_REQUESTS} frames are being sent already; try again`, 'EBUSY');
      const src = open(name);
      if (isFrame) {
        const bytes = src.rows * src.cols * parseDtype(src.dtype).bytes;
        if (src.cols > MAX_DOWNLOAD_COLS || bytes > MAX_DOWNLOAD_BYTES) {
          src.close();
          throw new HttpError(413, `${name} holds ${src.rows} × ${src.cols} values (${bytes} bytes): more than this server sends at once (${MAX_DOWNLOAD_COLS} fields, ${MAX_DOWNLOAD_BYTES} bytes); use shmswarm dump on its machine`, 'ETOOBIG');
        }
        frameRequests++;
      }
      try {
        if (path === '/info.json') return send(res, 200, 'application/json', JSON.stringify(infoJson(src.info()), null, 2) + '\n');
        const frame = await consistentFrame(src);
        const table = frameTable({ name, dtype: src.dtype, sequence: frame.sequence, frames: frame.frames, fields: src.fields }, frame.data);
        const headers = { 'Cache-Control': 'no-store', 'X-Shmswarm-Sequence': String(frame.sequence), ...(frame.torn ? { 'X-Shmswarm-Torn': '1' } : {}) };
        if (path === '/frame.npy') return send(res, 200, 'application/octet-stream', encodeNpy(table), headers);
        res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', ...headers });
        if (req.method === 'HEAD') return void res.end();
        return await writeChunks(res, csvChunks(table));
      } finally {
        if (isFrame) frameRequests--;
        src.close();
      }
    }
    // The WebSocket endpoint reached without the upgrade (curl, a browser's address bar).
    if (path === '/stream') throw new HttpError(426, '/stream is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)', 'EUPGRADE');
    throw new HttpError(404, `no such path: ${path.slice(0, 100)}`, 'ENOTFOUND');
  }

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 60_000, headersTimeout: 10_000 }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, 400, 'bad request URL', 'EBADURL');
    }
    if (!hostAllowed(req)) return sendError(res, 403, 'this server answers only to a loopback host name (localhost, 127.0.0.1, [::1])', 'EHOST');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      res.setHeader('Connection', 'close');
      return sendError(res, 405, `${req.method} is not allowed: every endpoint is read-only`, 'EMETHOD');
    }
    const p = presented(req, url);
    if (!authorised(p)) {
      if (url.pathname === '/' && !p) return send(res, 401, 'text/html; charset=utf-8', LOGIN_HTML, { 'Content-Security-Policy': "default-src 'none'; form-action 'self'" });
      return sendError(res, 401, p ? 'wrong token' : 'this server needs a token (Authorization: Bearer <token>, or ?token=<token> on the page)', 'ETOKEN');
    }
    if (token && p?.from === 'query') {
      // The page keeps the token in a cookie, and the address bar (and history) loses it.
      url.searchParams.delete('token');
      res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(p.value)}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('Location', url.pathname + url.search);
      return send(res, 303, 'text/plain', 'see the page without the token\n');
    }
    handle(req, res, url).catch((e) => {
      if (e instanceof HttpError) sendError(res, e.status, e.message, e.code);
      else sendError(res, statusFor(e), e instanceof Error ? e.message : String(e), isShmswarmError(e) ? e.code : 'EINTERNAL');
    });
  });

  server.maxConnections = MAX_CONNECTIONS;

  // Malformed requests and oversized heads: an answer when the socket can take one, never a crash.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  function refuse(socket: Duplex, status: string): void {
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuse(socket, '400 Bad Request');
    }
    if (url.pathname !== '/stream') return refuse(socket, '404 Not Found');
    if (!hostAllowed(req)) return refuse(socket, '403 Forbidden');
    // A page from elsewhere may open a WebSocket to any address: only this server's own page may.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let same = false;
      try {
        same = new URL(origin).host === req.headers.host;
      } catch {
        /* not a URL */
      }
      if (!same) return refuse(socket, '403 Forbidden');
    }
    if (!authorised(presented(req, url))) return refuse(socket, '401 Unauthorized');
    let name: string;
    try {
      name = segmentOf(url);
    } catch (e) {
      return refuse(socket, (e as HttpError).status === 404 ? '404 Not Found' : '400 Bad Request');
    }
    if (sockets >= MAX_SOCKETS) return refuse(socket, '503 Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, name));
  });

  function attach(ws: WebSocket, name: string): void {
    sockets++;
    let feed = feeds.get(name);
    if (!feed) {
      feed = new Feed(name, { raw: name === o.name ? o.raw : undefined, thinAbove: o.thinAbove, quantiseAbove: o.quantiseAbove });
      feeds.set(name, feed);
    }
    const f = feed;
    let windowStart = Date.now();
    let count = 0;
    ws.on('message', (data, isBinary) => {
      // The page says which fields it draws ({"type":"fields","fields":[x, y, colour]}, checked
      // by the feed); anything else is ignored, and a flood ends the socket.
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        count = 0;
      }
      if (++count > MAX_CLIENT_MESSAGES_PER_S) return ws.close(1008, 'too many messages');
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (msg !== null && typeof msg === 'object' && (msg as { type?: unknown }).type === 'fields') f.select(ws, (msg as { fields?: unknown }).fields);
    });
    ws.on('error', () => ws.terminate());
    ws.once('close', () => {
      sockets--;
      // The feed is closed with its last watcher: no polling for nobody.
      queueMicrotask(() => {
        if (f.size === 0 && feeds.get(name) === f) {
          f.close();
          feeds.delete(name);
        }
      });
    });
    f.add(ws);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why = e.code === 'EADDRINUSE' ? `port ${o.port ?? 8080} on ${host} is in use (--port 0 picks a free one)` : e.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine` : e.message;
      reject(new ShmswarmError(`cannot listen: ${why}`, e.code ?? 'ELISTEN', { syscall: 'listen' }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(o.port ?? 8080, host);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (o.port ?? 8080);
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    pageBuilt: page !== null,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const f of feeds.values()) f.close();
        feeds.clear();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

const LOGIN_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shmswarm serve: token</title></head>
<body><form method="get" action="/"><p>This server needs the token from its --token-file.</p>
<input type="password" name="token" autofocus> <button type="submit">open</button></form></body></html>
`;
