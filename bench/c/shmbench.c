/* shmbench: the C side of `npm run bench` (built by bench/run.js with gcc -O2).
 *
 *   shmbench copy <rows> <cols> <batch_ms>     memcpy limit, C write/read, paced write: one JSON line
 *   shmbench wake-writer <name> <gap_us> <max_s> publish stamped frames until killed or max_s
 *   shmbench wake-reader <name> <samples>      futex wake latency samples (ns), one JSON line
 *   shmbench jitter <count>                    how late a 1 ms sleep wakes up: the machine's own noise
 *   shmbench e2e-writer <name> <seconds>       publish back to back, frame n holding n % 4 + 1 (f32)
 *   shmbench e2e-consumer <name>               shmswarm_wait + one copy per new frame: item 6 in C
 *   shmbench spin-gaps <ms>                    a busy loop for <ms>: the longest it went without
 *                                              running (run several at once: the scheduler's floor)
 *   shmbench wake-reader-loop <name> <samples> the same through a worker thread and an eventfd
 *                                              in epoll: what any event-loop reader (libuv) pays
 *
 * The wake-* modes use a second segment <name>-ring (i64, one column): before publishing the
 * frame that will have sequence q, the writer stores CLOCK_MONOTONIC ns in slot (q/2) % rows.
 * A reader woken with sequence q (C, or Node: process.hrtime uses the same clock) looks its
 * stamp up there, so frames it never copied (back to back, the writer is faster) still count
 * without biasing the sample towards frames after which the writer stalled. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <inttypes.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "shmbench: %s: %s (%s)\n", what, shmswarm_strerror(rc), shmswarm_last_detail());
  exit(1);
}

static shmswarm_segment *open_or_die(const char *name, int writable) {
  shmswarm_segment *s;
  int rc = shmswarm_open(name, writable, &s);
  if (rc) die(name, rc);
  return s;
}

/* The side segment of the wake-* modes: <name>-ring. */
static shmswarm_segment *open_ring_or_die(const char *name, int writable) {
  char ring_name[300];
  snprintf(ring_name, sizeof ring_name, "%s-ring", name);
  return open_or_die(ring_name, writable);
}

