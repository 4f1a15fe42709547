// `shmswarm serve` without a browser: the HTTP endpoints against the CLI's own output, the
// /stream messages (whole frames, each once, latest only), thinning, segments that change shape
// or vanish, and the safety rules (loopback by default, the token, bad requests, floods, slow
// sockets, nothing written to shared memory). Every server is the real CLI on a free port.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Segment } from '../../dist/core/index.js';
import { runCli, sleep, spawnCli, uniqueName, waitExit } from '../helpers.js';
import { rampK } from '../bridge/build.js';
import { startServe, streamClient } from './serve.js';

/** GET (or another method) → { status, headers, body: Buffer }. */
function http(url, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes sent as they are on a raw TCP socket; resolves with what came back before the close. */
function rawRequest(url, bytes) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.on('connect', () => s.end(bytes));
    setTimeout(() => reject(new Error(`no answer; got ${got}`)), 10_000).unref();
  });
}

/** A segment with a few ramp frames and no live writer: its bytes do not change unless someone writes. */
function staticSegment(t, label, agents = 500, extra = []) {
  const name = uniqueName(t, label);
  const r = runCli(['simulate', name, '--agents', String(agents), '--pattern', 'ramp', '--frames', '3', '--rate', '0', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return name;
}

const vmRssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

test('/info.json, /frame.csv, /frame.npy and /list.json answer as info --json, dump --csv, dump --npy and list --json', async (t) => {
  const name = staticSegment(t, 'endpoints');
  const { url } = await startServe(t, [name]);
  const info = await http(new URL('info.json', url));
  assert.equal(info.status, 200);
  assert.match(info.headers['content-type'], /^application\/json/);
  assert.deepEqual(JSON.parse(info.body), JSON.parse(runCli(['info', name, '--json']).stdout));
  const csv = await http(new URL('frame.csv', url));
  assert.equal(csv.status, 200);
  assert.equal(csv.body.toString(), runCli(['dump', name, '--csv']).stdout);
  assert.equal(csv.headers['x-shmswarm-sequence'], '6');
  const npy = await http(new URL('frame.npy', url));
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(runCli(['dump', name, '--npy', join(dir, 'f.npy')]).status, 0);
  assert.ok(npy.body.equals(readFileSync(join(dir, 'f.npy'))), '/frame.npy is the .npy dump --npy writes');
  const list = JSON.parse((await http(new URL('list.json', url))).body);
  assert.deepEqual(list.map((s) => s.name), [name], 'a server for one segment lists only it');
  // HEAD is answered like GET, without a body.
  const head = await http(new URL('frame.csv', url), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('/stream: each new frame once, whole and in place, in order; a status with rate and statistics', async (t) => {
  const name = uniqueName(t, 'stream');
  const sim = spawnCli(['simulate', name, '--agents', '1000', '--pattern', 'ramp', '--rate', '40', '--duration', '60']);
  t.after(() => sim.kill('SIGTERM'));
  assert.equal(runCli(['wait', name, '--frames', '2', '--timeout', '10']).status, 0);
  const { url } = await startServe(t, [name]);
  const c = streamClient(t, url);
  await c.until((c) => c.frames.length >= 30 && c.statuses.some((s) => s.framesPerSec !== null && s.sent >= 30));
  for (let i = 0; i < c.frames.length; i++) {
    const f = c.frames[i];
    assert.deepEqual([f.magic, f.version, f.headerBytes, f.encoding, f.dtype, f.rows, f.cols, f.totalRows, f.step, f.dataOffset], [0x57534853, 2, 64, 0, 9, 1000, 4, 1000, 1, 64 + 16]);
    assert.deepEqual(f.fieldsTable, [0, 1, 2, 3]);
    assert.equal(f.buf.byteLength, 64 + 16 + 1000 * 4 * 4);
    const values = new Float32Array(f.buf, f.dataOffset);
    assert.equal(rampK(values), f.frames, `message ${i} holds ramp frame ${f.frames} whole`);
    if (i > 0) assert.ok(f.sequence > c.frames[i - 1].sequence, `message ${i}: sequence ${f.sequence} after ${c.frames[i - 1].sequence}: no frame twice, none out of order`);
    assert.ok(Math.abs(f.sentTime - Date.now()) < 60_000 && f.lastWriteTime <= f.sentTime + 1);
  }
  const s = c.statuses.findLast((s) => s.sent >= 30);
  assert.deepEqual([s.type, s.name, s.status, s.rows, s.cols, s.dtype, s.fields, s.kind, s.thinning], ['status', name, 'live', 1000, 4, 'f32', ['x', 'y', 'vx', 'vy'], 'shmswarm', null]);
  assert.ok(s.framesPerSec > 10 && s.writerAlive === true && s.stats.length === 4);
  assert.ok(s.sent <= c.frames.length && s.skipped === 0, JSON.stringify({ ...s, stats: null }));
});

test('/stream sends nothing more while no new frame comes: the latest frame once, to each client', async (t) => {
  const name = staticSegment(t, 'still');
  const { url } = await startServe(t, [name]);
  const a = streamClient(t, url);
  await a.until((c) => c.frames.length >= 1 && c.statuses.length >= 3);
  const b = streamClient(t, url);
  await b.until((c) => c.frames.length >= 1 && c.statuses.length >= 3);
  await sleep(300);
  assert.equal(a.frames.length, 1, 'one frame: the writer published no other');
  assert.equal(b.frames.length, 1, 'a client that comes later gets the latest frame, once');
  assert.equal(a.statuses.at(-1).status, 'writer-dead');
  assert.equal(rampK(new Float32Array(b.frames[0].buf, b.frames[0].dataOffset)), 3);
  // One more frame: each client gets it once, through the frame reads between statuses and the
  // statuses' own reads alike (the second must not send again what the first sent).
  const seg = Segment.open(name);
  seg.writeFrame(Float32Array.from({ length: 500 * 4 }, (_, i) => 4 + i));
  seg.close();
  await a.until((c) => c.frames.length >= 2);
  await sleep(700);
  assert.deepEqual(a.frames.map((f) => rampK(new Float32Array(f.buf, f.dataOffset))), [3, 4]);
  assert.deepEqual(b.frames.map((f) => f.frames), [3, 4]);
});

test('beyond 50,000 agents values go as 16 bits and every step-th agent only; the status says so; f64 goes as f32', async (t) => {
  const mid = staticSegment(t, 'quantised', 50_000);
  const s1 = await startServe(t, [mid]);
  const m = streamClient(t, s1.url);
  await m.until((c) => c.frames.length >= 1 && c.statuses.length >= 1);
  const g = m.frames[0];
  assert.deepEqual([g.encoding, g.dtype, g.rows, g.totalRows, g.step, g.flags & 2], [0, 9, 50_000, 50_000, 1, 0]);
  assert.equal(m.statuses.at(-1).thinning, null);

  const big = staticSegment(t, 'thin', 150_001);
  const { url } = await startServe(t, [big]);
  const c = streamClient(t, url);
  await c.until((c) => c.frames.length >= 1 && c.statuses.length >= 1);
  const f = c.frames[0];
  assert.deepEqual([f.encoding, f.dtype, f.rows, f.cols, f.totalRows, f.step, f.dataOffset, f.flags & 2], [1, 4, 37501, 4, 150001, 4, 64 + 16 + 32, 2]);
  const table = new DataView(f.buf, 64 + 16, 32);
  const q = new Uint16Array(f.buf, f.dataOffset);
  for (const r of [0, 1, 4000, 37500]) {
    for (let col = 0; col < 4; col++) {
      const value = table.getFloat32(col * 8, true) + q[r * 4 + col] * table.getFloat32(col * 8 + 4, true);
      const exact = 3 + r * 4 * 4 + col; // ramp frame 3, agent 4r
      assert.ok(Math.abs(value - exact) <= 600_004 / 65535, `agent ${r * 4} field ${col}: ${value} ≈ ${exact}`);
    }
  }
  await c.until((c) => c.statuses.at(-1).stats !== null);
  const st = c.statuses.at(-1);
  assert.deepEqual(st.thinning, { step: 4, encoding: 'u16', agentsSent: 37501, converted: false });
  // Statistics over every 2nd agent (at most 100,000), and said: agents 0, 2, … 150,000.
  assert.equal(st.statsStep, 2);
  assert.deepEqual([st.stats[0].min, st.stats[0].mean, st.stats[0].max, st.stats[3].min], [3, 3 + 4 * 75_000, 3 + 4 * 150_000, 6]);

  const wide = uniqueName(t, 'f64');
  assert.equal(runCli(['create', wide, '--agents', '10', '--fields', 'x,y', '--dtype', 'f64']).status, 0);
  const seg = Segment.open(wide);
  seg.writeFrame(Float64Array.from({ length: 20 }, (_, i) => i / 4));
  seg.close();
  const s2 = await startServe(t, [wide]);
  const d = streamClient(t, s2.url);
  await d.until((c) => c.frames.length >= 1 && c.statuses.length >= 1);
  assert.deepEqual([d.frames[0].encoding, d.frames[0].dtype, d.frames[0].flags & 4], [0, 9, 4]);
  assert.deepEqual([...new Float32Array(d.frames[0].buf, d.frames[0].dataOffset)], Array.from({ length: 20 }, (_, i) => i / 4));
  assert.equal(d.statuses.at(-1).thinning.converted, true);
});

test('the page chooses the fields sent: only those go, the latest frame again at once in them; anything else it sends is ignored', async (t) => {
  const name = staticSegment(t, 'fields');
  const { url } = await startServe(t, [name]);
  const c = streamClient(t, url);
  await c.until((c) => c.frames.length >= 1 && c.statuses.length >= 1);
  assert.equal(c.statuses.at(-1).sentFields, null);
  for (const bad of ['{"type":"fields","fields":[-1]}', '{"type":"fields","fields":[1.5]}', '{"type":"fields","fields":[0,1,2,3]}', '{"type":"fields","fields":[]}',
    '{"type":"fields","fields":"x"}', '{"type":"fields"}', '{"type":"fields","fields":[4096]}', 'not json', 'null'])
    c.ws.send(bad);
  await sleep(1100);
  assert.deepEqual([c.frames.length, c.closed], [1, null], 'nothing sent again for a bad choice, and the socket stays');
  c.ws.send(JSON.stringify({ type: 'fields', fields: [3, 1, 99] }));
  await c.until((c) => c.frames.length >= 2 && c.statuses.at(-1).sentFields !== null);
  const f = c.frames[1];
  // Field 99 is not in a 4-field segment: left out. The same frame, in fields vy and y.
  assert.deepEqual([f.cols, f.fieldsTable, f.sequence, f.dataOffset, f.buf.byteLength], [2, [3, 1], c.frames[0].sequence, 64 + 8, 64 + 8 + 500 * 2 * 4]);
  const v = new Float32Array(f.buf, f.dataOffset);
  for (const r of [0, 1, 499]) assert.deepEqual([v[r * 2], v[r * 2 + 1]], [3 + r * 4 + 3, 3 + r * 4 + 1]);
  assert.deepEqual(c.statuses.at(-1).sentFields, [3, 1]);
  // The same choice again: the client has that frame in those fields already.
  c.ws.send(JSON.stringify({ type: 'fields', fields: [3, 1] }));
  await sleep(600);
  assert.equal(c.frames.length, 2, 'the still segment\'s frame is not sent again');
});

test('a segment re-created with another shape, then shrunk, then removed: said on /stream, and the server stays up', async (t) => {
  const name = staticSegment(t, 'reshape', 100);
  const { url, child, exit } = await startServe(t, [name]);
  const c = streamClient(t, url);
  await c.until((c) => c.frames.length >= 1);
  Segment.unlink(name);
  assert.equal(runCli(['simulate', name, '--agents', '7', '--dims', '3', '--pattern', 'ramp', '--frames', '2', '--rate', '0']).status, 0);
  await c.until((c) => c.frames.some((f) => f.rows === 7));
  const f = c.frames.find((f) => f.rows === 7);
  assert.deepEqual([f.cols, f.totalRows, rampK(new Float32Array(f.buf, f.dataOffset))], [6, 7, 2]);
  await c.until((c) => c.statuses.some((s) => s.rows === 7 && s.cols === 6 && s.fields.length === 6));
  assert.ok(c.statuses.some((s) => s.events.some((e) => /re-created|back/.test(e))), 'the change is said');
  truncateSync('/dev/shm' + name, 64);
  await c.until((c) => c.statuses.at(-1).status === 'error');
  const bad = await http(new URL('frame.npy', url));
  assert.ok(bad.status >= 400 && bad.status < 600);
  assert.ok(JSON.parse(bad.body).code, 'a JSON error with a code');
  Segment.unlink(name, { force: true });
  await c.until((c) => ['gone', 'waiting'].includes(c.statuses.at(-1).status));
  assert.equal((await http(new URL('info.json', url))).status, 404);
  assert.equal(child.exitCode, null, 'still serving');
  child.kill('SIGTERM');
  const r = await exit;
  assert.equal(r.code, 0, r.stderr);
});

test('a socket that stops reading gets no backlog: frames are skipped and counted, the server\'s memory stays flat, then the latest frame comes', async (t) => {
  const name = uniqueName(t, 'slow');
  // 100,000 agents × 4 f32: 1.6 MB frames at 60 Hz, about 100 MB/s that a backlog would hold.
  const sim = spawnCli(['simulate', name, '--agents', '100000', '--pattern', 'ramp', '--rate', '60', '--duration', '60']);
  t.after(() => sim.kill('SIGTERM'));
  assert.equal(runCli(['wait', name, '--frames', '2', '--timeout', '10']).status, 0);
  const { url, child } = await startServe(t, [name]);
  const slow = streamClient(t, url);
  await slow.until((c) => c.frames.length >= 2);
  const before = vmRssKb(child.pid);
  slow.ws.pause();
  const other = streamClient(t, url);
  await other.until((c) => c.frames.length >= 2);
  await sleep(3000);
  const during = vmRssKb(child.pid);
  const n = other.frames.length;
  await other.until((c) => c.frames.length > n + 2);
  slow.ws.resume();
  await slow.until((c) => c.statuses.some((s) => s.skipped > 20));
  const s = slow.statuses.at(-1);
  assert.ok(s.missed >= s.skipped, `missed ${s.missed} counts the skipped ${s.skipped}`);
  assert.ok(during - before < 64 * 1024, `the server grew by ${Math.round((during - before) / 1024)} MB while a socket did not read (3 s of frames is about 300 MB)`);
  for (let i = 1; i < slow.frames.length; i++) assert.ok(slow.frames[i].sequence > slow.frames[i - 1].sequence);
  assert.equal(other.statuses.at(-1).skipped, 0, 'the reading client was not held back');
});

test('bad requests: unknown paths 404, other methods 405, huge or malformed heads 400/431, a WebSocket flood is closed; the server keeps serving', async (t) => {
  const name = staticSegment(t, 'bad');
  const { url, child } = await startServe(t, [name]);
  for (const p of ['nothing', 'frame.csv/../../etc/passwd', '%2e%2e/x', 'info.json?name=/other']) {
    const r = await http(new URL(p, url));
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    assert.ok(JSON.parse(r.body).code, `${p}: a JSON error`);
  }
  // /stream without the upgrade (curl, an address bar): 426 says what it is, not "no such path".
  const plain = await http(new URL('stream', url));
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.upgrade, 'websocket');
  assert.match(JSON.parse(plain.body).error, /WebSocket endpoint/);
  assert.equal((await http(new URL('info.json', url), { method: 'POST' })).status, 405);
  assert.equal((await http(new URL('info.json', url), { method: 'DELETE' })).status, 405);
  assert.match(await rawRequest(url, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`), /^HTTP\/1.1 431/);
  assert.match(await rawRequest(url, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1.1 400/);
  // The page sends nothing: a big message ends the socket (1009), and so does a flood (1008).
  const big = streamClient(t, url);
  await big.until((c) => c.frames.length >= 1);
  big.ws.send(Buffer.alloc(10_000));
  await big.until((c) => c.closed !== null);
  assert.equal(big.closed.code, 1009);
  const flood = streamClient(t, url);
  await flood.until((c) => c.frames.length >= 1);
  for (let i = 0; i < 10_000 && flood.ws.readyState === 1; i++) flood.ws.send('x');
  await flood.until((c) => c.closed !== null);
  assert.equal(flood.closed.code, 1008);
  // A page on another site may not open the stream, nor reach the server under another host name.
  const foreign = streamClient(t, url, { headers: { Origin: 'http://evil.example' } });
  await foreign.until((c) => c.closed !== null);
  assert.equal(foreign.status, 403);
  assert.equal((await http(url, { headers: { Host: 'evil.example:80' } })).status, 403);
  // Still serving.
  const ok = streamClient(t, url);
  await ok.until((c) => c.frames.length >= 1);
  assert.equal((await http(new URL('info.json', url))).status, 200);
  assert.equal(child.exitCode, null);
});

test('no endpoint writes to shared memory: the segment\'s bytes are the same after every endpoint and a stream', async (t) => {
  const name = staticSegment(t, 'readonly');
  const hash = () => createHash('sha256').update(readFileSync('/dev/shm' + name)).digest('hex');
  const before = hash();
  const { url } = await startServe(t, [name]);
  for (const p of ['', 'app.js', 'config.json', 'list.json', 'info.json', 'frame.csv', 'frame.npy']) assert.equal((await http(new URL(p, url))).status, 200, p);
  const c = streamClient(t, url);
  await c.until((c) => c.frames.length >= 1 && c.statuses.length >= 3);
  c.ws.close();
  assert.equal(hash(), before);
});

test('--token-file: every HTTP request and the WebSocket need the token, compared whole; the token is in no process argument', async (t) => {
  const name = staticSegment(t, 'token');
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const token = 'k3y-' + createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24);
  writeFileSync(join(dir, 'token'), token + '\n', { mode: 0o600 });
  const { url, child, stderr } = await startServe(t, [name, '--token-file', join(dir, 'token')]);
  assert.doesNotMatch(stderr(), /other users/, 'a 0600 token file is not warned about');
  assert.ok(!readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(token));
  for (const p of ['', 'app.js', 'config.json', 'list.json', 'info.json', 'frame.csv', 'frame.npy', 'nothing']) {
    assert.equal((await http(new URL(p, url))).status, 401, `${p || '/'} without the token`);
    assert.equal((await http(new URL(p, url), { headers: { Authorization: `Bearer ${token.slice(0, -1)}` } })).status, 401, `${p || '/'} with a token one character short`);
    assert.equal((await http(new URL(p, url), { headers: { Authorization: `Bearer ${token}x` } })).status, 401, `${p || '/'} with a longer one`);
  }
  const auth = { Authorization: `Bearer ${token}` };
  assert.equal((await http(new URL('info.json', url), { headers: auth })).status, 200);
  const none = streamClient(t, url);
  await none.until((c) => c.closed !== null);
  assert.equal(none.status, 401);
  const ok = streamClient(t, url, { headers: auth });
  await ok.until((c) => c.frames.length >= 1);
  // The page: ?token= once, then a cookie; the address loses the token.
  const page = await http(new URL(`?token=${encodeURIComponent(token)}`, url));
  assert.equal(page.status, 303);
  assert.equal(page.headers.location, '/');
  const cookie = page.headers['set-cookie'][0].split(';')[0];
  assert.match(page.headers['set-cookie'][0], /HttpOnly; SameSite=Strict/);
  assert.equal((await http(url, { headers: { Cookie: cookie } })).status, 200);
  const viaCookie = streamClient(t, url, { headers: { Cookie: cookie } });
  await viaCookie.until((c) => c.frames.length >= 1);
  assert.equal((await http(url, { headers: { Cookie: 'shmswarm_token=wrong' } })).status, 401);
  assert.equal((await http(url, { headers: { Cookie: 'shmswarm_token=%E0%A4%A' } })).status, 401, 'a cookie that is not percent-encoding');
  assert.equal((await http(new URL('info.json', url), { headers: auth })).status, 200, 'still serving');
});

test('binds 127.0.0.1 by default; another address is warned about; bad options exit 2, a taken port 1, in one line', async (t) => {
  const name = staticSegment(t, 'bind');
  const local = await startServe(t, [name]);
  assert.match(local.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  await sleep(200);
  assert.doesNotMatch(local.stderr(), /anyone/);
  const open = await startServe(t, [name, '--host', '0.0.0.0']);
  assert.match(open.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
  await sleep(200);
  assert.match(open.stderr(), /serving on 0\.0\.0\.0: anyone who can reach port \d+ can read .*--token-file/);
  const port = new URL(local.url).port;
  const taken = runCli(['serve', name, '--port', port]);
  assert.equal(taken.status, 1);
  assert.match(taken.stderr, new RegExp(`^shmswarm: cannot listen: port ${port} on 127.0.0.1 is in use`));
  assert.equal(taken.stderr.trim().split('\n').length, 1);
  for (const args of [['--port', '70000'], ['--port', 'x'], ['--raw', '--shape', '3x3'], [name, '--shape', '3x3'], ['bad/name']]) {
    const r = runCli(['serve', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'open'), 'secret\n', { mode: 0o644 });
  const shared = await startServe(t, [name, '--token-file', join(dir, 'open')]);
  await sleep(200);
  assert.match(shared.stderr(), /--token-file .*open can be read by other users of this machine \(chmod 600/);
  writeFileSync(join(dir, 'empty'), '\n');
  assert.equal(runCli(['serve', name, '--token-file', join(dir, 'empty')]).status, 1, 'an empty token file is a runtime failure, as a missing one (and as publish/subscribe say)');
  const missing = runCli(['serve', name, '--token-file', join(dir, 'nope')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read --token-file .*ENOENT/);
});

test('an object claiming 2^26 fields (anyone can make one): the stream says it cannot show it and /frame.npy refuses it, with the server\'s memory flat', async (t) => {
  const name = uniqueName(t, 'wide');
  // A plain WA-1 header for 1 × 2^26 u8, sparse: 64 MiB that cost nothing to make.
  const h = Buffer.alloc(64);
  h.writeUInt32LE(0x57412d31, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(2, 6);
  h.writeBigInt64LE(64n, 8);
  h.writeBigInt64LE(2n ** 26n, 16);
  h.writeBigInt64LE(1n, 24);
  writeFileSync('/dev/shm' + name, h);
  truncateSync('/dev/shm' + name, 64 + 2 ** 26);
  const { url, child } = await startServe(t, []);
  const before = vmRssKb(child.pid);
  const c = streamClient(t, url, { name });
  await c.until((c) => c.statuses.some((s) => s.status === 'error'));
  assert.match(c.statuses.at(-1).message, /67108864 fields \(the view takes at most 4096\)/);
  assert.equal(c.frames.length, 0);
  const npy = await http(new URL(`frame.npy?name=${encodeURIComponent(name)}`, url));
  assert.equal(npy.status, 413);
  assert.equal(JSON.parse(npy.body).code, 'ETOOBIG');
  assert.equal((await http(new URL(`info.json?name=${encodeURIComponent(name)}`, url))).status, 200);
  assert.ok(vmRssKb(child.pid) - before < 64 * 1024, 'no copy of the object, no name per field');
  assert.equal(child.exitCode, null);
});
