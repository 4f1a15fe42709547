// The TypeScript name and field rules (src/core/names.ts) run the one table of cases,
// test/name-rules.json, that the C core runs too (test/native/name-rules.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkSegmentName, parseFields } from '../../dist/core/index.js';

const cases = JSON.parse(readFileSync(new URL('../name-rules.json', import.meta.url), 'utf8'));
const accepts = (f) => {
  try {
    f();
    return true;
  } catch (e) {
    assert.ok(e instanceof TypeError || e instanceof RangeError, `refused as misuse, not ${e}`);
    return false;
  }
};

test('checkSegmentName accepts exactly the names test/name-rules.json marks ok', () => {
  for (const c of cases.names) assert.equal(accepts(() => checkSegmentName(c.name)), c.ok, `${JSON.stringify(c.name)} (${c.why})`);
});

test('parseFields accepts exactly the field lists test/name-rules.json marks ok, with their column count', () => {
  for (const c of cases.fields) {
    const ok = accepts(() => assert.equal(parseFields(c.fields).length, c.cols));
    assert.equal(ok, c.ok, `${JSON.stringify(c.fields)} (${c.why})`);
  }
});
