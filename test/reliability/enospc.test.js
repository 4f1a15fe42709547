// Issue 6, item 4: /dev/shm full. A child gets its own mount namespace (unshare -m) with a 1 MiB
// tmpfs over /dev/shm, so only that process sees the small /dev/shm and the host's stays intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, DIST, waitExit } from '../helpers.js';

function probe() {
  if (process.getuid?.() !== 0) return 'needs root (CAP_SYS_ADMIN) to mount a tmpfs in a private mount namespace';
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm'], { encoding: 'utf8' });
  if (r.error) return `unshare(1) is not available: ${r.error.message}`;
  if (r.status !== 0) return `this machine does not allow a private tmpfs mount: ${r.stderr.trim()}`;
  return false;
}
const skip = probe();

/** Run a module snippet (Segment in scope, prints JSON lines) with a 1 MiB /dev/shm of its own. */
async function inSmallShm(t, code) {
  const prelude = `import { Segment } from ${JSON.stringify(DIST)};\nimport { readdirSync } from 'node:fs';\n` +
    'const out = (v) => console.log(JSON.stringify(v));\n';
  const script = 'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$0" --input-type=module -e "$1"';
  const child = spawn('unshare', ['-m', 'sh', '-c', script, process.execPath, prelude + code], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child, 15_000);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

test('creating a segment larger than the free space fails up front with ENOSPC and leaves nothing behind', { skip }, async (t) => {
  const [big, after, partial, survivor] = await inSmallShm(t, `
    try { Segment.create('/big', { rows: 1 << 20, cols: 1 }); out({}); } catch (e) { out({ code: e.code, message: e.message }); }
    out({ left: readdirSync('/dev/shm') });
    // Fill most of it, then ask for more than what is left: the first segment must stay usable.
    const first = Segment.create('/first', { rows: 150 * 1024, cols: 1 }); // 600 KiB
    try { Segment.create('/second', { rows: 150 * 1024, cols: 1 }); out({}); } catch (e) { out({ code: e.code, left: readdirSync('/dev/shm') }); }
    const frame = new Float32Array(150 * 1024).fill(3);
    first.writeFrame(frame);
    out({ sum: first.readFrame().data.reduce((a, b) => a + b, 0) });
    first.close();
  `);
  assert.equal(big.code, 'ENOSPC');
  assert.ok(big.message.includes('/big'), big.message);
  assert.deepEqual(after.left, []);
  assert.equal(partial.code, 'ENOSPC');
  assert.deepEqual(partial.left, ['first']);
  assert.equal(survivor.sum, 3 * 150 * 1024);
});

test('the CLI reports a full /dev/shm in one line with exit status 1 and leaves nothing behind', { skip }, async (t) => {
  const [r] = await inSmallShm(t, `
    import('node:child_process').then(({ spawnSync }) => {
      const c = spawnSync(process.execPath, [${JSON.stringify(BIN)}, 'create', '/big', '--agents', '1000000', '--fields', 'x,y'],
        { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      out({ status: c.status, signal: c.signal, stdout: c.stdout, stderr: c.stderr, left: readdirSync('/dev/shm') });
    });
  `);
  if (/not implemented|unknown option/.test(r.stderr)) return t.diagnostic(`create is not ready: ${r.stderr.trim()}`);
  assert.equal(r.signal, null);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^shmswarm: .*(no room|ENOSPC|space)/i);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual(r.left, []);
});
