import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../errors.js';
import { progress, warn } from '../output.js';
import { parseMode } from '../parse.js';
import { SignalHold } from '../signals.js';

interface SubscribeFlags {
  from?: string;
  subject?: string;
  as?: string;
  force?: boolean;
  mode: number;
  keep?: boolean;
  maxBytes?: number;
  creds?: string;
  tokenFile?: string;
  tlsCa?: string;
}

/** Bytes as typed: 268435456, 256M, 2G (binary multiples). */
function parseBytes(value: string): number {
  const m = /^\s*(\d+)\s*([kKmMgG]?)i?[bB]?\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError('It must be a number of bytes such as 268435456, 256M or 2G.');
  const n = Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 40) throw new InvalidArgumentError('It must be from 1 byte to 1024G (2^40, the most a segment holds).');
  return n;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function makeSubscribeCommand(): Command {
  return new Command('subscribe')
    .description('mirror a segment published over NATS (`shmswarm publish`) into a local segment that every local tool reads')
    .argument('<name>', 'the remote segment name, e.g. /swarm (also the mirror\'s name unless --as)')
    .option('--from <url>', 'the server: nats://host:4222 or tls://host:4222 (default: $NATS_URL); credentials never go here')
    .option('--subject <s>', 'subject to follow (default: shmswarm.<name without the slash>)')
    .option('--as <local>', 'name of the local mirror segment (default: the remote name)')
    .option('--force', 'replace an existing segment of that name whose writer is dead')
    .addOption(new Option('--mode <octal>', 'permission bits of the mirror').argParser(parseMode).default(0o600, '600'))
    .option('--keep', 'leave the mirror (with its last frame) when stopping')
    .option('--max-bytes <n>', 'refuse frames larger than this (default 256M)', parseBytes)
    .option('--creds <file>', 'a NATS credentials file (JWT and nkey seed)')
    .option('--token-file <file>', 'a file holding the token (or set NATS_TOKEN)')
    .option('--tls-ca <file>', 'with tls://: the CA (PEM) that signed the server\'s certificate, if not one the system trusts')
    .addHelpText(
      'after',
      `
The mirror is created with the first whole frame's shape, dtype and field names (from JetStream
at once, when the publisher keeps the latest frame there). Every message is checked before it
touches shared memory: bad ones are refused with one line per kind of problem. A frame of
another shape re-creates the mirror (readers open it again). info and list show that it is a
mirror, from where, and whether the source is still there. Ctrl-C stops (exit 0) and removes
the mirror unless --keep. Wire format: docs/BRIDGES.md.

Examples:
  $ shmswarm subscribe /swarm --from nats://sim-host:4222
  $ shmswarm subscribe /swarm --from nats://sim-host:4222 --as /remote-swarm --keep
  $ NATS_URL=nats://sim-host:4222 NATS_TOKEN=... shmswarm subscribe /swarm`,
    )
    .action(async (name: string, o: SubscribeFlags) => {
      const [{ checkSegmentName }, { serverTarget, connectTo }, { defaultSubject, checkSubject, DEFAULT_MAX_FRAME_BYTES }] = await Promise.all([
        import('../../core/names.js'),
        import('../../bridge/connect.js'),
        import('../../bridge/wire.js'),
      ]);
      checkSegmentName(name);
      const mirror = o.as ?? name;
      for (const w of checkSegmentName(mirror).warnings) warn(w);
      const subject = o.subject === undefined ? defaultSubject(name) : checkSubject(o.subject, '--subject');
      const target = serverTarget({ url: o.from, creds: o.creds, tokenFile: o.tokenFile, tlsCa: o.tlsCa });
      // Said now rather than when the first frame comes (--force is checked then: only a dead writer's segment is replaced).
      const { SHM_DIR } = await import('../../core/segment.js');
      if (!o.force && existsSync(SHM_DIR + mirror))
        throw new CliError(`${mirror} already exists; mirror into another name with --as, or replace it (when its writer is dead) with --force`);
      const { Subscriber } = await import('../../bridge/subscriber.js');
      const nc = await connectTo(target, `shmswarm subscribe ${mirror}`);
      const log = (level: 'info' | 'warn', m: string) => (level === 'warn' ? warn(m) : progress(m));
      const sub = new Subscriber(nc, {
        subject, mirror, from: target.display, mode: o.mode, force: o.force === true,
        maxFrameBytes: o.maxBytes ?? DEFAULT_MAX_FRAME_BYTES, log,
      });
      let stop!: () => void;
      const stopped = new Promise<void>((r) => (stop = r));
      const hold = new SignalHold(() => stop());
      progress(`subscribe ${subject} on ${target.display} → ${mirror}; Ctrl-C to stop`);
      // Progress now and then: every 10 s on a terminal, every minute into a log.
      const ticker = setInterval(() => {
        const s = sub.summary;
        progress(`subscribe ${subject}: mirrored ${plural(s.mirrored, 'frame')} so far, missed ${s.missed}`);
      }, process.stderr.isTTY ? 10_000 : 60_000);
      let failure: unknown;
      try {
        await sub.start();
        await Promise.race([stopped, sub.failed]);
      } catch (e) {
        failure = e;
      } finally {
        clearInterval(ticker);
        const s = await sub.close(o.keep === true);
        hold.release();
        const refused = Object.entries(s.refused).map(([k, n]) => `${k} ${n}`);
        progress(
          `subscribe ${subject} → ${mirror}: stopped; mirrored ${plural(s.mirrored, 'frame')}, missed ${s.missed} source frame${s.missed === 1 ? '' : 's'} ` +
            `(lost on the way ${s.lost}, superseded here ${s.superseded})` +
            `${refused.length ? `, refused ${refused.join(', ')}` : ''}${s.recreated ? `, re-created ${plural(s.recreated, 'time')}` : ''}` +
            `${s.disconnects ? `, ${plural(s.disconnects, 'disconnection')}` : ''}; mirror ${s.mirror === 'none' ? (s.mirrored === 0 ? 'never created' : 'not ours any more') : s.mirror}`,
        );
      }
      if (failure) throw failure;
    });
}
