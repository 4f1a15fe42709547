// A writer for bench/nats.js: creates <name> as rows × 4 f64 and publishes frames in place,
// element 0 = the frame number, element 1 = the monotonic clock in ms (the same clock in every
// process on the host), so a reader of a mirror knows each frame's age. rate 0 = back to back.
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
for (let k = 1; !stopping; k++) {
  const v = seg.beginFrame();
  v[0] = k;
  v[1] = Number(process.hrtime.bigint()) / 1e6;
  seg.endFrame();
  const due = hz > 0 ? start + (k * 1000) / hz : 0;
  await new Promise((r) => (hz > 0 ? setTimeout(r, Math.max(0, due - performance.now())) : setImmediate(r)));
}
seg.closeAndUnlink();
