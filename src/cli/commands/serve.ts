import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { CliError, errnoText, usageError } from '../errors.js';
import { progress, warn } from '../output.js';
import { addRawOptions, rawOptions, type RawFlags } from '../parse.js';
import { STOP_SIGNALS } from '../signals.js';

interface ServeFlags extends RawFlags {
  port: number;
  host: string;
  tokenFile?: string;
  open?: boolean;
}

function parsePort(value: string): number {
  const s = value.trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535) throw new InvalidArgumentError('It must be a port number from 0 (any free port) to 65535.');
  return n;
}

/** The token in FILE: its first line, which must not be empty. A file, so the token is never in argv. */
export function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read --token-file ${file}: ${errnoText(e)}`);
  }
  const token = text.split(/\r?\n/)[0].trim();
  if (token === '') throw new CliError(`--token-file ${file} is empty: put the token on its first line`);
  if ((statSync(file).mode & 0o077) !== 0) warn(`--token-file ${file} can be read by other users of this machine (chmod 600 ${file})`);
  return token;
}

/** Open `url` in the desktop's browser, if there is one; a failure is a warning. */
function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', (e) => warn(`--open: cannot run ${opener} (${errnoText(e)}); open ${url} yourself`));
  child.unref();
}

/** Serve until a stop signal or `signal`; shared by serve and demo --web. */
export async function runServe(
  name: string | undefined,
  o: { host: string; port: number; token?: string; open?: boolean; raw?: ReturnType<typeof rawOptions>; signal?: AbortSignal; onUrl?: (url: string) => void },
): Promise<void> {
  const { startServer, isLoopback } = await import('../../serve/server.js');
  const server = await startServer({ name, raw: o.raw, host: o.host, port: o.port, token: o.token });
  try {
    if (!isLoopback(o.host))
      warn(`serving on ${o.host}: anyone who can reach port ${server.port} can read ${name ?? 'every segment on this machine'}${o.token ? ' with the token' : '; --token-file makes every request need a token'}`);
    if (!server.pageBuilt) warn('the page was not built (npm run build:ts builds it); /info.json, /frame.csv and /frame.npy work without it');
    (o.onUrl ?? ((u: string) => process.stdout.write(u + '\n')))(server.url);
    if (o.token) progress(`every request needs the token: open ${server.url}?token=<token> (the page keeps it in a cookie), or send Authorization: Bearer <token>`);
    if (o.open) openBrowser(server.url);
    await new Promise<void>((resolve) => {
      if (o.signal?.aborted) return resolve();
      const stop = () => {
        for (const s of STOP_SIGNALS) process.off(s, stop);
        o.signal?.removeEventListener('abort', stop);
        resolve();
      };
      if (o.signal) o.signal.addEventListener('abort', stop, { once: true });
      else for (const s of STOP_SIGNALS) process.on(s, stop);
    });
  } finally {
    await server.close();
  }
}

export function makeServeCommand(): Command {
  const command = new Command('serve')
    .description('a live view of a segment in the browser (WebGL scatter, statistics, time plot), and its info and frames over HTTP')
    .argument('[name]', 'segment to serve, e.g. /swarm (default: the page lists the segments and serves any)')
    .option('--port <n>', 'port to listen on (0: any free port)', parsePort, 8080)
    .option('--host <address>', 'address to listen on; other than loopback, anyone who can reach it can read the data', '127.0.0.1')
    .option('--token-file <file>', 'every request must carry the token on the first line of this file')
    .option('--open', 'open the page in the desktop\'s browser');
  addRawOptions(command);
  return command
    .addHelpText(
      'after',
      `
Examples:
  shmswarm serve /swarm                          http://127.0.0.1:8080/ shows /swarm live
  shmswarm serve                                 the page lists the segments; pick one
  shmswarm serve /swarm --port 0                 any free port (printed on stdout)
  shmswarm serve /swarm --host 0.0.0.0 --token-file ~/.swarm-token
  curl -s http://127.0.0.1:8080/frame.npy -o frame.npy
  shmswarm serve /position_data --raw --shape 300x3 --mutex /mutex_lock

Endpoints (docs/SERVE.md): / (the page), /stream (WebSocket: frames as binary messages, status
as JSON), /info.json (as info --json), /frame.csv and /frame.npy (one consistent frame),
/list.json (as list --json). With --token-file: header "Authorization: Bearer <token>", or
?token=<token> on the page once. Nothing is written to shared memory; frames are read lock-free.`,
    )
    .action(async (name: string | undefined, flags: ServeFlags) => {
      const raw = rawOptions(flags);
      if (raw && name === undefined) throw usageError('--raw needs a segment name');
      const token = flags.tokenFile !== undefined ? readToken(flags.tokenFile) : undefined;
      await runServe(name, { host: flags.host, port: flags.port, token, open: flags.open, raw });
    });
}
