/**
 * The verification pattern: frame k (counting from 1) holds k + r*cols + c at agent r, field c,
 * i.e. k + i at flat index i. A reader proves a frame arrived whole and in place by checking
 * data[i] - i is the same k everywhere (and equals the frame counter). Exact in float32 while
 * k + rows*cols < 2^24.
 */
export function fillRamp(view: Float32Array, k: number): void {
  for (let i = 0; i < view.length; i++) view[i] = k + i;
}

/** The k a ramp frame was written with, or null when its elements disagree (torn or misplaced). */
export function rampFrameNumber(data: ArrayLike<number>): number | null {
  if (data.length === 0) return null;
  const k = data[0];
  for (let i = 1; i < data.length; i++) if (data[i] !== Math.fround(k + i)) return null;
  return k;
}