/* A 64-byte aligned buffer for one frame of `bytes`. */
static void *frame_buffer(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

/* Keeps the compiler from dropping copies whose results are never read. */
static volatile uint8_t sink;

#define BATCHES 25

/* ns per call over BATCHES batches, the iteration count calibrated so one batch lasts about
 * batch_ms: the best batch (noise on a shared machine only ever adds) and the median. */
typedef struct { double min, med; } cost;
#define MEASURE(out, batch_ms, body)                                                  \
  do {                                                                                \
    long iters_ = 1;                                                                  \
    for (;;) {                                                                        \
      int64_t t0_ = now_ns();                                                         \
      for (long i_ = 0; i_ < iters_; i_++) { body; }                                  \
      int64_t dt_ = now_ns() - t0_;                                                   \
      if (dt_ >= (int64_t)(batch_ms) * 1000000 / 4 || iters_ > (1L << 30)) {          \
        iters_ = (long)((double)iters_ * (batch_ms) * 1e6 / (double)(dt_ ? dt_ : 1)) + 1; \
        break;                                                                        \
      }                                                                               \
      iters_ *= 4;                                                                    \
    }                                                                                 \
    int64_t per_[BATCHES];                                                            \
    for (int b_ = 0; b_ < BATCHES; b_++) {                                            \
      int64_t t0_ = now_ns();                                                         \
      for (long i_ = 0; i_ < iters_; i_++) { body; }                                  \
      per_[b_] = (now_ns() - t0_) * 1000 / iters_; /* ps per call */                  \
    }                                                                                 \
    qsort(per_, BATCHES, sizeof per_[0], cmp_i64);                                    \
    (out).min = per_[0] / 1000.0;                                                     \
    (out).med = per_[BATCHES / 2] / 1000.0;                                           \
  } while (0)

/* A rows x cols f32 segment, unlinked at once: the mapping stays, and nothing is left behind
 * if the bench is killed. */
static shmswarm_segment *unlinked_segment(uint64_t rows, uint32_t cols) {
  char name[64];
  snprintf(name, sizeof name, "/shmswarm-bench-c-%d", (int)getpid());
  shmswarm_segment *s;
  int rc = shmswarm_create(name, rows, cols, SHMSWARM_F32, NULL, 0600, &s);
  if (rc) die("create", rc);
  shmswarm_unlink(name);
  return s;
}

static int cmd_copy(int argc, char **argv) {
  if (argc < 5) return 2;
  uint64_t rows = strtoull(argv[2], NULL, 10);
  uint32_t cols = (uint32_t)strtoul(argv[3], NULL, 10);
  int batch_ms = atoi(argv[4]);
  size_t bytes = (size_t)rows * cols * 4;
  shmswarm_segment *s = unlinked_segment(rows, cols);
  uint8_t *map = (uint8_t *)shmswarm_data(s);
  uint8_t *src = (uint8_t *)aligned_alloc(4096, bytes + 4096);
  uint8_t *dst = (uint8_t *)aligned_alloc(4096, bytes + 4096);
  memset(src, 0x3f, bytes + 4096);
  memset(dst, 0, bytes + 4096);
  memcpy(map, src, bytes);
  shmswarm_frame_info info;
  cost memcpy_w, memcpy_r, memcpy_r16, memcpy_w16, write_frame, begin_end, read_nolock, read_lock, read_auto;
  MEASURE(memcpy_w, batch_ms, memcpy(map, src, bytes));
  MEASURE(memcpy_r, batch_ms, memcpy(dst, map, bytes); sink = dst[0]);
  MEASURE(memcpy_r16, batch_ms, memcpy(dst + 16, map, bytes); sink = dst[16]);
  MEASURE(memcpy_w16, batch_ms, memcpy(map, src + 16, bytes));
  MEASURE(write_frame, batch_ms, shmswarm_write_frame(s, src, bytes));
  MEASURE(begin_end, batch_ms, {
    void *d;
    shmswarm_begin_frame(s, &d);
    memcpy(d, src, bytes);
    shmswarm_end_frame(s);
  });
  MEASURE(read_nolock, batch_ms, shmswarm_read_frame_ex(s, dst, bytes, SHMSWARM_READ_NOLOCK, UINT64_MAX, &info));
  MEASURE(read_auto, batch_ms, shmswarm_read_frame_ex(s, dst, bytes, SHMSWARM_READ_AUTO, UINT64_MAX, &info));
  MEASURE(read_lock, batch_ms, shmswarm_read_frame_ex(s, dst, bytes, SHMSWARM_READ_LOCK, UINT64_MAX, &info));

  /* Paced at 60 Hz: what a simulation publishing once per frame pays, caches cold after the sleep. */
  enum { PACED = 24 };
  int64_t paced_w[PACED], paced_m[PACED];
  for (int i = 0; i < 2 * PACED; i++) {
    struct timespec ts = {0, 16666667};
    nanosleep(&ts, NULL);
    int64_t t0 = now_ns();
    if (i % 2 == 0) shmswarm_write_frame(s, src, bytes);
    else memcpy(map, src, bytes);
    int64_t dt = now_ns() - t0;
    if (i % 2 == 0) paced_w[i / 2] = dt;
    else paced_m[i / 2] = dt;
  }
  qsort(paced_w, PACED, sizeof paced_w[0], cmp_i64);
  qsort(paced_m, PACED, sizeof paced_m[0], cmp_i64);

#define C(x) x.min, x.med
  printf("{\"bytes\":%zu,\"memcpyWrite\":[%.1f,%.1f],\"memcpyRead\":[%.1f,%.1f],\"memcpyReadMisaligned\":[%.1f,%.1f],"
         "\"memcpyWriteMisalignedSrc\":[%.1f,%.1f],\"writeFrame\":[%.1f,%.1f],\"beginEnd\":[%.1f,%.1f],"
         "\"readLockFree\":[%.1f,%.1f],\"readAuto\":[%.1f,%.1f],\"readLocked\":[%.1f,%.1f],"
         "\"pacedWriteFrameNs\":%" PRId64 ",\"pacedMemcpyNs\":%" PRId64 "}\n",
         bytes, C(memcpy_w), C(memcpy_r), C(memcpy_r16), C(memcpy_w16), C(write_frame), C(begin_end), C(read_nolock),
         C(read_auto), C(read_lock), paced_w[PACED / 2], paced_m[PACED / 2]);
#undef C
  shmswarm_close(s);
  free(src);
  free(dst);
  return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static int cmd_wake_writer(int argc, char **argv) {
  if (argc < 5) return 2;
  int64_t gap = (int64_t)atol(argv[3]) * 1000;
  int64_t end = now_ns() + (int64_t)atol(argv[4]) * 1000000000;
  signal(SIGTERM, on_term);
  shmswarm_segment *s = open_or_die(argv[2], 1), *rs = open_ring_or_die(argv[2], 1);
  int rc;
  volatile int64_t *ring = (volatile int64_t *)shmswarm_data(rs);
  uint64_t slots = shmswarm_rows(rs);
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  uint64_t n = 0;
  while (!stop && now_ns() < end) {
    void *d;
    if ((rc = shmswarm_begin_frame(s, &d)) != 0) die("begin_frame", rc);
    shmswarm_state st;
    shmswarm_get_state(s, &st); /* odd now: the frame becomes st.sequence + 1 */
    int64_t t = now_ns();
    ring[((st.sequence + 1) / 2) % slots] = t;
    memcpy(d, &t, 8);
    if ((rc = shmswarm_end_frame(s)) != 0) die("end_frame", rc);
    n++;
    if (gap > 0) {
      next.tv_nsec += gap;
      while (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
      /* Behind schedule (descheduled): restart the grid rather than publishing a burst. */
      int64_t target = (int64_t)next.tv_sec * 1000000000 + next.tv_nsec;
      if (target < now_ns()) clock_gettime(CLOCK_MONOTONIC, &next);
      else clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
  }
  printf("{\"published\":%" PRIu64 "}\n", n);
  shmswarm_close(s);
  shmswarm_close(rs);
  return 0;
}

static int cmd_wake_reader(int argc, char **argv) {
  if (argc < 4) return 2;
  long want = atol(argv[3]);
  shmswarm_segment *s = open_or_die(argv[2], 0), *rs = open_ring_or_die(argv[2], 0);
  int rc;
  const volatile int64_t *ring = (const volatile int64_t *)shmswarm_data(rs);
  uint64_t slots = shmswarm_rows(rs);
  size_t bytes = shmswarm_get_layout(s)->data_bytes;
  uint8_t *buf = (uint8_t *)frame_buffer(bytes);
  int64_t *lat = (int64_t *)malloc(sizeof(int64_t) * want);
  shmswarm_state st;
  shmswarm_get_state(s, &st);
  uint64_t seq = st.sequence;
  long got = 0;
  printf("ready\n");
  fflush(stdout);
  while (got < want) {
    rc = shmswarm_wait(s, seq, 5000000000LL, &seq);
    if (rc) die("wait", rc);
    int64_t t = now_ns();
    lat[got++] = t - ring[(seq / 2) % slots];
    /* What a reader does next; it also paces the loop like a real one. */
    shmswarm_frame_info info;
    rc = shmswarm_read_frame_ex(s, buf, bytes, SHMSWARM_READ_AUTO, UINT64_MAX, &info);
    if (rc) die("read", rc);
  }
  printf("{\"samples\":[");
  for (long i = 0; i < got; i++) printf(i ? ",%" PRId64 : "%" PRId64, lat[i]);
  printf("]}\n");
  shmswarm_close(s);
  shmswarm_close(rs);
  return 0;
}

/* libuv's shape: the loop thread queues a wait to a worker (mutex + condition variable), the
 * worker blocks in shmswarm_wait and reports through an eventfd the loop sleeps on in epoll. */
static struct {
  pthread_mutex_t m;
  pthread_cond_t c;
  int queued, efd;
  shmswarm_segment *s;
  uint64_t seen, got;
} loop = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, NULL, 0, 0};

static void *loop_worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&loop.m);
    while (!loop.queued) pthread_cond_wait(&loop.c, &loop.m);
    loop.queued = 0;
    uint64_t seen = loop.seen;
    pthread_mutex_unlock(&loop.m);
    int rc = shmswarm_wait(loop.s, seen, 5000000000LL, &loop.got);
    if (rc) die("wait", rc);
    uint64_t one = 1;
    if (write(loop.efd, &one, 8) != 8) exit(1);
  }
  return NULL;
}

