import { Command, InvalidArgumentError } from 'commander';
import type { PlotBounds } from '../render/plot.js';
import type { FieldStats } from '../../core/stats.js';
import type { WatchSnapshot } from '../../core/watch.js';
import type { RawOptions } from '../../core/raw.js';
import { CliError, didYouMean, usageError } from '../errors.js';
import { addRawOptions, parseFieldList, rawOptions, type RawFlags } from '../parse.js';
import { stderrLine } from '../output.js';
import { shellQuote } from '../../core/names.js';

export interface WatchRunOptions {
  /** ms between looks; default 100 on a TTY, 1000 otherwise. */
  intervalMs?: number;
  once?: boolean;
  json?: boolean;
  /** Fields to plot, or false for no plot; default x,y (or the first two). */
  plot?: [string, string] | false;
  raw?: RawOptions;
  /** Wait for a segment that does not exist yet instead of failing. */
  wait?: boolean;
  /** Stop after this long (demo). */
  durationMs?: number;
  /** Stop when aborted; without it, SIGINT and SIGTERM stop the watch. */
  signal?: AbortSignal;
  /** Force the full-screen view on or off (default: stdout is a TTY and not --json). */
  tty?: boolean;
}

// Alternate screen, cursor hidden; and back.
const ALT_SCREEN_ON = '\x1b[?1049h\x1b[?25l';
const ALT_SCREEN_OFF = '\x1b[?25h\x1b[?1049l';
/** Between draws the frame counter is looked at this often, for the period figures. */
const SAMPLE_MS = 5;
/** How long --once looks before it reports. */
const ONCE_MS = 500;

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

