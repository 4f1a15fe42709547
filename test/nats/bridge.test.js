// publish → NATS → subscribe across real processes and a real nats-server (test/nats/server.js):
// the mirror gets whole frames (the ramp pattern proves it), chunked frames and JetStream's
// latest frame, info/list say it is a mirror, credentials, and Ctrl-C on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, readdirSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, uniqueName } from '../helpers.js';
import { rampK } from '../bridge/build.js';
import { nkeys } from 'nats';
import { Segment } from '../../dist/core/index.js';
import { makeCreds, makeTlsFiles, skipWithoutNats, startNats } from './server.js';
import { openWhenThere, rampPublishing, run, stderrLine, stop, until } from './procs.js';

/** The mirror `name` once it exists and has at least `n` frames. */
async function mirrorFrames(name, n) {
  const seg = await openWhenThere(name, Segment);
  await until(() => seg.info().frames >= n, `${n} frames in ${name}`);
  return seg;
}

/** Read `count` consecutive new frames; each must be one whole ramp frame. Returns the k's. */
async function wholeFrames(seg, count) {
  const ks = [];
  let seq = -1;
  while (ks.length < count) {
    await seg.waitForFrame(Math.max(seq, 0), { timeoutMs: 5000 });
    const f = seg.readFrame();
    if (f.sequence === seq) continue;
    seq = f.sequence;
    const k = rampK(f.data);
    assert.notEqual(k, null, `mirror frame ${f.sequence} is not one whole ramp frame`);
    ks.push(k);
  }
  return ks;
}

const statusFiles = () => readdirSync('/dev/shm').filter((n) => n.startsWith('.shmswarm-mirror-'));

test('a 240 KB segment mirrored live in 64 KB chunks: whole frames, info and list say mirror, Ctrl-C on both sides exits 0 and removes the mirror', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { maxPayload: 64 * 1024 });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  const before = statusFiles();
  const { sim, pub } = await rampPublishing(t, server, src, 15000);
  const sub = run(t, ['subscribe', src, '--from', server.url, '--as', mirror]);
  const seg = await mirrorFrames(mirror, 5);
  t.after(() => seg.close());
  assert.equal(seg.rows, 15000);
  assert.deepEqual(seg.fields, ['x', 'y', 'vx', 'vy']);
  const ks = await wholeFrames(seg, 20);
  assert.ok(ks.every((k, i) => i === 0 || k > ks[i - 1]), `frames in order: ${ks}`);

  const info = runCli(['info', mirror]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`mirror of +\\S+:${src} via ${server.url.replace(/\./g, '\\.')} subject shmswarm\\.`));
  assert.match(info.stdout, /source +live from/);
  assert.match(info.stdout, /source frame +written .* ago/);
  const json = JSON.parse(runCli(['info', mirror, '--json']).stdout);
  assert.equal(json.mirror.state, 'live');
  assert.equal(json.mirror.from, server.url);
  assert.equal(json.mirror.source.name, src);
  const list = runCli(['list']);
  assert.match(list.stdout, new RegExp(`${mirror} .*alive \\(mirror\\)`));
  assert.doesNotMatch(runCli(['list', '--all']).stdout, /\.shmswarm-mirror-/, 'status files are not listed');

  const s = await stop(sub);
  assert.deepEqual(s, { code: 0, signal: null }, sub.err);
  assert.match(sub.err, /mirrored \d+ frames?, missed \d+ source frames? .*; mirror removed/);
  assert.equal(existsSync('/dev/shm' + mirror), false, 'mirror removed');
  assert.deepEqual(statusFiles().filter((f) => !before.includes(f)), [], 'status file removed');
  const p = await stop(pub);
  assert.deepEqual(p, { code: 0, signal: null }, pub.err);
  assert.match(pub.err, /stopped; sent \d+ frames \(.* MB\) in .* s .*skipped \d+/);
  await stop(sim);
});

test('a late subscriber gets the latest (chunked) frame from JetStream at once, and the source is "gone" when its writer is', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { maxPayload: 64 * 1024 });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  // 1000 × 64 f32 = 256 KB: five chunks of under 64 KB.
  const made = runCli(['create', src, '--agents', '1000', '--cols', '64']);
  assert.equal(made.status, 0, made.stderr);
  const pub = run(t, ['publish', src, '--to', server.url]);
  await stderrLine(pub, /kept in JetStream/);
  const sim = run(t, ['simulate', src, '--pattern', 'ramp', '--rate', '60', '--frames', '30']);
  assert.equal((await sim.exited).code, 0, sim.err);
  await stderrLine(pub, /the writer of .* is not running/);
  const sub = run(t, ['subscribe', src, '--from', server.url, '--as', mirror]);
  await stderrLine(sub, /latest frame from JetStream: 1000x64 f32/);
  const seg = await mirrorFrames(mirror, 1);
  t.after(() => seg.close());
  assert.equal(seg.cols, 64);
  const source = Segment.open(src, { readonly: true });
  const lastK = rampK(source.readFrame().data);
  source.close();
  assert.equal(rampK(seg.readFrame().data), lastK, 'the last frame the writer wrote, whole');
  await stderrLine(sub, /source gone: the writer of \S+ is not running/);
  await until(() => /source +source gone: the writer of/.test(runCli(['info', mirror]).stdout), 'info saying source gone');
  assert.doesNotMatch(sub.err, /refused/);
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
});

