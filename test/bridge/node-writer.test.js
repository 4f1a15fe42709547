// Node (and the CLI's simulate) writes, C and Python read: every frame they get must be a whole
// ramp frame (frame k holds k + r*cols + c).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Segment } from '../../dist/core/index.js';
import { dieMidFrame, sleep, spawnCli, spawnNode, uniqueName, waitExit, waitForLine } from '../helpers.js';
import { PY_DIR, PY_PRELUDE, buildExamples, cliHas, pythonMissing, rampFrame } from './build.js';

const ROWS = 250;
const FIELDS = ['x', 'y', 'vx', 'vy'];

/** Publish ramp frames from this process every `ms` until the test ends. */
function startNodeWriter(t, name, ms = 2) {
  const seg = Segment.create(name, { rows: ROWS, fields: FIELDS });
  let k = 0;
  const tick = () => seg.writeFrame(rampFrame(++k, ROWS, FIELDS.length));
  tick();
  const timer = setInterval(tick, ms);
  t.after(() => {
    clearInterval(timer);
    seg.close();
  });
  return seg;
}

/** Python: read `n` frames and report whether each was a whole ramp frame. */
function pythonRampCheck(name, n) {
  const code = `${PY_PRELUDE}
import json, time
seg = shmswarm.open(${JSON.stringify(name)})
ramp = np.arange(seg.rows * seg.cols, dtype=np.float64).reshape(seg.rows, seg.cols)
bad, ks = 0, set()
for _ in range(${n}):
    d = seg.read().astype(np.float64) - ramp
    if not (d == d[0, 0]).all():
        bad += 1
    ks.add(float(d[0, 0]))
    time.sleep(0.0005)
print(json.dumps({'shape': [seg.rows, seg.cols], 'fields': seg.fields, 'bad': bad, 'distinct': len(ks)}))
seg.close()
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    waitExit(child, 30_000).then((r) => {
      if (r.code !== 0) return reject(new Error(`python3 exited ${r.code}: ${r.stderr}`));
      resolve(JSON.parse(r.stdout));
    }, reject);
  });
}

async function consumerRampCheck(name, frames) {
  const { consumer } = buildExamples();
  const child = spawn(consumer, [name, '--frames', String(frames), '--check-ramp', '--timeout-ms', '5000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return waitExit(child, 30_000);
}

test('Node writer → C consumer: every frame it waits for and reads is a whole ramp frame', async (t) => {
  const name = uniqueName(t, 'node2c');
  startNodeWriter(t, name);
  const r = await consumerRampCheck(name, 100);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], `segment ${name} rows ${ROWS} cols 4 dtype f32 fields x,y,vx,vy`);
  assert.equal(lines.at(-1), 'ok 100 frames');
  // Each line is a distinct, newer frame.
  const ks = lines.slice(1, -1).map((l) => Number(/ k (\d+)/.exec(l)[1]));
  assert.equal(ks.length, 100);
  for (let i = 1; i < ks.length; i++) assert.ok(ks[i] > ks[i - 1]);
});

test('Node writer → C consumer --lock: reads under the robust mutex', async (t) => {
  const name = uniqueName(t, 'node2clock');
  startNodeWriter(t, name);
  const { consumer } = buildExamples();
  const r = await waitExit(spawn(consumer, [name, '--frames', '20', '--check-ramp', '--lock'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok 20 frames\n$/);
});

test('Node writer → Python reader: whole ramp frames with the field names', async (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'node2py');
  startNodeWriter(t, name);
  const out = await pythonRampCheck(name, 300);
  assert.deepEqual(out.shape, [ROWS, 4]);
  assert.deepEqual(out.fields, FIELDS);
  assert.equal(out.bad, 0);
  t.diagnostic(`300 Python reads saw ${out.distinct} distinct frames`);
});

test('CLI simulate --pattern ramp → C consumer and Python reader', async (t) => {
  if (!cliHas('simulate')) return t.todo('the CLI simulate command is not built yet (issue 3)');
  const name = uniqueName(t, 'sim2c');
  const sim = spawnCli(['simulate', name, '--pattern', 'ramp', '--agents', String(ROWS), '--rate', '500']);
  t.after(() => sim.kill('SIGKILL'));
  // Wait for the segment and its first frame.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const seg = Segment.open(name, { readonly: true });
      const frames = seg.info().frames;
      seg.close();
      if (frames > 0) break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    assert.ok(Date.now() < deadline, 'simulate published no frame within 10 s');
    await sleep(20);
  }
  const c = await consumerRampCheck(name, 50);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /ok 50 frames\n$/);
  const missing = pythonMissing();
  if (missing) return t.diagnostic(`Python part skipped: ${missing}`);
  const out = await pythonRampCheck(name, 200);
  assert.equal(out.bad, 0);
  assert.equal(out.shape[0], ROWS);
});

test('the Python reader as a script prints the header and a frame as CSV', async (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'pyscript');
  const seg = Segment.create(name, { rows: 3, fields: ['x', 'y'] });
  t.after(() => seg.close());
  seg.writeFrame(rampFrame(1, 3, 2));
  const r = spawnSync('python3', [`${PY_DIR}/shmswarm.py`, name], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${name} shmswarm 3x2 f32 fields x,y\n# sequence 2\nx,y\n1,2\n3,4\n5,6\n`);
  const missingName = spawnSync('python3', [`${PY_DIR}/shmswarm.py`, name + '-missing'], { encoding: 'utf8' });
  assert.equal(missingName.status, 1);
  assert.match(missingName.stderr, /^shmswarm\.py: .*No such file/);
});

