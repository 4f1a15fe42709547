import { createRequire } from 'node:module';
import { Command, InvalidArgumentError } from 'commander';
import type { PlotBounds } from '../../core/plot.js';
import type { FieldStats } from '../../core/stats.js';
import type { WatchSnapshot } from '../../core/watch.js';
import type { RawOptions } from '../../core/raw.js';
import { CliError, usageError } from '../errors.js';
import { addRawOptions, parseFieldList, rawOptions, type RawFlags } from '../parse.js';
import { stderrLine, stdoutColor } from '../output.js';

export interface WatchRunOptions {
  /** ms between looks; default 100 on a TTY, 1000 otherwise. */
  intervalMs?: number;
  once?: boolean;
  json?: boolean;
  /** Fields to plot, or false for no plot; default x,y (or the first two). */
  plot?: [string, string] | false;
  raw?: RawOptions;
  /** Stop after this long (demo). */
  durationMs?: number;
  /** Stop when aborted; without it, SIGINT and SIGTERM stop the watch. */
  signal?: AbortSignal;
  /** Force the full-screen view on or off (default: stdout is a TTY and not --json). */
  tty?: boolean;
}

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[?25l';
const ALT_SCREEN_OFF = '\x1b[?25h\x1b[?1049l';

/** Shortest readable figure: 5 significant digits, no trailing zeros. */
export function fmt(n: number | null | undefined, digits = 5): string {
  if (n === null || n === undefined) return '-';
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && (Math.abs(n) >= 1e7 || Math.abs(n) < 1e-4)) return n.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return String(Number(n.toPrecision(digits)));
}

function statusText(s: WatchSnapshot): string {
  switch (s.status) {
    case 'waiting': return `waiting for ${s.name} to appear`;
    case 'gone': return `${s.name} was removed; waiting for it to come back`;
    case 'error': return `cannot read ${s.name}: ${s.message ?? 'unknown error'}`;
    case 'no-frames': return 'no frame published yet';
    case 'writer-dead': return `writer pid ${s.writerPid} is not running`;
    case 'live': return 'live';
  }
}

/** One line per look for pipes and logs: status, counters, rate, then min/mean/max/std per field. */
export function formatLine(s: WatchSnapshot): string {
  const parts = [new Date(s.time).toISOString(), s.name, s.status];
  if (s.rows !== null) {
    parts.push(
      `${s.rows}x${s.cols} ${s.dtype}`,
      `frames=${s.frames}`,
      `fps=${fmt(s.framesPerSec, 4)}`,
      `MB/s=${fmt(s.mbPerSec, 4)}`,
      `age=${s.ageMs === null ? '-' : Math.round(s.ageMs) + 'ms'}`,
      ...(s.torn ? ['torn'] : []), // the frame shown was left half-written by a writer that died
      s.writerPid === null ? 'writer=-' : `writer=${s.writerPid}${s.writerAlive === null ? '' : s.writerAlive ? '(alive)' : '(dead)'}`,
    );
  }
  for (const f of s.stats ?? []) parts.push(`${f.field}=${fmt(f.min)}/${fmt(f.mean)}/${fmt(f.max)}/${fmt(f.std)}`);
  if (s.status === 'error' || s.status === 'waiting' || s.status === 'gone') parts.push(JSON.stringify(statusText(s)));
  else if (s.message) parts.push(JSON.stringify(s.message));
  return parts.join(' ');
}