test('token auth from a file or NATS_TOKEN; a wrong token is one line and exit 1; no JetStream: live only; --max-rate skips frames; a secret in the URL is refused', async (t) => {
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false, token: 's3cret-token' });
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 's3cret-token\n', { mode: 0o600 });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  const sim = run(t, ['simulate', src, '--agents', '100', '--pattern', 'ramp', '--rate', '60']);
  await stderrLine(sim, /Ctrl-C/);

  const wrong = runCli(['publish', src, '--to', server.url], { env: { NATS_TOKEN: 'nope' } });
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /^shmswarm: nats:\/\/127\.0\.0\.1:\d+ refused the credentials .*--token-file/);
  assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
  const inUrl = runCli(['publish', src, '--to', `nats://s3cret-token@127.0.0.1:${server.port}`]);
  assert.equal(inUrl.status, 2);
  assert.match(inUrl.stderr, /credentials in the URL would be visible/);

  // --max-rate 15 against a 60 Hz writer: most frames are skipped, and counted.
  const pub = run(t, ['publish', src, '--to', server.url, '--token-file', tokenFile, '--max-rate', '15']);
  await stderrLine(pub, /no JetStream: publishing live only/);
  const sub = run(t, ['subscribe', src, '--from', server.url, '--as', mirror], { NATS_TOKEN: 's3cret-token' });
  await stderrLine(sub, /no JetStream: waiting for the next live frame/);
  const seg = await mirrorFrames(mirror, 3);
  t.after(() => seg.close());
  const ks = await wholeFrames(seg, 6);
  assert.ok(ks.slice(1).some((k, i) => k - ks[i] > 1), `frames skipped between those mirrored: ${ks}`);
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  assert.match(pub.err, /at most 15 Hz/);
  assert.match(pub.err, /skipped [1-9]\d*/);
  await stop(sim);
});

