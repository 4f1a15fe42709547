import { spawn, type ChildProcess } from 'node:child_process';
import { Command } from 'commander';
import { CliError } from '../errors.js';
import { parseDims, parsePositiveInt, parseSeconds } from '../parse.js';
import { progress } from '../output.js';
import { createUninterrupted, SignalHold } from '../signals.js';
import { BIN_PATH } from '../paths.js';
import { runWatch } from './watch.js';

interface DemoFlags {
  agents: number;
  duration?: number;
  dims: 2 | 3;
  web?: boolean;
}


function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `serve` beside the demo, on 8080 if it is free, else any free port; resolves once listening. */
async function serveDemo(name: string, signal: AbortSignal): Promise<{ url: string; done: Promise<void> }> {
  const { runServe } = await import('./serve.js');
  const attempt = (port: number) =>
    new Promise<{ url: string; done: Promise<void> }>((resolve, reject) => {
      const done: Promise<void> = runServe(name, { host: '127.0.0.1', port, signal, onUrl: (url) => resolve({ url, done }) });
      done.catch(reject);
    });
  try {
    return await attempt(8080);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EADDRINUSE') throw e;
    return attempt(0);
  }
}

export function makeDemoCommand(): Command {
  return new Command('demo')
    .description('a boids swarm simulated in a child process and watched here; cleans up after itself')
    .option('--agents <n>', 'boids in the swarm', parsePositiveInt, 2000)
    .option('--dims <d>', '2 or 3 dimensions', parseDims, 2)
    .option('--duration <s>', 'stop after s seconds (default: Ctrl-C on a terminal, 3 s otherwise; Ctrl-C with --web)', parseSeconds)
    .option('--web', 'also serve the live view in the browser (shmswarm serve) and print its URL')
    .addHelpText(
      'after',
      `
Examples:
  npx shmswarm demo                  watch 2000 boids until Ctrl-C
  npx shmswarm demo --agents 20000   a bigger swarm
  npx shmswarm demo | cat            without a terminal: a few snapshot lines over 3 s
  npx shmswarm demo --web            the swarm in your browser too: open the URL it prints

What it does, step by step (each is a command you can run yourself):
  shmswarm create /shmswarm-demo-<pid> --agents 2000 --fields x,y,vx,vy
  shmswarm simulate /shmswarm-demo-<pid>      (in a child process)
  shmswarm watch /shmswarm-demo-<pid>
  shmswarm unlink /shmswarm-demo-<pid>`,
    )
    .action(async (flags: DemoFlags) => {
      const [{ Segment }, { simulationFields }] = await Promise.all([import('../../core/segment.js'), import('../../core/simulate/index.js')]);
      const name = `/shmswarm-demo-${process.pid}`;
      const tty = process.stdout.isTTY === true;
      const durationMs = flags.duration !== undefined ? flags.duration * 1000 : tty || flags.web ? undefined : 3000;
      const controller = new AbortController();
      // Caught before the segment is created: a signal then cannot leave it half made.
      const hold = new SignalHold(() => controller.abort());
      let made = false;
      let child: ChildProcess | null = null;
      let childErr = '';
      let serving: { url: string; done: Promise<void> } | null = null;
      try {
        // replace: a leftover of an earlier demo that crashed under the same pid (never one with a live writer).
        const seg = await createUninterrupted(
          hold,
          name,
          () => Segment.create(name, { rows: flags.agents, fields: simulationFields(flags.dims), dtype: 'f32', replace: true }),
          (s) => {
            s.closeAndUnlink();
            return true;
          },
        );
        seg.close();
        made = true;
        progress(`demo: ${flags.agents} boids in ${name}, simulated by a child process and watched here${tty && !durationMs ? '; Ctrl-C to stop' : ''}`);
        child = spawn(process.execPath, [BIN_PATH, 'simulate', name, '--pattern', 'boids', '--rate', '60'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, NO_COLOR: '1' },
        });
        child.stderr!.on('data', (d) => (childErr += d));
        // A simulation that fails stops the demo, and says why.
        child.once('exit', (code) => {
          if (!controller.signal.aborted && code !== 0) controller.abort(new CliError(`the simulation stopped: ${childErr.trim().split('\n').pop() ?? `exit ${code}`}`));
        });
        if (flags.web) {
          serving = await serveDemo(name, controller.signal);
          progress(`demo: the swarm in your browser: ${serving.url} (shmswarm serve ${name})`);
        }
        // With --web, one line a second: the full-screen view would cover the URL.
        const lines = flags.web === true;
        await runWatch(name, { signal: controller.signal, durationMs, intervalMs: tty && !lines ? 100 : lines ? 1000 : 500, tty: lines ? false : undefined });
        if (controller.signal.reason instanceof CliError) throw controller.signal.reason;
      } finally {
        if (serving) {
          controller.abort();
          await serving.done.catch(() => undefined);
        }
        if (child) {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const timer = setTimeout(() => child?.kill('SIGKILL'), 3000);
          await exited(child);
          clearTimeout(timer);
        }
        if (made) {
          try {
            Segment.unlink(name);
          } catch {
            /* already gone */
          }
        }
        if (child) progress(`demo: ${childErr.trim().split('\n').pop() ?? ''}; removed ${name}`);
        // Only now: a second Ctrl-C must not cut the clean-up short.
        hold.release();
      }
    });
}
