// Selecting agents (rows) and fields (columns) of a frame. Pure: RangeError on bad input, which
// the CLI reports as a usage error.

/** A half-open agent range; a missing bound means the start or the end of the matrix. */
export interface RowSpec {
  start?: number;
  end?: number;
  /** As the user typed it, for messages. */
  text?: string;
}

/** [start, end) within 0..rows, or a RangeError naming the segment and its rows. */
export function resolveRows(spec: RowSpec | undefined, rows: number, segment = 'the segment'): [number, number] {
  const start = spec?.start ?? 0;
  const end = spec?.end ?? rows;
  const text = spec?.text ?? `${start}:${end}`;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < 0)
    throw new RangeError(`row range ${text} is not a half-open range a:b with 0 <= a <= b`);
  if (end > rows || start > rows)
    throw new RangeError(`row range ${text} is out of bounds: ${segment} has ${rows} agents (0:${rows})`);
  if (end < start) throw new RangeError(`row range ${text} ends before it starts`);
  return [start, end];
}

/** Column indices of the requested fields, in the requested order; all fields when none are asked for. */
export function selectFields(requested: readonly string[] | undefined, fields: readonly string[], segment = 'the segment'): number[] {
  if (!requested || requested.length === 0) return fields.map((_, i) => i);
  const seen = new Set<string>();
  return requested.map((f) => {
    const i = fields.indexOf(f);
    if (i < 0) throw new RangeError(`unknown field "${f}" in ${segment}; its fields are ${fields.join(',')}`);
    if (seen.has(f)) throw new RangeError(`field "${f}" is asked for twice`);
    seen.add(f);
    return i;
  });
}
