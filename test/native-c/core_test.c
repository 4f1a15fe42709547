/* The C core's own tests, meant to run under AddressSanitizer and UndefinedBehaviorSanitizer
 * (npm run test:native:asan). Real segments in /dev/shm, real child processes (fork) for the
 * failure modes; header images are copied into buffers of exactly the size under test, so any
 * read past them is an ASan report rather than luck. Prints TAP; exits 1 on any failure. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <sys/wait.h>
#include <time.h>

static int failures, counter;
static char name[64];

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      printf("#   %s:%d: CHECK(%s) failed (last detail: %s)\n", __FILE__, __LINE__, #cond, \
             shmswarm_last_detail());                                                \
      failed = 1;                                                                    \
    }                                                                                \
  } while (0)

static void report(int failed, const char *what) {
  printf("%s %d - %s\n", failed ? "not ok" : "ok", ++counter, what);
  if (failed) failures++;
  shm_unlink(name);
}

static shmswarm_segment *make(int rows, int cols) {
  shmswarm_segment *s = NULL;
  shm_unlink(name);
  int rc = shmswarm_create(name, (uint64_t)rows, (uint32_t)cols, SHMSWARM_F32, NULL, 0600, &s);
  if (rc) {
    printf("# create: %s (%s)\n", shmswarm_strerror(rc), shmswarm_last_detail());
    exit(1);
  }
  return s;
}

static int run_child(void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

static void child_die_mid_frame(void) {
  shmswarm_segment *s;
  if (shmswarm_open(name, 1, &s)) _exit(3);
  float *m;
  if (shmswarm_begin_frame(s, (void **)&m)) _exit(4);
  m[0] = -1.0f;
  _exit(0); /* holding the lock, sequence odd */
}

static void child_skip_repair(void) {
  shmswarm_segment *s;
  if (shmswarm_open(name, 1, &s)) _exit(3);
  if (pthread_mutex_lock(&s->blk->mutex.m) != EOWNERDEAD) _exit(4);
  pthread_mutex_unlock(&s->blk->mutex.m);
  _exit(0);
}

static void child_unmap_and_die(void) {
  shmswarm_segment *s;
  if (shmswarm_open(name, 1, &s)) _exit(3);
  if (shmswarm_lock(s)) _exit(4);
  munmap(s->base, s->map_size);
  _exit(0);
}

static void test_round_trip(void) {
  int failed = 0;
  shmswarm_segment *s = make(100, 3);
  float in[300], out[300];
  for (int i = 0; i < 300; i++) in[i] = (float)i;
  CHECK(shmswarm_write_frame(s, in, sizeof in) == 0);
  shmswarm_segment *r;
  CHECK(shmswarm_open(name, 0, &r) == 0);
  uint64_t seq = 0;
  CHECK(shmswarm_read_frame(r, out, sizeof out, &seq) == 0);
  CHECK(seq == 2);
  CHECK(memcmp(in, out, sizeof in) == 0);
  CHECK(shmswarm_read_frame(r, out, sizeof out - 4, &seq) == -EINVAL);
  CHECK(shmswarm_wait(r, seq, 10000000, NULL) == -ETIMEDOUT);
  shmswarm_close(r);
  shmswarm_close(s);
  report(failed, "round trip: create, write, open, read, wait times out");
}

static void test_validate_exact_buffers(void) {
  int failed = 0;
  shmswarm_segment *s = make(7, 3);
  size_t size = s->map_size;
  uint8_t *image = (uint8_t *)malloc(size);
  memcpy(image, s->base, size);
  shmswarm_close(s);
  shmswarm_layout lay, full;
  CHECK(shmswarm_validate(image, size, &full) == 0);
  /* Every prefix: a buffer of exactly k bytes, so reading byte k is an ASan error. */
  for (size_t k = 0; k <= size; k++) {
    uint8_t *b = (uint8_t *)malloc(k ? k : 1);
    memcpy(b, image, k);
    int rc = shmswarm_validate(b, k, &lay);
    /* A prefix that ends before the block magic is a valid plain WA-1 object (Julia allows
     * trailing bytes); past the magic, a short object is refused. */
    if (k == size) CHECK(rc == 0 && lay.kind == SHMSWARM_KIND_SHMSWARM);
    else if (rc == 0) CHECK(lay.kind == SHMSWARM_KIND_WA1 && lay.total_size <= k && k < full.block_offset + 8);
    free(b);
  }
  /* Every byte mutated four ways in an exact-size copy. */
  uint8_t *b = (uint8_t *)malloc(size);
  for (size_t o = 0; o < size; o++) {
    static const int how[4] = {0x01, 0x80, 0x100, 0x1ff};
    for (int h = 0; h < 4; h++) {
      memcpy(b, image, size);
      b[o] = how[h] == 0x100 ? 0 : how[h] == 0x1ff ? 0xff : (uint8_t)(b[o] ^ how[h]);
      int rc = shmswarm_validate(b, size, &lay);
      if (rc == 0) CHECK(lay.total_size <= size && lay.data_offset + lay.data_bytes <= size);
    }
  }
  free(b);
  free(image);
  report(failed, "validate: every prefix and every byte mutated, in exact-size buffers");
}