test('the Python script stopped with Ctrl-C while it waits for a frame: status 130, no traceback', async (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'pyint');
  const seg = Segment.create(name, { rows: 3, fields: ['x', 'y'] });
  t.after(() => seg.close());
  seg.writeFrame(rampFrame(1, 3, 2));
  const env = { ...process.env };
  delete env.PYTHONUNBUFFERED; // the script itself must flush each frame into the pipe
  const child = spawn('python3', [`${PY_DIR}/shmswarm.py`, name, '--frames', '2'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /^5,6$/); // the first frame is out: it now waits (5 s) for the next
  child.kill('SIGINT');
  const r = await waitExit(child);
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.stderr, '');
});

test('Python reader: a frame left half-written by a dead writer is ENOFRAME after the timeout, whole again once repaired', async (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'pydead');
  await dieMidFrame(t, name, {}, 'new Float32Array(8).map((_, i) => 1 + i)');
  const py = (timeout) =>
    spawnSync('python3', ['-c', `${PY_PRELUDE}
seg = shmswarm.open(${JSON.stringify(name)})
try:
    print(seg.read(timeout=${timeout}).ravel().tolist())
except shmswarm.ShmswarmError as e:
    print(e.code)
`], { encoding: 'utf8' });
  const before = py(0.2);
  assert.equal(before.status, 0, before.stderr);
  assert.equal(before.stdout.trim(), 'ENOFRAME');
  // A locking reader (C, through Node) finds the dead owner, repairs the sequence, flags the frame torn.
  const seg = Segment.open(name);
  const f = seg.readFrame({ lock: true });
  assert.ok(f.recovered && f.torn);
  seg.close();
  const after = py(0.2);
  assert.equal(after.stdout.trim(), '[-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]', after.stderr);
  // ... and says that this frame is torn, as the script and as last_torn.
  const script = spawnSync('python3', [`${PY_DIR}/shmswarm.py`, name], { encoding: 'utf8' });
  assert.equal(script.status, 0, script.stderr);
  assert.match(script.stderr, /the frame at sequence 4 of .* is torn: its writer died while writing it/);
});

