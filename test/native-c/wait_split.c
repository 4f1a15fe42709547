/* shmswarm_wait_begin / _check / _end (the wait split for callers that sleep on the futex word
 * themselves) against the protocol of docs/FORMAT.md §11, in one process: a writer thread
 * publishes frames while the main thread waits with a raw shared FUTEX_WAIT on the word.
 * Usage: wait_split <segment name>; prints "ok" and exits 0, or names the failed check. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <linux/futex.h>
#include <sys/syscall.h>

#include "check.h"

enum { FRAMES = 2000, WAKE_DEADLINE_S = 5 };
static shmswarm_segment *writer;

static void *publish(void *arg) {
  float v = 0;
  for (int i = 0; i < FRAMES; i++) {
    v = (float)i;
    CHECK(shmswarm_write_frame(writer, &v, sizeof v) == 0);
    if (i % 3 == 0) {
      struct timespec ts = {0, (i % 7) * 20000};
      nanosleep(&ts, NULL);
    }
  }
  return arg;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  shmswarm_segment *s;
  CHECK(shmswarm_create(argv[1], 1, 1, SHMSWARM_F32, NULL, 0600, &writer) == 0);
  CHECK(shmswarm_open(argv[1], 1, &s) == 0);
  shmswarm_state st;

  uint32_t *word = NULL, expected = 7;
  uint64_t seq = 99;
  CHECK(shmswarm_wait_begin(s, &word) == 0 && word != NULL);
  CHECK(shmswarm_get_state(s, &st) == 0 && st.waiters == 1);
  CHECK(shmswarm_wait_check(s, 0, &expected, &seq) == 1); /* nothing newer than 0 yet */
  CHECK(seq == 0 && expected == *(volatile uint32_t *)word); /* 1 gives the sequence read */
  CHECK(shmswarm_wait_check(s, UINT64_MAX, &expected, &seq) == 0 && seq == 0); /* none seen */
  shmswarm_wait_end(s);
  CHECK(shmswarm_get_state(s, &st) == 0 && st.waiters == 0);

  /* No lost wake-up: every check that says "sleep" is followed by a FUTEX_WAIT on the word.
   * A wake-up takes microseconds and the writer publishes its 2,000 frames in well under a
   * second, so a sleep that lasts WAKE_DEADLINE_S means the writer did not wake us: fail then,
   * saying so, instead of hanging until the test harness gives up. */
  pthread_t th;
  CHECK(shmswarm_wait_begin(s, &word) == 0);
  CHECK(pthread_create(&th, NULL, publish, NULL) == 0);
  uint64_t seen = 0, waits = 0, sleeps = 0;
  while (seen < 2 * FRAMES) {
    int r = shmswarm_wait_check(s, seen, &expected, &seq);
    CHECK(r == 0 || r == 1);
    if (r == 0) {
      CHECK(seq > seen && seq % 2 == 0);
      seen = seq;
      waits++;
      continue;
    }
    sleeps++;
    struct timespec deadline = {WAKE_DEADLINE_S, 0};
    long f = syscall(SYS_futex, word, FUTEX_WAIT, expected, &deadline, NULL, 0);
    if (f != 0 && errno == ETIMEDOUT) {
      fprintf(stderr, "lost wake-up: slept %d s on the futex word after frame %llu of %d was seen, although the "
              "writer kept publishing (a published frame must wake registered waiters)\n",
              WAKE_DEADLINE_S, (unsigned long long)(seen / 2), FRAMES);
      exit(1);
    }
    CHECK(f == 0 || errno == EAGAIN || errno == EINTR);
  }
  shmswarm_wait_end(s);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(shmswarm_get_state(s, &st) == 0 && st.waiters == 0);

  shmswarm_close(s);
  shmswarm_close(writer);
  shmswarm_unlink(argv[1]);
  printf("ok %llu waits, %llu sleeps\n", (unsigned long long)waits, (unsigned long long)sleeps);
  return 0;
}