static void test_names(void) {
  int failed = 0;
  shmswarm_segment *s = NULL;
  char longname[300];
  longname[0] = '/';
  memset(longname + 1, 'a', 256);
  longname[257] = 0;
  /* glibc's shm_open refuses most of these too (EINVAL, ENAMETOOLONG): the failing call must be
   * shmswarm's own name check, not the system's. */
#define REFUSED_BY_US(call, code) (call) == (code) && strcmp(shmswarm_last_syscall(), "name") == 0
  CHECK(REFUSED_BY_US(shmswarm_open("noslash", 0, &s), -EINVAL));
  CHECK(REFUSED_BY_US(shmswarm_open("/a/b", 0, &s), -EINVAL));
  CHECK(REFUSED_BY_US(shmswarm_open("/", 0, &s), -EINVAL));
  CHECK(REFUSED_BY_US(shmswarm_open("/..", 0, &s), -EINVAL));
  CHECK(REFUSED_BY_US(shmswarm_open(longname, 0, &s), -ENAMETOOLONG));
  CHECK(REFUSED_BY_US(shmswarm_unlink("/a/b"), -EINVAL));
  CHECK(REFUSED_BY_US(shmswarm_create("/a/b", 1, 1, SHMSWARM_F32, NULL, 0600, &s), -EINVAL));
#undef REFUSED_BY_US
  CHECK(shmswarm_create(name, 1, 2, SHMSWARM_F32, "x,", 0600, &s) == -EINVAL);
  CHECK(shmswarm_create(name, 1, 2, 99, NULL, 0600, &s) == -EINVAL);
  CHECK(s == NULL);
  CHECK(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT); /* nothing left behind */
  report(failed, "names and arguments: refused before anything is created");
}

static void test_writer_killed_mid_frame(void) {
  int failed = 0;
  shmswarm_segment *s = make(16, 2);
  float f[32];
  for (int i = 0; i < 32; i++) f[i] = 7.0f;
  CHECK(shmswarm_write_frame(s, f, sizeof f) == 0);
  int st = run_child(child_die_mid_frame);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  shmswarm_frame_info info;
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, SHMSWARM_READ_AUTO, UINT64_MAX, &info) == 0);
  CHECK(info.flags & SHMSWARM_FRAME_TORN);
  CHECK(info.flags & SHMSWARM_FRAME_RECOVERED);
  CHECK(f[0] == -1.0f && f[31] == 7.0f);
  CHECK(shmswarm_write_frame(s, f, sizeof f) == 0);
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, SHMSWARM_READ_AUTO, UINT64_MAX, &info) == 0);
  CHECK(!(info.flags & SHMSWARM_FRAME_TORN));
  shmswarm_close(s);
  report(failed, "writer killed mid-frame: torn and recovered, next write clears it");
}

static void test_not_recoverable(void) {
  int failed = 0;
  shmswarm_segment *s = make(4, 2);
  CHECK(WEXITSTATUS(run_child(child_die_mid_frame)) == 0);
  CHECK(WEXITSTATUS(run_child(child_skip_repair)) == 0);
  float f[8] = {0};
  /* Repeatedly, with and without a timeout: glibc's trylock must not leave the word held. */
  for (int i = 0; i < 3; i++) {
    CHECK(shmswarm_lock_ex(s, 0, NULL) == -ENOTRECOVERABLE);
    CHECK(shmswarm_lock_ex(s, 50000000, NULL) == -ENOTRECOVERABLE);
    CHECK(strstr(shmswarm_last_detail(), "re-create") != NULL);
    CHECK(shmswarm_write_frame(s, f, sizeof f) == -ENOTRECOVERABLE);
    CHECK(shmswarm_read_frame_ex(s, f, sizeof f, SHMSWARM_READ_LOCK, UINT64_MAX, NULL) == -ENOTRECOVERABLE);
  }
  shmswarm_close(s);
  report(failed, "ENOTRECOVERABLE: reported every time with a re-create hint, never a timeout");
}

static void test_unmap_and_die(void) {
  int failed = 0;
  shmswarm_segment *s = make(4, 2);
  CHECK(WEXITSTATUS(run_child(child_unmap_and_die)) == 0);
  shmswarm_set_timeout(s, 50000000);
  float f[8] = {0};
  CHECK(shmswarm_lock(s) == -ETIMEDOUT);
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, SHMSWARM_READ_LOCK, UINT64_MAX, NULL) == -ETIMEDOUT);
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, SHMSWARM_READ_NOLOCK, UINT64_MAX, NULL) == 0);
  shmswarm_close(s);
  report(failed, "lock holder unmapped and died: ETIMEDOUT, lock-free reads still work");
}

static void test_shrunk(void) {
  int failed = 0;
  shmswarm_segment *s = make(4096, 4);
  shmswarm_segment *r;
  CHECK(shmswarm_open(name, 0, &r) == 0);
  CHECK(ftruncate(s->fd, 0) == 0);
  static float f[4096 * 4];
  shmswarm_state st;
  CHECK(shmswarm_read_frame(r, f, sizeof f, NULL) == SHMSWARM_EBUS);
  CHECK(shmswarm_get_state(r, &st) == SHMSWARM_EBUS);
  CHECK(shmswarm_write_frame(s, f, sizeof f) == SHMSWARM_EBUS);
  CHECK(shmswarm_wait(r, 0, 1000000, NULL) == SHMSWARM_EBUS);
  shmswarm_close(r);
  shmswarm_close(s);
  report(failed, "shrunk under a reader and a writer: EBUS, no SIGBUS");
}

