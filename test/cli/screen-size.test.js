// The watch view's terminal size: what a terminal reports, or 80 × 24 when it reports nothing usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenSize } from '../../dist/cli/render/live-view.js';

test('a reported size is kept', () => {
  assert.deepEqual(screenSize(100, 40), { columns: 100, rows: 40 });
  assert.deepEqual(screenSize(1, 1), { columns: 1, rows: 1 });
});

test('0, undefined or nonsense falls back to 80 × 24, each dimension on its own', () => {
  assert.deepEqual(screenSize(0, 0), { columns: 80, rows: 24 });
  assert.deepEqual(screenSize(undefined, undefined), { columns: 80, rows: 24 });
  assert.deepEqual(screenSize(120, 0), { columns: 120, rows: 24 });
  assert.deepEqual(screenSize(0, 50), { columns: 80, rows: 50 });
  assert.deepEqual(screenSize(NaN, -3), { columns: 80, rows: 24 });
});
