import { isShmswarmError, ShmswarmError } from '../errors.js';
import { RateSchedule } from '../schedule.js';
import { Segment, type SegmentInfo } from '../segment.js';
import { Boids } from './boids.js';
import { fillRamp } from './ramp.js';
import { RandomPattern } from './random.js';

export { Boids, BOIDS_PARAMS, worldSize } from './boids.js';
export { fillRamp, rampFrameNumber } from './ramp.js';
export { RandomPattern } from './random.js';
export { mulberry32 } from './prng.js';

export const PATTERNS = ['boids', 'ramp', 'random'] as const;
export type PatternName = (typeof PATTERNS)[number];
export const DEFAULT_AGENTS = 1000;

/** The fields simulate writes: positions then velocities. */
export function simulationFields(dims: 2 | 3): string[] {
  return dims === 2 ? ['x', 'y', 'vx', 'vy'] : ['x', 'y', 'z', 'vx', 'vy', 'vz'];
}

export interface SimulationWant {
  pattern: PatternName;
  /** Given explicitly: an existing segment must match; otherwise its own count is used. */
  agents?: number;
  dims?: 2 | 3;
  /** Frame buffers for a segment this creates; given explicitly, an existing segment must match. */
  slots?: number;
}

/**
 * Whether `simulate` may write into an existing segment, as plain data: `reason` says why not.
 * boids needs exactly the position/velocity fields; ramp and random fill any f32 matrix unless
 * the agent count or the dimensions asked for pin the shape.
 */
export function checkSimulationTarget(
  info: Pick<SegmentInfo, 'name' | 'kind' | 'rows' | 'cols' | 'dtype' | 'fields' | 'writerPid' | 'writerAlive'> & Partial<Pick<SegmentInfo, 'slots'>>,
  want: SimulationWant,
  selfPid = process.pid,
): { reason: string | null; dims: 2 | 3 | null } {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((f, i) => f === b[i]);
  const fieldDims: 2 | 3 | null = same(info.fields, simulationFields(2)) ? 2 : same(info.fields, simulationFields(3)) ? 3 : null;
  const no = (reason: string) => ({ reason: `segment ${info.name} ${reason}`, dims: fieldDims });
  if (info.kind !== 'shmswarm') return no('is not a shmswarm segment (no header to publish frames through)');
  if (info.writerAlive && info.writerPid !== null && info.writerPid !== selfPid)
    return no(`has a live writer (pid ${info.writerPid}); stop it first or simulate into another name`);
  if (info.dtype !== 'f32') return no(`holds ${info.dtype}; simulate writes f32`);
  if (want.slots !== undefined && (info.slots ?? 1) !== want.slots)
    return no(`has ${info.slots ?? 1} slot${(info.slots ?? 1) === 1 ? '' : 's'}, not ${want.slots}; without a slot count it is used as it is; or pick another name`);
  if (want.agents !== undefined && info.rows !== want.agents)
    return no(`has ${info.rows} agents, not ${want.agents}; without an agent count its ${info.rows} are used; or pick another name`);
  const wantFields = want.dims !== undefined ? simulationFields(want.dims) : null;
  if (wantFields && !same(info.fields, wantFields))
    return no(`has fields ${info.fields.join(',')}, not ${wantFields.join(',')} (for ${want.dims} dimensions)`);
  if (want.pattern === 'boids' && fieldDims === null)
    return no(`has fields ${info.fields.join(',')}; boids needs x,y,vx,vy or x,y,z,vx,vy,vz`);
  return { reason: null, dims: fieldDims };
}

export interface SimulationTarget {
  segment: Segment;
  created: boolean;
  /** The dimensions of the position fields, or null for a matrix of other fields (ramp, random). */
  dims: 2 | 3 | null;
}

/**
 * Create `name` for a simulation (f32, positions and velocities), or attach to a compatible
 * existing segment, also one whose earlier writer died. Refuses an incompatible one with code
 * EINCOMPATIBLE and a message that says why; nothing is created or changed then.
 */
export function openSimulationTarget(name: string, want: SimulationWant, mode = 0o600): SimulationTarget {
  for (let attempt = 0; ; attempt++) {
    let segment: Segment;
    try {
      segment = Segment.open(name);
    } catch (e) {
      if (!isShmswarmError(e, 'ENOENT') || attempt > 2) throw e;
      const dims = want.dims ?? 2;
      try {
        const created = Segment.create(name, { rows: want.agents ?? DEFAULT_AGENTS, fields: simulationFields(dims), dtype: 'f32', mode, slots: want.slots });
        return { segment: created, created: true, dims };
      } catch (e2) {
        // Someone created it between our open and create: look at theirs.
        if (isShmswarmError(e2, 'EEXIST')) continue;
        throw e2;
      }
    }
    try {
      const { reason, dims } = checkSimulationTarget(segment.info(), want);
      if (reason) throw new ShmswarmError(reason, 'EINCOMPATIBLE', { segment: name });
      return { segment, created: false, dims };
    } catch (e) {
      segment.close();
      throw e;
    }
  }
}

/** Computes and publishes frame k (the segment's frame counter once it is published). */
export interface FrameWriter {
  write(segment: Segment, k: number): void;
}

