// The public C header as C and C++ programs use it: it compiles cleanly in every language mode
// the issue promises, and the C++ examples build from it without warnings.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildExamples, compile } from './build.js';

const IMPL = `#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"
int main(void) {
  shmswarm_segment *s = 0;
  int rc = shmswarm_open("/shmswarm-compile-check", 0, &s);
  if (rc == 0) shmswarm_close(s);
  return rc == 0 ? 0 : (shmswarm_strerror(rc)[0] != 0);
}
`;
// The API exactly as issue 4 lists it: a mismatched signature is a warning (-Werror) in C and an
// error in C++.
const DECLS = `#include "shmswarm.h"
int main(void) {
  int (*create)(const char *, uint64_t, uint32_t, int, const char *, unsigned, shmswarm_segment **) = shmswarm_create;
  int (*open)(const char *, int, shmswarm_segment **) = shmswarm_open;
  uint64_t (*rows)(const shmswarm_segment *) = shmswarm_rows;
  uint32_t (*cols)(const shmswarm_segment *) = shmswarm_cols;
  void *(*data)(shmswarm_segment *) = shmswarm_data;
  int (*write_frame)(shmswarm_segment *, const void *, size_t) = shmswarm_write_frame;
  int (*read_frame)(shmswarm_segment *, void *, size_t, uint64_t *) = shmswarm_read_frame;
  int (*begin_frame)(shmswarm_segment *, void **) = shmswarm_begin_frame;
  int (*end_frame)(shmswarm_segment *) = shmswarm_end_frame;
  int (*lock)(shmswarm_segment *) = shmswarm_lock;
  int (*unlock)(shmswarm_segment *) = shmswarm_unlock;
  int (*close_)(shmswarm_segment *) = shmswarm_close;
  int (*unlink_)(const char *) = shmswarm_unlink;
  const char *(*strerror_)(int) = shmswarm_strerror;
  (void)create; (void)open; (void)rows; (void)cols; (void)data; (void)write_frame; (void)read_frame;
  (void)begin_frame; (void)end_frame; (void)lock; (void)unlock; (void)close_; (void)unlink_; (void)strerror_;
  return SHMSWARM_F32 == 9 && SHMSWARM_F64 == 10 ? 0 : 1;
}
`;

test('shmswarm.h compiles as C99, C11 and C++ with -Wall -Wextra and no warnings, with the issue\'s signatures', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmswarm-hdr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'impl.c'), IMPL);
  writeFileSync(join(dir, 'impl.cpp'), IMPL);
  writeFileSync(join(dir, 'decls.c'), DECLS);
  writeFileSync(join(dir, 'decls.cpp'), DECLS);
  const strict = ['-Wall', '-Wextra', '-Werror', '-O2'];
  const cases = [
    // The implementation uses C11 atomics (<stdatomic.h>), which gcc also accepts in C99 mode.
    ['gcc', ['-std=c99', ...strict], 'impl.c'],
    ['gcc', ['-std=c11', '-pedantic', ...strict], 'impl.c'],
    ['g++', ['-std=c++17', '-pedantic', ...strict], 'impl.cpp'],
    // Code that only includes the declarations (compiled, not linked) is strict ISO C99.
    ['gcc', ['-std=c99', '-pedantic', '-c', ...strict], 'decls.c'],
    ['g++', ['-std=c++11', '-pedantic', '-c', ...strict], 'decls.cpp'],
  ];
  for (const [cc, flags, src] of cases) {
    const r = compile(cc, flags, join(dir, src), join(dir, `${src}.out`));
    assert.equal(r.status, 0, `${cc} ${flags.join(' ')} ${src}:\n${r.stderr}`);
    assert.equal(r.stderr, '', `${cc} ${flags.join(' ')} ${src} printed:\n${r.stderr}`);
  }
});

test('the C++ examples (producer, consumer, seed_writer) build with -Wall -Wextra and no warnings', () => {
  const built = buildExamples();
  assert.equal(built.warnings, '', built.warnings);
});
