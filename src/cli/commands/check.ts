import { Command, Option } from 'commander';
import type { CheckReport, RangeSpec } from '../../core/check.js';
import type { DtypeName } from '../../core/dtypes.js';
import { usageError } from '../errors.js';
import { stdoutColor } from '../output.js';
import { parseDtypeOption, parseFieldList, parseNonNegativeInt, parseRate, parseSeconds, parseShape, rawOptions } from '../parse.js';

/** The longest window collectCheck takes (1e9 ms). */
const MAX_WINDOW_S = 1e6;

interface CheckFlags {
  shape?: [number, number];
  dtype?: DtypeName;
  fields?: string[];
  minRate?: number;
  within: number;
  finite?: boolean;
  range?: string[];
  writerAlive?: boolean;
  /** false with --no-torn (commander's negatable option). */
  torn?: boolean;
  json?: boolean;
  raw?: boolean;
  offset?: number;
  mutex?: string;
  mutexOffset?: number;
}

/** The report for people: one line per assertion, then a summary. Colour only decorates. */
export function printCheck(report: CheckReport, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  const c = stdoutColor();
  const width = Math.max(...report.assertions.map((a) => a.name.length));
  for (const a of report.assertions)
    write(`${a.ok ? c.green('ok  ') : c.red('FAIL')}  ${a.name.padEnd(width)}  ${a.message}\n`);
  const failed = report.assertions.filter((a) => !a.ok).length;
  const n = report.assertions.length;
  write(failed === 0
    ? `${c.green('ok')}: ${report.name}: ${n === 1 ? 'the assertion holds' : `all ${n} assertions hold`}\n`
    : `${c.red('FAIL')}: ${report.name}: ${failed} of ${n} assertion${n === 1 ? '' : 's'} failed\n`);
}

export function makeCheckCommand(): Command {
  return new Command('check')
    .description('assert what a segment holds and how its writer behaves; exit 1 when any assertion fails')
    .argument('<name>', 'segment name, e.g. /swarm')
    .option('--shape <rows>x<cols>', 'expect this shape (with --raw: the shape to read)', parseShape)
    .option('--dtype <type>', 'expect this element type (with --raw: the type to read, default f32)', parseDtypeOption)
    .option('--fields <list>', 'expect these field names, in order (with --raw: names for the columns)', parseFieldList)
    .option('--min-rate <hz>', 'expect at least this many frames per second over the window', parseRate)
    .addOption(new Option('--within <s>', 'length of the window of live frames, in seconds').argParser((v) => parseSeconds(v, MAX_WINDOW_S) * 1000).default(2000, '2'))
    .option('--finite', 'expect every value of every frame in the window to be finite (no NaN or Inf)')
    .option('--range <field:min:max>', 'expect every value of a field in the window inside [min, max]; repeatable; -inf/inf or empty for no bound (x::1 is x <= 1)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--writer-alive', 'expect the last writer recorded in the header to be running')
    .option('--no-torn', 'expect no frame in the window, the latest included, to be torn (left half-written by a writer that died mid-frame)')
    .option('--json', 'print the report as one JSON document')
    .option('--raw', 'read a bare matrix with no header; --shape (required) and --dtype then describe it')
    .option('--offset <bytes>', 'raw: byte offset of the matrix in the object (default 0)', parseNonNegativeInt)
    .option('--mutex <name>', 'raw: object holding a process-shared pthread mutex to lock around each copy')
    .option('--mutex-offset <bytes>', 'raw: byte offset of the mutex in that object (default 0)', parseNonNegativeInt)
    .addHelpText('after', `
Prints one line per assertion (ok or FAIL with the measured value) and a summary on stdout;
exits 0 when all hold, 1 when any fails, 2 for a usage error. --min-rate, --finite, --range and
--no-torn watch a window of live frames (--within, default 2 s); the rate comes from the frames counter,
values from a lock-free copy of each new frame. --shape, --dtype and --fields are checked
against the header. With --raw there is no header: --shape and --dtype say how to read the
bytes, --fields names the columns for --range, and --min-rate and --writer-alive do not apply.

Examples:
  $ shmswarm check /swarm --shape 1000x4 --fields x,y,vx,vy --min-rate 30 --finite --no-torn --writer-alive
  $ shmswarm check /swarm --range x:-1:1 --range y:0:inf --within 5 --json
  $ shmswarm check /position_data --raw --shape 300x3 --mutex /mutex_lock --fields x,y,z --range z:-100:100`)
    .action(async (name: string, o: CheckFlags) => {
      const { parseRange, collectCheck } = await import('../../core/check.js');
      let ranges: RangeSpec[];
      try {
        ranges = (o.range ?? []).map(parseRange);
      } catch (e) {
        throw usageError(`--range: ${(e as Error).message}`);
      }
      const raw = rawOptions(o.raw
        ? { raw: true, shape: o.shape, dtype: o.dtype, offset: o.offset, mutex: o.mutex, mutexOffset: o.mutexOffset }
        : { offset: o.offset, mutex: o.mutex, mutexOffset: o.mutexOffset });
      if (raw && o.minRate !== undefined) throw usageError('--min-rate needs a frame counter, which a raw object does not have');
      if (raw && o.writerAlive) throw usageError('--writer-alive needs a header that records the writer, which a raw object does not have');
      const notTorn = o.torn === false;
      if (raw && notTorn) throw usageError('--no-torn needs a sequence counter to flag torn frames, which a raw object does not have');
      const asserted = raw
        ? o.finite || ranges.length > 0
        : o.shape || o.dtype || o.fields || o.minRate !== undefined || o.finite || ranges.length > 0 || o.writerAlive || notTorn;
      if (!asserted)
        throw usageError(`nothing to check: give at least one of ${raw ? '--finite, --range' : '--shape, --dtype, --fields, --min-rate, --finite, --range, --writer-alive, --no-torn'}`);

      const { openFrameSource } = await import('../../core/source.js');
      const source = openFrameSource(name, { raw: raw && { ...raw, fields: o.fields } });
      let report: CheckReport;
      try {
        report = await collectCheck(source, {
          shape: raw ? undefined : o.shape,
          dtype: raw ? undefined : o.dtype,
          fields: raw ? undefined : o.fields,
          minRate: o.minRate,
          windowMs: o.within,
          finite: o.finite,
          ranges,
          writerAlive: o.writerAlive,
          notTorn,
        });
      } finally {
        source.close();
      }
      if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printCheck(report);
      if (!report.ok) process.exitCode = 1;
    });
}
