import { closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CliError, errnoText, usageError } from '../errors.js';
import type { ChalkInstance } from 'chalk';
import type { SegmentInfo } from '../../core/segment.js';
import type { SnippetTarget } from '../render/snippets.js';
import { SHM_DIR } from '../../core/segment.js';
import { ShmswarmError } from '../../core/errors.js';
import { describeMirrorState, readMirrorStatus, subscriberAlive, type MirrorStatus } from '../../bridge/status.js';
import { stdoutColor } from '../output.js';
import { JULIA_READER_PATH } from '../paths.js';
import { addRawOptions, parseMs, rawOptions, type RawFlags } from '../parse.js';

interface InfoFlags extends RawFlags {
  json?: boolean;
  julia?: boolean;
  python?: boolean;
  timeout?: number;
}

/** What info shows: the core's SegmentInfo, plus where the matrix sits for snippets. */
export async function collectInfo(name: string, o: InfoFlags): Promise<{ info: SegmentInfo; target: SnippetTarget; mirror: MirrorStatus | null }> {
  const raw = rawOptions(o);
  const { openFrameSource } = await import('../../core/source.js');
  const source = openFrameSource(name, { raw, timeoutMs: o.timeout });
  try {
    const info = source.info();
    const target: SnippetTarget = {
      name, kind: source.kind, rows: source.rows, cols: source.cols, dtype: source.dtype,
      // Named only when a snippet asks: an object may have millions of unnamed columns.
      get fields() {
        return source.fields;
      },
      // A plain WA-1 object's dims decide where its data starts (7+ dims: byte 128) and what
      // WrappedArray returns (a Vector, a Matrix, an N-D array): read only when a snippet asks.
      get dims() {
        return source.kind === 'wa1' ? wa1Dims(name, source.rows, source.cols) : undefined;
      },
      dataOffset: raw ? raw.offset : undefined,
      mutex: raw?.mutex ?? null,
      mutexOffset: raw?.mutexOffset,
      slots: info.slots,
    };
    // A mirror made by `subscribe` says where its frames come from (src/bridge/status.ts).
    const mirror = info.kind === 'shmswarm' ? readMirrorStatus(info) : null;
    return { info, target, mirror };
  } finally {
    source.close();
  }
}

/**
 * The dims of a plain WA-1 object's header (Julia order), read again from the object that was just
 * validated; they must still give the validated shape (cols = dims[0], rows = the product of the rest).
 */
