/* Misbehaving processes for the reliability tests and bench/crash-campaign.js. Each mode is one
 * way a real peer can fail; the Node side then checks what the next process sees.
 *
 *   helper writer NAME            publish frames forever (every element = the frame number);
 *                                 prints "ready" after the first one
 *   helper die-mid-frame NAME     begin a frame, scribble half of it, _exit holding the lock
 *   helper die-in-repair NAME     lock, get EOWNERDEAD, start repairing, _exit before consistent
 *   helper skip-repair NAME       lock, get EOWNERDEAD, unlock without consistent (ENOTRECOVERABLE)
 *   helper unmap-and-die NAME     lock, munmap the segment, _exit (the kernel cannot mark it dead)
 *   helper unmap-mid-frame NAME   the same inside a frame: the sequence stays odd
 *   helper hold NAME              lock and sleep until killed
 *
 * The raw pthread calls reach the mutex through the implementation's private block: that is the
 * point, a foreign program does not follow shmswarm's repair protocol. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

static void die(const char *what, int rc) {
  fprintf(stderr, "helper: %s: %s (%s)\n", what, shmswarm_strerror(rc), shmswarm_last_detail());
  exit(3);
}

static shmswarm_segment *open_rw(const char *name) {
  shmswarm_segment *s;
  int rc = shmswarm_open(name, 1, &s);
  if (rc) die("open", rc);
  return s;
}

static void say(const char *line) {
  fputs(line, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static int writer(const char *name) {
  shmswarm_segment *s = open_rw(name);
  size_t n = (size_t)(shmswarm_rows(s) * shmswarm_cols(s));
  if (shmswarm_dtype(s) != SHMSWARM_F32) die("writer wants f32", -EINVAL);
  float *buf = (float *)malloc(n * sizeof(float));
  int said = 0;
  for (uint64_t k = 1;; k++) {
    shmswarm_state st;
    shmswarm_get_state(s, &st);
    float v = (float)(st.frames + 1);
    int rc;
    /* Alternate the two publishing paths so kills land inside both. */
    if (k & 1) {
      for (size_t i = 0; i < n; i++) buf[i] = v;
      rc = shmswarm_write_frame(s, buf, n * sizeof(float));
    } else {
      float *m;
      rc = shmswarm_begin_frame(s, (void **)&m);
      if (!rc) {
        for (size_t i = 0; i < n; i++) m[i] = v;
        rc = shmswarm_end_frame(s);
      }
    }
    if (rc) die("write", rc);
    if (!said) {
      say("ready");
      said = 1;
    }
  }
}

static int die_mid_frame(const char *name) {
  shmswarm_segment *s = open_rw(name);
  float *m;
  int rc = shmswarm_begin_frame(s, (void **)&m);
  if (rc) die("begin_frame", rc);
  size_t n = (size_t)(shmswarm_rows(s) * shmswarm_cols(s));
  for (size_t i = 0; i < n / 2; i++) m[i] = -1.0f;
  _exit(0);
}

static pthread_mutex_t *mutex_of(shmswarm_segment *s) { return &s->blk->mutex.m; }

static int die_in_repair(const char *name) {
  shmswarm_segment *s = open_rw(name);
  int r = pthread_mutex_lock(mutex_of(s));
  if (r != EOWNERDEAD) {
    fprintf(stderr, "helper: expected EOWNERDEAD, got %d\n", r);
    return 4;
  }
  /* Half of a repair: the torn flag, but neither the sequence nor consistent. */
  SHMSWARM__STORE(&s->blk->flags, SHMSWARM__LOAD(&s->blk->flags, relaxed) | SHMSWARM_FRAME_TORN, relaxed);
  say("eownerdead");
  _exit(0);
}

static int skip_repair(const char *name) {
  shmswarm_segment *s = open_rw(name);
  int r = pthread_mutex_lock(mutex_of(s));
  if (r != EOWNERDEAD) {
    fprintf(stderr, "helper: expected EOWNERDEAD, got %d\n", r);
    return 4;
  }
  pthread_mutex_unlock(mutex_of(s));
  say("skipped");
  return 0;
}

static int unmap_and_die(const char *name) {
  shmswarm_segment *s = open_rw(name);
  int rc = shmswarm_lock(s);
  if (rc) die("lock", rc);
  munmap(s->base, s->map_size);
  say("unmapped");
  _exit(0);
}

static int unmap_mid_frame(const char *name) {
  shmswarm_segment *s = open_rw(name);
  float *m;
  int rc = shmswarm_begin_frame(s, (void **)&m);
  if (rc) die("begin_frame", rc);
  munmap(s->base, s->map_size);
  say("unmapped");
  _exit(0);
}

static int hold(const char *name) {
  shmswarm_segment *s = open_rw(name);
  int rc = shmswarm_lock(s);
  if (rc) die("lock", rc);
  say("holding");
  for (;;) pause();
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: helper MODE NAME\n");
    return 2;
  }
  const char *mode = argv[1], *name = argv[2];
  if (!strcmp(mode, "writer")) return writer(name);
  if (!strcmp(mode, "die-mid-frame")) return die_mid_frame(name);
  if (!strcmp(mode, "die-in-repair")) return die_in_repair(name);
  if (!strcmp(mode, "skip-repair")) return skip_repair(name);
  if (!strcmp(mode, "unmap-and-die")) return unmap_and_die(name);
  if (!strcmp(mode, "unmap-mid-frame")) return unmap_mid_frame(name);
  if (!strcmp(mode, "hold")) return hold(name);
  fprintf(stderr, "helper: unknown mode %s\n", mode);
  return 2;
}
