import type { TypedArray } from '../../core/dtypes.js';

export interface PlotBounds {
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
}

export interface Plot {
  /** `height` strings of `width` braille characters, top row first. */
  lines: string[];
  bounds: PlotBounds;
  /** Points drawn (finite and inside the bounds). */
  plotted: number;
}

const BRAILLE_BASE = 0x2800;
// Dot bit for (column 0..1, row 0..3) of a braille cell (Unicode's dot numbering).
const DOT = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];

/** Bounds of two fields of an agent-major frame, ignoring non-finite values; null when none. */
export function dataBounds(data: TypedArray | ArrayLike<number>, cols: number, xi: number, yi: number): PlotBounds | null {
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  const rows = Math.floor(data.length / cols);
  for (let r = 0; r < rows; r++) {
    const x = Number(data[r * cols + xi]), y = Number(data[r * cols + yi]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  return xmin <= xmax ? { xmin, xmax, ymin, ymax } : null;
}

/**
 * Scatter plot of fields `xi` (across) and `yi` (up) of an agent-major frame into a width × height
 * grid of braille characters, 2 × 4 dots each. y grows upwards. Bounds default to the data's.
 */
export function brailleScatter(
  data: TypedArray | ArrayLike<number>,
  cols: number,
  xi: number,
  yi: number,
  width: number,
  height: number,
  bounds?: PlotBounds | null,
): Plot {
  const w = Math.max(1, Math.floor(width));
  const h = Math.max(1, Math.floor(height));
  const b = bounds ?? dataBounds(data, cols, xi, yi) ?? { xmin: 0, xmax: 1, ymin: 0, ymax: 1 };
  const cells = new Uint8Array(w * h);
  const dotsX = w * 2, dotsY = h * 4;
  // A degenerate range (all points equal) maps to the middle.
  const spanX = b.xmax - b.xmin, spanY = b.ymax - b.ymin;
  const rows = Math.floor(data.length / cols);
  let plotted = 0;
  for (let r = 0; r < rows; r++) {
    const x = Number(data[r * cols + xi]), y = Number(data[r * cols + yi]);
    if (!(x >= b.xmin && x <= b.xmax && y >= b.ymin && y <= b.ymax)) continue;
    const fx = spanX > 0 ? (x - b.xmin) / spanX : 0.5;
    const fy = spanY > 0 ? (b.ymax - y) / spanY : 0.5;
    const dx = Math.min(dotsX - 1, Math.floor(fx * dotsX));
    const dy = Math.min(dotsY - 1, Math.floor(fy * dotsY));
    cells[(dy >> 2) * w + (dx >> 1)] |= DOT[dx & 1][dy & 3];
    plotted++;
  }
  const lines: string[] = [];
  for (let row = 0; row < h; row++) {
    let line = '';
    for (let col = 0; col < w; col++) line += String.fromCharCode(BRAILLE_BASE + cells[row * w + col]);
    lines.push(line);
  }
  return { lines, bounds: b, plotted };
}
