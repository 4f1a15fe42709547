#!/usr/bin/env node
// Where a 4 KB call's time goes on the Node side: the same operations through the addon's
// instance methods (one napi_unwrap per call), through the functions bound to the handle that
// Segment uses, and through Segment itself. Interleaved rounds, best batch of each.
//
//   node bench/napi.js
import { native } from '../dist/core/binding.js';
import { Segment, allocFrame, parseDtype } from '../dist/core/index.js';
import { perCall } from './lib/measure.js';

const name = `/shmswarm-bench-napi-${process.pid}`;
const seg = Segment.create(name, { rows: 100, cols: 10 });
Segment.unlink(name);
const raw = native().SegmentHandle.create(`${name}-raw`, 100, 10, 9, null, 0o600);
native().unlink(`${name}-raw`);
const io = new Float64Array(new ArrayBuffer(64));
const bound = raw.bound(io);
const src = new Float32Array(1000);
const dst = allocFrame(parseDtype('f32'), 1000);
const info = new Float64Array(6);
const into = { into: dst, lockFree: true };
seg.writeFrame(src);
raw.writeFrame(src);

const cases = {
  'trivial instance method (setTimeout)': () => raw.setTimeout(1000),
  'sequence() (no /proc look-up)': () => raw.sequence(),
  'state() (asks /proc if the writer lives)': () => raw.state(),
  'writeFrame, instance method': () => raw.writeFrame(src),
  'writeFrame, bound function': () => bound.writeFrame(src),
  'Segment.writeFrame': () => seg.writeFrame(src),
  'readFrame lock-free, instance method': () => raw.readFrame(dst, 2, -1, info),
  'readFrame lock-free, bound function (mode and seen in io)': () => {
    io[6] = 2;
    io[7] = -1;
    bound.readFrame(dst);
  },
  'Segment.readFrame({ into, lockFree })': () => seg.readFrame(into),
};
const best = Object.fromEntries(Object.keys(cases).map((k) => [k, Infinity]));
for (let round = 0; round < 3; round++)
  for (const [k, fn] of Object.entries(cases)) best[k] = Math.min(best[k], perCall(fn, 3, 15)[0]);
const w = Math.max(...Object.keys(best).map((k) => k.length));
for (const [k, v] of Object.entries(best)) process.stdout.write(`${k.padEnd(w)}  ${v.toFixed(0).padStart(6)} ns\n`);
seg.close();
raw.close();
