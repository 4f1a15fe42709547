// include/shmswarm.h as C and C++ programs use it (the bridge ships it to openFrameworks users):
// it compiles warning-free on its own, and a C process and a Node process share segments both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segment } from '../../dist/core/index.js';
import { ROOT, uniqueName } from '../helpers.js';
import { compileWithoutWarnings, lazyHeaderProgram } from '../native-c/build.js';

const PROGRAM = String.raw`
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc) {
  printf("error %s %s %s\n", what, shmswarm_errname(rc) ? shmswarm_errname(rc) : "?", shmswarm_strerror(rc));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  shmswarm_segment *s;
  int rc;
  if (strcmp(argv[1], "write") == 0) { /* write NAME FRAMES: frame k holds 10k + i */
    if ((rc = shmswarm_create(argv[2], 3, 2, SHMSWARM_F32, "x,y", 0600, &s))) return fail("create", rc);
    for (int k = 1; k <= atoi(argv[3]); k++) {
      float *m;
      if ((rc = shmswarm_begin_frame(s, (void **)&m))) return fail("begin", rc);
      for (int i = 0; i < 6; i++) m[i] = 10.0f * k + i;
      if ((rc = shmswarm_end_frame(s))) return fail("end", rc);
    }
    printf("rows %llu cols %u fields %.*s\n", (unsigned long long)shmswarm_rows(s), shmswarm_cols(s),
           (int)shmswarm_get_layout(s)->fields_len, shmswarm_fields(s));
    return shmswarm_close(s);
  }
  if (strcmp(argv[1], "read") == 0) { /* read NAME: print the sequence and the frame */
    if ((rc = shmswarm_open(argv[2], 0, &s))) return fail("open", rc);
    const shmswarm_layout *L = shmswarm_get_layout(s);
    double out[64];
    uint64_t seq;
    if (L->dtype != SHMSWARM_F64 || L->data_bytes > sizeof out) return fail("shape", -22);
    if ((rc = shmswarm_read_frame(s, out, (size_t)L->data_bytes, &seq))) return fail("read", rc);
    printf("seq %llu rows %llu cols %u:", (unsigned long long)seq, (unsigned long long)L->rows, L->cols);
    for (uint64_t i = 0; i < L->rows * L->cols; i++) printf(" %g", out[i]);
    printf("\n");
    shmswarm_close(s);
    return 0;
  }
  if (strcmp(argv[1], "open") == 0) { /* open NAME: the error a C program gets */
    rc = shmswarm_open(argv[2], 1, &s);
    if (rc) { printf("%s %s\n", shmswarm_errname(rc), shmswarm_last_detail()); return 0; }
    shmswarm_close(s);
    printf("ok\n");
    return 0;
  }
  return 2;
}
`;

const dir = mkdtempSync(join(tmpdir(), 'shmswarm-header-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const include = join(ROOT, 'include');
const haveCc = spawnSync('cc', ['--version']).status === 0;

const compile = compileWithoutWarnings;

const program = lazyHeaderProgram(dir, 'prog', PROGRAM);
const run = (...args) => spawnSync(program(), args, { encoding: 'utf8', timeout: 20_000 });

test('the header compiles as C11 and as C++17 with -Wall -Wextra -Werror', { skip: !haveCc && 'no C compiler' }, () => {
  program();
  writeFileSync(join(dir, 'impl.cc'), '#define SHMSWARM_IMPLEMENTATION\n#include "shmswarm.h"\n');
  compile('c++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', include, '-c', join(dir, 'impl.cc'), '-o', join(dir, 'impl.o')]);
  writeFileSync(join(dir, 'user.c'), '#include "shmswarm.h"\nint f(void) { return (int)shmswarm_dtype_size(SHMSWARM_F32); }\n');
  compile('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', '-I', include, '-c', join(dir, 'user.c'), '-o', join(dir, 'user.o')]);
});

test('a C writer (begin/end_frame) and a Node reader share a segment', { skip: !haveCc && 'no C compiler' }, (t) => {
  const name = uniqueName(t);
  const r = run('write', name, '5');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.trim(), 'rows 3 cols 2 fields x,y');
  const seg = Segment.open(name, { readonly: true });
  t.after(() => seg.close());
  const i = seg.info();
  assert.equal(i.kind, 'shmswarm');
  assert.deepEqual(i.fields, ['x', 'y']);
  assert.equal(i.frames, 5);
  assert.equal(i.sequence, 10);
  assert.equal(i.writerAlive, false, 'the C writer has exited');
  assert.equal(i.mode, 0o600);
  assert.deepEqual([...seg.readFrame().data], [50, 51, 52, 53, 54, 55]);
});

test('a Node writer and a C reader share a segment', { skip: !haveCc && 'no C compiler' }, (t) => {
  const name = uniqueName(t);
  const seg = Segment.create(name, { rows: 2, fields: ['a', 'b', 'c'], dtype: 'f64' });
  t.after(() => seg.close());
  seg.writeFrame([0.5, 1, 2, 3, 4, -5]);
  const r = run('read', name);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.trim(), 'seq 2 rows 2 cols 3: 0.5 1 2 3 4 -5');
});

test('C programs get the same error codes as Node', { skip: !haveCc && 'no C compiler' }, (t) => {
  const name = uniqueName(t);
  assert.match(run('open', name).stdout, /^ENOENT /);
  writeFileSync('/dev/shm' + name, Buffer.alloc(100, 0xab));
  assert.match(run('open', name).stdout, /^EBADMAGIC magic 0xabababab/);
  assert.match(run('open', '/a/b').stdout, /^EINVAL /);
  assert.match(run('open', '/' + 'a'.repeat(256)).stdout, /^ENAMETOOLONG /);
});
