// Must type-check under --strict (test/core/api-types.test.js): a writer and a reader, and the
// typed-array uses that the element type decides. Lines marked @ts-expect-error must fail.
// (The README's own example is compiled from the README by the same test file.)
import { Segment, isShmswarmError, type Frame, type CreateOptions } from 'shmswarm';

export async function writeAndRead(): Promise<number[]> {
  const frame0 = new Float32Array(4000);
  const seg = Segment.create('/swarm', { rows: 1000, fields: ['x', 'y', 'vx', 'vy'], dtype: 'f32' });
  seg.writeFrame(frame0);
  const m = seg.beginFrame();
  for (let i = 0; i < m.length; i++) m[i] = i * 0.5;
  seg.endFrame();

  const reader = Segment.open('/swarm', { readonly: true, dtype: 'f32' });
  let frame = reader.readFrame();
  await reader.waitForFrame(frame.sequence, { timeoutMs: 1000 });
  frame = reader.readFrame({ since: frame.sequence, into: frame.data }) ?? frame;
  const info = reader.info();
  const n: number = info.rows * info.cols;
  const v = reader.view();
  const x0: number = v[0];
  const sum = frame.data.reduce((a, b) => a + b, 0);
  reader.close();
  seg.close();
  Segment.unlink('/swarm');
  return [n, x0, sum];
}

export function elementTypes(): void {
  // The default dtype is f32.
  const plain = Segment.create('/a', { rows: 2, cols: 2 });
  const pv: Float32Array = plain.view();
  pv.fill(0);
  plain.writeFrameInPlace((view) => view.fill(1));
  const f: Frame<Float32Array> = plain.readFrame();
  const total: number = f.data.reduce((a, b) => a + b, 0);

  const f64 = Segment.create('/b', { rows: 2, cols: 2, dtype: 'f64' });
  const d: Float64Array = f64.beginFrame();
  const first: number = d[0];
  f64.endFrame();

  const big = Segment.create('/c', { rows: 2, cols: 2, dtype: 'i64' });
  const b: bigint = big.view()[0];
  big.writeFrame([1n, 2n, 3n, 4n]);

  // A dtype known only at run time (a command-line flag) is checked at run time.
  const flag: string = process.argv[2] ?? 'u8';
  const any = Segment.create('/d', { rows: 2, cols: 2, dtype: flag });
  const anyValue: number | bigint = any.view()[0];
  const options: CreateOptions = { rows: 2, cols: 2, dtype: 'u16' };
  const fromOptions = Segment.create('/f', options);
  const wide: CreateOptions<string> = { rows: 2, cols: 2, dtype: flag };
  Segment.create('/g', wide).close();
  const untyped = Segment.open('/e');
  const u: number | bigint = untyped.readFrame().data[0];
  // An unknown dtype may be narrowed explicitly (unchecked) or through open's dtype (checked).
  const asF32 = untyped.readFrame<Float32Array>();
  const y: number = asF32.data[1];

  // Only a read given `since` may return null.
  const maybe = plain.readFrame({ since: f.sequence });
  // @ts-expect-error possibly null
  maybe.sequence;
  void plain.readFrameAsync().then((fr) => fr.sequence);

  // @ts-expect-error a Float64Array cannot be read from an f32 segment
  plain.readFrame({ into: new Float64Array(4) });
  // @ts-expect-error nor claimed for it
  plain.readFrame<Float64Array>();
  // @ts-expect-error a string is not a frame
  plain.writeFrame('1234');
  // @ts-expect-error an f32 view holds numbers
  const notBig: bigint = pv[0];

  try {
    plain.lock();
  } catch (e) {
    if (isShmswarmError(e, 'ECLOSED')) console.log(e.segment, total, first, b, anyValue, u, y, notBig, fromOptions.view()[0]);
  }
}
