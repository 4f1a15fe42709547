#!/usr/bin/env node
// Mutation campaign: every mutant of test/mutants/mutants.json (one plausible bug: an exact text
// of one file replaced) is applied to a scratch copy of the repository, what it touches is rebuilt
// (the addon with cmake-js, the TypeScript with `npm run build:ts`; C test programs build
// themselves), and the test files named for it run with a deadline. A mutant is killed when one of
// them fails; a text that no longer occurs exactly once makes the mutant STALE and the run fail.
// The repository itself is never modified: the scratch copy is removed afterwards.
//
//   node bench/mutants.js [--only ID]... [--list] [--markdown] [--update-docs] [--keep] [--verbose] [--timeout S]
//
// --list checks that every mutant still applies (exit 1 when one is stale); --markdown prints the
// table of docs/RELIABILITY.md and --update-docs writes it there; --verbose shows why each mutant's first failing test failed.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgsOrExit, usageExit } from './lib/args.js';
import { TABLE_BEGIN, TABLE_END, applyMutant, loadMutants, markdownTable, occurrences } from './lib/mutants.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node bench/mutants.js [--only ID]... [--list] [--markdown] [--update-docs] [--keep] [--verbose] [--timeout S]';

/** The repository's files as git sees them (tracked and new, not ignored): what a scratch copy holds. */
function repoFiles() {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr.trim()}`);
  return r.stdout.split('\0').filter((f) => f && f !== 'node_modules');
}

/** A scratch copy of the repository in `dir`: files copied, node_modules shared by a symlink. */
function scratchCopy(dir, files) {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      copyFileSync(join(ROOT, f), join(dir, f));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e; // deleted in the worktree but not yet in git
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
}

/** Run a command in `cwd` to completion; { ok, out } with its output's last lines. */
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`;
  return { ok: r.status === 0, out: out.trim().split('\n').slice(-15).join('\n') };
}

/** Rebuild what the mutant touches; the rest is taken from the repository's own build. */
function build(dir, m) {
  if (m.build === 'addon') {
    const r = run(process.execPath, [join(ROOT, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), 'compile', '--release'], dir);
    if (!r.ok) return r;
  } else {
    symlinkSync(join(ROOT, 'build'), join(dir, 'build'));
  }
  // The repository's dist/ first (whatever else its build put there), then the package's own
  // TypeScript build over it when the mutant is in src/.
  const r = run('cp', ['-a', join(ROOT, 'dist'), join(dir, 'dist')], dir);
  if (!r.ok || m.build !== 'ts') return r;
  return run('npm', ['run', '--silent', 'build:ts'], dir);
}

const TEST_NAME = /^shmswarm-test-(\d+)-/; // test/helpers.js uniqueName(): the test process's pid

/** Whether `pid` runs: a zombie (killed, not yet reaped) counts as gone. */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/**
 * The test processes stopped at a first failure never ran their cleanup: remove the segments
 * they named (test/helpers.js names) that appeared during the run and whose process is gone.
 * Other runs' segments on a shared machine are left alone: their processes are alive, or they
 * were there before.
 */
async function removeLeftovers(before) {
  const fresh = readdirSync('/dev/shm').filter((e) => TEST_NAME.test(e) && !before.has(e));
  const pidOf = (e) => Number(TEST_NAME.exec(e)[1]);
  // The killed group's processes may take a moment to go.
  for (let i = 0; i < 20 && fresh.some((e) => alive(pidOf(e))); i++) await new Promise((r) => setTimeout(r, 100));
  for (const e of fresh) if (!alive(pidOf(e))) rmSync(join('/dev/shm', e), { force: true });
}

/**
 * Run the mutant's test files (TAP) until the first failure, their end, or the deadline.
 * { status: 'killed' | 'survived' | 'timeout', by } — `by` names the first failing test.
 */
function runTests(dir, m, timeoutS) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=tap', ...m.tests], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: the whole run is stopped at the first failure
    });
    let buf = '';
    let by = null;
    const detail = [];
    let timedOut = false;
    const stop = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutS * 1000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        if (by !== null) {
          if (detail.length < 40) detail.push(line);
          continue;
        }
        const f = /^\s*not ok \d+ - (.*)$/.exec(line);
        if (f) {
          by = f[1].replace(/ # .*$/, '');
          setTimeout(stop, 300); // the failure's details follow the line
        }
      }
    });
    child.stderr.resume();
    child.on('close', (code) => {
      clearTimeout(timer);
      if (by !== null) resolve({ status: 'killed', by, log: detail.join('\n') });
      else if (timedOut) resolve({ status: 'timeout', by: `no failure within ${timeoutS} s` });
      else if (code !== 0) resolve({ status: 'killed', by: `node --test exited ${code}` });
      else resolve({ status: 'survived', by: '' });
    });
  });
}

