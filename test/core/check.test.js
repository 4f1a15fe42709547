// The check and wait core: pure parsers and the value scan, then collectCheck and
// waitForSegment against segments written by other processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNode, uniqueName, waitForLine, writeWa1Matrix } from '../helpers.js';
import { Segment, collectCheck, openFrameSource, waitForSegment } from '../../dist/core/index.js';
import { parseRange } from '../../dist/core/check.js';
import { newValueStats, scanFrame } from '../../dist/core/check.js';

test('parseRange: negative bounds, infinities, empty ends, colons in field names', () => {
  assert.deepEqual(parseRange('x:-1:1'), { field: 'x', min: -1, max: 1 });
  assert.deepEqual(parseRange('z:-inf:inf'), { field: 'z', min: -Infinity, max: Infinity });
  assert.deepEqual(parseRange('y:-1.5e3:+Infinity'), { field: 'y', min: -1500, max: Infinity });
  assert.deepEqual(parseRange('v::0'), { field: 'v', min: -Infinity, max: 0 });
  assert.deepEqual(parseRange('a:b:0:1'), { field: 'a:b', min: 0, max: 1 });
  assert.deepEqual(parseRange('x:.5:5.'), { field: 'x', min: 0.5, max: 5 });
  for (const bad of ['x', 'x:1', ':0:1', 'x:nan:1', 'x:0x10:20', 'x:1:0', 'x:1e999:2', 'x:1,5:2'])
    assert.throws(() => parseRange(bad), RangeError, bad);
});

test('scanFrame: a range holds both its bounds; the next value past either is outside', () => {
  const fields = ['x', 'y'];
  const at = newValueStats([{ field: 'x', min: -0.5, max: 0.5 }, { field: 'y', min: 3, max: 3 }], fields);
  scanFrame(at, new Float32Array([-0.5, 3, 0.5, 3]), 2, fields, 1, true);
  assert.deepEqual(at.ranges.map((r) => r.outside), [0, 0], 'values equal to min and to max are inside [min, max]');
  const past = newValueStats([{ field: 'x', min: -0.5, max: 0.5 }], fields);
  scanFrame(past, new Float64Array([-0.5000000000000001, 0, 0.5000000000000001, 0]), 2, fields, 2, true);
  assert.equal(past.ranges[0].outside, 2);
  assert.deepEqual([past.ranges[0].first.frame, past.ranges[0].first.agent], [2, 0], 'the first offender: agent 0, just below min');
});

test('scanFrame: counts non-finite values, range extremes and first offenders', () => {
  const fields = ['x', 'y'];
  const stats = newValueStats([{ field: 'y', min: 0, max: 10 }], fields);
  scanFrame(stats, new Float32Array([1, 2, NaN, 3, 5, -Infinity]), 2, fields, 7, true);
  assert.equal(stats.frames, 1);
  assert.equal(stats.values, 6);
  assert.equal(stats.nonFinite, 2);
  assert.deepEqual(stats.firstNonFinite, { frame: 7, agent: 1, field: 'x', value: 'NaN' });
  const [y] = stats.ranges;
  assert.equal(y.outside, 1);
  assert.equal(y.values, 3);
  assert.deepEqual([y.min, y.max], [-Infinity, 3]);
  assert.deepEqual(y.first, { frame: 7, agent: 2, field: 'y', value: '-inf' });
  // NaN is outside every range; integer and bigint types are scanned too.
  const s2 = newValueStats([{ field: 'x', min: -Infinity, max: Infinity }], fields);
  scanFrame(s2, new Float64Array([NaN, 0]), 2, fields, 1, false);
  assert.equal(s2.ranges[0].outside, 1);
  assert.equal(s2.nonFinite, 0, 'finite not asked');
  const s3 = newValueStats([{ field: 'y', min: 0, max: 100 }], fields);
  scanFrame(s3, new BigInt64Array([1n, 200n]), 2, fields, 1, true);
  scanFrame(s3, new Int16Array([1, -3]), 2, fields, 2, true);
  assert.equal(s3.nonFinite, 0);
  assert.equal(s3.ranges[0].outside, 2);
  assert.deepEqual([s3.ranges[0].min, s3.ranges[0].max], [-3, 200]);
  assert.throws(() => newValueStats([{ field: 'w', min: 0, max: 1 }], fields), /unknown field "w" in range; valid fields: x, y/);
});

const WRITER = `
const [name, rate] = process.argv.slice(1);
const seg = Segment.create(name, { rows: 3, fields: 'x,y' });
let k = 0;
setInterval(() => { k++; seg.writeFrame([k, -k, k, -k, k, k >= 4 ? NaN : -k]); if (k === 2) console.log('ready'); }, 1000 / Number(rate));
process.on('SIGTERM', () => { seg.close(); process.exit(0); });
`;

