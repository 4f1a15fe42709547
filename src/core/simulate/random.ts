import { mulberry32 } from './prng.js';

/** Uniform noise in [0, 1), reproducible for a seed. */
export class RandomPattern {
  readonly state: Float32Array;
  #next: () => number;

  constructor(elements: number, seed: number) {
    this.state = new Float32Array(elements);
    this.#next = mulberry32(seed);
  }

  step(): Float32Array {
    const s = this.state;
    const next = this.#next;
    for (let i = 0; i < s.length; i++) s[i] = next();
    return s;
  }
}
