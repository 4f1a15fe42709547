/* A repair wakes the futex waiters, as a publish does (docs/FORMAT.md §10). A child begins a
 * frame and _exits holding the lock; a thread waits with a raw shared FUTEX_WAIT (no timeout)
 * on the change word; the main thread then takes the lock (EOWNERDEAD: repair). A repair that
 * does not wake leaves the thread asleep and this program hung (the test harness times out).
 * Usage: repair_wake <segment name>; prints "ok" and exits 0, or names the failed check. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

static shmswarm_segment *waiter;
static volatile int asleep;

static void *wait_once(void *arg) {
  uint32_t *word, expected;
  uint64_t seq;
  CHECK(shmswarm_wait_begin(waiter, &word) == 0);
  CHECK(shmswarm_wait_check(waiter, 2, &expected, &seq) == 1 && seq == 3); /* frame 2 being written */
  asleep = 1;
  long f = syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
  CHECK(f == 0 || errno == EAGAIN || errno == EINTR);
  CHECK(shmswarm_wait_check(waiter, 2, &expected, &seq) == 0 && seq == 4); /* the repaired frame */
  shmswarm_wait_end(waiter);
  return arg;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  shmswarm_segment *s;
  float v = 1;
  CHECK(shmswarm_create(argv[1], 1, 1, SHMSWARM_F32, NULL, 0600, &s) == 0);
  CHECK(shmswarm_write_frame(s, &v, sizeof v) == 0);
  pid_t child = fork();
  if (child == 0) {
    shmswarm_segment *w;
    void *data;
    if (shmswarm_open(argv[1], 1, &w) != 0 || shmswarm_begin_frame(w, &data) != 0) _exit(2);
    _exit(0); /* holding the lock, sequence odd */
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(shmswarm_open(argv[1], 1, &waiter) == 0);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, wait_once, NULL) == 0);
  while (!asleep) sched_yield();
  struct timespec ts = {0, 100000000}; /* into the FUTEX_WAIT by then; if not, it returns at once */
  nanosleep(&ts, NULL);
  int recovered = 0;
  CHECK(shmswarm_lock_ex(s, 1000000000, &recovered) == 0 && recovered == 1);
  CHECK(shmswarm_unlock(s) == 0);
  CHECK(pthread_join(th, NULL) == 0);
  shmswarm_close(waiter);
  shmswarm_close(s);
  shmswarm_unlink(argv[1]);
  puts("ok");
  return 0;
}