static int cmd_wake_reader_loop(int argc, char **argv) {
  if (argc < 4) return 2;
  long want = atol(argv[3]);
  loop.s = open_or_die(argv[2], 0);
  shmswarm_segment *rs = open_ring_or_die(argv[2], 0);
  const volatile int64_t *ring = (const volatile int64_t *)shmswarm_data(rs);
  uint64_t slots = shmswarm_rows(rs);
  size_t bytes = shmswarm_get_layout(loop.s)->data_bytes;
  uint8_t *buf = (uint8_t *)frame_buffer(bytes);
  int64_t *lat = (int64_t *)malloc(sizeof(int64_t) * want);
  loop.efd = eventfd(0, EFD_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, loop.efd, &ev);
  pthread_t th;
  pthread_create(&th, NULL, loop_worker, NULL);
  shmswarm_state st;
  shmswarm_get_state(loop.s, &st);
  uint64_t seq = st.sequence;
  long got = 0;
  printf("ready\n");
  fflush(stdout);
  while (got < want) {
    pthread_mutex_lock(&loop.m);
    loop.seen = seq;
    loop.queued = 1;
    pthread_cond_signal(&loop.c);
    pthread_mutex_unlock(&loop.m);
    struct epoll_event out;
    while (epoll_wait(ep, &out, 1, -1) != 1) {}
    uint64_t v;
    if (read(loop.efd, &v, 8) != 8) exit(1);
    seq = loop.got;
    int64_t t = now_ns();
    lat[got++] = t - ring[(seq / 2) % slots];
    shmswarm_frame_info info;
    int rc = shmswarm_read_frame_ex(loop.s, buf, bytes, SHMSWARM_READ_AUTO, UINT64_MAX, &info);
    if (rc) die("read", rc);
  }
  printf("{\"samples\":[");
  for (long i = 0; i < got; i++) printf(i ? ",%" PRId64 : "%" PRId64, lat[i]);
  printf("]}\n");
  fflush(stdout);
  _exit(0); /* the worker is blocked in its condition variable */
}

