// Rendering for people: a boxed table of a frame, aligned columns, byte counts. The core returns
// data; only the CLI draws it.
import { createRequire } from 'node:module';
import { valueFormatter, type FrameTable } from '../../core/format.js';

/**
 * A boxed table for people: an "agent" column, then the selected fields, numbers right-aligned.
 * `paint` colours the header (pass identity for no colour). cli-table3 loads only when called.
 */
export function formatTable(t: FrameTable, paint: (s: string) => string = (s) => s): string {
  const require = createRequire(import.meta.url);
  const Table = require('cli-table3') as typeof import('cli-table3');
  const fmt = valueFormatter(t.dtype);
  const d = t.data as ArrayLike<number>;
  const stride = t.fields.length;
  const table = new Table({
    head: ['agent', ...t.columns.map((c) => t.fields[c])].map(paint),
    colAligns: ['right', ...t.columns.map(() => 'right' as const)],
    // cli-table3 colours through @colors/colors, which ignores NO_COLOR: colour is ours to apply.
    style: { head: [], border: [] },
    // No rule between agents: one line per agent, as in the other formats.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (let r = t.rowStart; r < t.rowEnd; r++) table.push([String(r), ...t.columns.map((c) => fmt(d[r * stride + c]))]);
  return table.toString() + '\n';
}

/**
 * Plain aligned columns (no borders), two spaces apart; the last column is not padded.
 * `paint(text, row, col)` colours a cell after padding, so colour never breaks the alignment.
 */
export function formatColumns(
  rows: readonly (readonly string[])[],
  options: { right?: readonly number[]; paint?: (text: string, row: number, col: number) => string } = {},
): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const right = new Set(options.right ?? []);
  const paint = options.paint ?? ((s) => s);
  return rows
    .map((row, r) =>
      row
        .map((cell, c) => {
          const last = c === row.length - 1;
          const padded = right.has(c) ? cell.padStart(widths[c]) : last ? cell : cell.padEnd(widths[c]);
          return paint(padded, r, c);
        })
        .join('  ')
        .trimEnd() + '\n',
    )
    .join('');
}

/** Bytes for people: 1023 B, 1.5 KiB, 24.0 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
