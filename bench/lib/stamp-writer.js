// A writer for bench/nats.js: creates <name> as rows × 4 f64 and publishes frames in place,
// element 0 = the frame number, element 1 = the monotonic clock in ms (the same clock in every
// process on the host), so a reader of a mirror knows each frame's age. rate 0 = back to back
// (a frame every 0.2 ms at most, see below).
//   node stamp-writer.js <name> <rows> <rate>
import { Segment } from '../../dist/core/index.js';

const [name, rows, rate] = process.argv.slice(2);
const seg = Segment.create(name, { rows: Number(rows), cols: 4, dtype: 'f64', replace: true });
const hz = Number(rate);
let stopping = false;
process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));
process.stdout.write('ready\n');
const start = performance.now();
const nap = new Int32Array(new SharedArrayBuffer(4));
const NAP_MS = 0.2;
for (let k = 1; !stopping; k++) {
  const v = seg.beginFrame();
  v[0] = k;
  v[1] = Number(process.hrtime.bigint()) / 1e6;
  seg.endFrame();
  const due = hz > 0 ? start + (k * 1000) / hz : 0;
  if (hz > 0) await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  else {
    // Back to back without spinning: a writer looping on setImmediate takes a whole one of the
    // machine's two vCPUs from the processes measured. Sleeping 0.2 ms still writes several times
    // the frames the bridge can carry (the table's "source frames/s"), so a newer frame is always
    // waiting; the event loop turns every 64 frames for the signals.
    Atomics.wait(nap, 0, 0, NAP_MS);
    if (k % 64 === 0) await new Promise((r) => setImmediate(r));
  }
}
seg.closeAndUnlink();
