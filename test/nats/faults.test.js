// Faults across real processes: the server killed and restarted mid-stream, a subscriber too
// slow for the publisher, a remote shape change, and Ctrl-C with --keep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { runCli, uniqueName } from '../helpers.js';
import { rampK } from '../bridge/build.js';
import { Segment } from '../../dist/core/index.js';
import { skipWithoutNats, startNats } from './server.js';
import { openWhenThere as openMirror, rampPublishing, run, stderrLine, stop, until } from './procs.js';

const openWhenThere = (name) => openMirror(name, Segment);

/**
 * A server, a 60 Hz ramp writer of `rows` agents, its publisher and a subscriber, with the mirror
 * open once it exists: { server, src, mirror, sim, pub, sub, seg }.
 */
async function liveMirror(t, rows, { jetstream = false, subArgs = [] } = {}) {
  const server = await startNats(t, { jetstream });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  const { sim, pub } = await rampPublishing(t, server, src, rows);
  const sub = run(t, ['subscribe', src, '--from', server.url, '--as', mirror, ...subArgs]);
  const seg = await openWhenThere(mirror);
  t.after(() => seg.close());
  return { server, src, mirror, sim, pub, sub, seg };
}

test('nats-server killed and restarted mid-stream: both sides reconnect and go on, and the gap is counted', async (t) => {
  if (skipWithoutNats(t)) return;
  const { server, sim, pub, sub, seg, mirror } = await liveMirror(t, 1000, { jetstream: true });
  await until(() => seg.info().frames >= 10, 'frames before the crash');

  await server.kill();
  await stderrLine(pub, /disconnected from the server/);
  await stderrLine(sub, /disconnected from the server/);
  await until(() => /source +disconnected from nats:/.test(runCli(['info', mirror]).stdout), 'info saying disconnected');
  const during = seg.info().frames;
  await server.start();
  await stderrLine(pub, /reconnected after [\d.]+ s; [1-9]\d* frames skipped meanwhile/);
  await stderrLine(sub, /reconnected after/);
  await until(() => seg.info().frames >= during + 10, 'frames after the restart');
  assert.notEqual(rampK(seg.readFrame().data), null, 'whole frames after the restart');

  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  assert.match(sub.err, /missed [1-9]\d* source frames? .*1 disconnection; mirror removed/);
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  assert.match(pub.err, /skipped [1-9]\d*, 1 disconnection/);
  await stop(sim);
});

test('a subscriber slower than the publisher drops to the latest frame instead of building a backlog', async (t) => {
  if (skipWithoutNats(t)) return;
  // 240 KB at 60 Hz; the subscriber is stopped (SIGSTOP) for a second: about 60 frames pile up
  // in the socket and the server, and come at once when it goes on.
  const { src, sim, pub, sub, seg } = await liveMirror(t, 15000);
  await until(() => seg.info().frames >= 5, 'first frames');
  sub.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 1000));
  sub.kill('SIGCONT');
  const after = seg.info().frames;
  await until(() => seg.info().frames >= after + 20, 'frames after the pause');
  // Caught up: the mirror is within a few frames of the source again.
  const source = Segment.open(src, { readonly: true });
  t.after(() => source.close());
  await until(() => rampK(source.readFrame().data) - rampK(seg.readFrame().data) < 10, 'the mirror close to the source');
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  const superseded = Number(/superseded here (\d+)/.exec(sub.err)?.[1]);
  assert.ok(superseded > 0, `frames that piled up were replaced by newer ones, not all written: ${sub.err}`);
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  await stop(sim);
});