static int cmd_jitter(int argc, char **argv) {
  if (argc < 3) return 2;
  long n = atol(argv[2]);
  int64_t *late = (int64_t *)malloc(sizeof(int64_t) * n);
  for (long i = 0; i < n; i++) {
    struct timespec ts = {0, 1000000};
    int64_t t0 = now_ns();
    nanosleep(&ts, NULL);
    late[i] = now_ns() - t0 - 1000000;
  }
  qsort(late, n, sizeof late[0], cmp_i64);
  printf("{\"p50Us\":%.1f,\"p99Us\":%.1f,\"maxUs\":%.1f}\n", late[n / 2] / 1e3, late[n * 99 / 100] / 1e3,
         late[n - 1] / 1e3);
  return 0;
}

/* Item 6's shmswarm pair in C: what the protocol allows end to end, without Node. */
static int cmd_e2e_writer(int argc, char **argv) {
  if (argc < 4) return 2;
  shmswarm_segment *s = open_or_die(argv[2], 1);
  int rc;
  size_t bytes = shmswarm_get_layout(s)->data_bytes, n = bytes / 4;
  float *src[4];
  for (int k = 0; k < 4; k++) {
    src[k] = (float *)frame_buffer(bytes);
    for (size_t i = 0; i < n; i++) src[k][i] = (float)(k + 1);
  }
  shmswarm_state st;
  shmswarm_get_state(s, &st);
  uint64_t frame = st.frames;
  int64_t end = now_ns() + (int64_t)(atof(argv[3]) * 1e9);
  long count = 0;
  while (now_ns() < end) {
    for (int k = 0; k < 16; k++, count++) {
      frame++;
      if ((rc = shmswarm_write_frame(s, src[frame % 4], bytes)) != 0) die("write", rc);
    }
  }
  printf("{\"frames\":%ld}\n", count);
  shmswarm_close(s);
  return 0;
}

