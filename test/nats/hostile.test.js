// A hostile or buggy publisher: every kind of bad message is refused before it reaches shared
// memory, with one stderr line per kind (repeats are counted), the subscriber goes on, and the
// mirror is made only from a whole, valid frame of the right size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers } from 'nats';
import { uniqueName } from '../helpers.js';
import { Segment } from '../../dist/core/index.js';
import { Assembler, decodeMessage, WireProblem } from '../../dist/bridge/wire.js';
import { skipWithoutNats, startNats } from './server.js';
import { openWhenThere, run, stderrLine, stop, until } from './procs.js';

/** Headers of a valid frame message, written from docs/BRIDGES.md (not from src/bridge/wire.ts), with changes. */
function frameHeaderMap(over = {}) {
  const h = {
    'Shmswarm-Version': '1', 'Shmswarm-Kind': 'frame', 'Shmswarm-Id': 'hostile', 'Shmswarm-Frame': '1', 'Shmswarm-Skipped': '0',
    'Shmswarm-Name': '/evil', 'Shmswarm-Host': 'evil-host', 'Shmswarm-Shape': '40x4', 'Shmswarm-Dtype': 'f32',
    'Shmswarm-Fields': 'a,b,c,d', 'Shmswarm-Bytes': '640', 'Shmswarm-Chunk': '0/1', 'Shmswarm-Sequence': '2', 'Shmswarm-Time': String(Date.now()),
    ...over,
  };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
  return h;
}

function natsHeaders(map) {
  const h = headers();
  for (const [k, v] of Object.entries(map)) h.set(k, v);
  return h;
}

/** 40 × 4 f32 with element i = k + i. */
function rampBytes(k) {
  const a = new Float32Array(160);
  for (let i = 0; i < a.length; i++) a[i] = k + i;
  return new Uint8Array(a.buffer);
}

test('wire: each kind of bad header is its own problem, before anything is allocated', () => {
  const get = (map) => (k) => map[k];
  const problem = (map, payload = 640, max = 1 << 20) => {
    try {
      decodeMessage(get(map), payload, max);
      return null;
    } catch (e) {
      assert.ok(e instanceof WireProblem, String(e));
      return e.problem;
    }
  };
  assert.equal(problem(frameHeaderMap()), null);
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Version': '2' })), 'version');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Version': undefined })), 'header');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Shape': '0x4' })), 'shape');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Shape': '40by4' })), 'shape');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Shape': '1000000000000x4', 'Shmswarm-Bytes': '16000000000000' })), 'too-large');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Shape': '99999999999999999999x99999999999999999999' })), 'too-large');
  assert.equal(problem(frameHeaderMap(), 640, 639), 'too-large', '--max-bytes');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Dtype': 'f16' })), 'dtype');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Dtype': '9' })), 'dtype');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Fields': 'a,b' })), 'fields');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Fields': 'a,a,b,c' })), 'fields');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Bytes': '641' })), 'size');
  assert.equal(problem(frameHeaderMap(), 100), 'size', 'one chunk, short payload');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Chunk': '3/2' })), 'header');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Chunk': '0/641' }), 1), 'header', 'more chunks than bytes');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Id': 'a b' })), 'header');
  assert.equal(problem(frameHeaderMap({ 'Shmswarm-Kind': 'status', 'Shmswarm-State': 'on fire' })), 'header');
});

test('wire: chunks are taken only in order; a missing or extra chunk drops the frame, never delivers part of it', () => {
  const problems = [];
  const asm = new Assembler((p) => problems.push(p.problem));
  const bytes = rampBytes(5);
  const chunk = (i, n, frame = '1', part = bytes.subarray(i * 160, (i + 1) * 160)) => {
    const m = decodeMessage((k) => frameHeaderMap({ 'Shmswarm-Chunk': `${i}/${n}`, 'Shmswarm-Frame': frame })[k], part.byteLength, 1 << 20);
    return asm.add(m, part);
  };
  // In order: whole, byte for byte.
  assert.equal(chunk(0, 4), null);
  assert.equal(chunk(1, 4), null);
  assert.equal(chunk(2, 4), null);
  const whole = chunk(3, 4);
  assert.deepEqual(new Uint8Array(whole.data), bytes);
  // Out of order: 0, 2, 1, 3 delivers nothing.
  assert.equal(chunk(0, 4, '2'), null);
  assert.equal(chunk(2, 4, '2'), null);
  assert.equal(chunk(1, 4, '2'), null);
  assert.equal(chunk(3, 4, '2'), null);
  assert.deepEqual(problems, ['chunk-order', 'chunk-order', 'chunk-order']);
  // A chunk of another frame in the middle, and a missing last chunk.
  problems.length = 0;
  chunk(0, 4, '3');
  chunk(1, 4, '4');
  chunk(0, 4, '5');
  chunk(1, 4, '5');
  assert.equal(chunk(0, 4, '6'), null);
  assert.deepEqual(problems, ['chunk-order', 'incomplete']);
});