export function makeFrameWriter(pattern: PatternName, rows: number, cols: number, dims: 2 | 3 | null, seed: number): FrameWriter {
  switch (pattern) {
    case 'boids': {
      if (dims === null) throw new RangeError('boids needs position and velocity fields');
      const boids = new Boids({ agents: rows, dims, seed });
      return {
        write(segment) {
          boids.step();
          segment.writeFrame(boids.state);
        },
      };
    }
    case 'ramp': {
      // Filled in private memory, then published by the guarded copy: filled in place, through
      // the zero-copy view, a segment truncated by another process killed simulate with SIGBUS.
      const frame = new Float32Array(rows * cols);
      return {
        write(segment, k) {
          fillRamp(frame, k);
          segment.writeFrame(frame);
        },
      };
    }
    case 'random': {
      const noise = new RandomPattern(rows * cols, seed);
      return { write: (segment) => segment.writeFrame(noise.step()) };
    }
    default:
      throw new RangeError(`unknown pattern "${pattern as string}": use one of ${PATTERNS.join(', ')}`);
  }
}

/** Where runSimulation gets the time and waits; tests pass a virtual one. */
export interface RunClock {
  /** ms, monotonic. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface RunOptions {
  /** Frames per second; 0 = as fast as possible. */
  rate: number;
  /** Stop after this many frames. */
  frames?: number;
  /** Stop after this long. */
  durationMs?: number;
  /** Stop (between frames) when aborted. */
  signal?: AbortSignal;
  /** Time slice for --rate 0 before yielding to the event loop. */
  sliceMs?: number;
  /** Default: performance.now() and setTimeout. */
  clock?: RunClock;
  /**
   * How often to check that the segment's name still leads to it (default 1000 ms). A writer
   * whose segment was removed or replaced under it writes for no one: it stops.
   */
  nameCheckMs?: number;
}

export interface RunResult {
  frames: number;
  seconds: number;
  /** Frames per second achieved, from the first frame to the last; null below two frames. */
  rate: number | null;
  /** removed, replaced: the segment's name no longer leads to the segment written. */
  stoppedBy: 'frames' | 'duration' | 'signal' | 'removed' | 'replaced';
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

const realClock: RunClock = { now: () => performance.now(), sleep: pause };

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Publish frames on a drift-free schedule until `frames` are written, `durationMs` is over or
 * `signal` aborts. Every frame is written synchronously, so stopping never leaves one half-done.
 * The event loop stays responsive: timers between frames, and at rate 0 a yield every slice.
 */
export async function runSimulation(segment: Segment, writer: FrameWriter, options: RunOptions): Promise<RunResult> {
  const { rate, frames, durationMs, signal } = options;
  const slice = options.sliceMs ?? 20;
  const clock = options.clock ?? realClock;
  const nameCheckMs = options.nameCheckMs ?? 1000;
  const t0 = clock.now();
  let nameCheckedAt = t0;
  const schedule = new RateSchedule(rate, t0);
  let k = segment.info().frames;
  let n = 0;
  let firstMs = t0;
  let lastMs = t0;
  const publish = (): number => {
    writer.write(segment, ++k);
    n++;
    lastMs = clock.now();
    if (n === 1) firstMs = lastMs;
    return lastMs;
  };
  let stoppedBy: RunResult['stoppedBy'] | null = null;
  const check = (now: number): boolean => {
    if (signal?.aborted) stoppedBy = 'signal';
    else if (frames !== undefined && n >= frames) stoppedBy = 'frames';
    else if (durationMs !== undefined && now - t0 >= durationMs) stoppedBy = 'duration';
    else if (now - nameCheckedAt >= nameCheckMs) {
      nameCheckedAt = now;
      const status = segment.nameStatus();
      if (status !== 'same') stoppedBy = status === 'gone' ? 'removed' : 'replaced';
    }
    return stoppedBy !== null;
  };
  // Checked right after each frame: --frames n ends as frame n is published, with no wait for a
  // period after it (at 0.001 Hz that wait would be 1000 s of doing nothing).
  let yielded = t0;
  while (!check(clock.now())) {
    if (rate === 0) {
      const end = clock.now() + slice;
      let now: number;
      do {
        now = publish();
      } while (now < end && !check(now));
      if (stoppedBy) break;
      await yieldToLoop();
      continue;
    }
    const now = clock.now();
    const wait = schedule.delayMs(now);
    if (wait > 0) {
      // Never past the next name check: at 0.001 Hz a removed segment would go unnoticed for 1000 s.
      const untilCheck = Math.max(1, nameCheckedAt + nameCheckMs - now);
      const untilEnd = durationMs === undefined ? Infinity : Math.max(0, t0 + durationMs - now);
      await clock.sleep(Math.min(wait, untilEnd, untilCheck), signal);
      yielded = clock.now();
      continue;
    }
    // Behind schedule (a frame takes longer than a period), frames follow each other without a
    // sleep: the event loop still gets a turn every slice, or a stop signal would never be seen.
    if (publish() - yielded >= slice) {
      await yieldToLoop();
      yielded = clock.now();
    }
    schedule.advance();
  }
  const seconds = (clock.now() - t0) / 1000;
  // Between publishes, so n frames at a rate read as that rate although they take n - 1 periods.
  const span = (lastMs - firstMs) / 1000;
  return { frames: n, seconds, rate: n >= 2 && span > 0 ? (n - 1) / span : null, stoppedBy: stoppedBy ?? 'signal' };
}
