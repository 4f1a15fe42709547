/**
 * An argument as it must be typed in a POSIX shell: as it is when it holds only characters no
 * shell treats specially, else in single quotes. Suggested commands use it so that a name with a
 * space (or a quote, or a `$`) can be pasted as it is printed.
 */
export function quoteArg(s: string): string {
  if (/^[A-Za-z0-9_\/.,:@%+=-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
