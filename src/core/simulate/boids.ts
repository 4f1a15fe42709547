import { mulberry32 } from './prng.js';

export interface BoidsOptions {
  agents: number;
  dims: 2 | 3;
  seed?: number;
}

/**
 * Rule weights, per step (Ben Eater's boids scaled to a view radius of 1). The world side grows
 * with the agent count so the mean density, and with it the neighbours scanned per agent, stays
 * the same from 1,000 to 100,000 agents.
 */
export const BOIDS_PARAMS = {
  radius: 1,
  protectedRadius: 0.5,
  centering: 0.002,
  avoid: 0.05,
  matching: 0.05,
  turn: 0.004,
  minSpeed: 0.04,
  maxSpeed: 0.1,
  /** Mean agents per unit area (2-D) or volume (3-D) at the start. */
  density2: 2,
  density3: 0.6,
  /** Neighbours that count per agent: bounds the work inside a tight flock. */
  maxNeighbors: 32,
};

/** Side of the square or cubic world for `agents` boids. */
export function worldSize(agents: number, dims: 2 | 3): number {
  const side = dims === 2 ? Math.sqrt(agents / BOIDS_PARAMS.density2) : Math.cbrt(agents / BOIDS_PARAMS.density3);
  return Math.max(4, Math.ceil(side));
}

/**
 * Flocking (separation, alignment, cohesion) in a bounded world, on a uniform grid of cells one
 * view radius wide: each agent scans only the 3^dims cells around it. `state` is the frame,
 * agent-major: x, y, (z,) vx, vy, (vz). Deterministic for a seed; step() allocates nothing.
 */
export class Boids {
  readonly agents: number;
  readonly dims: 2 | 3;
  readonly cols: number;
  readonly world: number;
  readonly state: Float32Array;
  #side: number;
  #cellSize: number;
  #cellOf: Int32Array;
  #start: Int32Array;
  #cursor: Int32Array;
  #order: Int32Array;
  // Positions and velocities in cell order: the neighbour scans read contiguous memory.
  #p: Float64Array;
  #v: Float64Array;

  constructor(options: BoidsOptions) {
    const { agents, dims } = options;
    if (!Number.isInteger(agents) || agents < 1) throw new RangeError(`agents must be an integer >= 1, got ${agents}`);
    if (dims !== 2 && dims !== 3) throw new RangeError(`dims must be 2 or 3, got ${dims}`);
    this.agents = agents;
    this.dims = dims;
    this.cols = 2 * dims;
    this.world = worldSize(agents, dims);
    this.#side = Math.max(1, Math.floor(this.world / BOIDS_PARAMS.radius));
    this.#cellSize = this.world / this.#side;
    const cells = this.#side ** dims;
    this.#cellOf = new Int32Array(agents);
    this.#start = new Int32Array(cells + 1);
    this.#cursor = new Int32Array(cells);
    this.#order = new Int32Array(agents);
    this.#p = new Float64Array(agents * dims);
    this.#v = new Float64Array(agents * dims);
    this.state = new Float32Array(agents * this.cols);

    const rand = mulberry32(options.seed ?? 1);
    const { minSpeed, maxSpeed } = BOIDS_PARAMS;
    const s = this.state;
    for (let i = 0; i < agents; i++) {
      const o = i * this.cols;
      for (let d = 0; d < dims; d++) s[o + d] = rand() * this.world;
      // A random direction (Gaussian components via Box-Muller) and a speed in range.
      let norm = 0;
      for (let d = 0; d < dims; d++) {
        const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        s[o + dims + d] = g;
        norm += g * g;
      }
      const speed = (minSpeed + rand() * (maxSpeed - minSpeed)) / (Math.sqrt(norm) || 1);
      for (let d = 0; d < dims; d++) s[o + dims + d] *= speed;
    }
  }