static void test_foreign_owner(void) {
  int failed = 0;
  if (geteuid() != 0) {
    printf("ok %d - foreign owner # SKIP needs root to chown\n", ++counter);
    return;
  }
  shmswarm_segment *s = make(2, 2), *o = NULL;
  CHECK(fchown(s->fd, 65534, 65534) == 0);
  CHECK(shmswarm_open(name, 1, &o) == -EPERM);
  CHECK(strstr(shmswarm_last_detail(), "owned by uid 65534") != NULL);
  CHECK(shmswarm_open(name, 0, &o) == 0);
  shmswarm_close(o);
  CHECK(fchown(s->fd, 65534, getegid()) == 0 && fchmod(s->fd, 0660) == 0);
  CHECK(shmswarm_open(name, 1, &o) == 0); /* shared with our group for writing */
  shmswarm_close(o);
  CHECK(fchmod(s->fd, 0666) == 0);
  CHECK(shmswarm_open(name, 1, &o) == -EPERM); /* world-writable and not ours */
  shmswarm_close(s);
  report(failed, "foreign owner: writing refused unless group-shared, reading allowed");
}

static void test_symlink_and_exclusive(void) {
  int failed = 0;
  shmswarm_segment *s = make(2, 2), *o = NULL;
  char link[80], path[100], lpath[100];
  snprintf(link, sizeof link, "%s-link", name);
  snprintf(path, sizeof path, "/dev/shm%s", name);
  snprintf(lpath, sizeof lpath, "/dev/shm%s", link);
  unlink(lpath);
  CHECK(symlink(path, lpath) == 0);
  CHECK(shmswarm_open(link, 0, &o) == -ELOOP);
  CHECK(shmswarm_create(link, 2, 2, SHMSWARM_F32, NULL, 0600, &o) == -EEXIST);
  CHECK(shmswarm_create(name, 2, 2, SHMSWARM_F32, NULL, 0600, &o) == -EEXIST);
  unlink(lpath);
  /* The refused create must not have unlinked the name it did not make. */
  CHECK(shmswarm_open(name, 0, &o) == 0);
  shmswarm_close(o);
  shmswarm_close(s);
  report(failed, "symlinks refused; create is exclusive and never removes what it did not make");
}

/* ---- format 2: several slots ---- */
static shmswarm_segment *make_slots(int rows, int cols, uint32_t slots) {
  shmswarm_segment *s = NULL;
  shmswarm_create_options o = {0};
  o.slots = slots;
  shm_unlink(name);
  int rc = shmswarm_create_ex(name, (uint64_t)rows, (uint32_t)cols, SHMSWARM_F32, NULL, 0600, &o, &s);
  if (rc) {
    printf("# create_ex: %s (%s)\n", shmswarm_strerror(rc), shmswarm_last_detail());
    exit(1);
  }
  return s;
}

static void child_die_mid_frame_slots(void) {
  shmswarm_segment *s;
  if (shmswarm_open(name, 1, &s)) _exit(3);
  float *m;
  if (shmswarm_begin_frame(s, (void **)&m)) _exit(4);
  for (int i = 0; i < 32; i++) m[i] = -1.0f; /* a whole "bad" frame, but never published */
  _exit(0); /* holding the lock, sequence odd */
}