test('usage and connection errors: one line each, exit 2 for usage, 1 for an unreachable server or a missing segment', async (t) => {
  const cases = [
    [['publish', '/x', '--to', 'http://127.0.0.1:1'], 2, /scheme must be nats:\/\/ or tls:\/\//],
    [['publish', '/x'], 2, /no server given/, { NATS_URL: '' }],
    [['subscribe', '/x', '--from', 'nats://127.0.0.1:4222', '--subject', 'a.*'], 2, /wildcard/],
    [['subscribe', '/x y', '--from', 'nats://127.0.0.1:4222'], 2, /the subject made from "\/x y" .*--subject/],
    [['subscribe', '/x', '--from', 'nats://127.0.0.1:4222', '--max-bytes', 'lots'], 2, /--max-bytes/],
    [['subscribe', '/x', '--from', 'nats://127.0.0.1:4222', '--creds', '/nonexistent/creds'], 1, /cannot read the credentials file \/nonexistent\/creds: ENOENT/],
  ];
  const taken = uniqueName(t, 'taken');
  assert.equal(runCli(['create', taken, '--agents', '2', '--cols', '2']).status, 0);
  cases.push([['subscribe', taken, '--from', 'nats://127.0.0.1:1'], 1, /already exists; mirror into another name with --as, or replace it \(when its writer is dead\) with --force/]);
  for (const [args, status, pattern, env] of cases) {
    const r = runCli(args, { env: { NATS_URL: '', ...env } });
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { jetstream: false });
  const port = server.port;
  await server.stop();
  const refused = runCli(['subscribe', '/x', '--from', `nats://127.0.0.1:${port}`]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /cannot connect to nats:\/\/127\.0\.0\.1:\d+: connection refused/);
  await server.start();
  const missing = uniqueName(t, 'missing');
  const r = runCli(['publish', missing, '--to', server.url]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /does not exist/);
});

test("a mirror status file is believed only when the segment's owner wrote it and it names that very segment", (t) => {
  const name = uniqueName(t, 'plain');
  assert.equal(runCli(['create', name, '--agents', '2', '--cols', '2']).status, 0);
  const info = JSON.parse(runCli(['info', name, '--json']).stdout);
  const path = `/dev/shm/.shmswarm-mirror-${info.ino}`;
  t.after(() => rmSync(path, { force: true }));
  const status = {
    version: 1, mirror: name, ino: info.ino, createdTime: info.createdTime, subscriberPid: 1, from: 'nats://x:4222', subject: 's',
    source: { name: '/far', host: 'far-host' }, state: 'live', lastFrameTime: null, lastMessageTime: null, framesMirrored: 0, framesMissed: 0, updatedTime: 0,
  };
  writeFileSync(path, JSON.stringify(status), { mode: 0o600 });
  assert.match(runCli(['info', name]).stdout, /mirror of +far-host:\/far via nats:\/\/x:4222/);
  assert.match(runCli(['info', name]).stdout, /not updated: the subscriber \(pid 1\) is not running/);
  writeFileSync(path, JSON.stringify({ ...status, mirror: '/other' }));
  assert.doesNotMatch(runCli(['info', name]).stdout, /mirror of/, 'another segment\'s status');
  writeFileSync(path, '{"version": 1, "mirror": ' + '['.repeat(5000));
  assert.doesNotMatch(runCli(['info', name]).stdout, /mirror of/, 'garbage');
  if (process.getuid() === 0) {
    writeFileSync(path, JSON.stringify(status));
    chownSync(path, 54321, 54321);
    const r = runCli(['info', name]);
    assert.equal(r.status, 0);
    assert.doesNotMatch(r.stdout, /mirror of/, 'a status file of another user');
  }
});

test('tls://: frames over TLS with --tls-ca; an untrusted certificate, or a server without TLS, is one line and exit 1', async (t) => {
  if (skipWithoutNats(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = makeTlsFiles(dir);
  if (!files) {
    if (process.env.CI === 'true') throw new Error('openssl is not installed (CI=true: the TLS test must run)');
    t.skip('openssl is not installed: apt-get install openssl');
    return;
  }
  const server = await startNats(t, { jetstream: false, tls: files });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  const tlsUrl = `tls://localhost:${server.port}`;
  const { sim, pub } = await rampPublishing(t, { url: tlsUrl }, src, 100, ['--tls-ca', files.ca]);
  const sub = run(t, ['subscribe', src, '--from', `tls://127.0.0.1:${server.port}`, '--tls-ca', files.ca, '--as', mirror]);
  const seg = await mirrorFrames(mirror, 3);
  t.after(() => seg.close());
  await wholeFrames(seg, 3);
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  assert.deepEqual(await stop(pub), { code: 0, signal: null });

  const untrusted = runCli(['subscribe', src, '--from', tlsUrl, '--as', uniqueName(t, 'm')]);
  assert.equal(untrusted.status, 1);
  assert.match(untrusted.stderr, /^shmswarm: cannot connect to tls:\/\/localhost:\d+: .*give it with --tls-ca/);
  assert.equal(untrusted.stderr.trim().split('\n').length, 1, untrusted.stderr);
  const caWithPlain = runCli(['publish', src, '--to', `nats://127.0.0.1:${server.port}`, '--tls-ca', files.ca]);
  assert.equal(caWithPlain.status, 2);
  assert.match(caWithPlain.stderr, /--tls-ca is for tls:\/\/ servers/);
  const plain = await startNats(t, { jetstream: false });
  const noTls = runCli(['publish', src, '--to', `tls://127.0.0.1:${plain.port}`]);
  assert.equal(noTls.status, 1);
  assert.match(noTls.stderr, /does not offer TLS: refusing to go on in plain text/);
  await stop(sim);
});

test('--creds: a user of an operator-mode server (JWT + nkey seed) publishes and subscribes; without them, one line and exit 1', async (t) => {
  if (skipWithoutNats(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-creds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { config, creds } = makeCreds(nkeys, dir);
  const server = await startNats(t, { jetstream: false, config });
  const src = uniqueName(t, 'src');
  const mirror = uniqueName(t, 'mirror');
  const { sim, pub } = await rampPublishing(t, server, src, 100, ['--creds', creds]);
  const sub = run(t, ['subscribe', src, '--from', server.url, '--creds', creds, '--as', mirror]);
  const seg = await mirrorFrames(mirror, 3);
  t.after(() => seg.close());
  await wholeFrames(seg, 3);
  assert.deepEqual(await stop(sub), { code: 0, signal: null });
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  const without = runCli(['subscribe', src, '--from', server.url, '--as', uniqueName(t, 'm')], { env: { NATS_TOKEN: '' } });
  assert.equal(without.status, 1);
  assert.match(without.stderr, /^shmswarm: nats:\/\/127\.0\.0\.1:\d+ refused the credentials/);
  assert.equal(without.stderr.trim().split('\n').length, 1, without.stderr);
  await stop(sim);
});