  #cellIndex(o: number): number {
    const s = this.state;
    const side = this.#side;
    const inv = 1 / this.#cellSize;
    let c = 0;
    for (let d = this.dims - 1; d >= 0; d--) {
      let k = Math.floor(s[o + d] * inv);
      if (k < 0) k = 0;
      else if (k >= side) k = side - 1;
      c = c * side + k;
    }
    return c;
  }

  /** Sort agents into cells (counting sort) and gather positions and velocities in that order. */
  #bin(): void {
    const n = this.agents;
    const dims = this.dims;
    const cols = this.cols;
    const start = this.#start;
    const cursor = this.#cursor;
    const cellOf = this.#cellOf;
    const order = this.#order;
    const s = this.state;
    const p = this.#p;
    const v = this.#v;
    start.fill(0);
    for (let i = 0; i < n; i++) {
      const c = this.#cellIndex(i * cols);
      cellOf[i] = c;
      start[c + 1]++;
    }
    const cells = cursor.length;
    for (let c = 0; c < cells; c++) {
      start[c + 1] += start[c];
      cursor[c] = start[c];
    }
    for (let i = 0; i < n; i++) {
      const slot = cursor[cellOf[i]]++;
      order[slot] = i;
      const o = i * cols;
      for (let d = 0; d < dims; d++) {
        p[slot * dims + d] = s[o + d];
        v[slot * dims + d] = s[o + dims + d];
      }
    }
  }

  /** Advance one step. */
  step(): void {
    this.#bin();
    if (this.dims === 2) this.#step2();
    else this.#step3();
  }

  #step2(): void {
    const { radius, protectedRadius, centering, avoid, matching, turn, minSpeed, maxSpeed, maxNeighbors } = BOIDS_PARAMS;
    const r2 = radius * radius;
    const pr2 = protectedRadius * protectedRadius;
    const n = this.agents;
    const side = this.#side;
    const world = this.world;
    const margin = Math.min(2, world * 0.1);
    const start = this.#start;
    const order = this.#order;
    const cellOf = this.#cellOf;
    const p = this.#p;
    const v = this.#v;
    const s = this.state;
    for (let a = 0; a < n; a++) {
      const i = order[a];
      const x = p[2 * a], y = p[2 * a + 1];
      let vx = v[2 * a], vy = v[2 * a + 1];
      const c = cellOf[i];
      const cx = c % side, cy = (c - cx) / side;
      const x0 = cx > 0 ? cx - 1 : 0, x1 = cx < side - 1 ? cx + 1 : cx;
      const y0 = cy > 0 ? cy - 1 : 0, y1 = cy < side - 1 ? cy + 1 : cy;
      let count = 0, sx = 0, sy = 0, avx = 0, avy = 0, cxs = 0, cys = 0;
      scan: for (let gy = y0; gy <= y1; gy++) {
        const row = gy * side;
        const end = start[row + x1 + 1];
        for (let b = start[row + x0]; b < end; b++) {
          if (b === a) continue;
          const dx = x - p[2 * b], dy = y - p[2 * b + 1];
          const d2 = dx * dx + dy * dy;
          if (d2 >= r2) continue;
          if (d2 < pr2) {
            sx += dx;
            sy += dy;
          }
          avx += v[2 * b];
          avy += v[2 * b + 1];
          cxs += p[2 * b];
          cys += p[2 * b + 1];
          if (++count >= maxNeighbors) break scan;
        }
      }
      if (count > 0) {
        vx += (avx / count - vx) * matching + (cxs / count - x) * centering;
        vy += (avy / count - vy) * matching + (cys / count - y) * centering;
      }
      vx += sx * avoid;
      vy += sy * avoid;
      if (x < margin) vx += turn;
      else if (x > world - margin) vx -= turn;
      if (y < margin) vy += turn;
      else if (y > world - margin) vy -= turn;
      const speed = Math.sqrt(vx * vx + vy * vy);
      if (speed > maxSpeed) {
        vx *= maxSpeed / speed;
        vy *= maxSpeed / speed;
      } else if (speed < minSpeed && speed > 0) {
        vx *= minSpeed / speed;
        vy *= minSpeed / speed;
      }
      let nx = x + vx, ny = y + vy;
      if (nx < 0) (nx = 0), (vx = -vx);
      else if (nx > world) (nx = world), (vx = -vx);
      if (ny < 0) (ny = 0), (vy = -vy);
      else if (ny > world) (ny = world), (vy = -vy);
      const o = i * 4;
      s[o] = nx;
      s[o + 1] = ny;
      s[o + 2] = vx;
      s[o + 3] = vy;
    }
  }

  #step3(): void {
    const { radius, protectedRadius, centering, avoid, matching, turn, minSpeed, maxSpeed, maxNeighbors } = BOIDS_PARAMS;
    const r2 = radius * radius;
    const pr2 = protectedRadius * protectedRadius;
    const n = this.agents;
    const side = this.#side;
    const plane = side * side;
    const world = this.world;
    const margin = Math.min(2, world * 0.1);
    const start = this.#start;
    const order = this.#order;
    const cellOf = this.#cellOf;
    const p = this.#p;
    const v = this.#v;
    const s = this.state;
    for (let a = 0; a < n; a++) {
      const i = order[a];
      const x = p[3 * a], y = p[3 * a + 1], z = p[3 * a + 2];
      let vx = v[3 * a], vy = v[3 * a + 1], vz = v[3 * a + 2];
      const c = cellOf[i];
      const cx = c % side, cy = ((c - cx) / side) % side, cz = (c - cx - cy * side) / plane;
      const x0 = cx > 0 ? cx - 1 : 0, x1 = cx < side - 1 ? cx + 1 : cx;
      const y0 = cy > 0 ? cy - 1 : 0, y1 = cy < side - 1 ? cy + 1 : cy;
      const z0 = cz > 0 ? cz - 1 : 0, z1 = cz < side - 1 ? cz + 1 : cz;
      let count = 0, sx = 0, sy = 0, sz = 0, avx = 0, avy = 0, avz = 0, cxs = 0, cys = 0, czs = 0;
      scan: for (let gz = z0; gz <= z1; gz++) {
        for (let gy = y0; gy <= y1; gy++) {
          const row = gz * plane + gy * side;
          const end = start[row + x1 + 1];
          for (let b = start[row + x0]; b < end; b++) {
            if (b === a) continue;
            const dx = x - p[3 * b], dy = y - p[3 * b + 1], dz = z - p[3 * b + 2];
            const d2 = dx * dx + dy * dy + dz * dz;
            if (d2 >= r2) continue;
            if (d2 < pr2) {
              sx += dx;
              sy += dy;
              sz += dz;
            }
            avx += v[3 * b];
            avy += v[3 * b + 1];
            avz += v[3 * b + 2];
            cxs += p[3 * b];
            cys += p[3 * b + 1];
            czs += p[3 * b + 2];
            if (++count >= maxNeighbors) break scan;
          }
        }
      }
      if (count > 0) {
        vx += (avx / count - vx) * matching + (cxs / count - x) * centering;
        vy += (avy / count - vy) * matching + (cys / count - y) * centering;
        vz += (avz / count - vz) * matching + (czs / count - z) * centering;
      }
      vx += sx * avoid;
      vy += sy * avoid;
      vz += sz * avoid;
      if (x < margin) vx += turn;
      else if (x > world - margin) vx -= turn;
      if (y < margin) vy += turn;
      else if (y > world - margin) vy -= turn;
      if (z < margin) vz += turn;
      else if (z > world - margin) vz -= turn;
      const speed = Math.sqrt(vx * vx + vy * vy + vz * vz);
      if (speed > maxSpeed) {
        const f = maxSpeed / speed;
        vx *= f;
        vy *= f;
        vz *= f;
      } else if (speed < minSpeed && speed > 0) {
        const f = minSpeed / speed;
        vx *= f;
        vy *= f;
        vz *= f;
      }
      let nx = x + vx, ny = y + vy, nz = z + vz;
      if (nx < 0) (nx = 0), (vx = -vx);
      else if (nx > world) (nx = world), (vx = -vx);
      if (ny < 0) (ny = 0), (vy = -vy);
      else if (ny > world) (ny = world), (vy = -vy);
      if (nz < 0) (nz = 0), (vz = -vz);
      else if (nz > world) (nz = world), (vz = -vz);
      const o = i * 6;
      s[o] = nx;
      s[o + 1] = ny;
      s[o + 2] = nz;
      s[o + 3] = vx;
      s[o + 4] = vy;
      s[o + 5] = vz;
    }
  }
}