/** The plain data of a look, for --json (one object per line). */
export function snapshotJson(s: WatchSnapshot): string {
  return JSON.stringify({ ...s, events: s.events.map((e) => e.message) }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

type TableCtor = new (options: object) => { push(...rows: unknown[]): void; toString(): string };
let TableClass: TableCtor | undefined;

/**
 * cli-table3 only for people: loaded on first use so pipes and --json never pay for it. Through
 * require, as format.ts does: an import() would start Node's ES module loader for a CommonJS package.
 */
async function loadTable(): Promise<TableCtor> {
  TableClass ??= createRequire(import.meta.url)('cli-table3') as TableCtor;
  return TableClass;
}

function statsTable(Table: TableCtor, stats: FieldStats[]): string[] {
  const c = stdoutColor();
  const t = new Table({ head: ['field', 'min', 'mean', 'max', 'std'].map((h) => c.bold(h)), style: { head: [], border: [], compact: true }, colAligns: ['left', 'right', 'right', 'right', 'right'] });
  for (const f of stats) t.push([f.field, fmt(f.min), fmt(f.mean), fmt(f.max), fmt(f.std)]);
  return t.toString().split('\n');
}

export interface ScreenLayout {
  columns: number;
  rows: number;
}

/** Which two fields to plot: --plot, else x,y, else the first two; null when there are fewer than two. */
export function plotFields(fields: readonly string[], wanted: [string, string] | undefined): [number, number] | null {
  if (wanted) {
    const idx = wanted.map((f) => fields.indexOf(f));
    const bad = wanted.find((_f, i) => idx[i] < 0);
    if (bad !== undefined) throw usageError(`--plot: no field "${bad}"; the fields are ${fields.join(',')}`);
    return [idx[0], idx[1]];
  }
  const x = fields.indexOf('x'), y = fields.indexOf('y');
  if (x >= 0 && y >= 0) return [x, y];
  return fields.length >= 2 ? [0, 1] : null;
}

/** The full-screen view: header, stats table and braille plot, fitted to the terminal. */
export function renderScreen(
  brailleScatter: typeof import('../../core/plot.js').brailleScatter,
  s: WatchSnapshot,
  frame: ArrayLike<number> | null,
  Table: TableCtor,
  screen: ScreenLayout,
  plot: [string, string] | false | undefined,
  bounds: PlotBounds | null,
  live = true,
): string[] {
  const c = stdoutColor();
  const lines: string[] = [];
  lines.push(`${c.bold('shmswarm watch')} ${c.cyan(s.name)}${live ? `   ${c.dim('Ctrl-C to quit')}` : ''}`);
  if (s.rows !== null) {
    const alive = s.writerAlive === null ? '' : s.writerAlive ? c.green('alive') : c.red('not running');
    lines.push(`shape ${s.rows} × ${s.cols} ${s.dtype}   fields ${s.fields?.join(',')}   writer pid ${s.writerPid ?? '-'} ${alive}`);
    lines.push(
      `frames ${s.frames}   ${fmt(s.framesPerSec, 4)} frames/s   ${fmt(s.mbPerSec, 4)} MB/s   ` +
        `last frame ${s.ageMs === null ? '-' : fmt(s.ageMs / 1000, 3) + ' s'} ago${s.torn ? c.red('   torn frame') : ''}`,
    );
  }
  const st = statusText(s) + (s.status === 'live' && s.message ? ` (${s.message})` : '');
  lines.push(s.status === 'live' ? c.green(st) : c.yellow(st));
  if (s.stats) lines.push(...statsTable(Table, s.stats));
  if (plot !== false && frame && s.fields && s.cols) {
    const idx = plotFields(s.fields, plot || undefined);
    const room = screen.rows - lines.length - 3; // the two borders and the caption
    if (idx && room >= 3) {
      // A braille dot is about as wide as it is tall, so 2 characters across per row keeps x and y to scale.
      const aspect = bounds && bounds.ymax > bounds.ymin && bounds.xmax > bounds.xmin ? (bounds.xmax - bounds.xmin) / (bounds.ymax - bounds.ymin) : 1;
      const width = Math.max(10, Math.min(screen.columns - 2, Math.round(room * 2 * aspect)));
      const p = brailleScatter(frame, s.cols, idx[0], idx[1], width, room, bounds);
      const bar = '─'.repeat(width);
      lines.push(c.dim(`┌${bar}┐`), ...p.lines.map((l) => `${c.dim('│')}${c.cyan(l)}${c.dim('│')}`), c.dim(`└${bar}┘`));
      lines.push(c.dim(`${s.fields[idx[0]]} ${fmt(p.bounds.xmin)}…${fmt(p.bounds.xmax)} across, ${s.fields[idx[1]]} ${fmt(p.bounds.ymin)}…${fmt(p.bounds.ymax)} up`));
    }
  }
  return lines.slice(0, screen.rows);
}

function union(a: PlotBounds | null, b: PlotBounds | null): PlotBounds | null {
  if (!a || !b) return b ?? a;
  return { xmin: Math.min(a.xmin, b.xmin), xmax: Math.max(a.xmax, b.xmax), ymin: Math.min(a.ymin, b.ymin), ymax: Math.max(a.ymax, b.ymax) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Watch `name` until the signal, the duration, or --once; shared by watch and demo. */
export async function runWatch(name: string, o: WatchRunOptions = {}): Promise<void> {
  const tty = o.tty ?? (process.stdout.isTTY === true && !o.json);
  const intervalMs = o.intervalMs ?? (tty ? 100 : 1000);
  // Loaded here, not at start-up: other commands never pay for the watcher.
  const [{ Watcher, screenSize }, { brailleScatter, dataBounds }] = await Promise.all([import('../../core/watch.js'), import('../../core/plot.js')]);
  const watcher = new Watcher(name, { raw: o.raw });
  const own = o.signal ? null : new AbortController();
  const signal = o.signal ?? own!.signal;
  const stop = () => own?.abort();
  if (own) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop); // the terminal went away: clean up all the same
  }
  const errLine = (msg: string) => stderrLine(msg, 'yellow');
  let fullScreen = false;
  const restore = () => {
    if (fullScreen) process.stdout.write(ALT_SCREEN_OFF);
    fullScreen = false;
  };
  process.on('exit', restore);
  try {
    if (o.once) {
      const first = watcher.poll();
      if (first.status === 'waiting' || first.status === 'gone' || first.status === 'error') throw watcher.lastError ?? new CliError(statusText(first));
      // Two samples of the frame counter give the writer's rate.
      await sleep(Math.min(intervalMs, 250), signal);
      const s = watcher.poll();
      if (s.rows !== null && o.plot) plotFields(s.fields ?? [], o.plot);
      if (o.json) process.stdout.write(snapshotJson(s) + '\n');
      else if (tty) {
        const size = screenSize(process.stdout.columns, process.stdout.rows);
        const screen = { columns: size.columns, rows: Math.min(size.rows, 40) };
        const idx = o.plot === false || !watcher.frame || !s.fields || !s.cols ? null : plotFields(s.fields, o.plot || undefined);
        const b = idx && watcher.frame ? dataBounds(watcher.frame, s.cols!, idx[0], idx[1]) : null;
        process.stdout.write(renderScreen(brailleScatter, s, watcher.frame as ArrayLike<number> | null, await loadTable(), screen, o.plot, b, false).join('\n') + '\n');
      } else process.stdout.write(formatLine(s) + '\n');
      return;
    }
    const Table = tty ? await loadTable() : null;
    const started = performance.now();
    let bounds: PlotBounds | null = null;
    let last: WatchSnapshot | null = null;
    const draw = () => {
      if (!last || !Table) return;
      const screen = screenSize(process.stdout.columns, process.stdout.rows);
      const lines = renderScreen(brailleScatter, last, watcher.frame as ArrayLike<number> | null, Table, screen, o.plot, bounds);
      // Overwrite in place: cursor home, each line cleared to its end, the rest of the screen cleared.
      process.stdout.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\n') + '\x1b[J');
    };
    if (tty) {
      process.stdout.write(ALT_SCREEN_ON);
      fullScreen = true;
      process.stdout.on('resize', draw);
    }
    try {
      let primed = tty;
      for (;;) {
        const s = watcher.poll();
        if (s.rows !== null && o.plot) plotFields(s.fields ?? [], o.plot);
        if (s.events.some((e) => e.kind === 'replaced' || e.kind === 'reattached')) bounds = null;
        if (tty) {
          if (watcher.changed && watcher.frame && s.fields && s.cols) {
            const idx = o.plot === false ? null : plotFields(s.fields, o.plot || undefined);
            if (idx) bounds = union(bounds, dataBounds(watcher.frame, s.cols, idx[0], idx[1]));
          }
          last = s;
          draw();
        } else {
          for (const e of s.events) if (e.kind !== 'attached') errLine(e.message);
          // The first look only primes the rate meter: every printed line has a rate.
          if (primed || s.rows === null) process.stdout.write((o.json ? snapshotJson(s) : formatLine(s)) + '\n');
          primed = true;
        }
        const left = o.durationMs === undefined ? Infinity : started + o.durationMs - performance.now();
        if (signal.aborted || left <= 0) break;
        await sleep(Math.min(primed ? intervalMs : Math.min(intervalMs, 250), left), signal);
        if (signal.aborted) break;
      }
    } finally {
      if (tty) process.stdout.off('resize', draw);
    }
  } finally {
    restore();
    process.off('exit', restore);
    if (own) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
    }
    watcher.close();
  }
}

function parseInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 10 || n > 86_400_000) throw new InvalidArgumentError('It must be a number of ms from 10 to 86400000.');
  return n;
}