static int cmd_e2e_consumer(int argc, char **argv) {
  if (argc < 3) return 2;
  shmswarm_segment *s = open_or_die(argv[2], 0);
  int rc;
  size_t bytes = shmswarm_get_layout(s)->data_bytes, n = bytes / 4;
  float *buf = (float *)frame_buffer(bytes);
  shmswarm_state st;
  shmswarm_get_state(s, &st);
  uint64_t last = st.sequence;
  long count = 0, torn = 0;
  int64_t first = 0, prev = 0;
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    uint64_t seq;
    rc = shmswarm_wait(s, last, first ? 400000000LL : 30000000000LL, &seq);
    if (rc == -ETIMEDOUT) break;
    if (rc) die("wait", rc);
    shmswarm_frame_info info;
    if ((rc = shmswarm_read_frame_ex(s, buf, bytes, SHMSWARM_READ_AUTO, last, &info)) != 0) die("read", rc);
    if (info.flags & SHMSWARM_FRAME_UNCHANGED) continue;
    last = info.sequence;
    float want = (float)(info.frames % 4 + 1);
    int whole = buf[n - 1] == want;
    for (size_t i = 0; whole && i < n; i += 16) whole = buf[i] == want;
    if (whole) count++;
    else torn++;
    prev = now_ns();
    if (!first) first = prev;
  }
  double secs = (prev - first) / 1e9;
  printf("{\"frames\":%ld,\"torn\":%ld,\"seconds\":%.6f,\"fps\":%.3f}\n", count, torn, secs, secs > 0 ? (count - 1) / secs : 0);
  shmswarm_close(s);
  return 0;
}

/* No shared memory at all: how long a process that always wants the CPU goes without it. */
static int cmd_spin_gaps(int argc, char **argv) {
  if (argc < 3) return 2;
  int64_t end = now_ns() + (int64_t)atol(argv[2]) * 1000000, prev = now_ns(), worst = 0;
  for (int64_t t = prev; t < end; prev = t) {
    t = now_ns();
    if (t - prev > worst) worst = t - prev;
  }
  printf("{\"maxGapMs\":%.2f}\n", worst / 1e6);
  return 0;
}

/* offsets BYTES REPS INNER [aliased]: issue 22's period sweep. For each of 256 offsets (every 16 bytes of a 4 KiB
 * period) the best of REPS of: memcpy between page-aligned buffers and the segment (the reference,
 * measured at every offset too, so it shares the load), memcpy from/into the offset buffer (what
 * glibc alone does there), shmswarm_write_frame from it and shmswarm_read_frame into it, and the
 * same two from the aligned buffers. Rounds interleave the paths; prints the per-offset figures
 * as JSON arrays. */
/* `bytes` of fresh memory at an address congruent to (frame - 2 KiB) modulo 256 MiB, the k-th
 * such slot above the frame; NULL when none is free. */
static uint8_t *place_near(uint8_t *frame, int k, size_t bytes) {
  const uintptr_t span = (uintptr_t)1 << 28;
  for (int tries = 0; tries < 64; tries++, k += 2) {
    uintptr_t want = (uintptr_t)frame - 2048 + (uintptr_t)k * span, page = want & ~(uintptr_t)4095;
    void *p = mmap((void *)page, bytes + 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) continue;
    if ((uintptr_t)p == page) return (uint8_t *)want;
    munmap(p, bytes + 8192); /* an old kernel took the address as a hint only */
  }
  return NULL;
}

