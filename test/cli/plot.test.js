// The braille scatter plot as a pure function: exact dots for known points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brailleScatter, dataBounds } from '../../dist/cli/render/plot.js';

const cell = (bits) => String.fromCharCode(0x2800 + bits);

test('corners land in the corner dots, y grows upwards', () => {
  // x, y, extra field: bottom-left, top-right, top-left.
  const data = new Float32Array([0, 0, 9, 1, 1, 9, 0, 1, 9]);
  const p = brailleScatter(data, 3, 0, 1, 2, 2);
  assert.deepEqual(p.bounds, { xmin: 0, xmax: 1, ymin: 0, ymax: 1 });
  assert.equal(p.plotted, 3);
  assert.deepEqual(p.lines, [cell(0x01) + cell(0x08), cell(0x40) + cell(0x00)]);
});

test('every line has exactly the width asked for; an empty frame is blank', () => {
  const p = brailleScatter(new Float32Array(0), 2, 0, 1, 7, 3);
  assert.equal(p.lines.length, 3);
  assert.ok(p.lines.every((l) => l === cell(0).repeat(7)));
});

test('points outside given bounds and non-finite points are skipped', () => {
  const data = new Float32Array([0.5, 0.5, 5, 5, NaN, 0]);
  const p = brailleScatter(data, 2, 0, 1, 4, 2, { xmin: 0, xmax: 1, ymin: 0, ymax: 1 });
  assert.equal(p.plotted, 1);
  assert.equal(p.lines.join('').replace(/\u2800/g, '').length, 1);
});

test('all points equal: drawn in the middle, not lost', () => {
  const p = brailleScatter(new Float32Array([3, 3, 3, 3]), 2, 0, 1, 3, 3);
  assert.equal(p.plotted, 2);
  assert.notEqual(p.lines[1][1], cell(0));
});

test('dataBounds ignores non-finite values', () => {
  assert.deepEqual(dataBounds(new Float32Array([1, -2, NaN, 5, 3, Infinity, 4, 7]), 2, 0, 1), { xmin: 1, xmax: 4, ymin: -2, ymax: 7 });
  assert.equal(dataBounds(new Float32Array([NaN, NaN]), 2, 0, 1), null);
});
