// The raw-TCP baseline for bench/nats.js: the same job as `shmswarm publish` + `subscribe`
// (follow a segment, send each new frame, write it into a local mirror) over one plain TCP
// connection, 16-byte header (u64 length, u64 sequence) then the bytes. The sender drops to the
// newest frame while the socket is backed up, as the publisher does; no chunking, no checks.
//   node tcp-bridge.js send <segment> <port>      connects to 127.0.0.1:<port>
//   node tcp-bridge.js recv <mirror> <port> <rows> <cols> <dtype>   listens, prints "listening"
import { createConnection, createServer } from 'node:net';
import { Segment } from '../../dist/core/index.js';

const [role, name, port, rows, cols, dtype] = process.argv.slice(2);
let stopping = false;
process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));

if (role === 'send') {
  const seg = Segment.open(name);
  const sock = createConnection({ host: '127.0.0.1', port: Number(port) });
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  let seen = 0;
  while (!stopping) {
    try {
      await seg.waitForFrame(seen, { timeoutMs: 200 });
    } catch {
      continue;
    }
    const f = seg.readFrame();
    seen = f.sequence;
    const head = Buffer.alloc(16);
    head.writeBigUInt64LE(BigInt(f.data.byteLength), 0);
    head.writeBigUInt64LE(BigInt(f.sequence), 8);
    sock.write(head);
    // Backed up: wait until it drains (frames published meanwhile are skipped).
    if (!sock.write(new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength))) await new Promise((r) => sock.once('drain', r));
  }
  sock.end();
  seg.close();
} else if (role === 'recv') {
  const mirror = Segment.create(name, { rows: Number(rows), cols: Number(cols), dtype });
  const frameBytes = mirror.length * (dtype === 'f64' ? 8 : 4);
  const buf = new Uint8Array(new ArrayBuffer(frameBytes));
  const view = dtype === 'f64' ? new Float64Array(buf.buffer) : new Float32Array(buf.buffer);
  let head = Buffer.alloc(0);
  let need = -1;
  let filled = 0;
  const server = createServer((sock) => {
    sock.on('data', (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        if (need < 0) {
          const take = Math.min(16 - head.length, chunk.length - off);
          head = Buffer.concat([head, chunk.subarray(off, off + take)]);
          off += take;
          if (head.length === 16) {
            need = Number(head.readBigUInt64LE(0));
            head = Buffer.alloc(0);
            filled = 0;
          }
          continue;
        }
        const take = Math.min(need - filled, chunk.length - off);
        buf.set(chunk.subarray(off, off + take), filled);
        filled += take;
        off += take;
        if (filled === need) {
          mirror.writeFrame(view);
          need = -1;
        }
      }
    });
  });
  server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
  const timer = setInterval(() => {
    if (!stopping) return;
    clearInterval(timer);
    server.close();
    mirror.closeAndUnlink();
    process.exit(0);
  }, 50);
} else {
  process.stderr.write('usage: tcp-bridge.js send|recv ...\n');
  process.exit(2);
}
