import type { FieldStats } from '../../core/stats.js';
import type { WatchSnapshot } from '../../core/watch.js';
import { shellQuote } from '../../core/names.js';
import { stdoutColor } from '../output.js';
import type { Plot, PlotBounds } from './plot.js';

// The people's side of `watch`: the one-line form for pipes, and the full-screen view fitted to
// any terminal. Every line leaves here no wider than the terminal: a wrapped line would scroll
// the title away.

/**
 * The terminal's size for the full-screen view. Some terminals (serial consoles, containers,
 * `stty rows 0 cols 0`) report 0 × 0, and a view fitted to that is blank: use 80 × 24 instead.
 */
export function screenSize(columns: number | undefined, rows: number | undefined): { columns: number; rows: number } {
  const usable = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n >= 1;
  return { columns: usable(columns) ? Math.floor(columns) : 80, rows: usable(rows) ? Math.floor(rows) : 24 };
}

/** Shortest readable figure: 5 significant digits, no trailing zeros. */
export function fmt(n: number | null | undefined, digits = 5): string {
  if (n === null || n === undefined) return '-';
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && (Math.abs(n) >= 1e7 || Math.abs(n) < 1e-4)) return n.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return String(Number(n.toPrecision(digits)));
}

// SGR sequences (colour): no width.
const SGR = /\x1b\[[0-9;]*m/y;
// East Asian wide and fullwidth characters and emoji take two cells.
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|\p{Extended_Pictographic}/u;

function charWidth(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp >= 0x300 && cp < 0x370) return 0; // combining marks
  if (cp >= 0x20000 && cp <= 0x3fffd) return 2;
  return WIDE.test(ch) ? 2 : 1;
}

