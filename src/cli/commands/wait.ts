import { Command, Option } from 'commander';
import { usageError } from '../errors.js';
import { progress } from '../output.js';
import { addRawOptions, parseNonNegativeInt, parseTimeoutSeconds, rawOptions, type RawFlags } from '../parse.js';

/** Seconds as typed ("10", "0.5") → ms. */

interface WaitFlags extends RawFlags {
  timeout: number;
  frames?: number;
  quiet?: boolean;
}

export function makeWaitCommand(): Command {
  const command = new Command('wait')
    .description('block until a segment exists and is initialised (and, with --frames, until n more frames are written)')
    .argument('<name>', 'segment name, e.g. /swarm')
    .addOption(new Option('--timeout <s>', 'give up after this many seconds (exit 1)').argParser(parseTimeoutSeconds).default(10_000, '10'))
    .option('--frames <n>', 'also wait until n more frames have been written', parseNonNegativeInt)
    .option('-q, --quiet', 'print nothing when the segment is ready');
  addRawOptions(command);
  return command
    .addHelpText('after', `
Exits 0 when ready; 1 with a one-line reason on stderr at the timeout (default 10 s).
Sleeps on inotify and the segment's futex: no busy loop. --frames counts frames written
after wait started (from the segment's creation if it did not exist yet). With --raw, waits
until the object exists and is large enough for --shape; --frames is refused (no counter).

Examples:
  $ shmswarm simulate /swarm & shmswarm wait /swarm --frames 10
  $ shmswarm wait /swarm --timeout 30 && shmswarm check /swarm --min-rate 30
  $ shmswarm wait /position_data --raw --shape 300x3`)
    .action(async (name: string, o: WaitFlags) => {
      const raw = rawOptions(o);
      if (raw && o.frames !== undefined) throw usageError('--frames needs a frame counter, which a raw object does not have; drop --frames or --raw');
      const { waitForSegment } = await import('../../core/wait.js');
      const r = await waitForSegment(name, { timeoutMs: o.timeout, frames: o.frames, raw });
      if (!o.quiet) {
        const frames = o.frames !== undefined ? `, ${r.newFrames} new frame${r.newFrames === 1 ? '' : 's'}` : '';
        progress(`${r.name} is ready (${r.kind} ${r.rows}x${r.cols} ${r.dtype}${frames}) after ${(r.elapsedMs / 1000).toFixed(2)} s`);
      }
    });
}
