// The Node processes of `npm run bench`, one role per child: node bench/lib/roles.js <role> <json-args>.
// Each prints "ready" when it should be started against (readers), then one JSON line with its result.
import { createServer, createConnection } from 'node:net';
import { Segment, allocFrame, parseDtype } from '../../dist/core/index.js';
import { perCall, sleepSync, median } from './measure.js';

const F32 = parseDtype('f32');
const hr = () => process.hrtime.bigint();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const ready = () => process.stdout.write('ready\n');

// Frames published by the `writer` role are uniform: frame number n (1-based, `frames` in the
// header) holds n % 4 + 1 everywhere, so a reader can tell a torn copy from a whole one.
const TORN_STRIDE = 16; // one element per cache line

function frameIsWhole(data, frames) {
  const want = (frames % 4) + 1;
  for (let i = 0; i < data.length; i += TORN_STRIDE) if (data[i] !== want) return false;
  return data[data.length - 1] === want;
}

const roles = {
  // Items 2 and 3: publish and read costs in this process, segment unlinked right after creation.
  copy({ name, rows, cols, batchMs }) {
    const seg = Segment.create(name, { rows, cols, dtype: 'f32' });
    Segment.unlink(name);
    const n = rows * cols;
    const plain = new Float32Array(n).fill(1.5);
    const aligned = allocFrame(F32, n).fill(1.5);
    const dstAligned = allocFrame(F32, n);
    const dstPlain = new Float32Array(n);
    const r = { bytes: n * 4 };
    r.writeFrame = perCall(() => seg.writeFrame(plain), batchMs);
    r.writeFrameAlignedSrc = perCall(() => seg.writeFrame(aligned), batchMs);
    r.inPlace = perCall(() => {
      const v = seg.beginFrame();
      v.set(plain);
      seg.endFrame();
    }, batchMs);
    r.readLockFree = perCall(() => seg.readFrame({ into: dstAligned, lockFree: true }), batchMs);
    r.readAuto = perCall(() => seg.readFrame({ into: dstAligned }), batchMs);
    r.readLocked = perCall(() => seg.readFrame({ into: dstAligned, lock: true }), batchMs);
    r.readLockFreePlain = perCall(() => seg.readFrame({ into: dstPlain, lockFree: true }), batchMs);
    const seq = seg.readFrame({ into: dstAligned }).sequence;
    r.readUnchanged = perCall(() => seg.readFrame({ into: dstAligned, since: seq }), batchMs);
    const paced = [];
    for (let i = 0; i < 24; i++) {
      sleepSync(16.667);
      const t0 = hr();
      seg.writeFrame(plain);
      paced.push(Number(hr() - t0));
    }
    r.pacedWriteFrameNs = median(paced);
    seg.close();
    out(r);
  },

  // Issue 22: writeFrame from and readFrame({ into }) into views at every 16-byte offset of a 4 KiB
  // period (best of `reps` sweeps at each, the paths interleaved); then an allocating readFrame() and a
  // readFrame({ into }) in loops of `loop` calls (mean per call, garbage collection included).
  offsets({ name, bytes, reps, inner, loop }) {
    const n = bytes >> 2;
    const seg = Segment.create(name, { rows: n, fields: ['v'], dtype: 'f32' });
    Segment.unlink(name);
    // 64-byte-aligned buffers (allocFrame), swept every 16 bytes; offset 0 is the aligned case,
    // the same memory as every offset (at 24 MB two allocations' physical pages alone differed
    // by 10 %, which a reference in other buffers counted as the address's effect).
    const srcBuf = allocFrame(F32, n + 2048).fill(1.5).buffer, dstBuf = allocFrame(F32, n + 2048).buffer;
    const r = { bytes: n * 4, reps };
    // Each sample times the calls after one untimed call of the same path: each path finds its
    // own buffers as warm as the others do (six 240 KB pairs overflow the L2).
    const time = (f) => {
      f();
      const t0 = hr();
      for (let i = 0; i < inner; i++) f();
      return Number(hr() - t0) / inner;
    };
    // The same paths from 64-byte-aligned arrays, and this process's own memcpy between those
    // and the segment (TypedArray#set), at every offset too: they share its load.
    const into = new Float32Array(dstBuf, 0, n), from = new Float32Array(srcBuf, 0, n), mapped = seg.view();
    const paths = {
      writeFrame: (src) => seg.writeFrame(src),
      readFrame: (_, dst) => seg.readFrame({ into: dst }),
      writeFrameAligned: () => seg.writeFrame(from),
      readFrameAligned: () => seg.readFrame({ into }),
      memcpyWriteAligned: () => mapped.set(from),
      memcpyReadAligned: () => into.set(mapped),
    };
    // Each pass sweeps every offset; passes 0 and 1 warm up (first touches, the JIT) and are
    // thrown away, and each offset keeps its best of the `reps` passes after them. Sweeping once
    // per repetition spreads a slow spell (the JIT compiling on a background thread took the
    // first ~20 offsets of a sweep to 2x on every path, aligned ones included) over different
    // offsets instead of every sample of a few.
    const WARM = 2;
    const views = Array.from({ length: 256 }, (_, o) => [new Float32Array(srcBuf, 16 * o, n), new Float32Array(dstBuf, 16 * o, n)]);
    for (const key of Object.keys(paths)) r[key] = new Array(256).fill(Infinity);
    for (let pass = 0; pass < WARM + reps; pass++)
      for (let o = 0; o < 256; o++) {
        const [src, dst] = views[o];
        for (const [key, f] of Object.entries(paths)) {
          const t = time(() => f(src, dst));
          if (pass >= WARM && t < r[key][o]) r[key][o] = t;
        }
      }
    const mean = (f) => {
      let best = Infinity;
      for (let round = 0; round < 3; round++) best = Math.min(best, time(() => { for (let i = 0; i < loop; i++) f(); }) / loop);
      return best;
    };
    r.loopInto = mean(() => seg.readFrame({ into }));
    r.loopAlloc = mean(() => seg.readFrame());
    seg.close();
    out(r);
  },

  // Item 4: how long after the C writer's publish a waitForFrame in this process resolves.
  async 'wake-reader'({ name, samples, lowLatency = false }) {
    // The stamps: see the wake-* modes in bench/c/shmbench.c.
    const seg = Segment.open(name, { readonly: true });
    const ringSeg = Segment.open(`${name}-ring`, { readonly: true });
    const ring = ringSeg.view();
    const slots = ringSeg.rows;
    const buf = allocFrame(F32, seg.length);
    const lat = new Float64Array(samples);
    let seq = seg.sequence();
    let got = 0;
    ready();
    while (got < samples) {
      seq = await seg.waitForFrame(seq, { timeoutMs: 5000, lowLatency });
      const t = hr();
      lat[got++] = Number(t - ring[(seq / 2) % slots]);
      seg.readFrame({ into: buf });
    }
    seg.close();
    ringSeg.close();
    out({ samples: Array.from(lat) });
  },

  // Items 5 and 6: publish back to back for `seconds`, frame n holding n % 4 + 1.
  writer({ name, seconds, pace }) {
    const seg = Segment.open(name);
    const n = seg.length;
    const frames = [0, 1, 2, 3].map((k) => new Float32Array(n).fill(k + 1));
    let i = seg.info().frames;
    const cpu0 = process.cpuUsage();
    const ru0 = process.resourceUsage();
    const t0 = hr();
    const end = t0 + BigInt(Math.round(seconds * 1e9));
    let t = t0;
    let count = 0;
    while (t < end) {
      for (let k = 0; k < 16; k++) {
        i++;
        seg.writeFrame(frames[i % 4]);
        count++;
      }
      if (pace) sleepSync(pace);
      t = hr();
    }
    const secs = Number(t - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const ru = process.resourceUsage();
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    seg.close();
    // Frames per CPU-second does not move with other processes' load; the voluntary context
    // switches count the times the writer slept (on the mutex, or stepping aside for a reader).
    out({
      frames: count, seconds: secs, fps: count / secs, cpuSeconds: cpuSecs, fpsCpu: count / cpuSecs,
      sleeps: ru.voluntaryContextSwitches - ru0.voluntaryContextSwitches,
      preempted: ru.involuntaryContextSwitches - ru0.involuntaryContextSwitches,
    });
  },

  // Item 5: a reader. kind: 'watch' (a timer at `hz`), 'spin' (continuously, new frames only),
  // 'lock' (continuously, under the mutex, new frames only). Ends after `idleMs` without a frame.
  async reader({ name, kind, hz = 30, idleMs = 400, maxSeconds = 30 }) {
    const seg = Segment.open(name);
    const buf = allocFrame(F32, seg.length);
    let last = seg.sequence();
    let whole = 0;
    let torn = 0;
    let locked = 0;
    let retries = 0;
    let emptyTicks = 0;
    let pendingEmpty = 0;
    let first = 0n;
    let prev = 0n;
    let maxGap = 0n;
    const hardEnd = hr() + BigInt(maxSeconds * 1e9);
    const idle = BigInt(idleMs * 1e6);
    const once = () => {
      const f = seg.readFrame({ into: buf, since: last, lock: kind === 'lock' });
      const t = hr();
      if (!f) return t;
      last = f.sequence;
      if (f.locked) locked++;
      retries += f.retries;
      if (!frameIsWhole(buf, f.frames)) {
        torn++;
        return t;
      }
      whole++;
      emptyTicks += pendingEmpty; // ticks without a new frame, the writer still running
      pendingEmpty = 0;
      if (prev && t - prev > maxGap) maxGap = t - prev;
      if (!first) first = t;
      prev = t;
      return t;
    };
    ready();
    if (kind === 'watch') {
      await new Promise((resolve) => {
        const timer = setInterval(() => {
          const before = whole + torn;
          const t = once();
          if (first && whole + torn === before) pendingEmpty++;
          if ((first && t - prev > idle) || t > hardEnd) {
            clearInterval(timer);
            resolve();
          }
        }, 1000 / hz);
      });
    } else {
      for (;;) {
        const t = once();
        if ((first && t - prev > idle) || t > hardEnd) break;
      }
    }
    seg.close();
    out({ kind, whole, torn, locked, retries, maxGapMs: Number(maxGap) / 1e6, emptyTicks });
  },

  // Item 6: a consumer that sleeps until a frame is published and copies each new frame once.
  async 'shm-consumer'({ name, idleMs = 400 }) {
    const seg = Segment.open(name);
    const buf = allocFrame(F32, seg.length);
    let last = seg.sequence();
    let count = 0;
    let torn = 0;
    let first = 0n;
    let prev = 0n;
    ready();
    for (;;) {
      try {
        await seg.waitForFrame(last, { timeoutMs: first ? idleMs : 30_000 });
      } catch (e) {
        if (e.code === 'ETIMEDOUT') break;
        throw e;
      }
      const f = seg.readFrame({ into: buf, since: last });
      if (!f) continue;
      last = f.sequence;
      if (!frameIsWhole(buf, f.frames)) torn++;
      else count++;
      prev = hr();
      if (!first) first = prev;
    }
    seg.close();
    const secs = Number(prev - first) / 1e9;
    out({ frames: count, torn, seconds: secs, fps: (count - 1) / secs });
  },

  // Item 6: frames over a Unix socket, as raw bytes or as the JSON the seed rejected.
  async 'sock-consumer'({ path, bytes, mode }) {
    const frame = allocFrame(F32, bytes / 4);
    const frameBytes = new Uint8Array(frame.buffer, frame.byteOffset, bytes);
    let count = 0;
    let fill = 0;
    let text = '';
    let first = 0n;
    let prev = 0n;
    let bad = 0;
    const got = () => {
      prev = hr();
      count++;
    };
    await new Promise((resolve) => {
      const server = createServer((sock) => {
        first = hr(); // the writer starts making its first frame now
        if (mode === 'raw') {
          sock.on('data', (chunk) => {
            let off = 0;
            while (off < chunk.length) {
              const n = Math.min(bytes - fill, chunk.length - off);
              frameBytes.set(chunk.subarray(off, off + n), fill);
              fill += n;
              off += n;
              if (fill === bytes) {
                fill = 0;
                got();
              }
            }
          });
        } else {
          sock.setEncoding('utf8');
          sock.on('data', (chunk) => {
            text += chunk;
            let nl;
            while ((nl = text.indexOf('\n')) >= 0) {
              const arr = JSON.parse(text.slice(0, nl));
              text = text.slice(nl + 1);
              if (arr.length !== bytes / 4) bad++;
              frame.set(arr);
              got();
            }
          });
        }
        sock.on('end', () => {
          server.close();
          resolve();
        });
      });
      server.listen(path, ready);
    });
    const secs = Number(prev - first) / 1e9;
    out({ frames: count, bad, seconds: secs, fps: count / secs });
  },

  async 'sock-writer'({ path, bytes, mode, seconds }) {
    const sock = createConnection(path);
    await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const frame = new Float32Array(bytes / 4).fill(1.5);
    const raw = Buffer.from(frame.buffer);
    const end = hr() + BigInt(Math.round(seconds * 1e9));
    let sent = 0;
    while (hr() < end) {
      // A frame changes every time, so the JSON is made every time.
      const payload = mode === 'raw' ? raw : JSON.stringify(Array.from(frame)) + '\n';
      sent++;
      if (!sock.write(payload)) await new Promise((r) => sock.once('drain', r));
    }
    await new Promise((r) => sock.end(r));
    out({ sent });
  },
};

const [role, args] = process.argv.slice(2);
if (!roles[role]) {
  process.stderr.write(`roles.js: unknown role ${role}\n`);
  process.exit(2);
}
await roles[role](JSON.parse(args ?? '{}'));