static void test_slots_layout_and_protocol(void) {
  int failed = 0;
  shmswarm_segment *s = make_slots(8, 4, 3), *r = NULL;
  const shmswarm_layout *L = shmswarm_get_layout(s);
  int16_t nd;
  int64_t dims[3];
  memcpy(&nd, s->base + 6, 2);
  memcpy(dims, s->base + 16, 24);
  CHECK(nd == 3 && dims[0] == 4 && dims[1] == 8 && dims[2] == 3);
  CHECK(L->version == 2 && L->slots == 3 && L->rows == 8 && L->data_bytes == 128);
  CHECK(L->block_offset == 64 + 3 * 128 && L->total_size == L->block_offset + 512);
  CHECK(shmswarm_slots(s) == 3 && s->blk->version == 2 && s->blk->slots == 3);
  float f[32], g[32];
  for (int n = 1; n <= 7; n++) {
    for (int i = 0; i < 32; i++) f[i] = (float)n;
    CHECK(shmswarm_write_frame(s, f, sizeof f) == 0);
    float *slot = (float *)((uint8_t *)shmswarm_data(s) + (n % 3) * 128);
    CHECK(slot[0] == (float)n && slot[31] == (float)n); /* frame n in slot n % 3 */
  }
  CHECK(*(float *)shmswarm_frame_data(s) == 7.0f);
  CHECK(shmswarm_open(name, 0, &r) == 0);
  shmswarm_frame_info info;
  CHECK(shmswarm_read_frame_ex(r, g, sizeof g, SHMSWARM_READ_NOLOCK, UINT64_MAX, &info) == 0);
  CHECK(info.sequence == 14 && g[0] == 7.0f && g[31] == 7.0f && !(info.flags & SHMSWARM_FRAME_LOCKED));
  CHECK(shmswarm_read_frame_ex(r, g, sizeof g, SHMSWARM_READ_NOLOCK, 14, &info) == 0);
  CHECK(info.flags & SHMSWARM_FRAME_UNCHANGED);
  /* A writer dies inside frame 8: lock-free readers still get frame 7, without any lock. */
  CHECK(WEXITSTATUS(run_child(child_die_mid_frame_slots)) == 0);
  CHECK(s->blk->seq == 15);
  CHECK(shmswarm_read_frame_ex(r, g, sizeof g, SHMSWARM_READ_NOLOCK, UINT64_MAX, &info) == 0);
  CHECK(info.sequence == 14 && g[0] == 7.0f && g[31] == 7.0f && info.flags == 0);
  /* The next locker repairs exactly as format 1: seq even, TORN, the torn frame is the latest. */
  CHECK(shmswarm_read_frame_ex(r, g, sizeof g, SHMSWARM_READ_LOCK, UINT64_MAX, &info) == 0);
  CHECK(info.sequence == 16 && (info.flags & SHMSWARM_FRAME_TORN) && (info.flags & SHMSWARM_FRAME_RECOVERED));
  CHECK(g[0] == -1.0f);
  CHECK(shmswarm_read_frame_ex(r, g, sizeof g, SHMSWARM_READ_NOLOCK, UINT64_MAX, &info) == 0);
  CHECK(info.sequence == 16 && (info.flags & SHMSWARM_FRAME_TORN) && g[0] == -1.0f);
  for (int i = 0; i < 32; i++) f[i] = 9.0f;
  CHECK(shmswarm_write_frame(s, f, sizeof f) == 0); /* frame 9, slot 0 */
  CHECK(shmswarm_read_frame_ex(r, g, sizeof g, SHMSWARM_READ_AUTO, UINT64_MAX, &info) == 0);
  CHECK(info.sequence == 18 && !(info.flags & SHMSWARM_FRAME_TORN) && g[0] == 9.0f);
  shmswarm_close(r);
  shmswarm_close(s);
  shm_unlink(name);
  shmswarm_create_options o = {17};
  CHECK(shmswarm_create_ex(name, 2, 2, SHMSWARM_F32, NULL, 0600, &o, &s) == -EINVAL);
  o.slots = 16;
  CHECK(shmswarm_create_ex(name, 1ull << 36, 2, SHMSWARM_F32, NULL, 0600, &o, &s) == -EFBIG);
  CHECK(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT);
  report(failed, "slots: layout, frame n in slot n % k, a dead writer blocks no lock-free reader, repair");
}

static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }

