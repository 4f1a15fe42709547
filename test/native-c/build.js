// Compiles the C programs in this folder against include/shmswarm.h on demand. The output is
// cached under the system temp dir by a hash of the sources, so a test file pays it once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');
const HEADER = join(ROOT, 'include', 'shmswarm.h');

/** The C compiler to use: $CC, else cc. */
export function compiler() {
  return process.env.CC || 'cc';
}

/**
 * Build test/native-c/<program>.c (with extra flags) and return the executable's path.
 * Throws with the compiler's output when it fails.
 */
export function buildProgram(program, flags = []) {
  const src = join(HERE, `${program}.c`);
  const hash = createHash('sha256')
    .update(readFileSync(src))
    .update(readFileSync(HEADER))
    .update(readFileSync(join(ROOT, 'include', 'shmswarm_binding.h')))
    .update(readFileSync(join(HERE, 'check.h')))
    .update(compiler() + '\0' + flags.join('\0'))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), 'shmswarm-native-c');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${program}-${hash}`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const args = ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Wno-unused-parameter', '-I', join(ROOT, 'include'),
    ...flags, src, '-o', tmp, '-lpthread'];
  const r = spawnSync(compiler(), args, { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${compiler()}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${compiler()} ${args.join(' ')} failed:\n${r.stderr}`);
  renameSync(tmp, out); // atomic: a concurrent builder never runs a half-written binary
  return out;
}

/** Run a compiler and assert that it succeeded without a single warning (tests of the header's hygiene). */
export function compileWithoutWarnings(cc, args) {
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} ${args.join(' ')}\n${r.stderr}`);
  if (r.stderr !== '') throw new Error(`${cc} warned:\n${r.stderr}`);
}

/**
 * A C program (the text `source`) against include/, built into `dir` without a warning on the
 * first call of the returned function, which gives its path then and after.
 */
export function lazyHeaderProgram(dir, base, source, optimise = '-O2') {
  let exe = null;
  return () => {
    if (exe) return exe;
    const c = join(dir, `${base}.c`);
    writeFileSync(c, source);
    const out = join(dir, base);
    compileWithoutWarnings('cc', ['-std=c11', '-Wall', '-Wextra', '-Werror', optimise, '-I', join(ROOT, 'include'), c, '-o', out, '-lpthread']);
    return (exe = out);
  };
}

/** The misbehaving-peer helper (see helper.c). */
export function buildHelper() {
  return buildProgram('helper');
}
