// examples/python/nats_subscriber.py (nats-py + numpy, no shmswarm) against a real publisher:
// chunked frames put together, the latest frame from JetStream, whole ramp frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli, uniqueName } from '../helpers.js';
import { PY_DIR } from '../bridge/build.js';
import { skipWithoutNats, startNats } from './server.js';
import { run, stderrLine, stop } from './procs.js';

function pythonNatsMissing() {
  const r = spawnSync('python3', ['-c', 'import nats, numpy'], { encoding: 'utf8' });
  if (r.error) return 'python3 is not installed';
  return r.status === 0 ? null : 'python3 lacks nats-py or numpy: pip install nats-py numpy';
}

// The script's module, driven by a check that each frame is one whole ramp frame (k + i).
const CHECK = `
import asyncio, json, sys
sys.path.insert(0, ${JSON.stringify(PY_DIR)})
import nats, numpy as np
from nats_subscriber import frames
async def main(url, subject, want):
    nc = await nats.connect(url)
    problems, out = {}, []
    async for meta, a in frames(nc, subject, problems=problems):
        flat = a.ravel().astype(np.float64)
        out.append({'frame': meta['frame'], 'shape': list(a.shape), 'fields': meta['fields'],
                    'whole': bool((flat - flat[0] == np.arange(flat.size)).all()), 'k': float(flat[0])})
        if len(out) >= want: break
    await nc.drain()
    print(json.dumps({'frames': out, 'problems': problems}))
asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
`;

test('the Python subscriber turns the subject into numpy arrays: chunked frames come whole, as a module and as a script', async (t) => {
  const missing = pythonNatsMissing();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(missing);
    t.skip(missing);
    return;
  }
  if (skipWithoutNats(t)) return;
  const server = await startNats(t, { maxPayload: 64 * 1024 });
  const src = uniqueName(t, 'src');
  // 1000 × 64 f32 = 256 KB: five chunks.
  assert.equal(runCli(['create', src, '--agents', '1000', '--cols', '64']).status, 0);
  const sim = run(t, ['simulate', src, '--pattern', 'ramp', '--rate', '30']);
  await stderrLine(sim, /Ctrl-C/);
  const pub = run(t, ['publish', src, '--to', server.url]);
  await stderrLine(pub, /kept in JetStream/);
  const py = spawn('python3', ['-c', CHECK, server.url, `shmswarm.${src.slice(1)}`, '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => py.kill('SIGKILL'));
  let out = '';
  let err = '';
  py.stdout.on('data', (d) => (out += d));
  py.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => py.on('exit', r));
  assert.equal(code, 0, err);
  const r = JSON.parse(out);
  assert.equal(r.frames.length, 5);
  for (const f of r.frames) {
    assert.deepEqual(f.shape, [1000, 64]);
    assert.equal(f.whole, true, `frame ${f.frame} whole`);
    assert.equal(f.fields, null, 'unnamed columns');
  }
  assert.deepEqual(r.problems, {});
  // The script as a command: one JSON line per frame.
  const cli = spawnSync('python3', [join(PY_DIR, 'nats_subscriber.py'), `shmswarm.${src.slice(1)}`, '--server', server.url, '--frames', '2'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(cli.status, 0, cli.stderr);
  const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0].shape, [1000, 64]);
  assert.equal(lines[0].source, `${lines[0].source.split(':')[0]}:${src}`);
  assert.deepEqual(await stop(pub), { code: 0, signal: null });
  await stop(sim);
});
