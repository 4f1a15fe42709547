import { Command } from 'commander';
import { isMirrorStatusName, mirrorShort, readMirrorStatusOf, subscriberAlive } from '../../bridge/status.js';
import { printableName, shellQuote } from '../../core/names.js';
import type { SegmentSummary } from '../../core/segment.js';
import { progress, stdoutColor } from '../output.js';

interface ListFlags {
  json?: boolean;
  all?: boolean;
}

/**
 * The shmswarm segments (and WA-1 objects) in /dev/shm, and those this user may not read (they
 * may be segments: only reading them could tell); with `all`, foreign objects too.
 */
export async function collectList(all: boolean): Promise<SegmentSummary[]> {
  const { Segment } = await import('../../core/segment.js');
  // A mirror's status file belongs to its segment, whose row says it is a mirror (src/bridge/status.ts).
  return Segment.list()
    .filter((s) => !isMirrorStatusName(s.name) && (all || s.kind !== 'foreign'))
    .map((s) => (s.kind === 'shmswarm' ? withMirror(s) : s));
}

function withMirror(s: SegmentSummary): SegmentSummary & { mirror?: string } {
  const m = readMirrorStatusOf(s.name);
  return m ? { ...s, mirror: mirrorShort(m, subscriberAlive(m, { writerPid: s.writerPid ?? null, writerAlive: s.writerAlive === true })) } : s;
}

/** Rows of the people's view: a header, then one row per object. */
export function listRows(list: readonly SegmentSummary[], all: boolean, bytes: (n: number) => string): string[][] {
  const notes = all || list.some((s) => s.kind === 'unreadable');
  const head = ['NAME', ...(all ? ['KIND'] : []), 'SHAPE', 'DTYPE', 'SIZE', 'FRAMES', 'WRITER', ...(notes ? ['NOTE'] : [])];
  const rows = list.map((s) => {
    const foreign = s.kind === 'foreign';
    const hidden = s.kind === 'unreadable';
    const mirror = (s as { mirror?: string }).mirror;
    const writer = hidden ? '?' : foreign || s.kind === 'wa1' ? '-' : s.writerPid == null ? 'none' : `${s.writerPid} ${s.writerAlive ? 'alive' : 'dead'}${mirror ? ` (${mirror})` : ''}`;
    return [
      printableName(s.name),
      ...(all ? [s.kind] : []),
      hidden ? '?' : foreign ? '-' : `${s.rows}x${s.cols}${(s.slots ?? 1) > 1 ? ` (${s.slots} slots)` : ''}`,
      hidden ? '?' : (s.dtype ?? '-'),
      s.bytes === null ? '?' : bytes(s.bytes),
      hidden ? '?' : s.frames === undefined || s.kind === 'wa1' ? '-' : String(s.frames),
      writer,
      ...(notes ? [s.looksLike === 'mutex' ? mutexNote(s) : foreign || hidden ? (s.reason ?? '') : s.kind === 'wa1' ? 'no lock or sequence counter' : ''] : []),
    ];
  });
  return [head, ...rows];
}

export function makeListCommand(): Command {
  return new Command('list')
    .alias('ls')
    .description('list the segments in /dev/shm that shmswarm reads (its own, and WA-1 arrays such as Julia WrappedArrays) with shape, dtype, size, frames and writer state')
    .option('--json', 'print the list as a JSON array')
    .option('-a, --all', 'also list other shared-memory objects, with why they are not segments')
    .addHelpText(
      'after',
      `
Examples:
  $ shmswarm list
  $ shmswarm list --all
  $ shmswarm list --json | jq -r '.[] | select(.writerAlive == false) | .name'`,
    )
    .action(async (o: ListFlags) => {
      const all = o.all === true;
      const list = await collectList(all);
      if (o.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      if (list.length === 0) {
        progress(all ? 'no shared-memory objects in /dev/shm' : 'no shmswarm segments in /dev/shm (list --all shows other objects)');
        return;
      }
      const { formatColumns, formatBytes } = await import('../render/table.js');
      const c = stdoutColor();
      const rows = listRows(list, all, formatBytes);
      const writerCol = rows[0].indexOf('WRITER');
      const right = [rows[0].indexOf('SIZE'), rows[0].indexOf('FRAMES')];
      process.stdout.write(
        formatColumns(rows, {
          right,
          paint: (s, r, col) => {
            if (r === 0) return c.bold(s);
            if (col === writerCol && s.includes('alive')) return c.green(s);
            if (col === writerCol && s.includes('dead')) return c.red(s);
            if (all && col === 1 && s.startsWith('foreign')) return c.dim(s);
            if (s.startsWith('you may not read')) return c.yellow(s);
            return s;
          },
        }),
      );
    });
}

/** A mutex-sized object: what it looks like, and how to read the matrix it guards from the shell. */
function mutexNote(s: { name: string; bytes: number | null }): string {
  return `looks like a process-shared mutex (${s.bytes} B); read the matrix it guards with --raw --shape RxC --mutex ${shellQuote(s.name)}`;
}
