import { CliError, usageError } from './errors.js';
import { warn } from './output.js';
import type { DumpFlags } from './commands/dump.js';
import { SignalHold } from './signals.js';


/** `dump --follow`: every new frame on stdout until --frames, Ctrl-C or a closed pipe (exit 0). */
export async function runFollow(name: string, o: DumpFlags): Promise<void> {
  const other = (['json', 'npy', 'table', 'output', 'raw', 'lock'] as const).find((k) => o[k] !== undefined);
  if (other) throw usageError(`--${other} does not go with --follow (NDJSON or --csv on stdout)`);
  if (o.crlf && !o.csv) throw usageError('--crlf only applies to CSV (--follow --csv)');
  const [{ Segment }, { resolveRows, selectFields }, { follow }] = await Promise.all([
    import('../core/segment.js'),
    import('../core/rows.js'),
    import('../record/follow.js'),
  ]);
  const seg = Segment.open(name, { readonly: true });
  const controller = new AbortController();
  const hold = new SignalHold(() => controller.abort());
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (e: NodeJS.ErrnoException) => {
    failure ??= e;
    controller.abort();
  };
  process.stdout.on('error', onError);
  try {
    if (seg.kind !== 'shmswarm') throw new CliError(`${name} is a plain WA-1 array: it has no frame counter to follow frames by`);
    const rows = resolveRows(o.rows, seg.rows, name);
    const columns = selectFields(o.fields, seg.fields, name);
    for await (const ev of follow(seg, { format: o.csv ? 'csv' : 'ndjson', frames: o.frames, rows, columns, signal: controller.signal })) {
      if (ev.kind === 'missed') warn(`${ev.count} frame${ev.count === 1 ? '' : 's'} of ${name} went by unprinted before frame ${ev.before}`);
      else if (ev.kind === 'stopped') warn(`stopped: ${name} was ${ev.why === 'removed' ? 'removed' : 'replaced by another segment'}`);
      else if (!process.stdout.write(o.crlf ? ev.text.replaceAll('\n', '\r\n') : ev.text) && !failure)
        await new Promise<void>((resolve) => {
          const done = () => {
            process.stdout.off('drain', done);
            controller.signal.removeEventListener('abort', done);
            resolve();
          };
          process.stdout.on('drain', done);
          controller.signal.addEventListener('abort', done, { once: true });
        });
      if (failure) break;
    }
  } finally {
    process.stdout.off('error', onError);
    seg.close();
    hold.release();
  }
}
