// --slots on the real binary: create and simulate make format 2 segments, info and list show the
// slots, dump/watch/check/wait read them through the core, bad values are usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { runCli, spawnCli, uniqueName, waitExit, waitForLine } from '../helpers.js';

test('create --slots 3: a format 2 segment; info shows the slots (table and --json), list too', (t) => {
  const name = uniqueName(t);
  const r = runCli(['create', name, '--agents', '100', '--fields', 'x,y', '--slots', '3']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^created ${name}: 100 agents × 2 fields \\(x,y\\), f32, 3 slots, `));
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  assert.equal(seg.slots, 3);
  const info = runCli(['info', name]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /^kind\s+shmswarm segment \(format 2\)$/m);
  assert.match(info.stdout, /^slots\s+3 frame buffers/m);
  const json = JSON.parse(runCli(['info', name, '--json']).stdout);
  assert.equal(json.slots, 3);
  assert.equal(json.formatVersion, 2);
  assert.equal(json.dataBytes, 100 * 2 * 4, 'one frame');
  const list = runCli(['list']);
  assert.match(list.stdout, new RegExp(`^${name}\\s+100x2 \\(3 slots\\)`, 'm'));
  assert.equal(JSON.parse(runCli(['list', '--json']).stdout).find((s) => s.name === name).slots, 3);
});

test('info does not mention slots for a format 1 segment', (t) => {
  const name = uniqueName(t);
  assert.equal(runCli(['create', name, '--agents', '10', '--cols', '2']).status, 0);
  const info = runCli(['info', name]);
  assert.doesNotMatch(info.stdout, /slots/);
  assert.match(info.stdout, /format 1/);
  assert.equal(JSON.parse(runCli(['info', name, '--json']).stdout).slots, 1);
});

test('bad --slots values: exit 2, one line, nothing created', (t) => {
  for (const v of ['0', '17', '1.5', 'x', '-1']) {
    for (const cmd of ['create', 'simulate']) {
      const name = uniqueName(t);
      const args = cmd === 'create' ? ['create', name, '--agents', '4', '--cols', '2', '--slots', v] : ['simulate', name, '--frames', '1', '--slots', v];
      const r = runCli(args);
      assert.equal(r.status, 2, `${cmd} --slots ${v}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0], /--slots <k>.*invalid/);
      assert.equal(r.stdout, '');
      assert.equal(existsSync('/dev/shm' + name), false, `${cmd} --slots ${v} created ${name}`);
    }
  }
});

test('simulate --slots 3, then dump --json, watch --once, check and wait read it', async (t) => {
  const name = uniqueName(t);
  const r = runCli(['simulate', name, '--pattern', 'ramp', '--agents', '50', '--frames', '20', '--rate', '0', '--slots', '3']);
  assert.equal(r.status, 0, r.stderr);
  const dump = JSON.parse(runCli(['dump', name, '--json']).stdout);
  assert.equal(dump.sequence, 40);
  assert.equal(dump.data.length, 50);
  // ramp frame 20: 20 + r * cols + c
  assert.deepEqual(dump.data[1], [24, 25, 26, 27]);
  const once = runCli(['watch', name, '--once']);
  assert.equal(once.status, 0, once.stderr);
  assert.match(once.stdout, /frames=20/);
  const check = runCli(['check', name, '--shape', '50x4', '--finite']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  // simulate into the same name with another --slots: refused, nothing changed
  const again = runCli(['simulate', name, '--pattern', 'ramp', '--frames', '1', '--slots', '2']);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /3 slots, not 2/);
  // a live writer with slots: wait sees its frames, watch follows it
  const sim = spawnCli(['simulate', name, '--pattern', 'ramp', '--rate', '200', '--slots', '3']);
  t.after(() => sim.kill('SIGKILL'));
  const simExit = waitExit(sim, 30_000);
  const wait = runCli(['wait', name, '--frames', '5', '--timeout', '10']);
  assert.equal(wait.status, 0, wait.stderr);
  const watch = spawnCli(['watch', name, '--json']);
  t.after(() => watch.kill('SIGKILL'));
  const line = JSON.parse(await waitForLine(watch, /^\{/, 10_000));
  assert.ok(line.frames > 20, JSON.stringify(line));
  watch.kill('SIGTERM');
  sim.kill('SIGINT');
  assert.equal((await simExit).code, 0);
  const last = JSON.parse(runCli(['dump', name, '--json']).stdout);
  const k = last.sequence / 2;
  assert.deepEqual(last.data[0], [k, k + 1, k + 2, k + 3], 'the latest whole ramp frame');
});
