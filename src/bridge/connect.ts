// Connecting to a NATS server: the URL from the command line or NATS_URL, credentials from files
// or the environment only (never from the argument list, which every user of the host can read
// in /proc), and failures as one line with a code.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, ErrorCode, type ConnectionOptions, type NatsConnection } from 'nats';
import { ShmswarmError } from '../core/index.js';

export interface ServerFlags {
  /** The URL given on the command line, if any (NATS_URL otherwise). */
  url?: string;
  /** A .creds file (JWT + nkey seed), as `nats` tools take it. */
  creds?: string;
  /** A file holding the token (trailing newline ignored). */
  tokenFile?: string;
  /** A PEM file of the certificate authority that signed the server's certificate (TLS). */
  tlsCa?: string;
}

export interface ServerTarget {
  /** What the client connects to: host:port. */
  server: string;
  /** The URL for people and for the mirror's status: scheme, host, port; never credentials. */
  display: string;
  tls: boolean;
  options: ConnectionOptions;
}

/** Misuse (exit 2 in the CLI), as the core's argument checks report it. */
function usage(message: string): RangeError {
  return new RangeError(message);
}

/** The server and how to authenticate to it: RangeError for a wrong URL, ShmswarmError ECREDS for an unreadable file; before connecting. */
export function serverTarget(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): ServerTarget {
  const fromArgs = flags.url !== undefined;
  const raw = flags.url ?? env.NATS_URL;
  if (raw === undefined || raw.trim() === '') throw usage('no server given: pass nats://host:4222 (or set NATS_URL)');
  const withScheme = raw.includes('://') ? raw : `nats://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usage(`"${raw}" is not a server URL such as nats://host:4222`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'nats' && scheme !== 'tls') throw usage(`"${raw}": the scheme must be nats:// or tls://`);
  if (url.hostname === '') throw usage(`"${raw}" names no host`);
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') throw usage(`"${raw}": a server URL has no path or query`);
  if (fromArgs && (url.username !== '' || url.password !== ''))
    throw usage('credentials in the URL would be visible to every user in the process list: use --token-file, --creds or NATS_TOKEN (or NATS_URL in the environment)');
  const port = url.port === '' ? 4222 : Number(url.port);
  const host = url.hostname.includes(':') && !url.hostname.startsWith('[') ? `[${url.hostname}]` : url.hostname;
  const options: ConnectionOptions = {};
  if (url.username !== '') {
    // Only from NATS_URL: user:password, or a token alone.
    if (url.password !== '') {
      options.user = decodeURIComponent(url.username);
      options.pass = decodeURIComponent(url.password);
    } else options.token = decodeURIComponent(url.username);
  }
  if (flags.creds !== undefined && flags.tokenFile !== undefined) throw usage('give --creds or --token-file, not both');
  if (flags.creds !== undefined) options.authenticator = credsAuthenticator(readSecret(flags.creds, 'credentials file'));
  else if (flags.tokenFile !== undefined) options.token = new TextDecoder().decode(readSecret(flags.tokenFile, 'token file')).trim();
  else if (env.NATS_TOKEN !== undefined && env.NATS_TOKEN !== '' && options.token === undefined && options.user === undefined) options.token = env.NATS_TOKEN;
  if (options.token === '') throw new ShmswarmError(`the token file ${flags.tokenFile} is empty`, 'ECREDS');
  if (flags.tlsCa !== undefined && scheme !== 'tls') throw usage('--tls-ca is for tls:// servers');
  if (scheme === 'tls') options.tls = flags.tlsCa === undefined ? {} : { ca: new TextDecoder().decode(readSecret(flags.tlsCa, 'CA file')) };
  return { server: `${host}:${port}`, display: `${scheme}://${host}:${port}`, tls: scheme === 'tls', options };
}

function readSecret(path: string, what: string): Uint8Array {
  try {
    const data = readFileSync(path);
    if (data.byteLength > 1 << 20) throw new ShmswarmError(`${what} ${path} is larger than 1 MB: not a ${what}`, 'ECREDS');
    return data;
  } catch (e) {
    if (e instanceof ShmswarmError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new ShmswarmError(`cannot read the ${what} ${path}: ${err.code ?? err.message}`, 'ECREDS');
  }
}

/**
 * Connect, reconnecting for ever afterwards (every 250-350 ms). The first connection must
 * succeed: a wrong address or credentials are one line (codes ECONNREFUSED, EAUTH, ETIMEDOUT,
 * ETLS) rather than a silent retry loop.
 */
export async function connectTo(target: ServerTarget, clientName: string): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...target.options,
      servers: target.server,
      name: clientName,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      timeout: 5000,
      pingInterval: 10_000,
      maxPingOut: 3,
      // One server, as given: not the cluster members it advertises.
      ignoreClusterUpdates: true,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = (e as Error).message;
    if (code === ErrorCode.ConnectionRefused) throw new ShmswarmError(`cannot connect to ${target.display}: connection refused (is nats-server running there?)`, 'ECONNREFUSED');
    if (code === ErrorCode.AuthorizationViolation || code === ErrorCode.AuthenticationExpired || code === ErrorCode.BadAuthentication || code === ErrorCode.BadCreds)
      throw new ShmswarmError(`${target.display} refused the credentials (${code}); check --token-file, --creds or NATS_TOKEN`, 'EAUTH');
    if (code === ErrorCode.ConnectionTimeout) throw new ShmswarmError(`cannot connect to ${target.display}: no answer within 5 s`, 'ETIMEDOUT');
    // nats.js refuses a tls:// connection to a server that offers no TLS with this code.
    if (code === ErrorCode.ServerOptionNotAvailable && target.tls)
      throw new ShmswarmError(`${target.display} does not offer TLS: refusing to go on in plain text (use nats:// to mean it)`, 'ETLS');
    const hint = target.tls && !target.options.tls?.ca ? ' (if the server\'s certificate is signed by your own CA, give it with --tls-ca)' : '';
    throw new ShmswarmError(`cannot connect to ${target.display}: ${why}${hint}`, 'ECONNECT');
  }
  if (target.tls && !(nc.info?.tls_required || nc.info?.tls_available)) {
    await nc.close();
    throw new ShmswarmError(`${target.display} does not offer TLS: refusing to go on in plain text (use nats:// to mean it)`, 'ETLS');
  }
  return nc;
}

/**
 * Drain (finish what is buffered, unsubscribe) and close, but never wait more than `ms` for it.
 * While disconnected (`connected` false) it only closes: a drain then waits for a reconnection,
 * and one cut short by close() left a timer that kept the process alive (nats 2.29).
 */
export async function closeConnection(nc: NatsConnection, connected: boolean, ms = 2000): Promise<void> {
  if (!connected) {
    await nc.close().catch(() => {});
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  try {
    if ((await Promise.race([nc.drain().then(() => 'drained' as const), late])) === 'late') await nc.close();
  } catch {
    await nc.close().catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}