static void test_slots_validate(void) {
  int failed = 0;
  shmswarm_segment *s = make_slots(5, 3, 4);
  size_t size = s->map_size;
  uint64_t B = s->lay.block_offset, D = s->lay.data_bytes;
  uint8_t *image = (uint8_t *)malloc(size);
  memcpy(image, s->base, size);
  shmswarm_close(s);
  shmswarm_layout lay;
  CHECK(shmswarm_validate(image, size, &lay) == 0 && lay.slots == 4 && lay.rows == 5);
  for (size_t k = 0; k <= size; k++) {
    uint8_t *b = (uint8_t *)malloc(k ? k : 1);
    memcpy(b, image, k);
    int rc = shmswarm_validate(b, k, &lay);
    if (k == size) CHECK(rc == 0 && lay.kind == SHMSWARM_KIND_SHMSWARM);
    else if (rc == 0) CHECK(lay.kind == SHMSWARM_KIND_WA1 && lay.rows == 20 && k < B + 8); /* a plain 3-D array */
    else if (k >= 64 + 4 * D) CHECK(rc != SHMSWARM_ECORRUPT);
    free(b);
  }
  uint8_t *b = (uint8_t *)malloc(size);
  struct { size_t off; int width; uint64_t v; int want; const char *what; } cases[] = {
    {B + 100, 4, 3, SHMSWARM_ECORRUPT, "slots disagree with dims[2]"},
    {B + 100, 4, 1, SHMSWARM_ECORRUPT, "1 slot in version 2"},
    {B + 100, 4, 17, SHMSWARM_ECORRUPT, "17 slots"},
    {B + 100, 4, 0xffffffff, SHMSWARM_ECORRUPT, "slots max"},
    {32, 8, 3, 0, "dims[2] 3 (the block would be elsewhere: a plain 3-D WA-1 array)"},
    {32, 8, 1ull << 62, SHMSWARM_ECORRUPT, "dims[2] x D overflows"},
    {6, 2, 2, 0, "ndims 2 (the block would be elsewhere: a plain WA-1 matrix)"},
    {B + 8, 4, 1, SHMSWARM_EVERSION, "version 1 with ndims 3"},
    {B + 8, 4, 3, SHMSWARM_EVERSION, "version 3"},
    {B + 16, 8, 20, SHMSWARM_ECORRUPT, "block rows = all slots"},
    {B + 40, 8, 4 * 60, SHMSWARM_ECORRUPT, "block data_bytes = all slots"},
    {B + 64, 8, 1, SHMSWARM_ECHECKSUM, "created_ns"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(b, image, size);
    if (cases[i].width == 8) put64(b, cases[i].off, cases[i].v);
    else if (cases[i].width == 4) put32(b, cases[i].off, (uint32_t)cases[i].v);
    else { uint16_t v = (uint16_t)cases[i].v; memcpy(b + cases[i].off, &v, 2); }
    int rc = shmswarm_validate(b, size, &lay);
    if (rc != cases[i].want || (rc == 0 && lay.kind != SHMSWARM_KIND_WA1)) {
      printf("#   %s: got %s (%s)\n", cases[i].what, shmswarm_errname(rc) ? shmswarm_errname(rc) : "0", shmswarm_last_detail());
      failed = 1;
    }
  }
  /* The last slot cut short: the object ends inside the data. */
  CHECK(shmswarm_validate(image, 64 + 4 * D - 1, &lay) == SHMSWARM_ETRUNCATED);
  for (size_t o = 0; o < size; o++) {
    memcpy(b, image, size);
    b[o] ^= 0x41;
    int rc = shmswarm_validate(b, size, &lay);
    if (rc == 0) CHECK(lay.total_size <= size && lay.data_offset + lay.slots * lay.data_bytes <= size);
  }
  free(b);
  free(image);
  report(failed, "slots: hostile version 2 headers refused, exact-size buffers");
}

static void test_mutex_kinds(void) {
  int failed = 0;
  shmswarm_segment *s = make(4, 3);
  /* The segment's own mutex is robust; a default process-shared one is not. */
  CHECK(shmswarm_mutex_check(&s->blk->mutex.m) == 0);
  CHECK(shmswarm_mutex_robust(&s->blk->mutex.m) == 1);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_t plain;
  pthread_mutex_init(&plain, &a);
  CHECK(shmswarm_mutex_check(&plain) == 0);
  CHECK(shmswarm_mutex_robust(&plain) == 0);
  pthread_mutex_destroy(&plain);
  pthread_mutexattr_destroy(&a);
  shmswarm_close(s);
  report(failed, "mutex_robust: 1 for the segment's robust mutex, 0 for a plain process-shared one");
}

/* ---- misuse of the API (the audit's findings) ---- */
static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static shmswarm_segment *relock_seg;
static int relock_rc;
static void *relock_thread(void *arg) {
  (void)arg;
  relock_rc = shmswarm_lock_ex(relock_seg, 50000000, NULL);
  if (relock_rc == 0) shmswarm_unlock(relock_seg);
  return NULL;
}

/* A child after fork holds none of its parent's locks: it must wait (and time out), not EDEADLK. */
static void child_lock_parents_segment(void) {
  shmswarm_segment *c;
  if (shmswarm_open(name, 1, &c)) _exit(3);
  if (shmswarm_lock_ex(c, 50000000, NULL) != -ETIMEDOUT) _exit(4);
  _exit(0);
}

static void test_relock_deadlk(void) {
  int failed = 0;
  shmswarm_segment *s = make(4, 2), *o = NULL;
  CHECK(shmswarm_open(name, 1, &o) == 0);
  float f[8] = {0};
  void *d;
  shmswarm_frame_info info;
  CHECK(shmswarm_write_frame(s, f, sizeof f) == 0);
  /* Every call that locks, on this handle and on another of the same segment, while this
   * thread holds the lock: EDEADLK at once, not ETIMEDOUT after the 1 s timeout. */
  CHECK(shmswarm_lock(s) == 0);
  double t0 = seconds();
  CHECK(shmswarm_lock(s) == -EDEADLK);
  CHECK(strstr(shmswarm_last_detail(), "already holds") != NULL);
  CHECK(shmswarm_lock_ex(s, 0, NULL) == -EDEADLK);
  CHECK(shmswarm_write_frame(s, f, sizeof f) == -EDEADLK);
  CHECK(shmswarm_begin_frame(s, &d) == -EDEADLK);
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, SHMSWARM_READ_LOCK, UINT64_MAX, &info) == -EDEADLK);
  CHECK(shmswarm_lock(o) == -EDEADLK);
  CHECK(shmswarm_write_frame(o, f, sizeof f) == -EDEADLK);
  CHECK(shmswarm_read_frame_ex(o, f, sizeof f, SHMSWARM_READ_LOCK, UINT64_MAX, &info) == -EDEADLK);
  CHECK(seconds() - t0 < 0.5);
  /* Lock-free reads need no lock; unseen frames still answer without it. */
  CHECK(shmswarm_read_frame_ex(o, f, sizeof f, SHMSWARM_READ_AUTO, UINT64_MAX, &info) == 0 && info.sequence == 2);
  /* Another thread of this process does not hold it: it waits, as for any holder. */
  relock_seg = o;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, relock_thread, NULL) == 0);
  pthread_join(th, NULL);
  CHECK(relock_rc == -ETIMEDOUT);
  int cst = run_child(child_lock_parents_segment);
  CHECK(WIFEXITED(cst) && WEXITSTATUS(cst) == 0);
  CHECK(shmswarm_unlock(s) == 0);
  CHECK(pthread_create(&th, NULL, relock_thread, NULL) == 0);
  pthread_join(th, NULL);
  CHECK(relock_rc == 0);
  /* Inside begin_frame the same. */
  CHECK(shmswarm_begin_frame(s, &d) == 0);
  t0 = seconds();
  CHECK(shmswarm_lock(s) == -EDEADLK);
  CHECK(shmswarm_lock(o) == -EDEADLK);
  CHECK(shmswarm_begin_frame(o, &d) == -EDEADLK);
  CHECK(shmswarm_read_frame_ex(o, f, sizeof f, SHMSWARM_READ_LOCK, UINT64_MAX, &info) == -EDEADLK);
  CHECK(seconds() - t0 < 0.5);
  CHECK(shmswarm_end_frame(s) == 0);
  CHECK(shmswarm_lock(o) == 0 && shmswarm_unlock(o) == 0);
  /* Released by close: the other handle locks at once. */
  CHECK(shmswarm_lock(s) == 0);
  shmswarm_close(s);
  CHECK(shmswarm_lock_ex(o, 0, NULL) == 0 && shmswarm_unlock(o) == 0);
  shmswarm_close(o);
  report(failed, "lock twice from one thread (same handle or another): EDEADLK at once; other threads and a fork child wait");
}

