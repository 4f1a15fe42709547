// A real nats-server for the bridge tests: started on 127.0.0.1 on a free port with its own
// config file (JetStream in a temporary directory, an optional token, an optional max_payload),
// waited for until it accepts connections, and stopped after the test even when it fails.
// Without the binary the tests skip saying how to get it, except under CI=true, where they fail.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = [process.env.NATS_SERVER, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/** The nats-server binary, or null. */
export function natsServerPath() {
  for (const c of CANDIDATES) if (c && existsSync(c)) return c;
  const r = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export const HOW_TO_INSTALL = 'nats-server is not installed: apt-get install nats-server (Debian/Ubuntu), or put the binary from https://github.com/nats-io/nats-server/releases on PATH (or in NATS_SERVER)';

/**
 * Call first in a test that needs the server: skips it (returning true) when the binary is
 * missing; under CI=true throws instead, so CI cannot pass without running the bridge tests.
 */
export function skipWithoutNats(t) {
  if (natsServerPath()) return false;
  if (process.env.CI === 'true') throw new Error(`${HOW_TO_INSTALL} (CI=true: the bridge tests must run)`);
  t.skip(HOW_TO_INSTALL);
  return true;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Start a server; `t` (a test context) stops it and removes its files when the test ends (without
 * `t`, call `cleanup()`).
 * Options: jetstream (default true), token, maxPayload (bytes), tls ({ cert, key } files, e.g.
 * from makeTlsFiles), config (more lines, e.g. makeCreds().config), env (more environment
 * variables for the server process, e.g. GOGC). Returns { url, port, stop(),
 * kill(), restart(), logText() }.
 */
export async function startNats(t, { jetstream = true, token, maxPayload, tls, config = [], env = {} } = {}) {
  const bin = natsServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-nats-'));
  const port = await freePort();
  const conf = join(dir, 'server.conf');
  const lines = [`host: 127.0.0.1`, `port: ${port}`];
  if (jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`);
  if (maxPayload) lines.push(`max_payload: ${maxPayload}`);
  if (tls) lines.push(`tls { cert_file: ${JSON.stringify(tls.cert)}, key_file: ${JSON.stringify(tls.key)} }`);
  // In the config file, not the command line: a secret is never in a process's arguments.
  if (token) lines.push(`authorization { token: ${JSON.stringify(token)} }`);
  lines.push(...config);
  writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 });
  let child = null;
  let log = '';
  const server = {
    port,
    url: `nats://127.0.0.1:${port}`,
    dir,
    logText: () => log,
    /** The running server's pid (for the bench's CPU figures). */
    get pid() {
      return child?.pid;
    },
    async start() {
      child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      const deadline = Date.now() + 10_000;
      while (!(await accepts(port))) {
        if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log}`);
        if (Date.now() > deadline) throw new Error(`nats-server did not accept connections within 10 s: ${log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    /** Stop it (SIGTERM, then SIGKILL after 5 s) and wait for the exit. */
    async stop(signal = 'SIGTERM') {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    /** Killed at once, as a crash. */
    kill() {
      return server.stop('SIGKILL');
    },
    async restart() {
      await server.stop('SIGKILL');
      await server.start();
    },
  };
  server.cleanup = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  t?.after(server.cleanup);
  await server.start();
  return server;
}

/**
 * A throw-away CA and a server certificate for 127.0.0.1 and localhost, made with openssl in
 * `dir`: { ca, cert, key } paths, or null when openssl is missing.
 */
export function makeTlsFiles(dir) {
  const ssl = (args) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (ssl(['version']).error) return null;
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const args of [
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=shmswarm test CA'],
    ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'],
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'],
  ]) {
    const r = ssl(args);
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  }
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

/**
 * Decentralised auth as `nsc` would set it up, made here with the nkeys nats exports: an
 * operator, an account and a user, signed JWTs (header.claims.signature, ed25519 over the first
 * two), the server's config lines (operator, a memory resolver with the account preloaded) and
 * the user's .creds file in `dir`: { config, creds }.
 */
export function makeCreds(nkeys, dir) {
  const text = (x) => (typeof x === 'string' ? x : new TextDecoder().decode(x));
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const base32 = (buf) => {
    const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let bits = 0, v = 0, out = '';
    for (const x of buf) {
      v = (v << 8) | x;
      bits += 8;
      while (bits >= 5) out += A[(v >>> (bits -= 5)) & 31];
    }
    return bits > 0 ? out + A[(v << (5 - bits)) & 31] : out;
  };
  const jwt = (issuer, subject, nats) => {
    const claims = { iat: Math.floor(Date.now() / 1000), iss: text(issuer.getPublicKey()), name: nats.type, sub: subject, nats: { ...nats, version: 2 } };
    claims.jti = base32(createHash('sha256').update(JSON.stringify(claims)).digest());
    const signed = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}`;
    return `${signed}.${Buffer.from(issuer.sign(new TextEncoder().encode(signed))).toString('base64url')}`;
  };
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const usr = nkeys.createUser();
  const unlimited = { subs: -1, data: -1, payload: -1 };
  const accJwt = jwt(op, text(acc.getPublicKey()), { type: 'account', limits: { ...unlimited, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 } });
  const usrJwt = jwt(acc, text(usr.getPublicKey()), { type: 'user', pub: {}, sub: {}, ...unlimited });
  const creds = join(dir, 'user.creds');
  writeFileSync(
    creds,
    `-----BEGIN NATS USER JWT-----\n${usrJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${text(usr.getSeed())}\n------END USER NKEY SEED------\n`,
    { mode: 0o600 },
  );
  const config = [`operator: ${jwt(op, text(op.getPublicKey()), { type: 'operator' })}`, 'resolver: MEMORY', `resolver_preload: { ${text(acc.getPublicKey())}: ${accJwt} }`];
  return { config, creds };
}