/** The pairs `f` cycles through: the first one, then every other pair of distinct fields in order. */
export function plotPairs(cols: number, first: [number, number] | null): [number, number][] {
  const pairs: [number, number][] = first ? [first] : [];
  for (let i = 0; i < cols && pairs.length < 64; i++)
    for (let j = i + 1; j < cols && pairs.length < 64; j++) if (!first || first[0] !== i || first[1] !== j) pairs.push([i, j]);
  return pairs;
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

/** The error for a name that does not exist (yet) when --wait was not given. */
function missingError(name: string, raw: boolean, e: Error | null): CliError {
  if (raw) return new CliError(`${e?.message ?? `${name} does not exist`}; watch --wait waits for it to appear`);
  return new CliError(`segment ${name} does not exist; ${didYouMean(name)}watch --wait waits for it to appear, or create it with: shmswarm create ${shellQuote(name)} --agents N --fields x,y`);
}

/** Watch `name` until the signal, the duration, a quit key, or --once; shared by watch and demo. */
export async function runWatch(name: string, o: WatchRunOptions = {}): Promise<void> {
  const tty = o.tty ?? (process.stdout.isTTY === true && !o.json);
  const intervalMs = o.intervalMs ?? (tty ? 100 : 1000);
  // Loaded here, not at start-up: other commands never pay for the watcher.
  const [{ Watcher }, { brailleScatter, dataBounds }, view] = await Promise.all([
    import('../../core/watch.js'),
    import('../render/plot.js'),
    import('../render/live-view.js'),
  ]);
  const watcher = new Watcher(name, { raw: o.raw });
  const stopper = new AbortController();
  const signal = stopper.signal;
  const stop = () => stopper.abort();
  if (o.signal) {
    if (o.signal.aborted) stop();
    else o.signal.addEventListener('abort', stop, { once: true });
  } else {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop); // the terminal went away: clean up all the same
  }
  const errLine = (msg: string) => stderrLine(msg, 'yellow');
  const keys = tty && process.stdin.isTTY === true && !o.once;
  let fullScreen = false;
  let rawKeys = false;
  const restore = () => {
    if (rawKeys) {
      rawKeys = false;
      try {
        process.stdin.setRawMode(false);
      } catch {
        /* the terminal is gone */
      }
      process.stdin.pause();
    }
    if (fullScreen) process.stdout.write(ALT_SCREEN_OFF);
    fullScreen = false;
  };
  process.on('exit', restore);
  /** Looks at the counter every SAMPLE_MS until `ms` passed, the watch stops or `wake` is called. */
  let wake: (() => void) | null = null;
  const idle = async (ms: number) => {
    const until = performance.now() + ms;
    let woken = false;
    wake = () => (woken = true);
    for (;;) {
      watcher.sample();
      const left = until - performance.now();
      if (signal.aborted || woken || left <= 0) break;
      await sleep(Math.min(SAMPLE_MS, left), signal);
    }
    wake = null;
  };
  try {
    let first = watcher.poll();
    if (first.status === 'waiting' && !o.wait) {
      const e = watcher.lastError;
      if (e && e.code !== 'ENOENT' && e.code !== 'EUNINIT') throw e;
      throw missingError(name, o.raw !== undefined, e);
    }
    if (o.once) {
      while (o.wait && first.status === 'waiting' && !signal.aborted) {
        await sleep(intervalMs, signal);
        first = watcher.poll();
      }
      if (signal.aborted) return;
      if (first.status === 'waiting' || first.status === 'gone' || first.status === 'error') throw watcher.lastError ?? new CliError(view.statusText(first));
      // Half a second of looks at the frame counter gives the writer's rate and period (30 periods
      // at 60 Hz), even when a busy machine delays some of the looks.
      await idle(ONCE_MS);
      const s = watcher.poll();
      if (s.rows !== null && o.plot) plotFields(s.fields ?? [], o.plot);
      if (o.json) process.stdout.write(view.snapshotJson(s) + '\n');
      else if (tty) {
        const size = view.screenSize(process.stdout.columns, process.stdout.rows);
        const screen = { columns: size.columns, rows: Math.min(size.rows, 40) };
        const pair = o.plot === false || !watcher.frame || !s.fields || !s.cols ? null : plotFields(s.fields, o.plot || undefined);
        const bounds = pair && watcher.frame ? dataBounds(watcher.frame, s.cols!, pair[0], pair[1]) : null;
        const lines = view.renderScreen(brailleScatter, s, { live: false, paused: false, help: false, pair, bounds, frame: watcher.frame as ArrayLike<number> | null, stats: s.stats }, screen);
        process.stdout.write(lines.join('\n') + '\n');
      } else process.stdout.write(view.formatLine(s) + '\n');
      return;
    }
    const started = performance.now();
    let bounds: PlotBounds | null = null;
    let last: WatchSnapshot | null = null;
    let paused = false;
    let help = false;
    let frozen: { frame: ArrayLike<number> | null; stats: FieldStats[] | null } | null = null;
    let pairs: [number, number][] | null = null;
    let pairIndex = o.plot === false ? -1 : 0;
    const currentPair = () => (pairs && pairIndex >= 0 && pairIndex < pairs.length ? pairs[pairIndex] : null);
    const widenBounds = () => {
      const p = currentPair();
      if (p && watcher.frame && last?.cols) bounds = union(bounds, dataBounds(watcher.frame, last.cols, p[0], p[1]));
    };
    const draw = () => {
      if (!last || !tty) return;
      const screen = view.screenSize(process.stdout.columns, process.stdout.rows);
      const shown = frozen ?? { frame: watcher.frame as ArrayLike<number> | null, stats: last.stats };
      const lines = view.renderScreen(brailleScatter, last, { live: keys, paused, help, pair: currentPair(), bounds, ...shown }, screen);
      // Cursor home, then each line over the old one. A line that fills the row is not followed by
      // "erase to the end of line", which would erase its last cell (the cursor waits on it).
      const body = lines.map((l) => (view.displayWidth(l) < screen.columns ? l + '\x1b[K' : l)).join('\r\n');
      process.stdout.write('\x1b[H' + body + (lines.length < screen.rows ? '\r\n\x1b[J' : ''));
    };
    const onResize = () => {
      process.stdout.write('\x1b[2J');
      draw();
    };
    const onKey = (data: Buffer) => {
      const k = data.toString('latin1');
      if (k === 'q' || k === 'Q' || k === '\x1b' || k === '\x03') return stop();
      if (help) help = false;
      else if (k === '?' || k === 'h') help = true;
      else if (k === ' ') {
        paused = !paused;
        frozen = paused ? { frame: watcher.frame ? Array.from(watcher.frame as ArrayLike<number>, Number) : null, stats: last?.stats ?? null } : null;
      } else if (k === 'f' || k === 'F') {
        if (pairs && pairs.length) {
          pairIndex = (pairIndex + 1) % pairs.length;
          bounds = null;
          widenBounds();
        }
      } else return;
      draw();
      wake?.();
    };
    if (tty) {
      process.stdout.write(ALT_SCREEN_ON);
      fullScreen = true;
      process.stdout.on('resize', onResize);
      if (keys) {
        process.stdin.setRawMode(true);
        rawKeys = true;
        process.stdin.on('data', onKey);
        process.stdin.resume();
      }
    }
    try {
      // The first look only primes the rate meter: the second comes soon, and has a rate.
      let primed = false;
      // The look made above is the first one: its events are reported like any other's.
      let pending: WatchSnapshot | null = first;
      for (;;) {
        const s = pending ?? watcher.poll();
        pending = null;
        if (s.rows !== null && o.plot) plotFields(s.fields ?? [], o.plot);
        const renewed = s.events.some((e) => e.kind === 'replaced' || e.kind === 'reattached');
        if (renewed) bounds = null;
        if (s.fields && (renewed || pairs === null)) {
          pairs = plotPairs(s.fields.length, plotFields(s.fields, o.plot || undefined));
          if (pairIndex >= pairs.length) pairIndex = o.plot === false ? -1 : 0;
        }
        if (tty) {
          last = s;
          if (watcher.changed && !paused) widenBounds();
          draw();
        } else {
          for (const e of s.events) if (e.kind !== 'attached') errLine(e.message);
          if (primed || s.rows === null) process.stdout.write((o.json ? view.snapshotJson(s) : view.formatLine(s)) + '\n');
        }
        const left = o.durationMs === undefined ? Infinity : started + o.durationMs - performance.now();
        if (signal.aborted || left <= 0) break;
        await idle(Math.min(primed ? intervalMs : Math.min(intervalMs, 250), left));
        primed = true;
        if (signal.aborted) break;
      }
    } finally {
      if (tty) process.stdout.off('resize', onResize);
      if (keys) process.stdin.off('data', onKey);
    }
  } finally {
    restore();
    process.off('exit', restore);
    if (o.signal) o.signal.removeEventListener('abort', stop);
    else {
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
  wait?: boolean;
  plot?: [string, string] | false;
}

export function makeWatchCommand(): Command {
  const command = new Command('watch')
    .description('watch a segment live: rate and frame period, per-field statistics and a scatter plot')
    .argument('<name>', 'segment name, e.g. /swarm')
    .option('--interval <ms>', 'time between looks (default 100 on a terminal, 1000 otherwise)', parseInterval)
    .option('--once', 'print one snapshot and exit (the CI form)')
    .option('--json', 'one JSON object per look instead of the view')
    .option('--wait', 'wait for a segment that does not exist yet, saying so, then watch it')
    .option('--plot <x,y>', 'fields to plot (default x,y, else the first two)', parsePlot)
    .option('--no-plot', 'hide the plot');
  addRawOptions(command);
  return command
    .addHelpText(
      'after',
      `
Keys (on a terminal): q, Esc or Ctrl-C quit; space pauses the display (the rate keeps
counting); f plots the next pair of fields; ? shows what the figures mean.

The rate is over the last 2 s, from the writer's frame counter: 0, and "stalled", once no frame
came for the whole window. Beside it, as ros2 topic hz gives them, the period between frames
(mean ±std, min–max, from the writer's publication times) and the frames this watcher missed
(published and overwritten between two of its looks, which come every 5 ms). Raw objects have
no counter: their rate counts changes of a hash of the content, and says so.

Examples:
  shmswarm watch /swarm                     live view on a terminal (q to quit)
  shmswarm watch /swarm --wait              wait for /swarm to be created, then watch it
  shmswarm watch /swarm --once              one line (or one screen on a terminal), exit 0
  shmswarm watch /swarm --json --once       one JSON object: status, rate, period, missed, min/mean/max/std per field
  shmswarm watch /swarm --plot vx,vy        plot velocities instead of positions
  shmswarm watch /position_data --raw --shape 300x3 --mutex /mutex_lock

Reads lock-free only, so it never slows the writer. Keeps going when the writer dies or the
segment is removed or re-created, and says so.`,
    )
    .action(async (name: string, flags: WatchFlags) => {
      const raw = rawOptions(flags);
      await runWatch(name, { intervalMs: flags.interval, once: flags.once, json: flags.json, plot: flags.plot, raw, wait: flags.wait });
    });
}