test('Python reader with 3 slots: last_torn only for the frame a dead writer left half-written, not for the whole one before it', async (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'pydead3');
  await dieMidFrame(t, name, { slots: 3 }, 'new Float32Array(8).fill(7)');
  const py = () =>
    spawnSync('python3', ['-c', `${PY_PRELUDE}
seg = shmswarm.open(${JSON.stringify(name)})
frame, seq = seg.read(timeout=0.5, with_sequence=True)
print(seq, seg.last_torn, frame.ravel().tolist()[0])
`], { encoding: 'utf8' });
  // Before the repair: frame 1 (sequence 2), whole, not torn.
  let r = py();
  assert.equal(r.stdout.trim(), '2 False 7.0', r.stderr);
  const seg = Segment.open(name);
  assert.ok(seg.readFrame({ lock: true }).torn);
  seg.close();
  // After: frame 2 (sequence 4), the half-written one, torn.
  r = py();
  assert.equal(r.stdout.trim(), '4 True -1.0', r.stderr);
});

test('Node writer with 3 slots → Python reader: whole frames from the right slot, also while a frame is being written', async (t) => {
  const missing = pythonMissing();
  if (missing) return t.skip(missing);
  const name = uniqueName(t, 'py3slots');
  // Another process publishes ramp frames back to back into a 3-slot segment.
  const writer = spawnNode(`
    const seg = Segment.create(${JSON.stringify(name)}, { rows: ${ROWS}, fields: ${JSON.stringify(FIELDS)}, slots: 3 });
    const buf = new Float32Array(seg.length);
    let k = 0;
    const batch = () => { for (let j = 0; j < 50; j++) { k++; for (let i = 0; i < buf.length; i++) buf[i] = k + i; seg.writeFrame(buf); } setImmediate(batch); };
    batch();
    console.log('writing');
  `);
  t.after(() => writer.kill('SIGKILL'));
  await waitForLine(writer, /^writing$/);
  const out = await pythonRampCheck(name, 300);
  assert.deepEqual(out.shape, [ROWS, 4]);
  assert.deepEqual(out.fields, FIELDS);
  assert.equal(out.bad, 0);
  t.diagnostic(`300 Python reads saw ${out.distinct} distinct frames`);
  const exit = waitExit(writer);
  writer.kill('SIGKILL');
  await exit;
  // Frozen mid-frame (begin, never end): Python reads the previous whole frame at once.
  const seg = Segment.open(name);
  t.after(() => seg.close());
  seg.writeFrame(new Float32Array(seg.length).fill(7));
  seg.beginFrame().fill(8);
  const r = spawnSync('python3', ['-c', `${PY_PRELUDE}
seg = shmswarm.open(${JSON.stringify(name)})
frame, seq = seg.read(timeout=0.2, with_sequence=True)
print(seg.slots, seq, frame.shape, bool((frame == 7).all()))
`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `3 ${seg.sequence() - 1} (${ROWS}, 4) True`);
  seg.endFrame();
});

test('Python reader: a FIFO at the name is refused at once, and a shrunk object is EBUS, not a dead process', (t) => {
  const fifo = uniqueName(t, 'pyfifo');
  assert.equal(spawnSync('mkfifo', ['/dev/shm' + fifo]).status, 0);
  const name = uniqueName(t, 'pyshrink');
  Segment.create(name, { rows: 1000, fields: 'x,y' }).close();
  const r = spawnSync('python3', ['-c', `${PY_PRELUDE}
import os
try:
    shmswarm.open(${JSON.stringify(fifo)})
except shmswarm.ShmswarmError as e:
    print(e.code)
seg = shmswarm.open(${JSON.stringify(name)})
print(seg.read().shape)
os.truncate(${JSON.stringify('/dev/shm' + name)}, 4096)
for what in (lambda: seg.read(), lambda: seg.sequence, lambda: seg.wait(0, timeout=0.1)):
    try:
        what()
    except shmswarm.ShmswarmError as e:
        print(e.code)
seg.close()
`], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(r.signal, null, `python3 hung or died: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['EINVAL', '(1000, 2)', 'EBUS', 'EBUS', 'EBUS']);
});
