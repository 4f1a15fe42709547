// The library's surface is a promise: README's "What the package exports" lists exactly the names
// src/core/index.ts exports, values and types, no more and no fewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

function readmeNames() {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const start = readme.indexOf('### What the package exports');
  assert.ok(start >= 0, 'README has a "What the package exports" section');
  const section = readme.slice(start, readme.indexOf('\n#', start + 1));
  const names = [];
  for (const line of section.split('\n').filter((l) => l.startsWith('- ')))
    for (const m of line.matchAll(/`([A-Za-z_$][\w$]*)`/g)) names.push(m[1]);
  return names;
}

/** The type-only exports, from the compiled declaration file. */
function typeNames() {
  const dts = readFileSync(new URL('dist/core/index.d.ts', root), 'utf8');
  const names = [];
  for (const m of dts.matchAll(/export type \{([^}]*)\}/g)) names.push(...m[1].split(',').map((s) => s.trim()).filter(Boolean));
  return names;
}

test('README lists exactly what the package exports', async () => {
  const values = Object.keys(await import('../../dist/core/index.js'));
  const exported = [...values, ...typeNames()].sort();
  const listed = readmeNames();
  assert.equal(new Set(listed).size, listed.length, 'README lists a name twice');
  assert.deepEqual([...listed].sort(), exported);
});