test('collectCheck returns plain data for a live writer in another process', async (t) => {
  const name = uniqueName(t);
  const child = spawnNode(WRITER, { args: [name, '100'] });
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /ready/);
  const source = openFrameSource(name);
  t.after(() => source.close());
  const report = await collectCheck(source, {
    shape: '3x2', dtype: 'float32', fields: 'x,y', minRate: 5, windowMs: 500, finite: true,
    ranges: ['x:0:inf', { field: 'y', min: -1e9, max: 0 }], writerAlive: true,
  });
  assert.equal(report.kind, 'shmswarm');
  assert.ok(report.windowMs >= 500);
  assert.ok(report.framesRead >= 2);
  assert.equal(report.nameStatus, 'same');
  const byName = Object.fromEntries(report.assertions.map((a) => [a.name, a]));
  assert.deepEqual(Object.keys(byName), ['shape', 'dtype', 'fields', 'min-rate', 'finite', 'range:x', 'range:y', 'writer-alive']);
  for (const n of ['shape', 'dtype', 'fields', 'min-rate', 'range:x', 'writer-alive']) assert.equal(byName[n].ok, true, `${n}: ${byName[n].message}`);
  assert.ok(byName['min-rate'].measured >= 5);
  // From frame 4 on, agent 2's y is NaN: not finite, and outside every range.
  assert.equal(byName.finite.ok, false);
  assert.deepEqual({ ...byName.finite.measured.first, frame: 0 }, { frame: 0, agent: 2, field: 'y', value: 'NaN' });
  assert.equal(byName['range:y'].ok, false);
  assert.ok(byName['range:y'].measured.outside >= report.framesRead - 2);
  assert.equal(byName['writer-alive'].measured.pid, child.pid);
  assert.equal(report.ok, false);
  JSON.stringify(report); // plain data
});

test('collectCheck refuses bad options before watching anything', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 1, fields: 'x' });
  t.after(() => seg.close());
  const src = openFrameSource(name);
  t.after(() => src.close());
  await assert.rejects(collectCheck(src, {}), /nothing to check/);
  await assert.rejects(collectCheck(src, { ranges: ['q:0:1'] }), /unknown field "q"/);
  await assert.rejects(collectCheck(src, { minRate: -1 }), RangeError);
  await assert.rejects(collectCheck(src, { finite: true, windowMs: 0 }), RangeError);
});

test('collectCheck on a segment never written: value checks fail, saying why', async (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, fields: 'x' });
  t.after(() => seg.close());
  const src = openFrameSource(name);
  t.after(() => src.close());
  const r = await collectCheck(src, { finite: true, ranges: ['x:-1:1'], writerAlive: true, windowMs: 100 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.assertions.map((a) => [a.name, a.ok]), [['finite', false], ['range:x', false], ['writer-alive', false]]);
  assert.equal(r.assertions[0].message, `no frame has been written to ${name}`);
  assert.equal(r.assertions[2].message, `no writer has written to ${name}`);
});

test('a plain WA-1 object: values are sampled; rate and writer cannot be known and fail', async (t) => {
  const name = uniqueName(t, 'wa1');
  writeWa1Matrix(name, 2, 2, [1, 2, 3, Infinity]);
  const src = openFrameSource(name);
  t.after(() => src.close());
  const r = await collectCheck(src, { shape: [2, 2], finite: true, minRate: 1, writerAlive: true, windowMs: 150, pollMs: 50 });
  assert.equal(r.kind, 'wa1');
  const byName = Object.fromEntries(r.assertions.map((a) => [a.name, a]));
  assert.equal(byName.shape.ok, true);
  assert.equal(byName.finite.ok, false);
  assert.equal(byName.finite.measured.first.value, 'inf');
  assert.match(byName['min-rate'].message, /plain WA-1 object without a frame counter/);
  assert.equal(byName['min-rate'].measured, null);
  assert.match(byName['writer-alive'].message, /records no writer/);
});

test('waitForSegment: resolves on creation by another process, rejects ETIMEDOUT with a reason', async (t) => {
  const name = uniqueName(t);
  await assert.rejects(waitForSegment(name, { timeoutMs: 50 }),
    (e) => e.code === 'ETIMEDOUT' && e.message === `timed out after 0.05 s: segment ${name} does not exist`);
  const pending = waitForSegment(name, { timeoutMs: 20_000, frames: 3 });
  const child = spawnNode(WRITER, { args: [name, '50'] });
  t.after(() => child.kill('SIGKILL'));
  const r = await pending;
  assert.equal(r.kind, 'shmswarm');
  assert.ok(r.newFrames >= 3);
  assert.ok(r.frames >= 3);
  assert.deepEqual([r.rows, r.cols, r.dtype], [3, 2, 'f32']);
  await assert.rejects(waitForSegment(name, { frames: 1, raw: { shape: '3x2' } }), TypeError);
});

test('waitForSegment --frames follows a writer that re-creates the name', async (t) => {
  const name = uniqueName(t);
  const first = Segment.create(name, { rows: 1, fields: 'x' });
  const pending = waitForSegment(name, { timeoutMs: 20_000, frames: 2 });
  await new Promise((r) => setTimeout(r, 100));
  first.writeFrame([1]);
  // The writer restarts: the old object goes, a new one takes the name.
  Segment.unlink(name);
  first.close();
  const second = Segment.create(name, { rows: 1, fields: 'x' });
  t.after(() => second.close());
  second.writeFrame([2]);
  const r = await pending;
  assert.equal(r.newFrames, 2);
});
