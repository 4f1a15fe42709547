// The CLI starts as one CommonJS bundle (scripts/bundle-cli.mjs): Node's ES module loader costs
// about 30 ms of start-up on this kind of machine. No timing here: these tests check the
// structure that buys the time, and that the bundle is the code in dist/.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segment } from '../../dist/core/index.js';
import { BIN, ROOT, uniqueName } from '../helpers.js';

// Preloaded into the CLI process: reports, at exit, whether Node loaded the internal module that
// runs ES modules (process.moduleLoadList records its internal modules). Loading the addon pulls
// in a few ES module utilities; only a real ES module graph needs module_job.
const dir = mkdtempSync(join(tmpdir(), 'shmswarm-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const REPORTER = join(dir, 'report-esm.cjs');
writeFileSync(
  REPORTER,
  "process.on('exit', () => process.stderr.write('ESM:' + process.moduleLoadList.filter((m) => m.endsWith('/esm/module_job')).length + '\\n'));\n",
);

function runReported(args, env = {}) {
  const r = spawnSync(process.execPath, ['-r', REPORTER, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 30_000,
  });
  const m = /ESM:(\d+)\n$/.exec(r.stderr);
  assert.ok(m, `no report from the CLI process: ${r.stderr}`);
  return { status: r.status, stdout: r.stdout, esModuleJobs: Number(m[1]) };
}

test('info, dump, list and --version run no ES module', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 3, fields: 'x,y' });
  t.after(() => seg.close());
  seg.writeFrame([1, 2, 3, 4, 5, 6]);
  for (const args of [['info', name], ['dump', name, '--csv'], ['dump', name, '--table'], ['list'], ['--version']]) {
    const r = runReported(args);
    assert.equal(r.status, 0, args.join(' '));
    assert.equal(r.esModuleJobs, 0, `shmswarm ${args.join(' ')} ran ES modules`);
  }
  // The reporter itself can see the loader: a CLI run the old way (ES modules) loads it.
  const esm = spawnSync(process.execPath, ['-r', REPORTER, '--input-type=module', '-e', `await import(${JSON.stringify(join(ROOT, 'dist/cli/index.js'))})`], {
    encoding: 'utf8',
  });
  assert.match(esm.stderr, /ESM:[1-9]/);
});

