/* The seqlock's check after the copy, made deterministic. A reader that skips it returns a torn
 * frame only when a write lands inside its copy, and no writer can know when that is; so here the
 * reader's copy itself pauses: the core's memcpy of the frame into our buffer is replaced (in this
 * program only) by one that copies the first half, lets a writer in another process publish
 * whole frames through the ordinary API, then copies the second half. Every paused copy is torn;
 * the reader must notice (the sequence moved), count a retry and return the newest frame whole.
 *
 * Usage: seqlock_torn NAME SLOTS MODE   (MODE auto or lockfree; SLOTS 1 or more)
 * Prints "ok N paused copies, N retries" and exits 0, or "torn: …" / "check failed" and exits 1. */
#define _GNU_SOURCE /* before any system header: the header's implementation needs it */
#include <string.h>

/* 1,600 bytes: below SHMSWARM__COPY_VEC_MIN, so the core copies the frame with memcpy, which this
 * program can interpose (from 2 KiB it takes its own vector loops on x86; the seqlock's check is
 * the same whatever copies the bytes). */
enum { ROWS = 100, COLS = 4, ROUNDS = 20 };
#define FRAME_BYTES ((size_t)ROWS * COLS * sizeof(float))

static void *armed_dst;            /* the reader's buffer, while a copy into it is to pause */
static void (*in_the_middle)(void); /* what runs between the two halves */

static void *pausing_memcpy(void *dst, const void *src, size_t n) {
  if (dst == armed_dst && n == FRAME_BYTES && in_the_middle) {
    void (*fn)(void) = in_the_middle;
    in_the_middle = NULL; /* one pause per read: the retry copies straight through */
    memcpy(dst, src, n / 2);
    fn();
    memcpy((char *)dst + n / 2, (const char *)src + n / 2, n - n / 2);
    return dst;
  }
  return memcpy(dst, src, n);
}
#define memcpy pausing_memcpy
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"
#undef memcpy
_Static_assert(FRAME_BYTES < SHMSWARM__COPY_VEC_MIN, "the frame must be copied by memcpy to be interposed");

#include <sys/wait.h>

#define CHECK(c)                                                                              \
  do {                                                                                        \
    if (!(c)) {                                                                               \
      printf("check failed, line %d: %s (last detail: %s)\n", __LINE__, #c, shmswarm_last_detail()); \
      exit(1);                                                                                \
    }                                                                                         \
  } while (0)

static int to_writer[2], from_writer[2];
static uint32_t slots;

/* The writer process: for each request, publish `slots` whole frames (enough to overwrite the
 * slot being copied), each filled with its frame number, then answer. */
static void writer(const char *name) {
  close(to_writer[1]); /* else the parent's close would never reach read() here as EOF */
  close(from_writer[0]);
  shmswarm_segment *w;
  if (shmswarm_open(name, 1, &w)) _exit(3);
  static float frame[ROWS * COLS];
  float next = 2; /* frame 1 was published by the parent */
  char c;
  while (read(to_writer[0], &c, 1) == 1) {
    for (uint32_t i = 0; i < slots; i++, next++) {
      for (int j = 0; j < ROWS * COLS; j++) frame[j] = next;
      if (shmswarm_write_frame(w, frame, sizeof frame)) _exit(4);
    }
    if (write(from_writer[1], "k", 1) != 1) _exit(5);
  }
  shmswarm_close(w);
  _exit(0);
}

static void let_the_writer_in(void) {
  char c;
  CHECK(write(to_writer[1], "w", 1) == 1);
  CHECK(read(from_writer[0], &c, 1) == 1);
}

int main(int argc, char **argv) {
  CHECK(argc == 4);
  const char *name = argv[1];
  slots = (uint32_t)atoi(argv[2]);
  int mode = strcmp(argv[3], "lockfree") == 0 ? SHMSWARM_READ_NOLOCK : SHMSWARM_READ_AUTO;
  CHECK(slots >= 1 && (mode == SHMSWARM_READ_NOLOCK || strcmp(argv[3], "auto") == 0));

  shmswarm_segment *owner, *reader;
  shmswarm_create_options opts = {0};
  opts.slots = slots;
  shm_unlink(name);
  CHECK(shmswarm_create_ex(name, ROWS, COLS, SHMSWARM_F32, NULL, 0600, &opts, &owner) == 0);
  static float frame[ROWS * COLS];
  for (int j = 0; j < ROWS * COLS; j++) frame[j] = 1;
  CHECK(shmswarm_write_frame(owner, frame, sizeof frame) == 0);

  CHECK(pipe(to_writer) == 0 && pipe(from_writer) == 0);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) writer(name);
  CHECK(shmswarm_open(name, 1, &reader) == 0);

  static float got[ROWS * COLS];
  unsigned retries = 0;
  for (int round = 0; round < ROUNDS; round++) {
    shmswarm_frame_info info;
    armed_dst = got;
    in_the_middle = let_the_writer_in;
    CHECK(shmswarm_read_frame_ex(reader, got, sizeof got, mode, UINT64_MAX, &info) == 0);
    CHECK(in_the_middle == NULL); /* the copy did pause */
    float first = got[0], last = got[ROWS * COLS - 1];
    for (int j = 0; j < ROWS * COLS; j++)
      if (got[j] != first) {
        printf("torn: round %d returned a frame that mixes frame %g (element 0) and frame %g (element %d), "
               "sequence %llu, %u retries: the copy was accepted although the writer published during it\n",
               round, first, got[j], j, (unsigned long long)info.sequence, info.retries);
        return 1;
      }
    CHECK(first == last);
    CHECK(info.retries >= 1);                      /* it saw the write and copied again */
    CHECK(!(info.flags & SHMSWARM_FRAME_LOCKED) || mode == SHMSWARM_READ_AUTO);
    CHECK((uint64_t)first == info.sequence / 2);   /* the newest frame, the one the sequence names */
    retries += info.retries;
  }
  close(to_writer[1]);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  shmswarm_close(reader);
  shmswarm_close(owner);
  shmswarm_unlink(name);
  printf("ok %d paused copies, %u retries\n", ROUNDS, retries);
  return 0;
}
