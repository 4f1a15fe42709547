// src/bridge/natsio.ts against the installed nats client and a real nats-server: both changes
// apply (an upgrade of nats that breaks them fails here instead of quietly bringing the copies
// back), and messages stay whole through them — large ones spanning socket reads, a publish
// buffer overwritten once its flush came back, headers and payload intact, payloads aligned —
// and the memory of a message given back with recycleMessage is reused, only then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers } from 'nats';
import { presizeMessages, recycleMessage, sendPiecesAsIs } from '../../dist/bridge/natsio.js';
import { skipWithoutNats, startNats } from './server.js';

test('natsio: pieces sent as they are and large messages gathered in one buffer; every message arrives whole, its payload 64-byte aligned', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false });
  const pub = await connect({ servers: server.url });
  const sub = await connect({ servers: server.url });
  t.after(() => Promise.all([pub.close(), sub.close()]));
  assert.equal(sendPiecesAsIs(pub), true, 'the publish change applies to this nats client');
  assert.equal(presizeMessages(sub), true, 'the receive change applies to this nats client');

  // The receiver keeps a copy of each message, as the subscriber's Assembler does, and gives
  // message 0's memory back; message 3's it keeps a view of (a one-message frame used in place).
  const got = [];
  sub.subscribe('natsio.test', {
    callback: (err, m) => {
      if (err) return;
      const k = got.length;
      got.push({ k: m.headers.get('K'), data: m.data.slice(), view: m.data, offset: m.data.byteOffset, memory: m.data.buffer });
      if (k === 0) recycleMessage(m.data);
    },
  });
  await sub.flush();

  // One buffer, reused for every message once the flush behind the previous one has come back,
  // as the publisher does: a message still referenced by the socket would arrive changed.
  // Message 4 is of message 0's size class (its memory given back), 5 of message 3's (kept).
  const sizes = [300_000, 65_536, 1_000, 900_000, 300_001, 900_000];
  const buf = new Uint8Array(1_000_000);
  for (let k = 0; k < sizes.length; k++) {
    for (let i = 0; i < sizes[k]; i++) buf[i] = (i * 7 + k * 13) & 0xff;
    const h = headers();
    h.set('K', `${k}${'x'.repeat(k * 5)}`); // headers of different lengths: payloads at different offsets
    pub.publish('natsio.test', buf.subarray(0, sizes[k]), { headers: h });
    await pub.flush();
  }
  const end = Date.now() + 10_000;
  while (got.length < sizes.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(got.length, sizes.length, 'every message arrived');
  for (let k = 0; k < sizes.length; k++) {
    const { k: key, data, offset } = got[k];
    assert.equal(key, `${k}${'x'.repeat(k * 5)}`, `message ${k}: headers intact`);
    assert.equal(data.byteLength, sizes[k], `message ${k}: size`);
    let bad = -1;
    for (let i = 0; i < data.byteLength && bad < 0; i++) if (data[i] !== ((i * 7 + k * 13) & 0xff)) bad = i;
    assert.equal(bad, -1, `message ${k}: every byte as sent`);
    // Messages of 64 KB and more that span socket reads get the buffer of their own.
    if (sizes[k] >= 300_000) assert.equal(offset % 64, 0, `message ${k}: payload aligned in its buffer`);
  }
  assert.equal(got[4].memory, got[0].memory, 'the memory given back is reused for a message of its size');
  assert.notEqual(got[5].memory, got[3].memory, 'memory not given back is never reused');
  assert.deepEqual(got[3].view, got[3].data, 'a message held in place is still as it arrived after later messages');
});
