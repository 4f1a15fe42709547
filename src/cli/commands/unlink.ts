import { Command } from 'commander';
import { CliError, EXIT_RUNTIME, describeError, usageError } from '../errors.js';
import { progress, stderrLine } from '../output.js';
import { shellQuote } from '../../core/names.js';

interface UnlinkFlags {
  force?: boolean;
  quiet?: boolean;
}

/**
 * A segment whose writer runs is in use: removed, its producer would go on writing into a mapping
 * nobody can find again. Refused, naming the writer, as create --force refuses to replace it.
 */
function refuseLiveWriter(S: typeof import('../../core/segment.js').Segment, name: string): void {
  let info;
  try {
    const seg = S.open(name, { readonly: true, initWaitMs: 0 });
    try {
      info = seg.info();
    } finally {
      seg.close();
    }
  } catch {
    return; // missing, foreign, unreadable: Segment.unlink says what it is
  }
  if (info.kind === 'shmswarm' && info.writerAlive && info.writerPid !== null && info.writerPid !== process.pid)
    throw new CliError(
      `segment ${name} has a live writer (pid ${info.writerPid}); not removing it (the writer would go on writing where nobody can find it) — stop pid ${info.writerPid} first, or: shmswarm unlink --force ${shellQuote(name)}`,
    );
}

export function makeUnlinkCommand(): Command {
  return new Command('unlink')
    .alias('rm')
    .description('remove segments by name (other kinds of object only with --force)')
    .argument('<name...>', 'segment names, e.g. /swarm')
    .option('--force', 'also remove a segment whose writer is running, and objects that are not shmswarm segments')
    .option('-q, --quiet', 'do not report each removed name on stderr')
    .addHelpText(
      'after',
      `
Removing a name does not disturb processes that have the segment mapped; they keep the old
object until they close it. A segment whose writer is running is refused without --force: its
writer would go on writing into an object nobody can open again. With several names, every one that can be removed is removed,
each failure is reported, and the exit status is 1 if any failed.

Examples:
  $ shmswarm unlink /swarm
  $ shmswarm unlink /a /b /c
  $ shmswarm unlink /position_data --force     an object another program made`,
    )
    .action(async (names: string[], o: UnlinkFlags) => {
      const { Segment } = await import('../../core/segment.js');
      const { checkSegmentName } = await import('../../core/names.js');
      const { forgetMirrorStatus } = await import('../../bridge/status.js');
      // A typo in any name stops everything before anything is removed.
      for (const name of names) {
        try {
          checkSegmentName(name);
        } catch (e) {
          throw usageError((e as Error).message);
        }
      }
      const failures: string[] = [];
      for (const name of [...new Set(names)]) {
        try {
          if (!o.force) refuseLiveWriter(Segment, name);
          // A kept mirror's status file (src/bridge/status.ts) goes with it.
          const forget = forgetMirrorStatus(name);
          Segment.unlink(name, { force: o.force === true });
          forget();
          if (!o.quiet) progress(`removed ${name}`);
        } catch (e) {
          failures.push(describeError(e, 'unlink').message);
        }
      }
      if (failures.length === 0) return;
      // All but the last are printed here; the last goes through the top-level handler like any error.
      for (const f of failures.slice(0, -1)) stderrLine(f);
      throw new CliError(failures[failures.length - 1], EXIT_RUNTIME);
    });
}
