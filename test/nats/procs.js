// Real processes for the bridge tests: the CLI's publish, subscribe and simulate, with their
// output collected, lines waited for, and every process killed when the test ends.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { after } from 'node:test';
import { BIN, SHM_PREFIX } from '../helpers.js';

// A subscriber killed by a failing test leaves its mirror's status file (src/bridge/status.ts);
// test/helpers.js removes the mirror, this removes the status files of this process's mirrors.
after(() => {
  for (const f of readdirSync('/dev/shm')) {
    if (!f.startsWith('.shmswarm-mirror-')) continue;
    try {
      if (JSON.parse(readFileSync(`/dev/shm/${f}`, 'utf8')).mirror?.startsWith(`/${SHM_PREFIX}`)) rmSync(`/dev/shm/${f}`, { force: true });
    } catch {
      // not JSON, or gone meanwhile: not ours to judge
    }
  }
});

/** Start `shmswarm ...args`; killed (SIGKILL) at the end of test `t` if still running. */
export function run(t, args, env = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.err += d));
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => setImmediate(() => resolve({ code, signal }))));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Poll `check` (sync or async) until it returns a truthy value; throws `what` after `ms`. */
export async function until(check, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wait for a line of the child's stderr matching `pattern`. */
export function stderrLine(child, pattern, ms = 15_000) {
  return until(() => child.err.split('\n').find((l) => pattern.test(l)), () => `${pattern} on stderr; got:\n${child.err}`, ms);
}

/** Send `signal` and wait for the exit: { code, signal }. */
export async function stop(child, signal = 'SIGINT', ms = 15_000) {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no exit ${ms} ms after ${signal}; stderr:\n${child.err}`)), ms)));
  try {
    return await Promise.race([child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A ramp writer on `src` (rows agents, 60 Hz) and `shmswarm publish` of it to `server`, both
 * started and ready: { sim, pub }.
 */
export async function rampPublishing(t, server, src, rows, publishArgs = []) {
  const sim = run(t, ['simulate', src, '--agents', String(rows), '--pattern', 'ramp', '--rate', '60']);
  await stderrLine(sim, /Ctrl-C/);
  const pub = run(t, ['publish', src, '--to', server.url, ...publishArgs]);
  await stderrLine(pub, /Ctrl-C to stop/);
  return { sim, pub };
}

/** The segment `name` opened read-only once it exists. */
export async function openWhenThere(name, Segment) {
  return until(() => {
    try {
      return Segment.open(name, { readonly: true });
    } catch (e) {
      if (e.code === 'ENOENT') return null;
      throw e;
    }
  }, name);
}