static int cmd_offsets(int argc, char **argv) {
  if (argc < 5) return 2;
  size_t bytes = (size_t)strtoull(argv[2], NULL, 10);
  int reps = atoi(argv[3]), inner = atoi(argv[4]); /* inner: calls per timed sample (a clock tick is ~10 ns) */
  int aliased = argc > 5 && strcmp(argv[5], "aliased") == 0;
  if (bytes < 4 || reps < 1 || inner < 1) return 2;
  shmswarm_segment *s = unlinked_segment(bytes / 4, 1);
  bytes = bytes / 4 * 4;
  uint8_t *map = (uint8_t *)shmswarm_data(s);
  /* "aliased": the swept buffers sit 2 KiB before an address congruent to the frame modulo
   * 256 MiB, so the sweep's distances run from 2 KiB ahead to 2 KiB behind modulo 256 MiB, where
   * Zen 4's copies alias (an ordinary allocation lands there by chance; here on purpose).
   * Otherwise they are ordinary allocations. */
  uint8_t *src = aliased ? place_near(map, 1, bytes + 8192) : (uint8_t *)aligned_alloc(4096, bytes + 8192);
  uint8_t *dst = aliased ? place_near(map, 2, bytes + 8192) : (uint8_t *)aligned_alloc(4096, bytes + 8192);
  /* The aligned reference: the swept buffers at offset 0 (page-aligned), the same memory as every
   * offset, since at 24 MB two allocations' physical pages alone differed by 10 %; where the
   * swept buffers are placed to alias, buffers of their own. */
  uint8_t *asrc = aliased ? (uint8_t *)aligned_alloc(4096, bytes + 64) : src, *adst = aliased ? (uint8_t *)aligned_alloc(4096, bytes + 64) : dst;
  if (!src || !dst || !asrc || !adst) die("allocate", -ENOMEM);
  memset(src, 0x3f, bytes + 8192);
  memset(dst, 0, bytes + 8192);
  memset(asrc, 0x3f, bytes);
  memset(adst, 0, bytes);
  enum { N = 256, K = 8 };
  static const char *keys[K] = {"memcpyWriteAligned", "memcpyReadAligned", "memcpyWrite", "memcpyRead", "writeFrame", "readFrame",
                                "writeFrameAligned", "readFrameAligned"};
  static int64_t t[K][N];
  shmswarm_frame_info info;
  for (int o = 0; o < N; o++)
    for (int k = 0; k < K; k++) t[k][o] = INT64_MAX;
  /* Each repetition sweeps every offset: a slow spell (another process, the host) then falls on
   * different offsets in different sweeps instead of on every sample of a few. */
  for (int r = 0; r < reps; r++)
    for (int o = 0; o < N; o++) {
      uint8_t *so = src + 16 * o, *dn = dst + 16 * o;
      for (int k = 0; k < K; k++) {
        /* Each sample times the calls after one untimed call of the same path: each path finds
         * its own buffers as warm as the others do (eight 240 KB pairs overflow the L2). */
        int64_t t0 = 0;
        for (int i = -1; i < inner; i++) {
          if (i == 0) t0 = now_ns();
          switch (k) {
          case 0: memcpy(map, asrc, bytes); break;
          case 1: memcpy(adst, map, bytes); break;
          case 2: memcpy(map, so, bytes); break;
          case 3: memcpy(dn, map, bytes); break;
          case 4: shmswarm_write_frame(s, so, bytes); break;
          case 5: shmswarm_read_frame_ex(s, dn, bytes, SHMSWARM_READ_AUTO, UINT64_MAX, &info); break;
          case 6: shmswarm_write_frame(s, asrc, bytes); break;
          default: shmswarm_read_frame_ex(s, adst, bytes, SHMSWARM_READ_AUTO, UINT64_MAX, &info);
          }
        }
        int64_t dt = (now_ns() - t0) / inner;
        if (dt < t[k][o]) t[k][o] = dt;
      }
  }
  printf("{\"bytes\":%zu,\"reps\":%d,\"inner\":%d,\"aliased\":%d", bytes, reps, inner, aliased);
  for (int k = 0; k < K; k++) {
    printf(",\"%s\":[", keys[k]);
    for (int o = 0; o < N; o++) printf("%s%" PRId64, o ? "," : "", t[k][o]);
    printf("]");
  }
  printf("}\n");
  shmswarm_close(s);
  return 0;
}

/* copy-methods BYTES REPS INNER read|write: glibc's memcpy against the core's two AVX2 loops
 * (forward and backward, called directly whatever shmswarm_copy would choose) between a segment's
 * frame and a buffer at every 16-byte offset of a 4 KiB period, best of REPS sweeps per offset;
 * prints min / median / p90 / max over the offsets for each, and at how many offsets the forward
 * loop beat memcpy. What shmswarm_copy's choice on AMD rests on (docs/PERFORMANCE.md). */