static void child_pause(void) {
  pause();
}
static void *sleeper(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}
static void child_leader_exits(void) {
  pthread_t th;
  pthread_create(&th, NULL, sleeper, NULL);
  pthread_exit(NULL); /* the process lives on in its other thread */
}
static void child_write_and_pause(void) {
  shmswarm_segment *s;
  float f[8] = {0};
  if (shmswarm_open(name, 1, &s) || shmswarm_write_frame(s, f, sizeof f)) _exit(3);
  pause();
}

/* Fork without waiting for the child. */
static pid_t start_child(void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(0);
  }
  return pid;
}
static char proc_state(pid_t pid) {
  char state = 0;
  long threads;
  uint64_t start;
  shmswarm__proc_stat(pid, &state, &threads, &start);
  return state;
}

static void test_zombie_not_alive(void) {
  int failed = 0;
  pid_t pid = start_child(child_pause);
  uint64_t start = 0;
  for (int i = 0; i < 1000 && !start; i++) start = shmswarm__proc_start(pid);
  CHECK(start != 0);
  CHECK(shmswarm_pid_alive(pid, start) == 1);
  CHECK(shmswarm_pid_alive(pid, 0) == 1);
  kill(pid, SIGKILL);
  siginfo_t si;
  /* WNOWAIT: wait for the death but leave the child unreaped, a zombie. */
  CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
  CHECK(proc_state(pid) == 'Z');
  CHECK(kill(pid, 0) == 0); /* what the old check trusted */
  CHECK(shmswarm_pid_alive(pid, start) == 0);
  CHECK(shmswarm_pid_alive(pid, 0) == 0);
  waitpid(pid, NULL, 0);

  /* A process whose main thread has exited shows Z too, but its other thread still runs. */
  pid = start_child(child_leader_exits);
  for (int i = 0; i < 2000 && proc_state(pid) != 'Z'; i++) usleep(1000);
  CHECK(proc_state(pid) == 'Z');
  CHECK(shmswarm_pid_alive(pid, 0) == 1);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  CHECK(shmswarm_pid_alive(pid, 0) == 0);

  /* The same through a segment: a writer killed and not yet reaped is not a live writer. */
  shmswarm_segment *s = make(4, 2);
  shmswarm_state st;
  pid = start_child(child_write_and_pause);
  for (int i = 0; i < 2000 && (shmswarm_get_state(s, &st) || st.frames == 0); i++) usleep(1000);
  CHECK(st.writer_pid == pid && st.writer_start != 0);
  CHECK(shmswarm_pid_alive(st.writer_pid, st.writer_start) == 1);
  kill(pid, SIGKILL);
  CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
  CHECK(shmswarm_pid_alive(st.writer_pid, st.writer_start) == 0);
  waitpid(pid, NULL, 0);
  shmswarm_close(s);
  report(failed, "a zombie (killed, not reaped) is not alive; a process whose main thread exited still is");
}

static void test_field_rules(void) {
  int failed = 0;
  shmswarm_segment *s = NULL;
  static const char *bad[] = {"x, y", " x,y", "x ,y", "x,y ", "x,x", "a,b", ""};
  static const uint32_t cols[] = {2, 2, 2, 2, 2, 3, 1};
  static const char *bad3 = "a,b,a";
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *f = i == 5 ? bad3 : bad[i];
    int rc = shmswarm_create(name, 1, cols[i], SHMSWARM_F32, f, 0600, &s);
    if (rc != -EINVAL || s != NULL || strcmp(shmswarm_last_syscall(), "fields") != 0) {
      printf("#   fields \"%s\": %d (%s)\n", f, rc, shmswarm_last_detail());
      failed = 1;
    }
  }
  CHECK(shmswarm_create(name, 1, 2, SHMSWARM_F32, "x,x", 0600, &s) == -EINVAL);
  CHECK(strstr(shmswarm_last_detail(), "\"x\" appears twice") != NULL);
  CHECK(shmswarm_create(name, 1, 2, SHMSWARM_F32, "x, y", 0600, &s) == -EINVAL);
  CHECK(strstr(shmswarm_last_detail(), "\" y\"") != NULL);
  CHECK(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT);
  /* Spaces inside a name are fine; so are many names, and a duplicate among them is found. */
  CHECK(shmswarm_create(name, 1, 2, SHMSWARM_F32, "pos x,pos y", 0600, &s) == 0);
  shmswarm_close(s);
  shm_unlink(name);
  static char many[20000];
  size_t len = 0;
  for (int i = 0; i < 2000; i++) len += (size_t)snprintf(many + len, sizeof many - len, "%sf%d", i ? "," : "", i);
  CHECK(shmswarm_create(name, 1, 2000, SHMSWARM_F32, many, 0600, &s) == 0);
  shmswarm_close(s);
  shm_unlink(name);
  memcpy(many + len - 5, "f1234", 5); /* the last name, f1999, becomes a second f1234 */
  CHECK(shmswarm_create(name, 1, 2000, SHMSWARM_F32, many, 0600, &s) == -EINVAL);
  CHECK(strstr(shmswarm_last_detail(), "\"f1234\" appears twice") != NULL);
  CHECK(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT);
  report(failed, "create refuses field names with spaces at their ends, duplicates and the empty string (the TypeScript rules)");
}