function wa1Dims(name: string, rows: number, cols: number): number[] {
  const fd = openSync(SHM_DIR + name, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const head = Buffer.alloc(16 + 8 * 32);
  let got: number;
  try {
    got = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const ndims = got >= 8 ? head.readUInt16LE(6) : 0;
  const dims = ndims >= 1 && ndims <= 32 && got >= 16 + 8 * ndims ? Array.from({ length: ndims }, (_, i) => Number(head.readBigInt64LE(16 + 8 * i))) : [];
  if (dims.length === 0 || dims[0] !== cols || dims.slice(1).reduce((a, b) => a * b, 1) !== rows)
    throw new ShmswarmError(`${name}: the object changed while it was read; run the command again`, 'ECHANGED', { segment: name });
  return dims;
}

function ago(ms: number, now: number): string {
  const s = (now - ms) / 1000;
  if (s < 0) return 'in the future';
  if (s < 1) return `${Math.round(s * 1000)} ms ago`;
  if (s < 120) return `${s.toFixed(1)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** Key/value pairs for people; colour only marks state (alive, dead, torn). */
/** c0, c1, … c(n-1), with the middle left out past a handful (an object may have millions). */
export function unnamedFields(cols: number): string {
  if (cols <= 8) return Array.from({ length: cols }, (_, k) => `c${k}`).join(', ');
  return `c0, c1, c2, …, c${cols - 1}`;
}

export function infoLines(i: SegmentInfo, c: ChalkInstance, bytes: (n: number) => string, now = Date.now(), mirror: MirrorStatus | null = null): [string, string][] {
  const kind = i.kind === 'shmswarm' ? `shmswarm segment (format ${i.formatVersion})` : i.kind === 'wa1' ? 'plain WA-1 object (no lock, no sequence counter)' : `${i.kind} object (no header)`;
  const lines: [string, string][] = [
    ['name', i.name],
    ['kind', kind],
    ['shape', `${i.rows} agents × ${i.cols} fields`],
    ['dtype', `${i.dtype} (${i.elementBytes} bytes)`],
    ...(i.slots > 1 ? [['slots', `${i.slots} frame buffers (a frame is ${i.dataBytes} bytes; readers copy the latest whole one)`] as [string, string]] : []),
    ['fields', i.fieldsNamed ? i.fields.join(', ') : `${unnamedFields(i.cols)} (unnamed)`],
    ['size', `${bytes(i.bytes)} (${i.bytes} bytes; matrix ${i.dataBytes} bytes)`],
    ['mode', `${(i.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${i.uid}`],
  ];
  const raw = (i as { raw?: { offset: number; mutex: string | null; mutexOffset: number } }).raw;
  if (raw)
    lines.push(['raw', `matrix at byte ${raw.offset}; ${raw.mutex ? `mutex ${raw.mutex} at byte ${raw.mutexOffset}` : 'no mutex: reads are unsynchronised'}`]);
  if (i.createdTime !== null)
    lines.push(['created', `${new Date(i.createdTime).toISOString()}${i.creatorPid ? ` by pid ${i.creatorPid}` : ''}`]);
  if (i.kind === 'shmswarm') {
    lines.push(['frames', `${i.frames} (sequence ${i.sequence}${i.sequence % 2 ? ', a frame is being written' : ''})`]);
    lines.push(['last frame', i.lastWriteTime === null ? 'none yet' : `${new Date(i.lastWriteTime).toISOString()} (${ago(i.lastWriteTime, now)})`]);
    lines.push([
      'writer',
      i.writerPid === null ? 'none yet' : i.writerAlive ? c.green(`pid ${i.writerPid}, alive`) : c.red(`pid ${i.writerPid}, not running`),
    ]);
    lines.push(['waiters', String(i.waiters)]);
    if (mirror) lines.push(...mirrorLines(mirror, i, c, now));
    if (i.torn) lines.push(['torn', c.yellow('yes: the writer died while writing the latest frame')]);
  }
  return lines;
}

/** What info adds for a mirror: from where, the source's state, the last frame's age, frames missed. */
function mirrorLines(m: MirrorStatus, i: SegmentInfo, c: ChalkInstance, now: number): [string, string][] {
  const alive = subscriberAlive(m, i);
  const state = describeMirrorState(m, alive);
  const good = alive && (m.state === 'live' || m.state === 'idle' || m.state === 'waiting');
  return [
    ['mirror of', `${m.source ? `${m.source.host}:${m.source.name}` : '(no frame yet)'} via ${m.from} subject ${m.subject}`],
    ['source', good ? c.green(state) : c.yellow(state)],
    ['source frame', m.lastFrameTime === null ? 'none yet' : `written ${new Date(m.lastFrameTime).toISOString()} (${ago(m.lastFrameTime, now)})`],
    ['mirrored', `${m.framesMirrored} frames; ${m.framesMissed} source frames missed (skipped by the publisher, lost on the way or superseded)`],
  ];
}

export function makeInfoCommand(): Command {
  const command = new Command('info')
    .description('show a segment\'s header and live state, or a snippet that maps it from Julia or Python')
    .argument('<name>', 'segment name, e.g. /swarm, or the path of a recording (run.arrows, ./run.mcap)')
    .addOption(new Option('--json', 'the info as JSON (rows, cols, dtype, fields, sequence, frames, writerPid, writerAlive, ...)').conflicts(['julia', 'python']))
    .addOption(new Option('--julia', 'print Julia code that maps this segment').conflicts(['python']))
    .option('--python', 'print Python (numpy) code that maps this segment')
    .option('--timeout <ms>', 'raw: how long to wait for the mutex', parseMs, 1000);
  addRawOptions(command);
  return command
    .addHelpText(
      'after',
      `
Examples:
  $ shmswarm info /swarm
  $ shmswarm info /swarm --json | jq .frames
  $ shmswarm info /swarm --python > read_swarm.py
  $ shmswarm info /swarm --julia
  $ shmswarm info /position_data --raw --shape 300x3
  $ shmswarm info run.arrows                     a recording (a path: not one /name)`,
    )
    .action(async (name: string, o: InfoFlags) => {
      if (isRecordingPath(name)) return showRecording(name, o);
      const { info, target, mirror } = await collectInfo(name, o);
      if (o.json) {
        const { summaryFields } = await import('../../core/segment.js');
        // Key by key, not spread: spreading would name every column (info.fields is made on use).
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(info) as (keyof SegmentInfo)[]) out[k] = k === 'fields' ? summaryFields(info) : info[k];
        if (mirror) out.mirror = { ...mirror, summary: describeMirrorState(mirror, subscriberAlive(mirror, info)) };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else if (o.julia || o.python) {
        const { juliaSnippet, pythonSnippet } = await import('../render/snippets.js');
        process.stdout.write(o.julia ? juliaSnippet(target, JULIA_READER_PATH) : pythonSnippet(target));
      } else {
        const { formatColumns, formatBytes } = await import('../render/table.js');
        const c = stdoutColor();
        const lines = infoLines(info, c, formatBytes, Date.now(), mirror);
        process.stdout.write(formatColumns(lines, { paint: (s, _r, col) => (col === 0 ? c.dim(s) : s) }));
      }
    });
}

/**
 * A recording, not a segment: a segment name is "/" and one component, so an argument that is
 * not (run.arrows, ./x, /tmp/x.mcap) and names an existing file, or ends in a recording's
 * extension, is a file. `/x` is always the segment, as before.
 */
export function isRecordingPath(arg: string): boolean {
  if (arg.startsWith('/') && !arg.slice(1).includes('/')) return false;
  // /dev/shm/NAME is a segment named by its path: the name check suggests /NAME.
  if (resolve(arg).startsWith(SHM_DIR + '/')) return false;
  if (existsSync(arg)) return true;
  // A path (./run, dir/run, /tmp/run) is never a segment name, which has one leading "/" only.
  if (arg.includes('/')) return true;
  return /\.(arrows|arrow|mcap)$/i.test(arg);
}

async function showRecording(file: string, o: InfoFlags): Promise<void> {
  const given = (['julia', 'python', 'raw', 'shape', 'dtype', 'offset', 'mutex', 'mutexOffset'] as const).find((k) => o[k] !== undefined);
  if (given) throw usageError(`--${given.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies to a segment, not to a recording (${file})`);
  const { openRecording, recordingInfo } = await import('../../record/info-entry.js');
  let rec;
  try {
    rec = await openRecording(file);
  } catch (e) {
    const err = e as { name?: string; code?: unknown };
    if (err?.name === 'RecordingError') throw new CliError((e as Error).message);
    if (e instanceof Error && typeof err.code === 'string') throw new CliError(`cannot read ${file}: ${errnoText(e)}`);
    throw e;
  }
  let info;
  try {
    info = recordingInfo(rec);
  } finally {
    rec.close();
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  const { formatColumns, formatBytes } = await import('../render/table.js');
  const c = stdoutColor();
  const iso = (ms: number | null) => (ms === null ? 'unknown' : new Date(ms).toISOString());
  const lines: [string, string][] = [
    ['file', info.file],
    ['format', info.format === 'mcap' ? 'MCAP (ros2 profile, sensor_msgs/msg/PointCloud2, CDR)' : 'Arrow IPC stream (one record batch per frame)'],
    ['source', info.source],
    ['shape', `${info.rows} agents × ${info.cols} fields`],
    ['dtype', info.dtype],
    ['fields', info.fields.join(', ')],
    ['frames', String(info.frames)],
    ['duration', `${info.duration.toFixed(3)} s (${iso(info.firstTime)} to ${iso(info.lastTime)})`],
    ['mean rate', info.meanRate === null ? 'n/a' : `${info.meanRate.toFixed(2)} frames/s`],
    ['missed', info.missed > 0 ? c.yellow(`${info.missed} frames published but not recorded`) : '0'],
    ...(info.skipped > 0 ? [['skipped', `${info.skipped} (--max-rate)`] as [string, string]] : []),
    ['size', `${formatBytes(info.bytes)} (${info.bytes} bytes)`],
    ['recorded', `${iso(info.startedTime)} by shmswarm ${info.version}`],
  ];
  if (info.truncated) lines.push(['ends', c.yellow(`early: ${info.truncated}; its ${info.frames} whole frames read back`)]);
  process.stdout.write(formatColumns(lines, { paint: (s, _r, col) => (col === 0 ? c.dim(s) : s) }));
}
