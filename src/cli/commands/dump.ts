import { Command, Option } from 'commander';
import type { FrameTable } from '../../core/format.js';
import type { TextFormatter } from '../../core/format-parallel.js';
import { usageError } from '../errors.js';
import { stdoutColor, warn } from '../output.js';
import { sameObject, writeFileWhole, writeStream, type Chunks } from '../file-output.js';
import { addRawOptions, parseFieldList, parseMs, parsePositiveInt, parseRowRange, rawOptions, type RawFlags, type RowRange } from '../parse.js';

export type DumpFormat = 'csv' | 'json' | 'ndjson' | 'npy' | 'table';

export interface DumpFlags extends RawFlags {
  csv?: boolean;
  crlf?: boolean;
  json?: boolean;
  ndjson?: boolean;
  npy?: string;
  table?: boolean;
  rows?: RowRange;
  fields?: string[];
  lock?: boolean;
  output?: string;
  timeout?: number;
  follow?: boolean;
  frames?: number;
}

/** More agents than this in a table is not for people: show the first ones and say so. */
export const TABLE_ROWS = 1000;

const byExtension: Record<string, DumpFormat> = { csv: 'csv', json: 'json', ndjson: 'ndjson', jsonl: 'ndjson', npy: 'npy', txt: 'table' };

/** The format asked for; otherwise from --output's extension; otherwise a table on a TTY and CSV elsewhere. */
export function chooseFormat(o: DumpFlags, stdoutIsTTY: boolean): DumpFormat {
  if (o.csv) return 'csv';
  if (o.json) return 'json';
  if (o.ndjson) return 'ndjson';
  if (o.npy !== undefined) return 'npy';
  if (o.table) return 'table';
  if (o.output !== undefined) return byExtension[/\.([^./]+)$/.exec(o.output)?.[1]?.toLowerCase() ?? ''] ?? 'csv';
  return stdoutIsTTY ? 'table' : 'csv';
}

export function makeDumpCommand(): Command {
  const command = new Command('dump')
    .description('print one consistent frame of a segment (CSV, JSON, NDJSON, .npy or a table)')
    .argument('<name>', 'segment name, e.g. /swarm')
    .addOption(new Option('--csv', 'CSV with a header row of field names (RFC 4180 quoting, LF line ends)').conflicts(['json', 'ndjson', 'npy', 'table']))
    .option('--crlf', 'CSV: end lines with CRLF, as RFC 4180 has it to the letter (default LF, for Unix tools)')
    .addOption(new Option('--json', 'one JSON object {name, dtype, sequence, frames, fields, data}').conflicts(['ndjson', 'npy', 'table']))
    .addOption(new Option('--ndjson', 'one JSON object per agent').conflicts(['npy', 'table']))
    .addOption(new Option('--npy <file>', 'a numpy .npy file ("-" for stdout)').conflicts(['table', 'output']))
    .addOption(new Option('--table', 'a table for people (the default when stdout is a terminal)'))
    .option('--rows <a:b>', 'only agents a to b-1 (half-open; a: and :b too)', parseRowRange)
    .option('--fields <list>', 'only these fields, in this order, e.g. x,y', parseFieldList)
    .option('--lock', 'copy under the segment\'s mutex instead of lock-free')
    .option('--timeout <ms>', 'how long to wait for the mutex', parseMs, 1000)
    .option('--follow', 'print every new frame as it is published (NDJSON, or --csv), until Ctrl-C or --frames')
    .option('--frames <n>', 'with --follow: stop after n frames', parsePositiveInt)
    .option('-o, --output <file>', 'write to this file: a regular file is replaced whole, a device or FIFO written in place (format from .csv/.json/.ndjson/.npy, .txt for a table, else CSV, unless given)');
  addRawOptions(command);
  return command
    .addHelpText(
      'after',
      `
Values print exactly: a float32 as the shortest decimal that reads back to the same float32.
NaN and infinities print as NaN, Infinity, -Infinity (JSON: the strings "NaN", "Infinity", "-Infinity").
A table shows the first ${TABLE_ROWS} agents unless --rows is given.

Examples:
  $ shmswarm dump /swarm                        table on a terminal, CSV when piped
  $ shmswarm dump /swarm --csv > frame.csv
  $ shmswarm dump /swarm --json --rows 0:10 --fields x,y
  $ shmswarm dump /swarm --ndjson | jq .x
  $ shmswarm dump /swarm --npy frame.npy        python3 -c "import numpy; print(numpy.load('frame.npy').shape)"
  $ shmswarm dump /swarm --lock -o frame.csv
  $ shmswarm dump /position_data --raw --shape 300x3 --mutex /mutex_lock
  $ shmswarm dump /swarm --follow | head -3      each new frame as one JSON object
  $ shmswarm dump /swarm --follow --csv --frames 10 > frames.csv   frame,time,agent,<fields>`,
    )
    .action(async (name: string, o: DumpFlags) => {
      if (o.follow) return (await import('../follow.js')).runFollow(name, o);
      if (o.frames !== undefined) throw usageError('--frames goes with --follow');
      await runDump(name, o);
    });
}

