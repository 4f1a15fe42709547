import { Command, Option } from 'commander';
import type { PatternName, RunResult } from '../../core/simulate/index.js';
import { parseDims, parseMode, parsePositiveInt, parseRate, parseSeconds, parseSlots, wholeNumberIn } from '../parse.js';
import { progress, warn } from '../output.js';
import { createUninterrupted, SignalHold } from '../signals.js';

const PATTERNS: readonly PatternName[] = ['boids', 'ramp', 'random'];

interface SimulateFlags {
  agents?: number;
  dims?: 2 | 3;
  pattern: PatternName;
  rate: number;
  frames?: number;
  duration?: number;
  seed: number;
  slots?: number;
  unlinkOnExit?: boolean;
  mode?: number;
}

const parseFrameCount = wholeNumberIn(0, Number.MAX_SAFE_INTEGER);
const parseSeed = wholeNumberIn(0, 2 ** 32 - 1);

/** The stderr summary line: frames written and the rate achieved. */
export function formatSummary(name: string, r: RunResult): string {
  const why = {
    signal: 'stopped',
    frames: 'done',
    duration: 'time up',
    removed: 'stopped, the segment was removed',
    replaced: 'stopped, the name now leads to another segment',
  }[r.stoppedBy];
  const rate = r.rate === null ? '' : ` (${r.rate.toFixed(1)} frames/s)`;
  return `simulate ${name}: ${why}; wrote ${r.frames} frame${r.frames === 1 ? '' : 's'} in ${r.seconds.toFixed(2)} s${rate}`;
}

export function makeSimulateCommand(): Command {
  return new Command('simulate')
    .description('write a moving swarm (or a test pattern) into a segment, creating it if missing')
    .argument('<name>', 'segment name, e.g. /swarm')
    .option('--agents <n>', "agents (rows); default 1000, or the existing segment's", parsePositiveInt)
    .option('--dims <d>', 'positions in 2 or 3 dimensions: fields x,y,vx,vy or x,y,z,vx,vy,vz', parseDims)
    .addOption(new Option('--pattern <name>', 'boids (flocking), ramp (verification: frame k holds k + r*cols + c) or random').choices(PATTERNS).default('boids'))
    .option('--rate <hz>', 'frames per second; 0 = as fast as possible', parseRate, 60)
    .option('--frames <n>', 'stop after n frames', parseFrameCount)
    .option('--duration <s>', 'stop after s seconds', parseSeconds)
    .option('--seed <n>', 'random seed: the same seed gives the same frames', parseSeed, 1)
    .option('--slots <k>', 'frame buffers (1-16) for a segment this creates; an existing one must match', parseSlots)
    .option('--unlink-on-exit', 'remove the segment when simulate stops')
    .option('--mode <octal>', 'permission bits of a segment this creates, applied whatever the umask (default 600: only you can read it), as create --mode', parseMode)
    .addHelpText(
      'after',
      `
Examples:
  shmswarm simulate /swarm                          1000 boids at 60 Hz until Ctrl-C
  shmswarm simulate /swarm --agents 10000 --dims 3  a 3-D swarm
  shmswarm simulate /ci --pattern ramp --frames 100 --rate 0
  shmswarm simulate /swarm --duration 10 --unlink-on-exit
  shmswarm simulate /swarm --mode 644               readers running as other users may read it

Stops on Ctrl-C or SIGTERM between two frames, prints frames written and the rate achieved
to stderr and exits 0; the segment is never left mid-frame. It also stops (within a second,
exit 0) when the segment is unlinked or re-created under it: no reader could reach its frames. A signal that comes while it is
still creating the segment removes it again, and the exit status is 128 + the signal's number.`,
    )
    .action(async (name: string, flags: SimulateFlags) => {
      // Loaded here, not at start-up: other commands never pay for the simulation code.
      const [{ Segment }, { makeFrameWriter, openSimulationTarget, runSimulation }] = await Promise.all([
        import('../../core/segment.js'),
        import('../../core/simulate/index.js'),
      ]);
      const controller = new AbortController();
      // Caught before the segment may be created: a signal then cannot leave it half made.
      const hold = new SignalHold(() => controller.abort());
      try {
        const { segment, created, dims } = await createUninterrupted(
          hold,
          name,
          () => openSimulationTarget(name, { pattern: flags.pattern, agents: flags.agents, dims: flags.dims, slots: flags.slots }, flags.mode ?? 0o600),
          // An existing segment was only opened: the signal just stops the run before its first frame.
          (t) => {
            if (!t.created) return false;
            t.segment.closeAndUnlink();
            return true;
          },
        );
        for (const w of segment.warnings) warn(w);
        const mode = segment.info().mode;
        if (!created && flags.mode !== undefined && mode !== flags.mode)
          warn(`--mode applies to a segment simulate creates; ${name} exists with mode ${mode.toString(8).padStart(4, '0')}, left as it is`);
        let writer;
        try {
          writer = makeFrameWriter(flags.pattern, segment.rows, segment.cols, dims, flags.seed);
        } catch (e) {
          segment.close();
          // Nothing was written: leave no segment behind that this run made.
          if (created) Segment.unlink(name);
          throw e;
        }
        try {
          const rate = flags.rate === 0 ? 'as fast as possible' : `at ${flags.rate} Hz`;
          progress(
            `simulate ${name}: ${flags.pattern}, ${segment.rows} × ${segment.cols} (${segment.fields.join(',')}) ${rate}` +
              `${created ? ' (created)' : ''}; Ctrl-C to stop`,
          );
          const result = await runSimulation(segment, writer, {
            rate: flags.rate,
            frames: flags.frames,
            durationMs: flags.duration === undefined ? undefined : flags.duration * 1000,
            signal: controller.signal,
          });
          progress(formatSummary(name, result));
        } finally {
          if (flags.unlinkOnExit) segment.closeAndUnlink();
          else segment.close();
        }
      } finally {
        hold.release();
      }
    });
}
