// Name suggestions for a new user's mistakes: a /dev/shm path, a typo of an existing name, and
// suggested commands that can be pasted even when the name holds a space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segment } from '../../dist/core/index.js';
import { runCli, uniqueName } from '../helpers.js';

test('a /dev/shm path is not a segment name: the error suggests the name', (t) => {
  const name = uniqueName(t, 'path');
  Segment.create(name, { rows: 2, cols: 2 }).close();
  for (const cmd of [['dump'], ['info'], ['watch', '--once']]) {
    const r = runCli([...cmd.slice(0, 1), `/dev/shm${name}`, ...cmd.slice(1)]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `shmswarm: segment name "/dev/shm${name}" may contain "/" only at the start; did you mean "${name}" (the name of /dev/shm${name})?\n`);
  }
});

test('a typo of an existing name asks "did you mean" before suggesting create; numbers alone are no typo', (t) => {
  const name = uniqueName(t, 'swarm');
  Segment.create(name, { rows: 2, cols: 2 }).close();
  let r = runCli(['dump', name + 'm']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `shmswarm: segment ${name}m does not exist; did you mean ${name}? If not, create it with: shmswarm create ${name}m --agents N --fields x,y\n`);
  r = runCli(['check', name.replace('swarm', 'swram'), '--finite']);
  assert.match(r.stderr, new RegExp(`did you mean ${name}\\? If not, start its writer first`));
  r = runCli(['unlink', name + 'x']);
  assert.match(r.stderr, new RegExp(`nothing to remove \\(did you mean ${name}\\? shmswarm list shows what exists\\)`));
  r = runCli(['watch', name.slice(0, -1)]);
  assert.match(r.stderr, new RegExp(`did you mean ${name}\\? If not, watch --wait waits for it to appear`));
  // /run-1 when /run-2 exists: another instance, not a typo.
  const other = name.replace(/-(\d+)$/, (_m, n) => `-${Number(n) + 100}`);
  r = runCli(['dump', other]);
  assert.doesNotMatch(r.stderr, /did you mean/);
});

test('suggested commands quote a name with a space (or a quote) so that it can be pasted', (t) => {
  const spaced = uniqueName(t, 'my swarm');
  let r = runCli(['dump', spaced]);
  assert.match(r.stderr, new RegExp(`create it with: shmswarm create '${spaced}' --agents N`));
  Segment.create(spaced, { rows: 1, cols: 1 }).close();
  r = runCli(['create', spaced, '--agents', '1', '--cols', '1']);
  assert.match(r.stderr, new RegExp(`remove it with: shmswarm unlink '${spaced}' \\(`));
  const quoted = uniqueName(t, "it's");
  r = runCli(['info', quoted]);
  assert.ok(r.stderr.includes(`shmswarm create '${quoted.replace("'", "'\\''")}' --agents N`), r.stderr);
});
