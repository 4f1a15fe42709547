import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, OutputError, usageError, writeErrorMessage } from '../errors.js';
import { progress, warn } from '../output.js';
import { parseRate, parseSeconds } from '../parse.js';
import { SignalHold } from '../signals.js';
import { VERSION } from '../index.js';

interface RecordFlags {
  frames?: number;
  duration?: number;
  maxRate?: number;
  format?: 'arrow' | 'mcap';
  force?: boolean;
}

function parseFrames(value: string): number {
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('It must be a whole number >= 1.');
  return Number(value);
}

function parseMaxRate(value: string): number {
  const n = parseRate(value);
  if (n === 0) throw new InvalidArgumentError('It must be a number of frames per second > 0.');
  return n;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function makeRecordCommand(): Command {
  return new Command('record')
    .description('record every frame of a segment into a file (Arrow IPC stream or MCAP) until Ctrl-C')
    .argument('<name>', 'segment name, e.g. /swarm')
    .argument('<file>', 'the recording: .arrows (Arrow IPC stream, the default) or .mcap')
    .option('--frames <n>', 'stop after n frames', parseFrames)
    .option('--duration <s>', 'stop after s seconds', parseSeconds)
    .option('--max-rate <hz>', 'record at most this many frames per second (the others are skipped and counted)', parseMaxRate)
    .addOption(new Option('--format <format>', 'arrow or mcap (default: from the extension; Arrow unless .mcap)').choices(['arrow', 'mcap']))
    .option('--force', 'overwrite the file if it exists')
    .addHelpText(
      'after',
      `
Each frame is in the file (written to the kernel) before the next one is taken: a recorder that
is killed loses at most the frame it was writing. Frames published while it was busy are counted
as missed, said on stderr and stored in the file. Ctrl-C or SIGTERM ends the file properly, exit 0;
so does the segment being removed or re-created (the end of its writer's run: replay and
simulate --unlink-on-exit remove theirs), which stderr says.
The file is read back by pyarrow, Arrow.jl, Foxglove and ros2 bag (docs/RECORDING.md), and by
shmswarm info <file> and shmswarm replay.

Examples:
  $ shmswarm record /swarm run.arrows                       until Ctrl-C
  $ shmswarm record /swarm run.mcap --duration 60           a PointCloud2 topic /swarm, for Foxglove
  $ shmswarm record /big big.arrows --max-rate 10 --frames 100
  $ python3 -c "import pyarrow.ipc as i; print(i.open_stream('run.arrows').read_all().num_rows)"`,
    )
    .action(async (name: string, file: string, o: RecordFlags) => {
      const [{ SHM_DIR }, rec, { sameObject }] = await Promise.all([import('../../core/segment.js'), import('../../record/index.js'), import('../file-output.js')]);
      if (sameObject(file, SHM_DIR + name)) throw usageError(`refusing to record ${name} into itself (${file})`);
      const format = rec.formatOf(file, o.format);
      const controller = new AbortController();
      const hold = new SignalHold(() => controller.abort());
      const tty = process.stderr.isTTY === true;
      try {
        let result;
        try {
          result = await rec.record({
            name, path: file, format, overwrite: o.force === true, frames: o.frames, maxRate: o.maxRate,
            durationMs: o.duration === undefined ? undefined : o.duration * 1000,
            signal: controller.signal, version: VERSION, lowLatency: true,
            onStart: (h) => progress(`record ${name} → ${file} (${format === 'mcap' ? 'MCAP' : 'Arrow IPC stream'}): ${h.rows} × ${h.cols} (${h.fields.join(',')}) ${h.dtype}; Ctrl-C to stop`),
            onProgress: tty
              ? (p) => process.stderr.write(`\r\x1b[K${p.frames} frames, ${mb(p.bytes)}, ${(p.frames / Math.max(p.seconds, 1e-3)).toFixed(1)} frames/s, ${p.missed} missed${p.skipped ? `, ${p.skipped} skipped` : ''}`)
              : undefined,
          });
        } finally {
          if (tty) process.stderr.write('\r\x1b[K');
        }
        const why = { signal: 'stopped', frames: 'done', duration: 'time up', removed: `stopped: ${name} was removed`, replaced: `stopped: ${name} now leads to another segment` }[result.stoppedBy];
        const rate = result.seconds > 0 ? ` (${(result.frames / result.seconds).toFixed(1)} frames/s)` : '';
        progress(`record ${name}: ${why}; ${result.frames} frame${result.frames === 1 ? '' : 's'}, ${mb(result.bytes)} in ${result.seconds.toFixed(2)} s${rate}; ${result.missed} missed${o.maxRate ? `, ${result.skipped} skipped for --max-rate ${o.maxRate}` : ''}`);
        if (result.missed > 0) warn(`${result.missed} frame${result.missed === 1 ? ' was' : 's were'} published while the recorder was busy and are not in ${file} (counted in its metadata)`);
        if (o.maxRate && result.seconds >= 1 && result.frames / result.seconds < o.maxRate * 0.95 && result.skipped + result.missed > 0)
          warn(`recorded ${(result.frames / result.seconds).toFixed(1)} frames/s, below --max-rate ${o.maxRate}`);
      } catch (e) {
        throw describeRecordError(e, file);
      } finally {
        hold.release();
      }
    });
}

function describeRecordError(e: unknown, file: string): unknown {
  const err = e as { code?: unknown; name?: string; frames?: number; cause?: unknown };
  if (err?.name === 'RecordWriteError')
    return new CliError(`${writeErrorMessage(file, err.cause)}; it holds the ${err.frames} whole frame${err.frames === 1 ? '' : 's'} recorded before`);
  if (err?.code === 'EFORMAT') return usageError((e as Error).message);
  if (err?.code === 'EEXIST') return new CliError(`${writeErrorMessage(file, e)}; choose another name, or --force to overwrite it`);
  // The file could not be made (no directory, permissions): a system error without a segment.
  if (e instanceof Error && typeof err.code === 'string' && !('segment' in e)) return new OutputError(file, e);
  return e;
}
