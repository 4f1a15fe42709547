import { readdirSync } from 'node:fs';

/** Edits (insert, delete, substitute, swap two neighbours) from a to b, or more than `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * Existing names in /dev/shm that `name` looks like a typo of (one edit for short names, two from
 * 8 characters; not those that differ only in numbers), closest first; at most three. Never
 * throws: no suggestion is a fine answer.
 */
export function similarNames(name: string, dir = '/dev/shm'): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).slice(0, 100_000);
  } catch {
    return [];
  }
  const want = name.replace(/^\//, '');
  const max = want.length >= 8 ? 2 : 1;
  // Names that differ only in their numbers (/run-1, /run-2) are other instances, not typos.
  const shape = (s: string) => s.replace(/\d+/g, '#');
  return entries
    .filter((e) => e !== want && !e.startsWith('sem.') && shape(e) !== shape(want))
    .map((e) => ({ e, d: distance(want, e, max) }))
    .filter((x) => x.d <= max)
    .sort((x, y) => x.d - y.d || x.e.localeCompare(y.e))
    .slice(0, 3)
    .map((x) => '/' + x.e);
}
