import { native } from './binding.js';
import type { TypedArray } from './dtypes.js';

/**
 * An agent-major rows × cols frame into column-major `out` (column c from element c × rows),
 * bit for bit (NaN payloads kept), in one native pass. Throws a TypeError when the frame is not
 * rows × cols elements, `out` is smaller, or the two overlap.
 */
export function splitColumns<T extends TypedArray>(frame: T, rows: number, cols: number, out: T): T {
  native().splitColumns(frame, out, rows, cols, frame.BYTES_PER_ELEMENT);
  return out;
}