static void test_utf8_names(void) {
  int failed = 0;
  static const char *bad[] = {
      "\xff", "\xfe\xff", "\x80", "a\xbf",          /* not a lead byte */
      "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", /* overlong */
      "\xed\xa0\x80", "\xed\xbf\xbf",               /* surrogates U+D800, U+DFFF */
      "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", /* past U+10FFFF */
      "\xe2\x82", "a\xe2\x82x", "\xc3", "\xf0\x9f\x98", /* cut short */
  };
  char n[80];
  shmswarm_segment *s = NULL;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(n, sizeof n, "%s-%s", name, bad[i]);
    int rc = shmswarm_create(n, 1, 1, SHMSWARM_F32, NULL, 0600, &s);
    int ro = shmswarm_open(n, 0, &s), ru = shmswarm_unlink(n);
    if (rc != -EINVAL || ro != -EINVAL || ru != -EINVAL || s || !strstr(shmswarm_last_detail(), "UTF-8")) {
      printf("#   name #%zu: create %d, open %d, unlink %d (%s)\n", i, rc, ro, ru, shmswarm_last_detail());
      failed = 1;
    }
    CHECK(shm_open(n, O_RDONLY, 0) < 0 && errno == ENOENT);
  }
  /* Control and bidirectional characters stay refused, with their own reason. */
  static const char *ctl[] = {"a\n", "\xc2\x85", "\xc2\x9b", "\xd8\x9c", "\xe2\x80\x8e", "\xe2\x80\xa8", "\xe2\x80\xae",
                              "\xe2\x81\xa6", "\xef\xbb\xbf"};
  for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
    snprintf(n, sizeof n, "%s-%s", name, ctl[i]);
    if (shmswarm_create(n, 1, 1, SHMSWARM_F32, NULL, 0600, &s) != -EINVAL || !strstr(shmswarm_last_detail(), "control")) {
      printf("#   control #%zu: %s\n", i, shmswarm_last_detail());
      failed = 1;
    }
  }
  /* Valid UTF-8 of every length, the largest code point and those next to the refused ones. */
  static const char *good[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
                               "\xee\x80\x80", "\xc2\xa0", "\xe2\x80\x8d", "\xe2\x80\xaf"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    snprintf(n, sizeof n, "%s-%s", name, good[i]);
    int rc = shmswarm_create(n, 1, 1, SHMSWARM_F32, NULL, 0600, &s);
    if (rc) {
      printf("#   good #%zu: %d (%s)\n", i, rc, shmswarm_last_detail());
      failed = 1;
      continue;
    }
    shmswarm_close(s);
    CHECK(shmswarm_unlink(n) == 0);
  }
  report(failed, "names: invalid UTF-8 (overlong, surrogates, past U+10FFFF, cut short) refused by create, open and unlink");
}

