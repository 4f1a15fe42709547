import { Command, InvalidArgumentError, Option } from 'commander';
import type { Segment } from '../../core/segment.js';
import type { Recording } from '../../record/index.js';
import { CliError, errnoText, usageError } from '../errors.js';
import { progress, warn } from '../output.js';
import { parseMode, parseNonNegativeInt, parsePositiveInt, parseRate } from '../parse.js';
import { createUninterrupted, SignalHold } from '../signals.js';

interface ReplayFlags {
  speed: number;
  rate?: number;
  loop?: boolean;
  from?: number;
  frames?: number;
  force?: boolean;
  mode: number;
  keep?: boolean;
  partial?: boolean;
}

function parseSpeed(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1e6) throw new InvalidArgumentError('It must be a number >= 0 (1 = as recorded, 0 = as fast as possible).');
  return n;
}

function parseFixedRate(value: string): number {
  const n = parseRate(value);
  if (n === 0) throw new InvalidArgumentError('It must be a number of frames per second > 0 (for as fast as possible: --speed 0).');
  return n;
}

export function makeReplayCommand(): Command {
  return new Command('replay')
    .description('create a segment from a recording and publish its frames again, with the recorded timing')
    .argument('<file>', 'a recording made by shmswarm record (.arrows or .mcap)')
    .argument('<name>', 'the segment to create, e.g. /swarm')
    .option('--speed <x>', '1 = as recorded, 2 = twice as fast, 0 = as fast as possible', parseSpeed, 1)
    .option('--rate <hz>', 'publish at this fixed rate instead of the recorded timing', parseFixedRate)
    .option('--loop', 'start again at the end, until Ctrl-C')
    .option('--from <frame>', 'start at this frame (0 = the first in the file)', parseNonNegativeInt)
    .option('--frames <n>', 'publish n frames, then stop', parsePositiveInt)
    .option('--force', 'replace an existing shmswarm segment whose writer is dead (as create --force)')
    .addOption(new Option('--mode <octal>', 'permission bits of the segment').argParser(parseMode).default(0o600, '600'))
    .option('--keep', 'leave the segment in place at the end (it is removed otherwise)')
    .option('--partial', 'replay a recording that ends mid-frame (a recorder that was killed) up to its last whole frame')
    .addHelpText(
      'after',
      `
The whole file is checked before the segment is created: an empty, foreign, damaged or cut-off
file is refused and nothing is created. Ctrl-C stops (exit 0); the segment is removed unless --keep.

Examples:
  $ shmswarm replay run.arrows /swarm                     as recorded
  $ shmswarm replay run.mcap /swarm --speed 0 --keep      as fast as possible, segment kept
  $ shmswarm replay run.arrows /swarm --rate 30 --loop    30 Hz, for ever
  $ shmswarm replay run.arrows /ci --from 720 --frames 60`,
    )
    .action(async (file: string, name: string, o: ReplayFlags) => {
      if (o.rate !== undefined && o.speed !== 1) throw usageError('--rate and --speed exclude each other');
      const [{ Segment }, rec] = await Promise.all([import('../../core/segment.js'), import('../../record/index.js')]);
      let recording: Recording;
      try {
        recording = await rec.openRecording(file);
      } catch (e) {
        throw describeOpenError(e, file);
      }
      const controller = new AbortController();
      const hold = new SignalHold(() => controller.abort());
      let seg: Segment | undefined;
      try {
        const h = recording.header;
        const whole = recording.stamps.length;
        if (recording.truncated && !o.partial)
          throw new CliError(`${file} is cut off: ${recording.truncated.why}; it holds ${whole} whole frame${whole === 1 ? '' : 's'} (--partial replays those)`);
        if (whole === 0) throw new CliError(`${file} holds no whole frame: nothing to replay`);
        const from = o.from ?? 0;
        if (from >= whole) throw usageError(`--from ${from}: ${file} has frames 0 to ${whole - 1}`);
        if (recording.truncated) warn(`${file} is cut off (${recording.truncated.why}): replaying its ${whole} whole frames`);
        seg = await createUninterrupted(
          hold,
          name,
          () => Segment.create(name, { rows: h.rows, fields: h.fields, dtype: h.dtype, mode: o.mode, replace: o.force === true }),
          (made) => {
            made.closeAndUnlink();
            return true;
          },
        );
        for (const w of seg.warnings) warn(w);
        const timing = o.rate !== undefined ? `at ${o.rate} Hz` : o.speed === 0 ? 'as fast as possible' : o.speed === 1 ? 'as recorded' : `at ${o.speed}× speed`;
        progress(`replay ${file} → ${name}: ${h.rows} × ${h.cols} (${h.fields.join(',')}) ${h.dtype}, ${whole - from} frame${whole - from === 1 ? '' : 's'} ${timing}${o.loop ? ', looping' : ''}; Ctrl-C to stop`);
        const r = await rec.replay(recording, seg, { speed: o.speed, rate: o.rate, loop: o.loop, from, frames: o.frames, signal: controller.signal, lowLatency: true });
        const why = { end: 'done', frames: 'done', signal: 'stopped' }[r.stoppedBy];
        progress(`replay ${name}: ${why}; published ${r.published} frame${r.published === 1 ? '' : 's'} in ${r.seconds.toFixed(2)} s${o.keep ? `; ${name} kept` : ''}`);
      } finally {
        if (seg) {
          if (o.keep) seg.close();
          else seg.closeAndUnlink();
        }
        recording.close();
        hold.release();
      }
    });
}

function describeOpenError(e: unknown, file: string): unknown {
  const err = e as { code?: unknown; name?: string };
  if (err?.name === 'RecordingError') return new CliError((e as Error).message);
  if (e instanceof Error && typeof err.code === 'string') {
    return new CliError(`cannot read ${file}: ${errnoText(e)}`);
  }
  return e;
}