async function runOne(m, files, opts) {
  const started = Date.now();
  const text = readFileSync(join(ROOT, m.file), 'utf8');
  const mutated = applyMutant(text, m);
  if (mutated === null) return { status: 'stale', by: `text found ${occurrences(text, m.find)} times in ${m.file}`, secs: 0 };
  const dir = mkdtempSync(join(tmpdir(), `shmswarm-mutant-${m.id}-`));
  chmodSync(dir, 0o755); // tests run children as another user (uid 65534), who must read the copy
  try {
    scratchCopy(dir, files);
    writeFileSync(join(dir, m.file), mutated);
    const b = build(dir, m);
    if (!b.ok) return { status: 'build-failed', by: b.out.split('\n').pop(), secs: (Date.now() - started) / 1000, log: b.out };
    const before = new Set(readdirSync('/dev/shm'));
    const r = await runTests(dir, m, m.timeoutS ?? opts.timeout);
    await removeLeftovers(before);
    return { ...r, secs: (Date.now() - started) / 1000 };
  } finally {
    if (opts.keep) process.stderr.write(`  kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function pad(s, n) {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgsOrExit('mutants', USAGE, {
    options: {
      only: { type: 'string', multiple: true },
      list: { type: 'boolean' },
      markdown: { type: 'boolean' },
      'update-docs': { type: 'boolean' },
      keep: { type: 'boolean' },
      verbose: { type: 'boolean' },
      timeout: { type: 'string', default: '300' },
    },
  });
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1) usageExit('mutants', USAGE, `--timeout must be a whole number of seconds >= 1, got "${values.timeout}"`);
  let all;
  try {
    all = loadMutants(ROOT);
  } catch (e) {
    process.stderr.write(`mutants: ${e.message}\n`);
    process.exit(1);
  }
  if (values.markdown) {
    process.stdout.write(markdownTable(all) + '\n');
    process.exit(0);
  }
  if (values['update-docs']) {
    const doc = join(ROOT, 'docs', 'RELIABILITY.md');
    const md = readFileSync(doc, 'utf8');
    const start = md.indexOf(TABLE_BEGIN);
    const end = md.indexOf(TABLE_END);
    if (start < 0 || end < start) usageExit('mutants', USAGE, `docs/RELIABILITY.md has no table markers (${TABLE_BEGIN})`);
    writeFileSync(doc, `${md.slice(0, start + TABLE_BEGIN.length)}\n${markdownTable(all)}\n${md.slice(end)}`);
    process.stderr.write(`docs/RELIABILITY.md: table of ${all.length} mutants written\n`);
    process.exit(0);
  }
  const unknown = (values.only ?? []).filter((id) => !all.some((m) => m.id === id));
  if (unknown.length) usageExit('mutants', USAGE, `no mutant ${unknown.join(', ')} (node bench/mutants.js --list shows them)`);
  const chosen = values.only ? all.filter((m) => values.only.includes(m.id)) : all;

  if (values.list) {
    let stale = 0;
    for (const m of chosen) {
      const n = occurrences(readFileSync(join(ROOT, m.file), 'utf8'), m.find);
      if (n !== 1) stale++;
      console.log(`${pad(m.id, 30)} ${pad(m.build, 5)} ${n === 1 ? '' : `STALE (found ${n} times) `}${m.file} -> ${m.tests.join(' ')}`);
      console.log(`${' '.repeat(31)}${m.invariant}`);
    }
    process.exit(stale ? 1 : 0);
  }

  const files = repoFiles();
  const results = [];
  const t0 = Date.now();
  for (const m of chosen) {
    process.stderr.write(`${m.id}: ${m.build === 'none' ? '' : `build ${m.build}, `}${m.tests.join(' ')} …\n`);
    let r;
    try {
      r = await runOne(m, files, { timeout, keep: values.keep });
    } catch (e) {
      r = { status: 'error', by: e.message, secs: 0 };
    }
    if (r.log && (values.verbose || r.status !== 'killed')) process.stderr.write(r.log.replace(/^/gm, '    ') + '\n');
    process.stderr.write(`  ${r.status}${r.by ? `: ${r.by}` : ''} (${r.secs.toFixed(0)} s)\n`);
    results.push({ m, ...r });
  }
  const killed = results.filter((r) => r.status === 'killed').length;
  console.log(`${pad('mutant', 30)} ${pad('result', 12)} ${pad('time', 6)} killed by (first failing test)`);
  for (const r of results) console.log(`${pad(r.m.id, 30)} ${pad(r.status, 12)} ${pad(`${r.secs.toFixed(0)} s`, 6)} ${r.by}`);
  const rate = results.length ? (100 * killed) / results.length : 0;
  console.log(`\nkilled ${killed} of ${results.length} (${rate.toFixed(0)} %) in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  process.exitCode = killed === results.length ? 0 : 1;
}
