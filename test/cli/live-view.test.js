// The live view's renderer on its own, at every size from 1×1 to 200×60: no line wider than the
// screen, never more lines than rows, the title first; and the one-line and JSON forms carry the
// timing figures (period, missed, stalled).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayWidth, fit, renderScreen, formatLine, snapshotJson } from '../../dist/cli/render/live-view.js';
import { brailleScatter } from '../../dist/cli/render/plot.js';

function snapshot(over = {}) {
  return {
    name: '/swarm', time: Date.UTC(2026, 0, 1), status: 'live', message: null, kind: 'shmswarm',
    rows: 400, cols: 4, dtype: 'f32', fields: ['x', 'y', 'vx', 'vy'], sequence: 200, frames: 100,
    writerPid: 1234, writerAlive: true, lastWriteTime: Date.UTC(2026, 0, 1), ageMs: 3,
    framesPerSec: 59.94, mbPerSec: 0.3836, rateBy: 'counter',
    period: { meanMs: 16.683, minMs: 15.2, maxMs: 18.1, stdMs: 0.412, samples: 119 },
    seen: 95, missed: 5, stalledMs: null, windowMs: 2000, frameStuck: false,
    stats: ['x', 'y', 'vx', 'vy'].map((field, i) => ({ field, min: -i - 0.123456, mean: 0.5, max: 14.99999, std: 4.2, nonFinite: 0 })),
    torn: false, events: [], ...over,
  };
}

const frame = Float32Array.from({ length: 1600 }, (_, i) => (i * 7919) % 15);
const state = (over = {}) => ({ live: true, paused: false, help: false, pair: [0, 1], bounds: { xmin: 0, xmax: 15, ymin: 0, ymax: 15 }, frame, stats: snapshot().stats, ...over });

test('fit: cuts to the width with an ellipsis, counts wide characters as two cells, keeps and resets colour', () => {
  assert.equal(fit('abcdef', 4), 'abc…');
  assert.equal(fit('abc', 3), 'abc');
  assert.equal(displayWidth('日本語'), 6);
  assert.ok(displayWidth(fit('日本語日本語', 5)) <= 5);
  const red = '\x1b[31mabcdef\x1b[39m';
  assert.equal(displayWidth(red), 6);
  const cut = fit(red, 3);
  assert.equal(displayWidth(cut), 3);
  assert.ok(cut.endsWith('\x1b[0m'), 'colour reset after a cut');
  assert.equal(fit('abc', 0), '');
});

test('renderScreen: at every size no line is wider than the screen, no more lines than rows, the title first', () => {
  const cases = [
    [snapshot(), state()],
    [snapshot({ name: '/a name with spaces and 日本語 that is rather long indeed' }), state()],
    [snapshot({ stalledMs: 3500, framesPerSec: 0 }), state({ paused: true })],
    [snapshot(), state({ help: true })],
    [snapshot({ rows: null, status: 'waiting', stats: null }), state({ frame: null, stats: null })],
    [snapshot({ cols: 40, fields: Array.from({ length: 40 }, (_, i) => `field_with_a_long_name_${i}`) }), state({ stats: Array.from({ length: 40 }, (_, i) => ({ field: `field_with_a_long_name_${i}`, min: 1, mean: 2, max: 3, std: 1, nonFinite: 0 })) })],
  ];
  for (const [s, v] of cases)
    for (let columns = 1; columns <= 200; columns += columns < 50 ? 1 : 7)
      for (const rows of [1, 2, 3, 4, 5, 8, 12, 20, 24, 40, 60]) {
        const lines = renderScreen(brailleScatter, s, v, { columns, rows });
        assert.ok(lines.length <= rows, `${lines.length} lines at ${columns}×${rows}`);
        assert.ok(lines.length >= 1);
        for (const l of lines) assert.ok(displayWidth(l) <= columns, `${displayWidth(l)} cells at ${columns}×${rows}: ${JSON.stringify(l)}`);
        if (columns >= 20) assert.match(lines[0], /watch/, `title at ${columns}×${rows}: ${lines[0]}`);
        if (columns >= 30 && v.live) assert.match(lines[0], /q/, `key hints at ${columns}×${rows}: ${lines[0]}`);
      }
});

test('renderScreen uses the room: the plot beside the table when wide, below it when tall, bigger than 50×25 at 120×40', () => {
  const wide = renderScreen(brailleScatter, snapshot(), state(), { columns: 120, rows: 40 });
  assert.ok(wide.some((l) => /^x\s.*│[\u2800-\u28ff]+│$/.test(l)), wide.join('\n'));
  const plotRows = wide.filter((l) => /│[\u2800-\u28ff]+│/.test(l));
  assert.ok(plotRows.length >= 30, `${plotRows.length} plot rows at 120×40`);
  const tall = renderScreen(brailleScatter, snapshot(), state(), { columns: 60, rows: 40 });
  const vy = tall.findIndex((l) => /^vy\s/.test(l));
  const top = tall.findIndex((l) => l.startsWith('┌'));
  assert.ok(vy > 0 && top > vy, tall.join('\n'));
});

test('the view, the line and the JSON carry the period, the missed frames and a stall', () => {
  const s = snapshot();
  const view = renderScreen(brailleScatter, s, state(), { columns: 120, rows: 40 }).join('\n');
  assert.match(view, /59\.94 frames\/s   period 16\.68 ms ±0\.412 \(15\.2–18\.1\)   missed 5/);
  const line = formatLine(s);
  assert.match(line, / fps=59\.94 .* period=16\.68\/15\.2\/18\.1\/0\.412ms missed=5 /);
  const j = JSON.parse(snapshotJson(s));
  assert.deepEqual(j.period, s.period);
  assert.equal(j.missed, 5);
  const stalled = snapshot({ stalledMs: 3500, framesPerSec: 0 });
  assert.match(renderScreen(brailleScatter, stalled, state(), { columns: 120, rows: 40 }).join('\n'), /stalled 3\.5 s/);
  assert.match(formatLine(stalled), / fps=0 .* stalled=3\.5s/);
  const raw = snapshot({ rateBy: 'content', missed: null, kind: 'raw' });
  assert.match(renderScreen(brailleScatter, raw, state(), { columns: 120, rows: 40 }).join('\n'), /changes\/s \(by content\)/);
  assert.match(formatLine(raw), /rate=by-content/);
  const stuckMessage = 'a frame has been in progress for 3.0 s: its writer is stopped, or died holding the lock (a read that takes the lock repairs a dead one)';
  const stuck = snapshot({ message: stuckMessage, frameStuck: true, name: '/my swarm' });
  assert.match(renderScreen(brailleScatter, stuck, state(), { columns: 240, rows: 40 }).join('\n'), /in progress for 3\.0 s.*; shmswarm dump --lock '\/my swarm' repairs a dead writer's frame\)/);
  assert.doesNotMatch(renderScreen(brailleScatter, snapshot({ message: stuckMessage }), state(), { columns: 240, rows: 40 }).join('\n'), /dump --lock/);
});