async function runDump(name: string, o: DumpFlags): Promise<void> {
  const raw = rawOptions(o);
  const format = chooseFormat(o, process.stdout.isTTY === true);
  if (o.crlf && format !== 'csv') throw usageError(`--crlf only applies to CSV, not ${format === 'table' ? 'a table' : format}`);
  const toStdout = o.npy === '-' || (o.npy === undefined && o.output === undefined);
  if (format === 'npy' && toStdout && process.stdout.isTTY)
    throw usageError('refusing to write binary .npy to a terminal; give a file (--npy frame.npy) or redirect stdout');

  const [{ openFrameSource }, { resolveRows, selectFields }, fmt, { textFormatter }, { SHM_DIR }] = await Promise.all([
    import('../../core/source.js'),
    import('../../core/rows.js'),
    import('../../core/format.js'),
    import('../../core/format-parallel.js'),
    import('../../core/segment.js'),
  ]);
  const file = o.npy !== undefined && o.npy !== '-' ? o.npy : o.output;
  // The text of a frame written over the object it was read from would destroy it.
  for (const read of [name, raw?.mutex])
    if (read !== undefined && file !== undefined && file !== '-' && sameObject(file, SHM_DIR + read))
      throw usageError(`refusing to write the dump of ${name} over ${read}, which it reads`);
  const source = openFrameSource(name, { raw, timeoutMs: o.timeout });
  let table: FrameTable;
  let frame;
  let text: TextFormatter | undefined;
  try {
    // Bad --rows/--fields fail before anything is copied.
    const rows = resolveRows(o.rows, source.rows, name);
    const columns = selectFields(o.fields, source.fields, name);
    if (format === 'csv' || format === 'json' || format === 'ndjson')
      text = textFormatter(format, source, (rows[1] - rows[0]) * columns.length);
    const reading = source.readFrameAsync({ lock: o.lock === true, timeoutMs: o.timeout, into: text?.into });
    text?.warmUp();
    frame = await reading;
    if (!frame) throw new Error(`no frame could be read from ${name}`);
    table = { name, dtype: source.dtype, sequence: frame.sequence, frames: frame.frames, fields: source.fields, data: frame.data, rowStart: rows[0], rowEnd: rows[1], columns, eol: o.crlf ? '\r\n' : '\n' };
  } catch (e) {
    text?.close();
    throw e;
  } finally {
    source.close();
  }

  if (raw && !raw.mutex) warn(`read ${name} without synchronisation (no --mutex): the frame may mix two writes`);
  else if (frame.unsynced) warn(`${name} has no sequence counter or lock (plain WA-1): the frame may mix two writes`);
  if (frame.torn) warn(`the latest frame of ${name} is torn: its writer died while writing it`);
  // Recovery covers a mutex whose owner died and an odd sequence left under a free lock. A raw
  // object has no sequence to mark a frame torn: only the foreign mutex was taken over.
  if (frame.recovered)
    warn(
      raw
        ? `the holder of mutex ${raw.mutex} died holding it; the lock was taken over, and this frame may be one it left half-written`
        : `a writer of ${name} died holding its lock or in the middle of a frame; the segment has been repaired`,
    );
  if (source.kind === 'shmswarm' && frame.frames === 0) warn(`no frame has been published to ${name} yet; these are its initial zeros`);

  if (format === 'table' && o.rows === undefined && table.rowEnd - table.rowStart > TABLE_ROWS) {
    warn(`showing agents 0:${TABLE_ROWS} of ${table.rowEnd}; use --rows a:b, or --csv for all of them`);
    table.rowEnd = TABLE_ROWS;
  }

  let chunks: Chunks;
  switch (format) {
    case 'csv':
    case 'json':
    case 'ndjson': chunks = text!.chunks(table); break;
    case 'npy': chunks = [fmt.encodeNpy(table)]; break;
    case 'table': {
      const paint = toStdout ? (s: string) => stdoutColor().bold(s) : (s: string) => s;
      chunks = [(await import('../render/table.js')).formatTable(table, paint)];
      break;
    }
  }
  try {
    if (file === undefined || file === '-') await writeStream(process.stdout, chunks);
    else await writeFileWhole(file, chunks);
  } finally {
    text?.close();
  }
}