test('colour still works from the bundle (chalk is bundled, loaded only when colouring)', () => {
  const r = spawnSync(process.execPath, [BIN, 'info', '/shmswarm-startup-no-such-segment'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '1' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^\x1b\[31mshmswarm:\x1b\[39m segment \/shmswarm-startup-no-such-segment/);
});

test('a big frame is formatted by a worker started from a file that exists (the bundle lives elsewhere)', async (t) => {
  const { PARALLEL_MIN_VALUES } = await import('../../dist/core/format-parallel.js');
  const name = uniqueName(t);
  const rows = Math.ceil(PARALLEL_MIN_VALUES / 4);
  const seg = Segment.create(name, { rows, fields: 'a,b,c,d' });
  t.after(() => seg.close());
  seg.writeFrame(Float32Array.from({ length: rows * 4 }, (_, i) => i / 7));
  const spy = join(dir, 'report-workers.cjs');
  writeFileSync(
    spy,
    `const wt = require('node:worker_threads');
const { existsSync } = require('node:fs');
const { fileURLToPath } = require('node:url');
const seen = [];
wt.Worker = class extends wt.Worker {
  constructor(file, options) {
    const path = file instanceof URL ? fileURLToPath(file) : String(file);
    seen.push({ path, exists: existsSync(path), errors: [] });
    super(file, options);
    const mine = seen[seen.length - 1];
    this.on('error', (e) => mine.errors.push(e.message));
  }
};
process.on('exit', () => process.stderr.write('WORKERS:' + JSON.stringify(seen) + '\\n'));
`,
  );
  const r = spawnSync(process.execPath, ['-r', spy, BIN, 'dump', name, '--csv'], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const workers = JSON.parse(/WORKERS:(.*)\n$/.exec(r.stderr)[1]);
  assert.ok(workers.length >= 1, 'no formatting worker started');
  for (const w of workers) assert.deepEqual(w, { path: join(ROOT, 'dist', 'core', 'format-worker.js'), exists: true, errors: [] });
});

test('the bundle runs in strict mode, as the ES modules it was made from do', () => {
  // A directive counts only as the first statement of the file.
  assert.match(readFileSync(join(ROOT, 'dist', 'cli', 'shmswarm.cjs'), 'utf8'), /^"use strict";\n/);
});

test('without a built CLI, bin/shmswarm says so in one line and exits 1', () => {
  const bin = join(dir, 'unbuilt', 'bin');
  mkdirSync(bin, { recursive: true });
  for (const f of ['shmswarm', 'package.json']) copyFileSync(join(ROOT, 'bin', f), join(bin, f));
  const r = spawnSync(process.execPath, [join(bin, 'shmswarm'), '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^shmswarm: cannot load the CLI \(Cannot find module '[^']*\/dist\/cli\/index\.js'[^\n]*\); run npm ci to build it\n$/);
});

/** A copy of the package's bin/ and dist/ (without `drop`), using this checkout's node_modules and build. */
function packageCopy(label, drop) {
  const pkg = join(dir, label);
  for (const d of ['bin', 'dist']) cpSync(join(ROOT, d), join(pkg, d), { recursive: true, filter: (p) => p !== join(ROOT, drop) });
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  if (drop !== 'build') symlinkSync(join(ROOT, 'build'), join(pkg, 'build'));
  return pkg;
}

test('without the bundle (esbuild could not run), bin/shmswarm runs the CLI from dist/ as ES modules', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, fields: 'x,y' });
  t.after(() => seg.close());
  seg.writeFrame([1.5, 2, 3, 4]);
  const pkg = packageCopy('no-bundle', join('dist', 'cli', 'shmswarm.cjs'));
  const r = spawnSync(process.execPath, ['-r', REPORTER, join(pkg, 'bin', 'shmswarm'), 'dump', name, '--csv'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'x,y\n1.5,2\n3,4\n');
  assert.match(r.stderr, /^ESM:[1-9]\d*\n$/);
});

test('scripts/bundle-cli.mjs: a missing esbuild binary is a warning, a build error fails; neither leaves a bundle', () => {
  for (const [label, thrown, status, stderr] of [
    ['no-binary', "new Error('The package \"@esbuild/linux-x64\" could not be found, and is needed by esbuild.\\n\\nmore')", 0,
      /^bundle-cli: the CLI was not bundled \(The package "@esbuild\/linux-x64" could not be found, and is needed by esbuild\.\); it runs from dist\/ as ES modules, about 30 ms slower to start\n$/],
    ['build-error', "Object.assign(new Error('Build failed with 1 error'), { errors: [{ text: 'x' }] })", 1, /^$/],
  ]) {
    const root = join(dir, `bundle-${label}`);
    mkdirSync(join(root, 'node_modules', 'esbuild'), { recursive: true });
    mkdirSync(join(root, 'scripts'));
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'esbuild', 'package.json'), '{ "name": "esbuild", "type": "module", "main": "index.js" }');
    writeFileSync(join(root, 'node_modules', 'esbuild', 'index.js'), `export async function build() { throw ${thrown}; }\n`);
    copyFileSync(join(ROOT, 'scripts', 'bundle-cli.mjs'), join(root, 'scripts', 'bundle-cli.mjs'));
    writeFileSync(join(root, 'dist', 'cli', 'shmswarm.cjs'), '// an older bundle\n');
    const r = spawnSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, status, `${label}: ${r.stderr}`);
    assert.match(r.stderr, stderr, label);
    assert.deepEqual(readdirSync(join(root, 'dist', 'cli')), [], `${label}: the older bundle was left`);
  }
});

test('without the addon, list, info and dump say it is not built (list showed no segments)', (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, fields: 'x' });
  t.after(() => seg.close());
  // A clone builds with its scripts; a dependency installed with --ignore-scripts is rebuilt by npm.
  for (const [label, advice] of [['no-addon', 'run npm run build \\(or npm ci\\)'], ['app/node_modules/shmswarm', 'run npm rebuild shmswarm']]) {
    const pkg = packageCopy(label, 'build');
    for (const args of [['list'], ['list', '--json'], ['info', name], ['dump', name]]) {
      const r = spawnSync(process.execPath, [join(pkg, 'bin', 'shmswarm'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, new RegExp(`^shmswarm: the native addon is not built \\(.*\\); ${advice}; it needs cmake and a C\\+\\+ compiler\\n$`), `${label}: ${args.join(' ')}`);
    }
    // The library says the same, as a ShmswarmError with a code like every other failure.
    const lib = spawnSync(process.execPath, ['--input-type=module', '-e', `import { Segment } from ${JSON.stringify(join(pkg, 'dist', 'core', 'index.js'))};
try { Segment.open(${JSON.stringify(name)}); } catch (e) { console.log(e.name, e.code); }`], { encoding: 'utf8' });
    assert.equal(lib.stdout, 'ShmswarmError ENOADDON\n', lib.stderr);
  }
});

test('the CLI bundle is not older than the compiled files it was built from (npm run build:ts)', () => {
  const bundle = join(ROOT, 'dist', 'cli', 'shmswarm.cjs');
  const built = statSync(bundle).mtimeMs;
  const stale = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.js') && statSync(p).mtimeMs > built) stale.push(p);
    }
  };
  walk(join(ROOT, 'dist'));
  assert.deepEqual(stale, [], 'dist/ changed after the bundle was made: run npm run build:ts');
});
