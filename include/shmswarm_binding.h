/* shmswarm_binding.h: the part of the C API that exists for language bindings and tools.
 *
 * A producer or consumer needs only shmswarm.h. These calls let a binding run shmswarm's waits
 * and locks on its own terms: on its event loop (the futex word and the steps of a wait), on a
 * thread it may have to stop (cancellable waits, per-call timeouts), against another program's
 * mutex (raw mode), and with the checks a tool makes before it maps anything (header
 * validation, process liveness, fstat). The Node addon (native/) uses all of them.
 *
 * Same conventions as shmswarm.h: 0 or a negative code, shmswarm_strerror(), one prefix. The
 * implementation is shmswarm.h's (SHMSWARM_IMPLEMENTATION), which includes this file.
 */
#ifndef SHMSWARM_BINDING_H
#define SHMSWARM_BINDING_H

#include "shmswarm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How soon a cancellable wait notices its cancel flag, and the step in which a binding that
 * cannot interrupt a blocked lock (a thread-pool lock wait) should look at its own. */
#define SHMSWARM_CANCEL_CHECK_NS 20000000

/* ---- Waiting on the caller's terms ---- */
/* Like shmswarm_wait, but also returns -ECANCELED soon after *cancel becomes non-zero. */
int shmswarm_wait_cancellable(shmswarm_segment *s, uint64_t seen, int64_t timeout_ns,
                              const volatile int *cancel, uint64_t *sequence);
/* shmswarm_wait split in three, for callers that sleep on the futex word themselves (Node waits
 * in io_uring on its event-loop thread); deadlines and cancellation are then the caller's.
 * begin registers the caller as a waiter for the whole wait and gives the futex word. It needs
 * write access: -EACCES without it (use shmswarm_wait, which polls). */
int shmswarm_wait_begin(shmswarm_segment *s, uint32_t **word);
/* Steps 2-3 of docs/FORMAT.md §11, once: 0 and *sequence when a frame newer than `seen` is
 * published (counted as in shmswarm_wait); 1 when the caller must sleep with a shared (not
 * PRIVATE) FUTEX_WAIT on the word while it holds *expected, then check again (*sequence is
 * then the sequence read, odd while a frame is being written). */
int shmswarm_wait_check(shmswarm_segment *s, uint64_t seen, uint32_t *expected, uint64_t *sequence);
/* Unregisters: once per successful begin, before the segment is closed. */
void shmswarm_wait_end(shmswarm_segment *s);
/* Linux 6.12+: give the calling thread a short scheduler slice (slice_ns, which the kernel
 * clamps to 0.1-100 ms), so that a wake-up preempts the task running on its CPU instead of
 * waiting for it to use up its own slice. Keeps the thread's policy and nice value and stays
 * with the thread. 0 and *applied_ns, -EINVAL for a thread that is not in the fair class,
 * -ENOTSUP where the kernel has no per-thread slices. */
int shmswarm_set_wake_slice(int64_t slice_ns, int64_t *applied_ns);

/* ---- Per-call timeouts and read-only views ---- */
/* The same with this call's lock timeout (timeout_ns < 0: the segment's; 0: try once), for a
 * caller that must not change the handle's, such as a read running on another thread. */
int shmswarm_read_frame_timed(shmswarm_segment *s, void *dst, size_t bytes, int mode, uint64_t seen,
                              int64_t timeout_ns, shmswarm_frame_info *info);

/* A private copy-on-write mapping of the whole object: reads see the live data, writes stay in
 * this process. For read-only views that must not change the segment. Release with munmap. */
int shmswarm_map_private(shmswarm_segment *s, void **base, size_t *size);

/* ---- Checks a tool makes ---- */
/* Validate header bytes as a pure function: reads only bytes[0, size). 0 and *out filled,
 * or a negative code with a reason in shmswarm_last_detail(). */
int shmswarm_validate(const void *bytes, uint64_t size, shmswarm_layout *out);

/* 1 if the process is alive and (when start != 0) has that start time, else 0. A process killed
 * but not yet reaped by its parent (a zombie) is not alive. */
int shmswarm_pid_alive(int32_t pid, uint64_t start);
/* fstat of the segment's descriptor: size, inode and device, owner, permission bits. */
int shmswarm_stat(shmswarm_segment *s, uint64_t *size, uint64_t *ino, uint64_t *dev,
                  uint32_t *uid, uint32_t *mode);
/* The syscall (or header field) of this thread's last failure; shmswarm_last_detail() says more. */
const char *shmswarm_last_syscall(void);

/* ---- Another program's mutex (raw mode) ---- */
/* Lock a pthread mutex living in someone else's memory (never initialises it). */
int shmswarm_mutex_timedlock(void *mutex, int64_t timeout_ns, int *recovered);
int shmswarm_mutex_unlock(void *mutex);
/* sizeof(pthread_mutex_t) on this platform. */
size_t shmswarm_mutex_size(void);
/* Whether the bytes at `mutex` can be an initialised pthread mutex (glibc's layout), checked
 * before anything writes to them: a lock attempt on other bytes (a data matrix or a segment
 * named by mistake) stores into them. 0, or -EINVAL with the reason in shmswarm_last_detail().
 * Elsewhere than glibc it accepts anything. */
int shmswarm_mutex_check(const void *mutex);
/* 1 when the pthread mutex at `mutex` is robust (a holder that dies is taken over, so a lock
 * that times out has a live holder), 0 when it is not, -1 when that cannot be told (not glibc,
 * or the bytes cannot be read). */
int shmswarm_mutex_robust(const void *mutex);

#ifdef __cplusplus
}
#endif
#endif /* SHMSWARM_BINDING_H */
