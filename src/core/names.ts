/** Longest name glibc accepts after the leading slash (NAME_MAX). */
export const NAME_MAX_BYTES = 255;
/** macOS refuses names longer than this (PSHMNAMLEN). */
export const PORTABLE_NAME_BYTES = 31;

/**
 * C0 and C1 control characters, DEL, the bidirectional marks, overrides and isolates (which
 * reorder what follows them on screen: U+061C, U+200E-F, U+202A-E, U+2066-9), the line and
 * paragraph separators U+2028-9 and the invisible U+FEFF.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/**
 * A name as it may be shown to people: control characters as \xHH, bidirectional ones as \uHHHH.
 * Printed raw, a name could carry terminal escapes, a line break or reordered text into a
 * listing, an error line or a generated snippet.
 */
export function printableName(name: string): string {
  return name.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + code.toString(16).padStart(4, '0');
  });
}

/**
 * Checks a POSIX shared-memory name before any syscall: "/" then 1–255 bytes with no "/",
 * not "." or "..", no control characters. Throws TypeError saying what is expected; returns
 * warnings for names that work here but not everywhere.
 */
const LONE_SURROGATE = /\p{Cs}/u;

export function checkSegmentName(name: unknown): { warnings: string[] } {
  if (typeof name !== 'string') throw new TypeError('segment name must be a string such as "/swarm"');
  const shown = printableName(name);
  // POSIX allows any byte but "/" and NUL; shmswarm prints names and writes them into code
  // (info --python/--julia), so it takes only names that print as themselves.
  if (shown !== name) throw new TypeError(`segment name "${shown}" contains control characters; use printable characters`);
  // A lone UTF-16 surrogate has no UTF-8 form: it would reach the system as U+FFFD, a name other
  // than the one this handle reports.
  if (LONE_SURROGATE.test(name)) throw new TypeError('segment name contains a lone UTF-16 surrogate (not valid Unicode)');
  if (!name.startsWith('/')) {
    const hint = name && !name.includes('/') ? `; did you mean "/${name}"?` : '';
    throw new TypeError(`segment name "${name}" must start with "/"${hint}`);
  }
  const rest = name.slice(1);
  if (rest.length === 0) throw new TypeError('segment name "/" is empty; use a name such as "/swarm"');
  if (rest.includes('/')) {
    // A path into /dev/shm names the object the segment name would: suggest that name.
    const m = /^\/dev\/shm\/+([^/]+)$/.exec(name);
    throw new TypeError(`segment name "${name}" may contain "/" only at the start${m ? `; did you mean "/${m[1]}" (the name of ${name})?` : ''}`);
  }
  if (rest === '.' || rest === '..') throw new TypeError(`segment name "${name}" is not allowed`);
  const bytes = Buffer.byteLength(rest, 'utf8');
  if (bytes > NAME_MAX_BYTES)
    throw new TypeError(`segment name is ${bytes} bytes long; at most ${NAME_MAX_BYTES} bytes may follow "/"`);
  const warnings: string[] = [];
  if (bytes > PORTABLE_NAME_BYTES)
    warnings.push(`segment name "${name}" is longer than ${PORTABLE_NAME_BYTES} bytes; macOS will refuse it`);
  return { warnings };
}

/** Field names: non-empty printable ASCII without commas or surrounding spaces, unique. */
export function parseFields(fields: string | readonly string[]): string[] {
  const list = typeof fields === 'string' ? fields.split(',') : [...fields];
  const seen = new Set<string>();
  for (const f of list) {
    if (typeof f !== 'string' || f.length === 0) throw new TypeError('field names must be non-empty');
    if (!/^[\x20-\x7e]+$/.test(f) || f.includes(',') || f.trim() !== f)
      throw new TypeError(`field name "${f}" must be printable ASCII without commas or surrounding spaces`);
    if (seen.has(f)) throw new TypeError(`field name "${f}" appears twice`);
    seen.add(f);
  }
  if (list.join(',').length > 65536) throw new RangeError('field names take more than 65536 bytes');
  return list;
}

/** Names for unnamed columns: c0, c1, … */
export function defaultFields(cols: number): string[] {
  return Array.from({ length: cols }, (_, i) => `c${i}`);
}

/**
 * A name as it must be typed in a POSIX shell: as it is when it holds only characters no shell
 * treats specially, else in single quotes. Suggested commands use it so that a name with a space
 * (or a quote, or a `$`) can be pasted as it is printed.
 */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\/.,:@%+=-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