static int cmd_copy_methods(int argc, char **argv) {
  if (argc < 6) return 2;
#ifdef SHMSWARM__COPY_AVX2
  size_t bytes = (size_t)strtoull(argv[2], NULL, 10);
  int reps = atoi(argv[3]), inner = atoi(argv[4]), read = strcmp(argv[5], "read") == 0;
  if (bytes < 64 || reps < 1 || inner < 1) return 2;
  shmswarm_segment *s = unlinked_segment(bytes / 4, 1);
  bytes = bytes / 4 * 4;
  uint8_t *map = (uint8_t *)shmswarm_data(s), *buf = (uint8_t *)aligned_alloc(4096, bytes + 8192);
  if (!buf) die("allocate", -ENOMEM);
  memset(buf, 1, bytes + 8192);
  static int64_t t[3][256];
  for (int k = 0; k < 3; k++)
    for (int o = 0; o < 256; o++) t[k][o] = INT64_MAX;
  for (int r = 0; r < reps; r++)
    for (int o = 0; o < 256; o++) {
      uint8_t *dst = read ? buf + 16 * o : map;
      const uint8_t *src = read ? map : buf + 16 * o;
      for (int k = 0; k < 3; k++) {
        int64_t t0 = 0;
        for (int i = -1; i < inner; i++) {
          if (i == 0) t0 = now_ns();
          if (k == 0) memcpy(dst, src, bytes);
          else if (k == 1) shmswarm__copy_forward(dst, src, bytes);
          else shmswarm__copy_backward(dst, src, bytes);
        }
        int64_t dt = (now_ns() - t0) / inner;
        if (dt < t[k][o]) t[k][o] = dt;
      }
    }
  static const char *names[3] = {"memcpy", "forward loop", "backward loop"};
  int wins = 0;
  for (int o = 0; o < 256; o++) wins += t[1][o] < t[0][o];
  for (int k = 0; k < 3; k++) {
    int64_t v[256];
    memcpy(v, t[k], sizeof v);
    qsort(v, 256, sizeof *v, cmp_i64);
    printf("%-14s min %8" PRId64 "  median %8" PRId64 "  p90 %8" PRId64 "  max %8" PRId64 " ns\n", names[k], v[0], v[128], v[230], v[255]);
  }
  printf("the forward loop beat memcpy at %d of 256 offsets (%zu bytes, %s)\n", wins, bytes, read ? "segment -> buffer" : "buffer -> segment");
  shmswarm_close(s);
  return 0;
#else
  (void)argv;
  printf("not x86 with the AVX2 loops: nothing to compare\n");
  return 0;
#endif
}

/* cold-copies BYTES N: the floor under an allocating read. One frame copied into N buffers in
 * turn (N frames of memory cycling, as frames do between two young collections of V8), mean per
 * copy, best of 20 rounds; N = 1 is the warm destination. */
static int cmd_cold_copies(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t bytes = (size_t)strtoull(argv[2], NULL, 10);
  int n = atoi(argv[3]);
  if (bytes < 64 || n < 1) return 2;
  uint8_t *src = (uint8_t *)aligned_alloc(4096, bytes), **dst = (uint8_t **)calloc((size_t)n, sizeof *dst);
  if (!src || !dst) die("allocate", -ENOMEM);
  memset(src, 3, bytes);
  for (int i = 0; i < n; i++) {
    if (!(dst[i] = (uint8_t *)aligned_alloc(4096, bytes))) die("allocate", -ENOMEM);
    memset(dst[i], 0, bytes);
  }
  int64_t best = INT64_MAX;
  for (int r = 0; r < 20; r++) {
    int64_t t0 = now_ns();
    for (int i = 0; i < 4 * n; i++) shmswarm_copy(dst[i % n], src, bytes);
    int64_t dt = (now_ns() - t0) / (4 * n);
    if (dt < best) best = dt;
  }
  printf("%zu bytes into %d buffers in turn (%.1f MB cycling): %" PRId64 " ns a copy\n", bytes, n, (double)bytes * n / 1e6, best);
  return 0;
}

int main(int argc, char **argv) {
  int r = 2;
  if (argc >= 2 && strcmp(argv[1], "copy") == 0) r = cmd_copy(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "wake-writer") == 0) r = cmd_wake_writer(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "wake-reader") == 0) r = cmd_wake_reader(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "wake-reader-loop") == 0) r = cmd_wake_reader_loop(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "jitter") == 0) r = cmd_jitter(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "spin-gaps") == 0) r = cmd_spin_gaps(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "e2e-writer") == 0) r = cmd_e2e_writer(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "e2e-consumer") == 0) r = cmd_e2e_consumer(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "offsets") == 0) r = cmd_offsets(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "copy-methods") == 0) r = cmd_copy_methods(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "cold-copies") == 0) r = cmd_cold_copies(argc, argv);
  if (r == 2) fprintf(stderr, "usage: shmbench copy ROWS COLS BATCH_MS | offsets BYTES REPS INNER [aliased] | copy-methods BYTES REPS INNER read|write | cold-copies BYTES N | wake-writer NAME GAP_US MAX_S | wake-reader[-loop] NAME SAMPLES\n");
  return r;
}