test('a remote shape change re-creates the mirror; Ctrl-C with --keep leaves it, saying it is no longer updated', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  const { sim: sim1, pub } = await rampPublishing(t, server, src, 100);
  const sub = run(t, ['subscribe', src, '--from', server.url, '--as', mirror, '--keep']);
  await until(() => runCli(['info', mirror, '--json']).stdout.includes('"frames"'), 'the mirror');
  assert.equal(JSON.parse(runCli(['info', mirror, '--json']).stdout).rows, 100);

  await stop(sim1);
  assert.equal(runCli(['unlink', src]).status, 0);
  const sim2 = run(t, ['simulate', src, '--agents', '200', '--dims', '3', '--pattern', 'ramp', '--rate', '60']);
  await stderrLine(pub, /re-created \(200x6 f32\): following the new segment/);
  await stderrLine(sub, /the source changed shape \(100x4 f32 \[x,y,vx,vy\] → 200x6 f32 \[x,y,z,vx,vy,vz\]\): re-creating/);
  await until(() => {
    const r = runCli(['info', mirror, '--json']);
    return r.status === 0 && JSON.parse(r.stdout).rows === 200;
  }, 'the re-created mirror');

  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  assert.match(sub.err, /re-created 1 time.*; mirror kept/);
  assert.ok(existsSync('/dev/shm' + mirror), 'kept');
  const info = runCli(['info', mirror]);
  assert.match(info.stdout, /source +not updated: the subscriber stopped and kept the mirror/);
  assert.match(runCli(['list']).stdout, new RegExp(`${mirror} .*\\(mirror, not updated\\)`));
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  await stop(sim2);
  // The kept mirror is an ordinary segment: unlink removes it, and its status file with it.
  const status = `/dev/shm/.shmswarm-mirror-${statSync('/dev/shm' + mirror).ino}`;
  assert.ok(existsSync(status));
  assert.equal(runCli(['unlink', mirror]).status, 0);
  assert.equal(existsSync(status), false);
});

test('Ctrl-C while the server is down: both sides still exit 0 at once, and the mirror is removed', async (t) => {
  if (skipWithoutNats(t)) return;
  const { server, sim, pub, sub, mirror } = await liveMirror(t, 100);
  await server.kill();
  await stderrLine(sub, /disconnected from the server/);
  await stderrLine(pub, /disconnected from the server/);
  assert.deepEqual(await stop(sub, 'SIGINT', 8000), { code: 0, signal: null });
  assert.match(sub.err, /mirror removed/);
  assert.equal(existsSync('/dev/shm' + mirror), false);
  assert.deepEqual(await stop(pub, 'SIGTERM', 8000), { code: 0, signal: null });
  assert.match(pub.err, /stopped; sent \d+ frames/);
  await stop(sim);
});

test('a publisher killed without a goodbye: after 3 s of silence the mirror says the source is gone', async (t) => {
  if (skipWithoutNats(t)) return;
  const { sim, pub, sub, seg, mirror } = await liveMirror(t, 100);
  pub.kill('SIGKILL');
  await stderrLine(sub, /source gone: nothing from the publisher on shmswarm\.\S+ for 3 s/);
  await until(() => /source +source gone: nothing from the publisher of \S+ since /.test(runCli(['info', mirror]).stdout), 'info saying source gone');
  assert.match(runCli(['list']).stdout, new RegExp(`${mirror} .*\\(mirror, source gone\\)`));
  assert.notEqual(rampK(seg.readFrame().data), null, 'the last frame kept, whole');
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  await stop(sim);
});

test('the mirror removed or replaced by someone else: the subscriber stops with one line and exit 1, leaving the new object alone', async (t) => {
  if (skipWithoutNats(t)) return;
  const { sim, pub, sub, seg, mirror } = await liveMirror(t, 100);
  await until(() => seg.info().frames >= 2, 'frames');
  assert.equal(runCli(['unlink', '--force', mirror]).status, 0);
  assert.equal(runCli(['create', mirror, '--agents', '7', '--cols', '1']).status, 0);
  const { code } = await sub.exited;
  assert.equal(code, 1, sub.err);
  assert.match(sub.err, new RegExp(`shmswarm: ${mirror} was (removed|replaced) by another process while mirroring; stopping`));
  assert.match(sub.err, /; mirror not ours any more/);
  const now = Segment.open(mirror, { readonly: true });
  t.after(() => now.close());
  assert.equal(now.rows, 7, "the other process's segment is untouched");
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  await stop(sim);
});
