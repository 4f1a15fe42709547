// Helpers for the cross-language tests: build the C++ examples once per content (cached in the
// temp dir, keyed by a hash of the sources, the header and the flags), find python3 + numpy,
// and the ramp check every direction uses.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

export const INCLUDE = join(ROOT, 'include');
export const CPP_DIR = join(ROOT, 'examples', 'cpp');
export const PY_DIR = join(ROOT, 'examples', 'python');
export const CXXFLAGS = ['-std=c++17', '-O2', '-Wall', '-Wextra'];
const PROGRAMS = ['producer', 'consumer', 'seed_writer'];

/** Compile a source with the header; returns { status, stderr }. */
export function compile(compiler, flags, source, output) {
  const r = spawnSync(compiler, [...flags, '-I', INCLUDE, source, '-o', output, '-lpthread', '-lrt'], { encoding: 'utf8' });
  return { status: r.status, stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

let built;
/** { producer, consumer, seed_writer, warnings } paths of the built examples. */
export function buildExamples() {
  if (built) return built;
  const hash = createHash('sha256');
  hash.update(CXXFLAGS.join(' '));
  hash.update(readFileSync(join(INCLUDE, 'shmswarm.h')));
  hash.update(readFileSync(join(INCLUDE, 'shmswarm_binding.h')));
  for (const p of PROGRAMS) hash.update(readFileSync(join(CPP_DIR, `${p}.cpp`)));
  const dir = join(tmpdir(), `shmswarm-examples-${hash.digest('hex').slice(0, 16)}`);
  const paths = Object.fromEntries(PROGRAMS.map((p) => [p, join(dir, p)]));
  const log = join(dir, 'warnings.txt');
  if (existsSync(log)) return (built = { ...paths, warnings: readFileSync(log, 'utf8') });
  // Build beside, then rename: parallel test runs never see half-written binaries.
  const work = mkdtempSync(join(tmpdir(), 'shmswarm-build-'));
  let warnings = '';
  for (const p of PROGRAMS) {
    const r = compile('g++', CXXFLAGS, join(CPP_DIR, `${p}.cpp`), join(work, p));
    if (r.status !== 0) throw new Error(`g++ failed for examples/cpp/${p}.cpp:\n${r.stderr}`);
    warnings += r.stderr;
  }
  writeFileSync(join(work, 'warnings.txt'), warnings); // written last: its presence means the build finished
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another run got there first
  }
  return (built = { ...paths, warnings });
}

/** Why python3 with numpy cannot run here, or null when it can. */
export function pythonMissing() {
  const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (r.error) return 'python3 is not installed';
  if (r.status !== 0) return 'python3 has no numpy';
  return null;
}

/** Python code prefix that imports examples/python/shmswarm.py. */
export const PY_PRELUDE = `import sys; sys.path.insert(0, ${JSON.stringify(PY_DIR)}); import shmswarm, numpy as np\n`;

/**
 * The ramp's k when `data` (rows*cols elements, agent-major) is a whole, in-place ramp frame
 * (element i holds k + i), else null.
 */
export function rampK(data) {
  const k = Number(data[0]);
  for (let i = 1; i < data.length; i++) if (Number(data[i]) !== k + i) return null;
  return k;
}

/** Frame k of the ramp for rows × cols (k + r*cols + c), as a Float32Array. */
export function rampFrame(k, rows, cols) {
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = k + i;
  return a;
}

/** Whether the CLI subcommand exists yet (the CLI is built in parallel; placeholders say so). */
export function cliHas(command) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'shmswarm'), command, '--help'], { encoding: 'utf8' });
  return r.status === 0 && !/not implemented/i.test(r.stdout + r.stderr);
}