function parsePlot(value: string): [string, string] {
  const list = parseFieldList(value);
  if (list.length !== 2) throw new InvalidArgumentError('It must be two field names, e.g. x,y.');
  return [list[0], list[1]];
}

interface WatchFlags extends RawFlags {
  interval?: number;
  once?: boolean;
  json?: boolean;
  plot?: [string, string] | false;
}

export function makeWatchCommand(): Command {
  const command = new Command('watch')
    .description('watch a segment live: rate, per-field statistics and a scatter plot')
    .argument('<name>', 'segment name, e.g. /swarm')
    .option('--interval <ms>', 'time between looks (default 100 on a terminal, 1000 otherwise)', parseInterval)
    .option('--once', 'print one snapshot and exit (the CI form)')
    .option('--json', 'one JSON object per look instead of the view')
    .option('--plot <x,y>', 'fields to plot (default x,y, else the first two)', parsePlot)
    .option('--no-plot', 'hide the plot');
  addRawOptions(command);
  return command
    .addHelpText(
      'after',
      `
Examples:
  shmswarm watch /swarm                     live view on a terminal (Ctrl-C to quit)
  shmswarm watch /swarm --once              one line (or one screen on a terminal), exit 0
  shmswarm watch /swarm --json --once       one JSON object: status, rate, min/mean/max/std per field
  shmswarm watch /swarm --plot vx,vy        plot velocities instead of positions
  shmswarm watch /position_data --raw --shape 300x3 --mutex /mutex_lock

Reads lock-free only, so it never slows the writer. Keeps going when the writer dies or the
segment is removed or re-created, and says so.`,
    )
    .action(async (name: string, flags: WatchFlags) => {
      const raw = rawOptions(flags);
      await runWatch(name, { intervalMs: flags.interval, once: flags.once, json: flags.json, plot: flags.plot, raw });
    });
}