test('a hostile publisher: one line per kind of problem, no crash, no mirror of the wrong size, and the good frame after it is mirrored', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false });
  const remote = uniqueName(t, 'evil');
  const mirror = uniqueName(t, 'mirror');
  const subject = 'hostile.test';
  const sub = run(t, ['subscribe', remote, '--from', server.url, '--subject', subject, '--as', mirror]);
  await stderrLine(sub, /waiting for the next live frame/);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const send = (map, payload = rampBytes(1)) => nc.publish(subject, payload, map ? { headers: natsHeaders(map) } : undefined);
  const bad = [
    [null, 'header'],
    [frameHeaderMap({ 'Shmswarm-Version': '2' }), 'version'],
    [frameHeaderMap({ 'Shmswarm-Shape': '0x4' }), 'shape'],
    [frameHeaderMap({ 'Shmswarm-Shape': '1000000000000x4', 'Shmswarm-Bytes': '16000000000000' }), 'too-large'],
    [frameHeaderMap({ 'Shmswarm-Dtype': 'c64' }), 'dtype'],
    [frameHeaderMap({ 'Shmswarm-Fields': 'a,b' }), 'fields'],
    [frameHeaderMap({ 'Shmswarm-Bytes': '641' }), 'size'],
  ];
  // Twice each: the second of a kind is counted, not shown.
  for (const [map] of [...bad, ...bad]) send(map);
  send(frameHeaderMap(), rampBytes(1).subarray(0, 100)); // a one-chunk frame that is too short
  // Chunks out of order (0, 2, 1, 3): taken in that order, they would make a whole, wrong frame.
  const scrambled = rampBytes(1000);
  for (const i of [0, 2, 1, 3]) send(frameHeaderMap({ 'Shmswarm-Frame': '7', 'Shmswarm-Chunk': `${i}/4` }), scrambled.subarray(i * 160, (i + 1) * 160));
  await nc.flush();
  await stderrLine(sub, /came out of order/);
  // A frame whose last chunk never comes, then a whole good one.
  for (const i of [0, 1]) send(frameHeaderMap({ 'Shmswarm-Frame': '8', 'Shmswarm-Chunk': `${i}/4` }), scrambled.subarray(i * 160, (i + 1) * 160));
  send(frameHeaderMap({ 'Shmswarm-Frame': '9', 'Shmswarm-Sequence': '18' }), rampBytes(42));
  await nc.flush();

  const seg = await openWhenThere(mirror, Segment);
  t.after(() => seg.close());
  await until(() => seg.info().frames >= 1, 'a frame in the mirror');
  assert.equal(seg.rows, 40);
  assert.equal(seg.cols, 4);
  assert.deepEqual(seg.fields, ['a', 'b', 'c', 'd']);
  assert.deepEqual(new Uint8Array(seg.readFrame().data.buffer), rampBytes(42), 'the good frame, whole');
  assert.equal(seg.info().frames, 1, 'nothing but the good frame was ever written (no scrambled frame before it)');

  await stderrLine(sub, /never came/);
  const refusals = sub.err.split('\n').filter((l) => l.startsWith('shmswarm: refused'));
  const kinds = ['version', 'shape', 'too-large', 'dtype', 'fields', 'size', 'chunk-order', 'incomplete', 'header'];
  assert.equal(refusals.length, kinds.length, `one line per kind:\n${refusals.join('\n')}`);
  assert.match(sub.err, /1000000000000x4 f32 is 16000000000000 bytes, more than the 268435456/);
  assert.match(sub.err, /element type "c64"/);
  assert.match(sub.err, /chunk 2\/4 of frame 7 came out of order \(expected chunk 1\/4 of frame 7\)/);
  assert.match(sub.err, /frame 8 from publisher hostile was dropped: chunk 2 of 4 never came/);
  assert.equal(sub.exitCode, null, 'still running');
  const s = await stop(sub);
  assert.deepEqual(s, { code: 0, signal: null });
  assert.match(sub.err, /refused header 2, version 2, shape 2, too-large 2, dtype 2, fields 2, size 3, chunk-order 3, incomplete 1/);
});

test('one-message frames land whole whatever byte offset their payload has in the socket buffer (f64: 8-byte elements)', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false });
  const mirror = uniqueName(t, 'mirror');
  const subject = 'aligned.test';
  const sub = run(t, ['subscribe', '/aligned', '--from', server.url, '--subject', subject, '--as', mirror]);
  await stderrLine(sub, /waiting for the next live frame/);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  let seg = null;
  t.after(() => seg?.close());
  // Host names of 1 to 9 characters shift where each payload starts by one byte at a time.
  for (let k = 1; k <= 9; k++) {
    const values = new Float64Array(160).map((_, i) => k * 1000 + i);
    const map = frameHeaderMap({ 'Shmswarm-Dtype': 'f64', 'Shmswarm-Bytes': '1280', 'Shmswarm-Host': 'h'.repeat(k), 'Shmswarm-Frame': String(k), 'Shmswarm-Sequence': String(2 * k) });
    nc.publish(subject, new Uint8Array(values.buffer), { headers: natsHeaders(map) });
    await nc.flush();
    seg ??= await openWhenThere(mirror, Segment);
    await until(() => seg.info().frames >= k, `frame ${k} in the mirror`);
    assert.deepEqual(seg.readFrame().data, values, `frame ${k}`);
  }
  assert.doesNotMatch(sub.err, /refused/);
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
});

test('--force never replaces a segment whose writer is alive: the first frame fails the mirror with one line, exit 1, the segment untouched', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false });
  const taken = uniqueName(t, 'taken');
  const sim = run(t, ['simulate', taken, '--agents', '10', '--rate', '60']);
  await stderrLine(sim, /Ctrl-C/);
  const subject = 'force.test';
  const sub = run(t, ['subscribe', '/remote', '--from', server.url, '--subject', subject, '--as', taken, '--force']);
  await stderrLine(sub, /waiting for the next live frame/);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  nc.publish(subject, rampBytes(3), { headers: natsHeaders(frameHeaderMap()) });
  await nc.flush();
  const { code } = await sub.exited;
  assert.equal(code, 1, sub.err);
  assert.match(sub.err, new RegExp(`shmswarm: ${taken} has a live writer \\(pid \\d+\\); not replacing it`));
  const seg = Segment.open(taken, { readonly: true });
  t.after(() => seg.close());
  assert.equal(seg.rows, 10, 'the live segment is untouched');
  await stop(sim);
});
