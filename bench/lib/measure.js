// Timing helpers shared by the bench's processes. Median of batches: these machines are noisy,
// and every comparison that matters is a ratio of two medians taken in the same run.

const now = () => process.hrtime.bigint();

/**
 * ns per call of fn, calibrated to batchMs per batch: [best batch, median batch]. The best is
 * what the tables compare (noise on a shared machine only ever adds); the median is kept too.
 */
export function perCall(fn, batchMs = 3, batches = 25) {
  let iters = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < iters; i++) fn();
    const dt = Number(now() - t0);
    if (dt >= (batchMs * 1e6) / 4 || iters > 2 ** 30) {
      iters = Math.ceil((iters * batchMs * 1e6) / Math.max(dt, 1));
      break;
    }
    iters *= 4;
  }
  const per = [];
  for (let b = 0; b < batches; b++) {
    const t0 = now();
    for (let i = 0; i < iters; i++) fn();
    per.push(Number(now() - t0) / iters);
  }
  return [Math.min(...per), median(per)];
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** p-th percentile (0-100) of an already sorted array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function latencySummary(samplesNs) {
  const s = Float64Array.from(samplesNs).sort();
  return {
    samples: s.length,
    p50Us: percentile(s, 50) / 1e3,
    p99Us: percentile(s, 99) / 1e3,
    p999Us: percentile(s, 99.9) / 1e3,
    maxUs: s.length ? s[s.length - 1] / 1e3 : NaN,
  };
}

/** Block this thread for ms without spinning (Atomics.wait is allowed on Node's main thread). */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}
