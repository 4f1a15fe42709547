// Segment names are checked in TypeScript before any syscall (src/core/names.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segment, checkSegmentName, NAME_MAX_BYTES, PORTABLE_NAME_BYTES } from '../../dist/core/index.js';
import { uniqueName } from '../helpers.js';

const bad = [
  ['no leading slash', 'swarm', /must start with "\/"; did you mean "\/swarm"\?/],
  ['empty string', '', /must start with "\/"/],
  ['just a slash', '/', /empty/],
  ['another slash', '/a/b', /"\/" only at the start/],
  ['double slash', '//x', /"\/" only at the start/],
  ['trailing slash', '/a/', /"\/" only at the start/],
  ['dot', '/.', /not allowed/],
  ['dot dot', '/..', /not allowed/],
  ['NUL byte', '/a\0b', /"\/a\\x00b" contains control characters/],
  ['terminal escape', '/a\x1b[31mred', /"\/a\\x1b\[31mred" contains control characters/],
  ['line break', '/a\nprint("x") #', /^segment name "\/a\\x0aprint\("x"\) #" contains control characters; use printable characters$/],
  ['tab', '/a\tb', /control characters/],
  ['DEL', '/a\x7f', /\\x7f/],
  ['C1 control (CSI)', '/a\u009b31m', /\\x9b/],
  ['no slash and an escape', 'a\x1b', /control characters/],
  ['right-to-left override', '/abc\u202etxt.exe', /"\/abc\\u202etxt\.exe" contains control characters/],
  ['bidi isolate', '/a\u2066b', /\\u2066/],
  ['Arabic letter mark', '/a\u061cb', /\\u061c/],
  ['line separator', '/a\u2028b', /\\u2028/],
  ['zero-width no-break space', '/a\ufeffb', /\\ufeff/],
  ['256 bytes', '/' + 'a'.repeat(256), /256 bytes long; at most 255/],
  ['256 bytes of UTF-8', '/' + 'é'.repeat(128), /256 bytes long/],
];

for (const [label, name, message] of bad) {
  test(`name refused: ${label}`, () => {
    assert.throws(() => checkSegmentName(name), { name: 'TypeError', message });
  });
}

test('non-strings are refused', () => {
  for (const v of [undefined, null, 42, {}, ['/a']]) assert.throws(() => checkSegmentName(v), TypeError);
});

test('NAME_MAX_BYTES is 255 (which names are accepted: test/name-rules.json, run by name-rules.test.js)', () => {
  assert.equal(NAME_MAX_BYTES, 255);
});

test('a warning past 31 bytes (macOS), none at 31', () => {
  assert.equal(PORTABLE_NAME_BYTES, 31);
  assert.deepEqual(checkSegmentName('/' + 'a'.repeat(31)).warnings, []);
  const w = checkSegmentName('/' + 'a'.repeat(32)).warnings;
  assert.equal(w.length, 1);
  assert.match(w[0], /longer than 31 bytes; macOS/);
  assert.equal(checkSegmentName('/' + 'é'.repeat(16)).warnings.length, 1, '32 bytes in 16 characters');
});

test('Segment.create, open and unlink refuse bad names in TypeScript (TypeError, not a native EINVAL)', () => {
  for (const [, name] of bad) {
    assert.throws(() => Segment.create(name, { rows: 1, cols: 1 }), TypeError);
    assert.throws(() => Segment.open(name), TypeError);
    assert.throws(() => Segment.unlink(name), TypeError);
  }
});

test('a 255-byte name really works; create reports the macOS warning on the segment', (t) => {
  const prefix = uniqueName(t, 'long');
  const name = prefix + 'x'.repeat(256 - prefix.length);
  assert.equal(Buffer.byteLength(name) - 1, 255);
  t.after(() => { try { Segment.unlink(name); } catch { /* already gone */ } });
  const seg = Segment.create(name, { rows: 1, cols: 1 });
  assert.equal(seg.warnings.length, 1);
  seg.close();
  const again = Segment.open(name);
  assert.equal(again.name, name);
  again.close();
  Segment.unlink(name);
  assert.throws(() => Segment.open(name), { code: 'ENOENT' });
});
