// `shmswarm demo --web`: the demo with the browser view beside it; the URL it prints serves the
// demo's segment while the demo runs, and everything is gone when it ends.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { spawnCli, waitExit } from '../helpers.js';
import { streamClient } from './serve.js';

test('demo --web prints a URL that serves the simulated swarm, and closes it at the end', async (t) => {
  const child = spawnCli(['demo', '--web', '--agents', '300', '--duration', '5']);
  const exit = waitExit(child, 30_000);
  t.after(() => child.kill('SIGKILL'));
  let err = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL: ${err}`)), 15_000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /in your browser: (http:\/\/127\.0\.0\.1:\d+\/) \(shmswarm serve (\S+)\)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], name: m[2] });
      }
    });
  });
  const info = await (await fetch(new URL('info.json', url.url))).json();
  assert.deepEqual([info.name, info.rows, info.cols], [url.name, 300, 4]);
  const c = streamClient(t, url.url);
  await c.until((c) => c.frames.length >= 3);
  const r = await exit;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync('/dev/shm' + url.name), 'the demo removed its segment');
  await assert.rejects(fetch(new URL('info.json', url.url)), 'the server is closed');
  assert.match(r.stdout, / live 300x4 f32 /, 'one line a second on stdout meanwhile');
});