static void test_null_arguments(void) {
  int failed = 0;
  shmswarm_segment *s = make(2, 2), *o = NULL;
  float f[4] = {0};
  shmswarm_state st;
  shmswarm_layout lay;
  uint64_t seq;
  void *p;
  size_t size;
  CHECK(shmswarm_create(name, 1, 1, SHMSWARM_F32, NULL, 0600, NULL) == -EINVAL);
  CHECK(strstr(shmswarm_last_detail(), "out is NULL") != NULL);
  CHECK(shmswarm_create_ex(name, 1, 1, SHMSWARM_F32, NULL, 0600, NULL, NULL) == -EINVAL);
  CHECK(shmswarm_open(name, 0, NULL) == -EINVAL);
  CHECK(shmswarm_open(NULL, 0, &o) == -EINVAL && o == NULL);
  CHECK(shmswarm_write_frame(NULL, f, sizeof f) == -EINVAL);
  CHECK(shmswarm_write_frame(s, NULL, sizeof f) == -EINVAL);
  CHECK(shmswarm_begin_frame(NULL, &p) == -EINVAL);
  CHECK(shmswarm_end_frame(NULL) == -EINVAL);
  CHECK(shmswarm_read_frame(NULL, f, sizeof f, &seq) == -EINVAL);
  CHECK(shmswarm_read_frame(s, NULL, sizeof f, &seq) == -EINVAL);
  CHECK(shmswarm_read_frame_ex(s, NULL, sizeof f, SHMSWARM_READ_LOCK, UINT64_MAX, NULL) == -EINVAL);
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, 99, UINT64_MAX, NULL) == -EINVAL);
  CHECK(strstr(shmswarm_last_detail(), "read mode 99") != NULL);
  CHECK(shmswarm_read_frame_ex(s, f, sizeof f, -1, UINT64_MAX, NULL) == -EINVAL);
  CHECK(shmswarm_get_state(s, NULL) == -EINVAL);
  CHECK(shmswarm_get_state(NULL, &st) == -EINVAL);
  CHECK(shmswarm_lock(NULL) == -EINVAL && shmswarm_lock_ex(NULL, 0, NULL) == -EINVAL && shmswarm_unlock(NULL) == -EINVAL);
  CHECK(shmswarm_wait(NULL, 0, 0, &seq) == -EINVAL);
  CHECK(shmswarm_wait_cancellable(NULL, 0, 0, NULL, &seq) == -EINVAL);
  CHECK(shmswarm_wait_begin(NULL, NULL) == -EINVAL);
  CHECK(shmswarm_wait_check(NULL, 0, NULL, NULL) == -EINVAL);
  shmswarm_wait_end(NULL);
  shmswarm_set_timeout(NULL, 5);
  CHECK(shmswarm_stat(NULL, NULL, NULL, NULL, NULL, NULL) == -EINVAL);
  CHECK(shmswarm_map_private(NULL, &p, &size) == -EINVAL && shmswarm_map_private(s, NULL, &size) == -EINVAL &&
        shmswarm_map_private(s, &p, NULL) == -EINVAL);
  CHECK(shmswarm_validate(NULL, 100, &lay) == -EINVAL);
  CHECK(shmswarm_validate(NULL, 0, &lay) == SHMSWARM_EUNINIT); /* an empty object, as before */
  CHECK(shmswarm_copy_guarded(NULL, f, 4) == -EINVAL && shmswarm_copy_guarded(f, NULL, 4) == -EINVAL);
  CHECK(shmswarm_copy_guarded(NULL, NULL, 0) == 0);
  CHECK(shmswarm_mutex_timedlock(NULL, 0, NULL) == -EINVAL && shmswarm_mutex_unlock(NULL) == -EINVAL);
  CHECK(shmswarm_mutex_check(NULL) == -EINVAL && shmswarm_mutex_robust(NULL) == -1);
  CHECK(shmswarm_rows(NULL) == 0 && shmswarm_cols(NULL) == 0 && shmswarm_dtype(NULL) == 0 && shmswarm_slots(NULL) == 0);
  CHECK(shmswarm_get_layout(NULL) == NULL && shmswarm_data(NULL) == NULL && shmswarm_frame_data(NULL) == NULL);
  CHECK(strcmp(shmswarm_fields(NULL), "") == 0);
  CHECK(shmswarm_close(NULL) == 0);
  /* Optional pointers stay optional. */
  CHECK(shmswarm_write_frame(s, f, sizeof f) == 0);
  CHECK(shmswarm_read_frame(s, f, sizeof f, NULL) == 0);
  CHECK(shmswarm_begin_frame(s, NULL) == 0 && shmswarm_end_frame(s) == 0);
  CHECK(shmswarm_lock_ex(s, -1, NULL) == 0 && shmswarm_unlock(s) == 0);
  CHECK(shmswarm_stat(s, NULL, NULL, NULL, NULL, NULL) == 0);
  /* A refused write left the lock free. */
  CHECK(shmswarm_open(name, 1, &o) == 0);
  CHECK(shmswarm_write_frame(s, NULL, sizeof f) == -EINVAL);
  CHECK(shmswarm_lock_ex(o, 0, NULL) == 0 && shmswarm_unlock(o) == 0);
  shmswarm_close(o);
  shmswarm_close(s);
  report(failed, "NULL segment, buffer or result pointer: -EINVAL naming it, never a crash; an unknown read mode is EINVAL");
}

static void test_mode_bits(void) {
  int failed = 0;
  shmswarm_segment *s = NULL;
  static const unsigned bad[] = {04755, 02755, 01777, 04000, 010000, 0xffffffffu};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (shmswarm_create(name, 1, 1, SHMSWARM_F32, NULL, bad[i], &s) != -EINVAL || s) {
      printf("#   mode %o: %s\n", bad[i], shmswarm_last_detail());
      failed = 1;
    }
  }
  CHECK(strstr(shmswarm_last_detail(), "beyond 0777") != NULL);
  CHECK(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT);
  uint32_t mode = 0;
  CHECK(shmswarm_create(name, 1, 1, SHMSWARM_F32, NULL, 0777, &s) == 0);
  CHECK(shmswarm_stat(s, NULL, NULL, NULL, NULL, &mode) == 0 && mode == 0777);
  shmswarm_close(s);
  CHECK(shmswarm_create(name, 1, 1, SHMSWARM_F32, NULL, 0, &s) == -EEXIST); /* mode 0 is a mode */
  report(failed, "create refuses setuid, setgid and sticky bits (mode above 0777), as the TypeScript API does");
}

int main(void) {
  snprintf(name, sizeof name, "/shmswarm-core-test-%d", (int)getpid());
  test_round_trip();
  test_validate_exact_buffers();
  test_names();
  test_writer_killed_mid_frame();
  test_not_recoverable();
  test_unmap_and_die();
  test_shrunk();
  test_foreign_owner();
  test_symlink_and_exclusive();
  test_slots_layout_and_protocol();
  test_slots_validate();
  test_mutex_kinds();
  test_relock_deadlk();
  test_zombie_not_alive();
  test_field_rules();
  test_utf8_names();
  test_null_arguments();
  test_mode_bits();
  printf("1..%d\n", counter);
  shm_unlink(name);
  return failures ? 1 : 0;
}
