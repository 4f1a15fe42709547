// The C core against misuse, seen from Node and the CLI: a second lock from the thread that holds
// it, a zombie writer, field names, names and modes that only a C producer could pass (the
// TypeScript layer refuses them first), and the language the header needs. The C core's own
// cases are in test/native-c/core_test.c; these show what reaches a Node process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { native } from '../../dist/core/binding.js';
import { Segment } from '../../dist/core/index.js';
import { ROOT, SHM_PREFIX, runCli, uniqueName, waitForLine, waitExit } from '../helpers.js';
import { compileWithoutWarnings, lazyHeaderProgram } from '../native-c/build.js';

const include = join(ROOT, 'include');
const dir = mkdtempSync(join(tmpdir(), 'shmswarm-c-misuse-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const haveCc = spawnSync('cc', ['--version']).status === 0;
const haveCxx = spawnSync('c++', ['--version']).status === 0;

const PROGRAM = String.raw`
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* zombie NAME: a child publishes one frame into NAME and is SIGKILLed; this parent does not reap
 * it until stdin closes, so it stays a zombie meanwhile. */
static int zombie(const char *name) {
  shmswarm_segment *s;
  if (shmswarm_create(name, 2, 2, SHMSWARM_F32, "x,y", 0600, &s)) return 2;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    shmswarm_segment *w;
    float f[4] = {1, 2, 3, 4};
    if (shmswarm_open(name, 1, &w) || shmswarm_write_frame(w, f, sizeof f)) _exit(3);
    for (;;) pause();
  }
  shmswarm_state st;
  for (int i = 0; i < 5000 && (shmswarm_get_state(s, &st) || st.frames == 0); i++) usleep(1000);
  kill(pid, SIGKILL);
  siginfo_t si;
  if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0) return 4;
  printf("zombie %d alive %d\n", (int)pid, shmswarm_pid_alive(st.writer_pid, st.writer_start));
  fflush(stdout);
  while (getchar() != EOF) {}
  waitpid(pid, NULL, 0);
  shmswarm_close(s);
  return 0;
}

/* names PREFIX: create PREFIX followed by byte sequences that are not UTF-8. */
static int names(const char *prefix) {
  static const char *bad[] = {"\xff\xfe", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char n[256];
    shmswarm_segment *s = NULL;
    snprintf(n, sizeof n, "%s%s", prefix, bad[i]);
    int rc = shmswarm_create(n, 1, 1, SHMSWARM_F32, NULL, 0600, &s);
    printf("%zu %s %s\n", i, shmswarm_errname(rc) ? shmswarm_errname(rc) : "ok", shmswarm_last_detail());
    if (s) {
      shmswarm_close(s);
      shmswarm_unlink(n);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "zombie")) return zombie(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "names")) return names(argv[2]);
  return 1;
}
`;

const compile = compileWithoutWarnings;

const program = lazyHeaderProgram(dir, 'misuse', PROGRAM, '-O1');

function ramp(t) {
  const name = uniqueName(t);
  const s = Segment.create(name, { rows: 2, fields: ['x', 'y'] });
  t.after(() => s.close());
  s.writeFrame([1, 2, 3, 4]);
  return { name, s };
}

test('lock() then a locking call from the same thread: EDEADLK at once, not the 1 s lock timeout', (t) => {
  const { name, s } = ramp(t);
  const o = Segment.open(name); // a second handle of the same segment, on the same thread
  t.after(() => o.close());
  s.lock();
  const t0 = performance.now();
  assert.throws(() => s.readFrame({ lock: true }), { code: 'EDEADLK', message: /already holds/ });
  assert.throws(() => s.lock(), { code: 'EDEADLK' });
  assert.throws(() => s.writeFrame([5, 6, 7, 8]), { code: 'EDEADLK' });
  assert.throws(() => o.readFrame({ lock: true }), { code: 'EDEADLK' });
  assert.throws(() => o.lock(), { code: 'EDEADLK' });
  const took = performance.now() - t0;
  assert.ok(took < 500, `five refusals took ${took.toFixed(0)} ms; a wait for the lock would take 1000 ms each`);
  assert.deepEqual([...o.readFrame().data], [1, 2, 3, 4], 'lock-free reads need no lock');
  s.unlock();
  const f = s.readFrame({ lock: true });
  assert.equal(f.locked, true);
  assert.deepEqual([...f.data], [1, 2, 3, 4]);
});

test('beginFrame then a lock from the same thread (another handle): EDEADLK at once', (t) => {
  const { name, s } = ramp(t);
  const o = Segment.open(name);
  t.after(() => o.close());
  const view = s.beginFrame();
  const t0 = performance.now();
  assert.throws(() => o.lock(), { code: 'EDEADLK' });
  assert.throws(() => o.writeFrame([0, 0, 0, 0]), { code: 'EDEADLK' });
  assert.throws(() => o.readFrame({ lock: true }), { code: 'EDEADLK' });
  assert.ok(performance.now() - t0 < 500);
  view.set([9, 9, 9, 9]);
  s.endFrame();
  assert.deepEqual([...o.readFrame({ lock: true }).data], [9, 9, 9, 9]);
});

test('a locking read on a worker thread still waits for the holding thread to unlock', async (t) => {
  const { s } = ramp(t);
  s.lock();
  const pending = s.readFrameAsync({ lock: true, timeoutMs: 5000 });
  setTimeout(() => s.unlock(), 50);
  const f = await pending;
  assert.equal(f.locked, true);
  assert.deepEqual([...f.data], [1, 2, 3, 4]);
});

test('a writer killed but not yet reaped (a zombie) is not alive: info, pidAlive and the CLI', { skip: !haveCc && 'no C compiler' }, async (t) => {
  const name = uniqueName(t);
  const child = spawn(program(), ['zombie', name], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const line = await waitForLine(child, /^zombie /);
  const [, pid, alive] = /^zombie (\d+) alive (\d)/.exec(line).map(Number);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  assert.equal(stat.slice(stat.lastIndexOf(')') + 2)[0], 'Z', 'the writer is a zombie while its parent does not reap it');
  assert.equal(alive, 0, 'shmswarm_pid_alive in the C parent');
  assert.equal(native().pidAlive(pid), false);
  const seg = Segment.open(name, { readonly: true });
  const i = seg.info();
  seg.close();
  assert.equal(i.writerPid, pid);
  assert.equal(i.writerAlive, false);
  const r = runCli(['info', name, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).writerAlive, false);
  child.stdin.end();
  const done = await waitExit(child);
  assert.equal(done.code, 0, done.stderr);
});

test('the C layer refuses field names the TypeScript API refuses: spaces at the ends, duplicates, the empty string', (t) => {
  const name = uniqueName(t);
  const H = native().SegmentHandle;
  for (const fields of ['x, y', ' x,y', 'x ,y', 'x,y ', 'x,x', 'a,b,a', '']) {
    const cols = fields.split(',').length;
    assert.throws(() => Segment.create(name, { rows: 1, fields }), TypeError, JSON.stringify(fields));
    assert.throws(() => H.create(name, 1, cols, 9, fields, 0o600), { code: 'EINVAL', syscall: 'fields' }, JSON.stringify(fields));
  }
  assert.throws(() => H.create(name, 1, 2, 9, 'x,x', 0o600), { message: /"x" appears twice/ });
  assert.throws(() => H.open(name, false), { code: 'ENOENT' }, 'nothing was left behind');
  const ok = H.create(name, 1, 2, 9, 'pos x,pos y', 0o600); // spaces inside a name are fine
  assert.equal(ok.layout().fields, 'pos x,pos y');
  ok.close();
});

test('the C layer refuses setuid, setgid and sticky bits, as the TypeScript API does', (t) => {
  const name = uniqueName(t);
  const H = native().SegmentHandle;
  for (const mode of [0o4755, 0o2770, 0o1777]) {
    assert.throws(() => Segment.create(name, { rows: 1, cols: 1, mode }), RangeError, mode.toString(8));
    assert.throws(() => H.create(name, 1, 1, 9, null, mode), { code: 'EINVAL', syscall: 'mode', message: /beyond 0777/ }, mode.toString(8));
  }
  assert.throws(() => H.open(name, false), { code: 'ENOENT' }, 'nothing was left behind');
  const s = Segment.create(name, { rows: 1, cols: 1, mode: 0o777 });
  assert.equal(s.info().mode, 0o777);
  s.close();
});

test('an unknown read mode is EINVAL from the C layer, not an automatic read', (t) => {
  const name = uniqueName(t);
  const h = native().SegmentHandle.create(name, 1, 2, 9, null, 0o600);
  t.after(() => h.close());
  assert.throws(() => h.readFrame(new Float32Array(2), 99, -1, new Float64Array(6)), { code: 'EINVAL', message: /read mode 99/ });
  h.readFrame(new Float32Array(2), 0, -1, new Float64Array(6));
});

test('C create refuses names that are not UTF-8, so nothing appears that no command could open or remove', { skip: !haveCc && 'no C compiler' }, () => {
  const prefix = `/${SHM_PREFIX}utf8-`;
  const r = spawnSync(program(), ['names', prefix], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 6);
  for (const l of lines) assert.match(l, /^\d+ EINVAL a segment name is valid UTF-8/);
  const left = readdirSync('/dev/shm', { encoding: 'buffer' }).filter((b) => b.toString('latin1').startsWith(prefix.slice(1)));
  assert.deepEqual(left, []);
});

test('the header builds as C11, C17, C++11 and C++17 (-Wall -Wextra -Wpedantic -Werror, two translation units)', { skip: !(haveCc && haveCxx) && 'no C or C++ compiler' }, () => {
  const user = '#include <stdio.h>\n#include "shmswarm.h"\nint main(void) { printf("%u\\n", shmswarm_dtype_size(SHMSWARM_F64)); return 0; }\n';
  const impl = '#define SHMSWARM_IMPLEMENTATION\n#include "shmswarm.h"\n';
  for (const [cc, std, ext] of [['cc', 'c11', 'c'], ['cc', 'c17', 'c'], ['c++', 'c++11', 'cc'], ['c++', 'c++17', 'cc']]) {
    const flags = [`-std=${std}`, '-Wall', '-Wextra', '-Wpedantic', '-Werror', '-I', include];
    writeFileSync(join(dir, `impl.${ext}`), impl);
    writeFileSync(join(dir, `user.${ext}`), user);
    compile(cc, [...flags, '-c', join(dir, `impl.${ext}`), '-o', join(dir, `impl-${std}.o`)]);
    compile(cc, [...flags, '-c', join(dir, `user.${ext}`), '-o', join(dir, `user-${std}.o`)]);
    const out = join(dir, `prog-${std}`);
    compile(cc, [join(dir, `impl-${std}.o`), join(dir, `user-${std}.o`), '-o', out, '-lpthread']);
    const run = spawnSync(out, { encoding: 'utf8' });
    assert.equal(run.stdout, '8\n', std);
  }
});
