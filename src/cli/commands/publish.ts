import { Command } from 'commander';
import { progress, stderrLine, warn } from '../output.js';
import { parseRate } from '../parse.js';
import { SignalHold } from '../signals.js';

interface PublishFlags {
  to?: string;
  subject?: string;
  maxRate: number;
  creds?: string;
  tokenFile?: string;
  tlsCa?: string;
  jetstream: boolean;
}

/** The summary line at exit. */
function summaryLine(name: string, where: string, s: { sent: number; skipped: number; bytes: number; disconnects: number }, seconds: number): string {
  const rate = seconds > 0 ? ` (${(s.sent / seconds).toFixed(1)} frames/s)` : '';
  const down = s.disconnects ? `, ${s.disconnects} disconnection${s.disconnects === 1 ? '' : 's'}` : '';
  return `publish ${name} → ${where}: stopped; sent ${s.sent} frame${s.sent === 1 ? '' : 's'} (${(s.bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s${rate}, skipped ${s.skipped}${down}`;
}

export function makePublishCommand(): Command {
  return new Command('publish')
    .description("send a segment's frames to a NATS server, for `shmswarm subscribe` (or any NATS client) on another host")
    .argument('<name>', 'segment name, e.g. /swarm')
    .option('--to <url>', 'the server: nats://host:4222 or tls://host:4222 (default: $NATS_URL); credentials never go here')
    .option('--subject <s>', 'subject to publish on (default: shmswarm.<name without the slash>)')
    .option('--max-rate <hz>', 'send at most this many frames per second; 0 = every frame the connection keeps up with', parseRate, 0)
    .option('--creds <file>', 'a NATS credentials file (JWT and nkey seed)')
    .option('--token-file <file>', 'a file holding the token (or set NATS_TOKEN)')
    .option('--tls-ca <file>', 'with tls://: the CA (PEM) that signed the server\'s certificate, if not one the system trusts')
    .option('--no-jetstream', 'do not keep the latest frame in JetStream for subscribers that join later')
    .addHelpText(
      'after',
      `
Each frame the writer publishes goes out once, as one message or (beyond the server's
max_payload) as chunks; while one frame waits for the server, newer ones replace it: frames
skipped to keep up are counted, never queued. With JetStream on the server, the latest frame is
also kept in the stream SHMSWARM_LAST so that a subscriber that joins gets it at once.
Wire format: docs/BRIDGES.md. Ctrl-C stops (exit 0) and tells subscribers the source stopped.

Examples:
  $ shmswarm publish /swarm --to nats://gpu-box:4222
  $ NATS_URL=nats://10.0.0.5:4222 shmswarm publish /swarm --max-rate 30
  $ shmswarm publish /swarm --to tls://broker:4222 --creds ~/.nats/swarm.creds`,
    )
    .action(async (name: string, o: PublishFlags) => {
      const [{ checkSegmentName }, { serverTarget, connectTo }, { defaultSubject, checkSubject }] = await Promise.all([
        import('../../core/names.js'),
        import('../../bridge/connect.js'),
        import('../../bridge/wire.js'),
      ]);
      checkSegmentName(name);
      const subject = o.subject === undefined ? defaultSubject(name) : checkSubject(o.subject, '--subject');
      const target = serverTarget({ url: o.to, creds: o.creds, tokenFile: o.tokenFile, tlsCa: o.tlsCa });
      const { Publisher } = await import('../../bridge/publisher.js');
      const nc = await connectTo(target, `shmswarm publish ${name}`);
      const log = (level: 'info' | 'warn', m: string) => (level === 'warn' ? warn(m) : progress(m));
      let publisher;
      try {
        publisher = await Publisher.open(nc, { name, subject, maxRate: o.maxRate, jetstream: o.jetstream, log });
      } catch (e) {
        await nc.close();
        throw e;
      }
      const hold = new SignalHold(() => publisher.stop());
      const started = performance.now();
      // Progress now and then: every 10 s on a terminal, every minute into a log.
      const every = process.stderr.isTTY ? 10_000 : 60_000;
      const ticker = setInterval(() => {
        const s = publisher.summary;
        progress(`publish ${name}: sent ${s.sent} frames so far, skipped ${s.skipped}`);
      }, every);
      progress(`publish ${name} → ${target.display} subject ${subject}${o.maxRate ? ` at most ${o.maxRate} Hz` : ''}; Ctrl-C to stop`);
      try {
        const summary = await publisher.run();
        progress(summaryLine(name, target.display, summary, (performance.now() - started) / 1000));
      } catch (e) {
        stderrLine(`publish ${name}: stopped by an error`);
        throw e;
      } finally {
        clearInterval(ticker);
        await publisher.close();
        hold.release();
      }
    });
}
