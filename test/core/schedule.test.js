// The drift-free rate schedule as a pure function of time: no real clocks, no timings asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateSchedule } from '../../dist/core/schedule.js';

test('frame n is due at start + n/rate, however late each frame was taken', () => {
  const s = new RateSchedule(50, 1000); // 20 ms period
  assert.equal(s.delayMs(1000), 0);
  s.advance();
  assert.equal(s.delayMs(1005), 15);
  // Taken 7 ms late: the next deadline does not move (no drift), so the wait shrinks.
  assert.equal(s.delayMs(1027), 0);
  s.advance();
  assert.equal(s.nextDueMs, 1040);
  assert.equal(s.delayMs(1031), 9);
  for (let i = 0; i < 98; i++) s.advance();
  assert.equal(s.nextDueMs, 1000 + 100 * 20);
  assert.equal(s.taken, 100);
});

test('a fractional period accumulates without rounding drift', () => {
  const s = new RateSchedule(60, 0);
  for (let i = 0; i < 6000; i++) s.advance();
  assert.ok(Math.abs(s.nextDueMs - 100_000) < 1e-6, String(s.nextDueMs));
});

test('rate 0: every frame is due at once', () => {
  const s = new RateSchedule(0, 0);
  for (let i = 0; i < 10; i++) {
    assert.equal(s.delayMs(i), 0);
    s.advance();
  }
});

test('after a stall longer than maxLag it re-anchors instead of bursting', () => {
  const s = new RateSchedule(10, 0, 500); // 100 ms period
  s.advance();
  assert.equal(s.delayMs(300), 0); // 200 ms late: catch up
  s.advance();
  assert.equal(s.nextDueMs, 200);
  assert.equal(s.delayMs(5000), 0); // 4.8 s late: re-anchor to now
  assert.equal(s.nextDueMs, 5000);
  s.advance();
  assert.equal(s.delayMs(5000), 100);
});

test('bad rates are refused', () => {
  for (const r of [-1, NaN, Infinity]) assert.throws(() => new RateSchedule(r, 0), RangeError);
});