/** Cells a string takes on a terminal, colour codes left out. */
export function displayWidth(s: string): number {
  let w = 0;
  for (let i = 0; i < s.length; ) {
    SGR.lastIndex = i;
    const m = SGR.exec(s);
    if (m) {
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    w += charWidth(ch);
    i += ch.length;
  }
  return w;
}

/** `s` cut to at most `columns` cells, ending in "…" when cut; colour codes kept (and reset when cut). */
export function fit(s: string, columns: number): string {
  if (displayWidth(s) <= columns) return s;
  if (columns <= 0) return '';
  let out = '', w = 0, coloured = false;
  for (let i = 0; i < s.length; ) {
    SGR.lastIndex = i;
    const m = SGR.exec(s);
    if (m) {
      out += m[0];
      coloured = true;
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    const cw = charWidth(ch);
    if (w + cw > columns - 1) break;
    out += ch;
    w += cw;
    i += ch.length;
  }
  return out + '…' + (coloured ? '\x1b[0m' : '');
}

/** `s` padded with spaces to `columns` cells (cut first if longer). */
function pad(s: string, columns: number): string {
  const f = fit(s, columns);
  return f + ' '.repeat(Math.max(0, columns - displayWidth(f)));
}

/** As many of `parts` (most important first) as fit in `columns`, joined by `sep`. */
function fitParts(parts: readonly string[], columns: number, sep = '   '): string {
  let line = '';
  for (const p of parts) {
    const next = line === '' ? p : line + sep + p;
    if (displayWidth(next) > columns) break;
    line = next;
  }
  return line === '' && parts.length > 0 ? fit(parts[0], columns) : line;
}

export function statusText(s: WatchSnapshot): string {
  switch (s.status) {
    case 'waiting': return `waiting for ${s.name} to appear`;
    case 'gone': return `${s.name} was removed; waiting for it to come back`;
    case 'error': return `cannot read ${s.name}: ${s.message ?? 'unknown error'}`;
    case 'no-frames': return 'no frame published yet';
    case 'writer-dead': return `writer pid ${s.writerPid} is not running`;
    case 'live': return s.stalledMs === null ? 'live' : `stalled ${fmt(s.stalledMs / 1000, 2)} s: no frame for longer than the ${fmt(s.windowMs / 1000)} s window`;
  }
}

const ms = (n: number) => fmt(n, 4);

/** "16.67 ms ±0.21 (16.2–17.1)": the period's mean, std and range. */
function periodText(s: WatchSnapshot): string {
  const p = s.period;
  return p ? `period ${ms(p.meanMs)} ms ±${ms(p.stdMs)} (${ms(p.minMs)}–${ms(p.maxMs)})` : 'period -';
}

function rateUnit(s: WatchSnapshot): string {
  return s.rateBy === 'content' ? 'changes/s (by content)' : 'frames/s';
}

/** One line per look for pipes and logs: status, counters, rate and period, then min/mean/max/std per field. */
export function formatLine(s: WatchSnapshot): string {
  const parts = [new Date(s.time).toISOString(), s.name, s.status];
  if (s.rows !== null) {
    const p = s.period;
    parts.push(
      `${s.rows}x${s.cols} ${s.dtype}`,
      `frames=${s.frames}`,
      `fps=${fmt(s.framesPerSec, 4)}`,
      `MB/s=${fmt(s.mbPerSec, 4)}`,
      `age=${s.ageMs === null ? '-' : Math.round(s.ageMs) + 'ms'}`,
      ...(s.torn ? ['torn'] : []), // the frame shown was left half-written by a writer that died
      s.writerPid === null ? 'writer=-' : `writer=${s.writerPid}${s.writerAlive === null ? '' : s.writerAlive ? '(alive)' : '(dead)'}`,
      p ? `period=${ms(p.meanMs)}/${ms(p.minMs)}/${ms(p.maxMs)}/${ms(p.stdMs)}ms` : 'period=-',
      `missed=${s.missed ?? '-'}`,
    );
    if (s.rateBy === 'content') parts.push('rate=by-content');
    if (s.stalledMs !== null) parts.push(`stalled=${fmt(s.stalledMs / 1000, 3)}s`);
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

/** What the live view shows besides the snapshot. */
export interface ViewState {
  /** Interactive (keys work): the title shows them. False for the one screen of --once. */
  live: boolean;
  paused: boolean;
  help: boolean;
  /** Column indexes of the plotted pair, or null for no plot. */
  pair: [number, number] | null;
  bounds: PlotBounds | null;
  /** The frame and statistics shown (frozen while paused). */
  frame: ArrayLike<number> | null;
  stats: FieldStats[] | null;
}

export type Scatter = (data: ArrayLike<number>, cols: number, xi: number, yi: number, width: number, height: number, bounds?: PlotBounds | null) => Plot;

const HINTS_LONG = 'q quit  space pause  f plot  ? help';
const HINTS_SHORT = 'q ␣ f ?';

function titleLine(s: WatchSnapshot, v: ViewState, columns: number): string {
  const c = stdoutColor();
  const head = `shmswarm watch ${s.name}${v.paused ? ' PAUSED' : ''}`;
  const paint = (h: string) => h.replace(/^(shmswarm watch|watch) /, (m) => c.bold(m)).replace(' PAUSED', c.inverse(' PAUSED'));
  if (!v.live) return fit(paint(head), columns);
  for (const hints of [HINTS_LONG, HINTS_SHORT]) {
    const gap = columns - displayWidth(head) - displayWidth(hints);
    if (gap >= 2) return paint(head) + ' '.repeat(gap) + c.dim(hints);
  }
  // The name gives way; the hints stay.
  const room = columns - displayWidth(HINTS_SHORT) - 1;
  if (room >= 8) return paint(fit(head.replace(/^shmswarm /, ''), room)) + ' ' + c.dim(HINTS_SHORT);
  return fit(paint(head.replace(/^shmswarm /, '')), columns);
}

/** The stats table as plain columns (no borders: every cell counts on a small terminal). */
function tableLines(stats: readonly FieldStats[], columns: number, maxRows: number): string[] {
  const c = stdoutColor();
  const head = ['field', 'min', 'mean', 'max', 'std'];
  const body = stats.map((f) => [f.field, fmt(f.min), fmt(f.mean), fmt(f.max), fmt(f.std)]);
  // Columns are dropped from the right until the rest fits; the field name is cut last.
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...body.map((r) => displayWidth(r[i]))));
  let n = head.length;
  const total = (k: number) => widths.slice(0, k).reduce((a, b) => a + b, 0) + 2 * (k - 1);
  while (n > 1 && total(n) > columns) n--;
  const w = widths.slice(0, n);
  if (n === 1) w[0] = Math.min(w[0], columns);
  else w[0] = Math.min(w[0], columns - (total(n) - w[0]));
  const row = (cells: string[]) => cells.slice(0, n).map((x, i) => (i === 0 ? pad(x, w[0]) : ' '.repeat(Math.max(0, w[i] - displayWidth(x))) + x)).join('  ');
  const lines = [c.bold(row(head))];
  const room = Math.max(0, maxRows - 1);
  const shown = body.length <= room ? body : body.slice(0, Math.max(0, room - 1));
  for (const r of shown) lines.push(row(r));
  if (shown.length < body.length && room > 0) lines.push(c.dim(fit(`… ${body.length - shown.length} more fields`, columns)));
  return lines.map((l) => fit(l, columns));
}

function helpLines(s: WatchSnapshot): string[] {
  const window = fmt(s.windowMs / 1000);
  return [
    'keys',
    '  q Esc Ctrl-C  quit',
    '  space         pause the display (the rate goes on)',
    '  f             plot the next pair of fields',
    '  ?             this help (any key closes it)',
    '',
    `rate     frames in the last ${window} s (frame counter;`,
    '         raw: changes of a hash of the content)',
    'period   between consecutive frames: mean ±std',
    '         (min–max), from the writer\'s own clock',
    'missed   frames overwritten before a look saw them',
    `stalled  no frame for ${window} s or more: rate 0`,
  ];
}

interface PlotBox {
  width: number;
  height: number;
}

/** The largest plot of the data's aspect that fits in an area of `w` × `h` cells (borders and caption included). */
function plotBox(w: number, h: number, aspect: number): PlotBox | null {
  let ih = h - 3; // two borders and the caption
  const iw = w - 2;
  if (ih < 2 || iw < 6) return null;
  // A braille cell is 2 dots across and 4 up, about twice as tall as wide: 2 characters across per row keeps x and y to scale.
  let width = Math.round(ih * 2 * aspect);
  if (width > iw) {
    width = iw;
    ih = Math.max(2, Math.min(ih, Math.round(iw / (2 * aspect))));
  }
  return { width: Math.max(6, width), height: ih };
}

/** "x 0…15 across, y 0…14.96 up", or shorter where that does not fit. */
function caption(x: string, y: string, b: PlotBounds, columns: number): string {
  const long = `${x} ${fmt(b.xmin)}…${fmt(b.xmax)} across, ${y} ${fmt(b.ymin)}…${fmt(b.ymax)} up`;
  if (displayWidth(long) <= columns) return long;
  return fit(`${x} ${fmt(b.xmin, 3)}…${fmt(b.xmax, 3)} → ${y} ${fmt(b.ymin, 3)}…${fmt(b.ymax, 3)} ↑`, columns);
}

function plotLines(scatter: Scatter, s: WatchSnapshot, v: ViewState, box: PlotBox, columns: number): string[] {
  const c = stdoutColor();
  const [xi, yi] = v.pair!;
  const p = scatter(v.frame!, s.cols!, xi, yi, box.width, box.height, v.bounds);
  const bar = '─'.repeat(box.width);
  const fields = s.fields!;
  return [
    c.dim(`┌${bar}┐`),
    ...p.lines.map((l) => `${c.dim('│')}${c.cyan(l)}${c.dim('│')}`),
    c.dim(`└${bar}┘`),
    c.dim(caption(fields[xi], fields[yi], p.bounds, columns)),
  ];
}

/**
 * The full-screen view: title with the keys, shape, rate and period, status, the statistics and
 * the braille plot — beside the table on a wide terminal, below it on a tall one, smaller or left
 * out when there is no room. At most `rows` lines, none wider than `columns`.
 */
export function renderScreen(scatter: Scatter, s: WatchSnapshot, v: ViewState, screen: { columns: number; rows: number }): string[] {
  const c = stdoutColor();
  const { columns, rows } = screen;
  const title = titleLine(s, v, columns);
  // A stuck frame: the shell command that repairs a dead writer's (the core's text names none).
  const repair = s.frameStuck ? `; shmswarm dump --lock ${shellQuote(s.name)} repairs a dead writer's frame` : '';
  const st = statusText(s) + (s.status === 'live' && s.message ? ` (${s.message}${repair})` : '') + (s.torn ? '   torn frame' : '');
  const status = s.status === 'live' && s.stalledMs === null ? c.green(fit(st, columns)) : c.yellow(fit(st, columns));
  let head: string[];
  if (s.rows === null) head = [title, status];
  else {
    const alive = s.writerAlive === null ? '' : s.writerAlive ? c.green('alive') : c.red('not running');
    const shape = fitParts([`${s.rows} × ${s.cols} ${s.dtype}`, `writer ${s.writerPid ?? '-'} ${alive}`.trimEnd(), `fields ${s.fields?.join(',')}`], columns);
    const paint = (r: string) => (s.stalledMs === null ? r : c.yellow(r));
    const rate = `${fmt(s.framesPerSec, 4)} ${rateUnit(s)}`;
    const missed = `missed ${s.missed ?? '-'}`;
    const long = [paint(rate), periodText(s), missed];
    // Narrow: the same three figures, shorter; the rest only where there is room.
    const p = s.period;
    const short = [paint(`${fmt(s.framesPerSec, 4)} ${s.rateBy === 'content' ? 'chg/s' : 'fps'}`), p ? `${ms(p.meanMs)}±${fmt(p.stdMs, 2)} ms` : 'period -', missed];
    const rest = [`${fmt(s.mbPerSec, 4)} MB/s`, `frames ${s.frames}`, `last ${s.ageMs === null ? '-' : fmt(s.ageMs / 1000, 3) + ' s'} ago`];
    const timing = displayWidth(long.join('   ')) <= columns ? fitParts([...long, ...rest], columns) : fitParts([...short, ...rest], columns, '  ');
    // On a screen of very few rows the rate and the status come before the shape.
    head = rows >= 4 ? [title, shape, timing, status] : [title, timing, status];
  }
  const lines = head.slice(0, rows);
  const left = rows - lines.length;
  if (left <= 0) return lines;
  if (v.help) return [...lines, ...helpLines(s).slice(0, left).map((l) => fit(l, columns))];
  const table = v.stats && v.stats.length ? tableLines(v.stats, columns, left) : [];
  const tableWidth = table.reduce((m, l) => Math.max(m, displayWidth(l)), 0);
  let plot: string[] = [];
  let beside = false;
  if (v.pair && v.frame && s.fields && s.cols) {
    const b = v.bounds;
    const aspect = b && b.ymax > b.ymin && b.xmax > b.xmin ? Math.min(8, Math.max(1 / 8, (b.xmax - b.xmin) / (b.ymax - b.ymin))) : 1;
    const sideCols = columns - tableWidth - 2;
    const side = table.length ? plotBox(sideCols, left, aspect) : null;
    const below = plotBox(columns, left - table.length, aspect);
    const area = (p: PlotBox | null) => (p ? p.width * p.height : 0);
    if (side && area(side) > area(below)) {
      beside = true;
      plot = plotLines(scatter, s, v, side, sideCols);
    } else if (below) plot = plotLines(scatter, s, v, below, columns);
  }
  if (beside) {
    const n = Math.max(table.length, plot.length);
    for (let i = 0; i < n && lines.length < rows; i++) lines.push(pad(table[i] ?? '', tableWidth) + '  ' + (plot[i] ?? ''));
  } else lines.push(...table, ...plot);
  return lines.slice(0, rows).map((l) => fit(l, columns));
}
