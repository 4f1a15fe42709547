import { Command, Option } from 'commander';
import type { Segment } from '../../core/segment.js';
import { CliError, usageError, writeErrorMessage } from '../errors.js';
import { progress, warn, writeAllSync } from '../output.js';
import { parseCols, parseDtypeOption, parseFieldList, parseMode, parsePositiveInt, parseSlots } from '../parse.js';
import { createUninterrupted, SignalHold } from '../signals.js';

interface CreateFlags {
  agents?: number;
  rows?: number;
  fields?: string[];
  cols?: number;
  dtype: string;
  mode: number;
  slots?: number;
  force?: boolean;
  json?: boolean;
}

/** The core's create options from the flags; usage errors for missing or contradicting ones. */
export function createOptions(o: CreateFlags): { rows: number; cols: number; fields?: string[]; dtype: string; mode: number; slots?: number; replace: boolean } {
  if (o.agents !== undefined && o.rows !== undefined && o.agents !== o.rows)
    throw usageError(`--agents ${o.agents} and --rows ${o.rows} disagree; --rows is another name for --agents`);
  const rows = o.agents ?? o.rows;
  if (rows === undefined) throw usageError('give the number of agents: --agents <n>');
  if (!o.fields && o.cols === undefined) throw usageError('give the fields (--fields x,y,vx,vy) or their number (--cols <k>)');
  if (o.fields && o.cols !== undefined && o.fields.length !== o.cols)
    throw usageError(`--fields names ${o.fields.length} fields but --cols is ${o.cols}`);
  return { rows, cols: o.cols ?? o.fields!.length, fields: o.fields, dtype: o.dtype, mode: o.mode, slots: o.slots, replace: o.force === true };
}

export function makeCreateCommand(): Command {
  return new Command('create')
    .description('create an empty segment: a matrix of agents × fields with a lock and a frame counter')
    .argument('<name>', 'segment name, e.g. /swarm')
    .option('-n, --agents <n>', 'number of agents (rows)', parsePositiveInt)
    .addOption(new Option('--rows <n>', 'another name for --agents').argParser(parsePositiveInt))
    .option('--fields <list>', 'field (column) names, e.g. x,y,vx,vy', parseFieldList)
    .option('--cols <k>', 'number of fields when they have no names (c0, c1, ...)', parseCols)
    .option('--dtype <type>', 'element type: f32 f64 i8 u8 i16 u16 i32 u32 i64 u64', parseDtypeOption, 'f32')
    .addOption(new Option('--mode <octal>', 'permission bits, applied whatever the umask').argParser(parseMode).default(0o600, '600'))
    .option('--slots <k>', 'frame buffers, 1-16 (default 1): with k >= 2 a writer publishing back to back rarely waits for readers; costs k x the memory', parseSlots)
    .option('--force', 'replace an existing shmswarm segment whose writer is no longer alive')
    .option('--json', 'print the new segment\'s info as JSON on stdout')
    .addHelpText(
      'after',
      `
Prints what it created on stderr; stdout stays empty unless --json.

Examples:
  $ shmswarm create /swarm --agents 1000 --fields x,y,vx,vy
  $ shmswarm create /grid --rows 512 --cols 512 --dtype f64 --mode 640
  $ shmswarm create /fast --agents 1000000 --fields x,y,z,vx,vy,vz --slots 3
  $ shmswarm create /swarm --agents 1000 --fields x,y,z --force    replace one whose writer died`,
    )
    .action(async (name: string, o: CreateFlags) => {
      const opts = createOptions(o);
      const [{ Segment }, { formatBytes }] = await Promise.all([import('../../core/segment.js'), import('../render/table.js')]);
      const hold = new SignalHold();
      let seg: Segment;
      try {
        seg = await createUninterrupted(hold, name, () => Segment.create(name, opts), (made) => {
          made.closeAndUnlink();
          return true;
        });
      } catch (e) {
        hold.release();
        throw e;
      }
      // Kept to the end: a signal after the creation no longer undoes it, and must not kill the
      // process between "created" and its exit status (0). (Signal listeners keep no process alive.)
      try {
        // Another process may have removed or replaced the name while this one was being made
        // (`unlink --force`, `create --force`): then "created" would be false.
        const status = seg.nameStatus();
        if (status !== 'same') throw new CliError(`${name} was ${status === 'gone' ? 'removed' : 'replaced'} by another process while it was being created`);
        for (const w of seg.warnings) warn(w);
        const info = seg.info();
        if (o.json) {
          try {
            writeAllSync(1, JSON.stringify(info, null, 2) + '\n');
          } catch (e) {
            // A script that gets exit 1 retries: it must not then meet "already exists".
            seg.closeAndUnlink();
            throw new CliError(`${writeErrorMessage('to stdout', e)}; ${name} was not created`);
          }
        }
        const names = info.fieldsNamed ? ` (${info.fields.join(',')})` : '';
        const slots = info.slots > 1 ? `, ${info.slots} slots` : '';
        progress(`created ${name}: ${info.rows} agents × ${info.cols} fields${names}, ${info.dtype}${slots}, ${formatBytes(info.bytes)}, mode ${info.mode.toString(8).padStart(4, '0')}`);
      } finally {
        seg.close();
      }
    });
}
