/* shmswarm.h — self-describing shared-memory matrices for live data between processes.
 *
 * Single header, stb style. In exactly one C or C++ file:
 *
 *     #define SHMSWARM_IMPLEMENTATION
 *     #include "shmswarm.h"
 *
 * and link with -lpthread (and -lrt on old glibc). Everything else includes it plainly.
 * The implementation needs C11 (<stdatomic.h>, _Atomic) or C++11 (<atomic>), with the GNU
 * __thread and __attribute__ that gcc and clang accept in every mode; the declarations alone
 * are plain C99.
 * The byte format is documented in docs/FORMAT.md; this file is its only implementation
 * (the Node addon compiles it too).
 *
 * Conventions: every function returns 0 or a negative error code (a negated errno, or one of
 * the SHMSWARM_E* codes below); shmswarm_strerror() explains either kind, and
 * shmswarm_last_detail() gives this thread's detail for the last failure (which syscall,
 * which header field). A NULL segment, or NULL where a result or buffer must go, is -EINVAL
 * (pointers documented as optional may be NULL); accessors given NULL return 0, "" or NULL.
 *
 * Typical producer:
 *     shmswarm_segment *s;
 *     int rc = shmswarm_create("/swarm", 1000, 4, SHMSWARM_F32, "x,y,vx,vy", 0600, &s);
 *     float *m;
 *     shmswarm_begin_frame(s, (void **)&m);   // lock, sequence odd
 *     ... fill m[agent * 4 + field] ...
 *     shmswarm_end_frame(s);                  // sequence even, unlock, wake readers
 *     shmswarm_close(s);
 */
#ifndef SHMSWARM_H
#define SHMSWARM_H

/* The implementation needs POSIX and GNU declarations; define SHMSWARM_IMPLEMENTATION in a file
 * where this header comes before any system header (or build with -D_GNU_SOURCE). */
#if defined(SHMSWARM_IMPLEMENTATION) && defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a producer or consumer needs is below. The calls that exist for language bindings and
 * tools (waits driven by the caller's own event loop, per-call timeouts, foreign mutexes, header
 * validation) are in shmswarm_binding.h. */

/* Element types: the WA-1 codes of InterProcessCommunication.jl. */
enum {
  SHMSWARM_I8 = 1, SHMSWARM_U8 = 2, SHMSWARM_I16 = 3, SHMSWARM_U16 = 4, SHMSWARM_I32 = 5,
  SHMSWARM_U32 = 6, SHMSWARM_I64 = 7, SHMSWARM_U64 = 8, SHMSWARM_F32 = 9, SHMSWARM_F64 = 10
};

/* Format errors (negative, outside the errno range). */
#define SHMSWARM_EBADMAGIC   (-30701) /* not a WA-1 object */
#define SHMSWARM_EBYTEORDER  (-30702) /* written on a machine of the other byte order */
#define SHMSWARM_EVERSION    (-30703) /* shmswarm block of another format version */
#define SHMSWARM_ELAYOUT     (-30704) /* same version, built for another platform (mutex size, cache line) */
#define SHMSWARM_ECORRUPT    (-30705) /* a header field is out of range; see shmswarm_last_detail() */
#define SHMSWARM_ECHECKSUM   (-30706) /* immutable header fields do not match their checksum */
#define SHMSWARM_EUNINIT     (-30707) /* still being created, or its creator died while creating it */
#define SHMSWARM_ETRUNCATED  (-30708) /* the object is smaller than its header says */
#define SHMSWARM_EBUS        (-30709) /* memory fault: the object shrank, or /dev/shm has no room */
#define SHMSWARM_ENOTSYNC    (-30710) /* plain WA-1 object: no shmswarm block, no lock, no sequence */
#define SHMSWARM_ENOFRAME    (-30711) /* no consistent frame could be read without the lock */

#define SHMSWARM_WA1_MAGIC     0x57412D31u               /* "WA-1" */
#define SHMSWARM_BLOCK_MAGIC   0x314D5257534D4853ull     /* bytes "SHMSWRM1" on little-endian */
#define SHMSWARM_VERSION       1u                        /* one frame buffer */
#define SHMSWARM_VERSION_SLOTS 2u                        /* 2 to SHMSWARM_SLOTS_MAX frame buffers */
#define SHMSWARM_SLOTS_MAX     16u
#define SHMSWARM_CACHELINE     64u
#define SHMSWARM_MUTEX_RESERVE 128u
#define SHMSWARM_BLOCK_FIXED   512u                      /* block bytes before the field names */
#define SHMSWARM_FIELDS_MAX    65536u                    /* bytes of comma-separated field names */
#define SHMSWARM_NAME_MAX      255u                      /* bytes after the leading '/' */
#define SHMSWARM_MAX_DATA      (1ull << 40)              /* bytes of matrix data */
#define SHMSWARM_WA1_MAX_NDIMS 32u

/* Frame flags, in shmswarm_frame_info.flags and shmswarm_state.flags. */
#define SHMSWARM_FRAME_TORN       0x1u  /* a writer died mid-frame; data may mix two frames */
#define SHMSWARM_FRAME_UNCHANGED  0x2u  /* sequence equal to the one asked about: nothing copied */
#define SHMSWARM_FRAME_LOCKED     0x4u  /* copied under the mutex */
#define SHMSWARM_FRAME_RECOVERED  0x8u  /* the mutex came back EOWNERDEAD and was repaired */
#define SHMSWARM_FRAME_UNSYNCED   0x10u /* plain WA-1: copied with no consistency guarantee */

/* Read modes for shmswarm_read_frame_ex. */
#define SHMSWARM_READ_AUTO  0  /* lock-free (seqlock), bounded retries, then the mutex */
#define SHMSWARM_READ_LOCK  1  /* always under the mutex (the only safe way with foreign writers) */
#define SHMSWARM_READ_NOLOCK 2 /* lock-free only; SHMSWARM_ENOFRAME when the retries run out */

#define SHMSWARM_KIND_SHMSWARM 1 /* full shmswarm segment */
#define SHMSWARM_KIND_WA1      2 /* plain WA-1 object, e.g. from Julia's WrappedArray */

typedef struct shmswarm_segment shmswarm_segment;

/* What the header says, validated against the object's real size. */
typedef struct shmswarm_layout {
  int kind;                  /* SHMSWARM_KIND_* */
  int dtype;                 /* SHMSWARM_F32, ... */
  uint32_t elsize;           /* bytes per element */
  uint32_t cols;             /* fields per agent */
  uint64_t rows;             /* agents */
  uint64_t data_offset;      /* 64 for every matrix: slot 0 */
  uint64_t data_bytes;       /* rows * cols * elsize: one frame (one slot) */
  uint64_t block_offset;     /* shmswarm block; 0 for plain WA-1 */
  uint64_t total_size;       /* bytes the header accounts for */
  uint32_t fields_len;       /* bytes of field names at fields_offset (0: unnamed) */
  uint64_t fields_offset;
  int64_t created_ns;        /* CLOCK_REALTIME at creation */
  int32_t creator_pid;
  uint32_t mode;             /* permission bits asked for at creation */
  uint32_t version;          /* block format version (1 or 2); 0 for plain WA-1 */
  uint32_t slots;            /* frame buffers: slot i at data_offset + i * data_bytes; 1 for versions 0-1 */
} shmswarm_layout;

/* The live part of the header, read without the lock. */
typedef struct shmswarm_state {
  uint64_t sequence;         /* even: stable; odd: a frame is being written */
  uint64_t frames;           /* frames published */
  int64_t last_write_ns;     /* CLOCK_REALTIME of the last publish */
  int32_t writer_pid;        /* last publisher */
  uint32_t flags;            /* SHMSWARM_FRAME_TORN while the torn frame is the latest */
  uint64_t writer_start;     /* the publisher's start time (clock ticks since boot; 0 unknown) */
  uint32_t waiters;          /* processes blocked in shmswarm_wait */
  uint32_t slots;            /* frame buffers (immutable; as in shmswarm_layout) */
} shmswarm_state;

typedef struct shmswarm_frame_info {
  uint64_t sequence;
  uint64_t frames;
  int64_t last_write_ns;
  int32_t writer_pid;
  uint32_t flags;            /* SHMSWARM_FRAME_* */
  uint32_t retries;          /* lock-free attempts that saw a concurrent write */
} shmswarm_frame_info;

/* Create a new segment (O_CREAT|O_EXCL; fails with -EEXIST). mode (0 to 0777; no setuid, setgid
 * or sticky bit) is applied exactly with fchmod. fields: comma-separated names, one per column,
 * or NULL for unnamed columns; each name non-empty printable ASCII without spaces at its ends,
 * no two alike (the rules of the TypeScript API). The name is '/' then 1-255 bytes of valid
 * UTF-8 without '/' or control characters. The memory is reserved up front (posix_fallocate),
 * so a full /dev/shm fails here with -ENOSPC and leaves nothing behind. */
int shmswarm_create(const char *name, uint64_t rows, uint32_t cols, int dtype, const char *fields,
                    unsigned mode, shmswarm_segment **out);

/* Options for shmswarm_create_ex; zero-initialise, then set what you need. */
typedef struct shmswarm_create_options {
  /* Frame buffers, 1 to SHMSWARM_SLOTS_MAX (0 means 1). With k >= 2 the segment is format
   * version 2: frame n goes to slot n % k, so a writer never overwrites the frame lock-free
   * readers are copying unless it laps them by k - 1 frames. Costs k times the matrix memory. */
  uint32_t slots;
} shmswarm_create_options;

/* shmswarm_create with options (opts may be NULL: the defaults, i.e. shmswarm_create). */
int shmswarm_create_ex(const char *name, uint64_t rows, uint32_t cols, int dtype, const char *fields,
                       unsigned mode, const shmswarm_create_options *opts, shmswarm_segment **out);

/* Open an existing segment. writable=0 opens for reading: the mutex and wake-up words are still
 * used when the object's permissions allow it. Plain WA-1 objects open only with writable=0.
 * Refused: symbolic links (-ELOOP), anything but a regular object (-EINVAL), and for writing an
 * object owned by another user unless it is group-writable (not world-writable) for a group of
 * the caller (-EPERM). */
int shmswarm_open(const char *name, int writable, shmswarm_segment **out);

/* Unmap and close; always frees s. Never unlinks. A lock or frame still held by this handle is
 * released first (a begun frame is marked torn). */
int shmswarm_close(shmswarm_segment *s);

/* Remove a name. Mappings stay valid until closed. */
int shmswarm_unlink(const char *name);

uint64_t shmswarm_rows(const shmswarm_segment *s);
uint32_t shmswarm_cols(const shmswarm_segment *s);
int shmswarm_dtype(const shmswarm_segment *s);
const shmswarm_layout *shmswarm_get_layout(const shmswarm_segment *s);
/* Field names as stored, comma-separated (not NUL-terminated: length in layout.fields_len). */
const char *shmswarm_fields(const shmswarm_segment *s);
/* The matrix: rows * cols elements, agent-major. Writes through it bypass the protocol.
 * With several slots this is slot 0 (slot i follows at i * data_bytes): use shmswarm_frame_data. */
void *shmswarm_data(shmswarm_segment *s);
/* Frame buffers: 1 for format 1 and plain WA-1 objects, 2-16 for format 2. */
uint32_t shmswarm_slots(const shmswarm_segment *s);
/* The slot holding the latest published frame, for a reader holding the lock (shmswarm_lock):
 * slot (sequence / 2) % slots. Without the lock the writer may move on meanwhile. */
void *shmswarm_frame_data(shmswarm_segment *s);
/* Bytes of one element of dtype, or 0 for an unknown code. */
uint32_t shmswarm_dtype_size(int dtype);

/* Publish a whole frame: lock, sequence odd, copy, sequence even, unlock, wake. */
int shmswarm_write_frame(shmswarm_segment *s, const void *src, size_t bytes);
/* In-place publishing: begin locks and makes the sequence odd and gives the matrix;
 * end makes it even, records the frame, unlocks and wakes waiters. With several slots *data is
 * the slot of the new frame, which still holds the frame published `slots` frames earlier:
 * write the whole frame. */
int shmswarm_begin_frame(shmswarm_segment *s, void **data);
int shmswarm_end_frame(shmswarm_segment *s);

/* A consistent copy of the current frame (lock-free with a locked fallback). */
int shmswarm_read_frame(shmswarm_segment *s, void *dst, size_t bytes, uint64_t *sequence);
/* The same with a mode (SHMSWARM_READ_*; another value is -EINVAL) and a sequence already seen:
 * when the current sequence equals `seen`, nothing is copied and info->flags has
 * SHMSWARM_FRAME_UNCHANGED. Pass UINT64_MAX as seen to always copy. info may be NULL. */
int shmswarm_read_frame_ex(shmswarm_segment *s, void *dst, size_t bytes, int mode, uint64_t seen,
                           shmswarm_frame_info *info);

/* Lock the segment's robust mutex with the segment's timeout (default 1 s; -ETIMEDOUT).
 * A dead previous owner is handled: the frame state is repaired, the mutex made consistent.
 * A thread that already holds it (shmswarm_lock* or begin_frame, through this or another handle
 * of the segment) gets -EDEADLK at once here and from every call that locks: write_frame,
 * begin_frame, locking reads. */
int shmswarm_lock(shmswarm_segment *s);
/* timeout_ns < 0: the segment's timeout; 0: try once (-EBUSY). *recovered (may be NULL) is set
 * to 1 when the previous owner had died holding it. */
int shmswarm_lock_ex(shmswarm_segment *s, int64_t timeout_ns, int *recovered);
int shmswarm_unlock(shmswarm_segment *s);
void shmswarm_set_timeout(shmswarm_segment *s, int64_t timeout_ns);

/* Block until a frame newer than `seen` is published, or timeout (-ETIMEDOUT); *sequence gets
 * its (even) sequence. A frame still being written (odd sequence q) counts as q - 1, so a
 * writer publishing back to back cannot starve the waiter; an odd `seen` waits for seen + 1. */
int shmswarm_wait(shmswarm_segment *s, uint64_t seen, int64_t timeout_ns, uint64_t *sequence);

/* The live header fields, read without the lock (memory-fault safe). */
int shmswarm_get_state(shmswarm_segment *s, shmswarm_state *out);


/* memcpy that returns SHMSWARM_EBUS instead of dying when the source or destination faults. */
int shmswarm_copy_guarded(void *dst, const void *src, size_t bytes);
/* memcpy (same contract: no overlap) at the same speed whatever the two addresses: the copy
 * every frame read and write makes. No guard: a fault is a signal, as with memcpy. */
void shmswarm_copy(void *dst, const void *src, size_t bytes);

const char *shmswarm_strerror(int code);
/* "ENOENT", "EOWNERDEAD", "EBADMAGIC", ...; NULL when unknown. */
const char *shmswarm_errname(int code);
/* This thread's detail for the last failure: the syscall or header field, e.g. "shm_open". */
const char *shmswarm_last_detail(void);

#ifdef __cplusplus
}
#endif
#endif /* SHMSWARM_H */

/* ======================================================================================== */
#ifdef SHMSWARM_IMPLEMENTATION
#ifndef SHMSWARM_IMPLEMENTED
#define SHMSWARM_IMPLEMENTED
#include "shmswarm_binding.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#ifdef __cplusplus
#include <atomic>
#define SHMSWARM__ATOMIC(T) std::atomic<T>
#define SHMSWARM__LOAD(p, o) std::atomic_load_explicit((p), std::memory_order_##o)
#define SHMSWARM__STORE(p, v, o) std::atomic_store_explicit((p), (v), std::memory_order_##o)
#define SHMSWARM__ADD(p, v) std::atomic_fetch_add((p), (v))
#define SHMSWARM__SUB(p, v) std::atomic_fetch_sub((p), (v))
#define SHMSWARM__CAS(p, e, v) std::atomic_compare_exchange_strong((p), (e), (v))
#define SHMSWARM__FENCE(o) std::atomic_thread_fence(std::memory_order_##o)
#else
#include <stdatomic.h>
#define SHMSWARM__ATOMIC(T) _Atomic(T)
#define SHMSWARM__LOAD(p, o) atomic_load_explicit((p), memory_order_##o)
#define SHMSWARM__STORE(p, v, o) atomic_store_explicit((p), (v), memory_order_##o)
#define SHMSWARM__ADD(p, v) atomic_fetch_add((p), (v))
#define SHMSWARM__SUB(p, v) atomic_fetch_sub((p), (v))
#define SHMSWARM__CAS(p, e, v) atomic_compare_exchange_strong((p), (e), (v))
#define SHMSWARM__FENCE(o) atomic_thread_fence(memory_order_##o)
#endif

#if defined(__x86_64__) || defined(__i386__)
#define SHMSWARM__PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define SHMSWARM__PAUSE() __asm__ __volatile__("yield")
#else
#define SHMSWARM__PAUSE() ((void)0)
#endif

/* glibc declares PTHREAD_MUTEX_ROBUST in an enum, so #ifdef cannot detect it: name the platforms
 * with robust process-shared mutexes (macOS has none). */
#if defined(__linux__) || defined(__FreeBSD__)
#define SHMSWARM__ROBUST 1
#endif

#define SHMSWARM__STATIC_ASSERT(c, m) typedef char shmswarm__assert_##m[(c) ? 1 : -1]

/* The shmswarm block: at the first 64-byte boundary after the matrix. Lines 0 and 1 are
 * immutable after creation (covered by the checksum, init_state excepted); every line after
 * them is written by a different party, so each has its own cache line. */
typedef struct shmswarm__block {
  /* line 0: identity */
  uint64_t magic;                 /* 0   SHMSWARM_BLOCK_MAGIC */
  uint32_t version;               /* 8   SHMSWARM_VERSION */
  uint32_t layout;                /* 12  sizeof(pthread_mutex_t) | cache line << 16 */
  uint64_t rows;                  /* 16 */
  uint32_t cols;                  /* 24 */
  uint16_t dtype;                 /* 28 */
  uint16_t elsize;                /* 30 */
  uint64_t data_offset;           /* 32 */
  uint64_t data_bytes;            /* 40 */
  uint64_t block_offset;          /* 48  the block's own offset */
  uint32_t fields_len;            /* 56 */
  uint32_t checksum;              /* 60  FNV-1a 32 over WA-1 bytes 0-31, line 0, line 1 64-95 (and 100-103 in version 2), fields */
  /* line 1: creation */
  int64_t created_ns;             /* 64 */
  uint64_t creator_start;         /* 72 */
  uint64_t total_size;            /* 80 */
  int32_t creator_pid;            /* 88 */
  uint32_t mode;                  /* 92 */
  SHMSWARM__ATOMIC(uint32_t) init_state; /* 96  SHMSWARM__READY, stored last with release */
  uint32_t slots;                 /* 100 version 2: frame buffers, 2-16; version 1: 0 (padding) */
  uint8_t pad1[24];
  /* line 2: the sequence counter, even = stable */
  SHMSWARM__ATOMIC(uint64_t) seq; /* 128 */
  uint8_t pad2[56];
  /* line 3: last frame, written under the mutex */
  SHMSWARM__ATOMIC(uint64_t) frames;        /* 192 */
  SHMSWARM__ATOMIC(int64_t) last_write_ns;  /* 200 */
  SHMSWARM__ATOMIC(uint64_t) writer_start;  /* 208 */
  SHMSWARM__ATOMIC(int32_t) writer_pid;     /* 216 */
  SHMSWARM__ATOMIC(uint32_t) flags;         /* 220 */
  /* The odd sequence of the frame whose figures above are being stored (before any of them):
   * a slots reader that reads the figures and then finds this at 2n + 1 or later knows they may
   * describe frame n + 1, not the frame n it copied. */
  SHMSWARM__ATOMIC(uint64_t) stats_seq;     /* 224 */
  uint8_t pad3[24];
  /* line 4: change notification (futex word and its sleepers) */
  SHMSWARM__ATOMIC(uint32_t) notify;        /* 256 */
  SHMSWARM__ATOMIC(uint32_t) waiters;       /* 260 */
  uint8_t pad4[56];
  /* line 5: a reader falling back to the mutex asks the writer to step aside once */
  SHMSWARM__ATOMIC(int64_t) read_request;   /* 320  CLOCK_MONOTONIC deadline, 0 = none */
  SHMSWARM__ATOMIC(uint32_t) gate;          /* 328  futex word the writer sleeps on */
  uint8_t pad5[52];
  /* lines 6-7: robust process-shared mutex, initialised by the creator only */
  union { pthread_mutex_t m; uint8_t reserve[SHMSWARM_MUTEX_RESERVE]; } mutex; /* 384 */
} shmswarm__block;

SHMSWARM__STATIC_ASSERT(sizeof(shmswarm__block) == SHMSWARM_BLOCK_FIXED, block_size);
SHMSWARM__STATIC_ASSERT(sizeof(pthread_mutex_t) <= SHMSWARM_MUTEX_RESERVE, mutex_fits);

#define SHMSWARM__READY 0x59444552u /* "REDY" */
#define SHMSWARM__LAYOUT ((uint32_t)sizeof(pthread_mutex_t) | (SHMSWARM_CACHELINE << 16))
#define SHMSWARM__SPIN_NS 200000      /* lock-free reader waits this long for an odd sequence */
#define SHMSWARM__COPY_ATTEMPTS 3     /* lock-free copies before falling back to the mutex */
/* Before sleeping, a writer stepping aside and a reader wanting the lock spin this long: a copy
 * under the lock takes µs up to a few ms, a futex sleep and wake-up tens of µs on each side. */
#define SHMSWARM__HANDOFF_SPIN_NS 50000
#define SHMSWARM__GATE_NS 20000000    /* longest a writer steps aside for a falling-back reader */
/* shmswarm_wait sleeps on the futex at most this long at a time (a registered waiter), */
#define SHMSWARM__WAIT_SLEEP_NS 100000000
/* and polls this often where it cannot register (a read-only mapping gets no wake-up). */
#define SHMSWARM__WAIT_POLL_NS 2000000

struct shmswarm_segment {
  char name[SHMSWARM_NAME_MAX + 2];
  int fd;
  int writable;                   /* may publish frames */
  int shared_rw;                  /* mapping is writable: may use the mutex and wake-up words */
  uint8_t *base;
  size_t map_size;
  shmswarm_layout lay;
  shmswarm__block *blk;           /* NULL for plain WA-1 */
  int64_t timeout_ns;
  int32_t pid;
  uint64_t start;
  int in_frame;
  int held;                       /* locked through shmswarm_lock*, not yet unlocked */
  unsigned contended;             /* automatic reads since one needed the mutex (0: none did) */
  uint64_t dev, ino;              /* the object's identity: every handle of it shares the mutex */
};

/* ---- thread-local error detail ---- */
static __thread char shmswarm__detail[200];
static __thread const char *shmswarm__syscall;

static int shmswarm__fail(int code, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int shmswarm__fail(int code, const char *syscall, const char *fmt, ...) {
  shmswarm__syscall = syscall;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(shmswarm__detail, sizeof shmswarm__detail, fmt, ap);
    va_end(ap);
  } else {
    snprintf(shmswarm__detail, sizeof shmswarm__detail, "%s", syscall ? syscall : "");
  }
  return code;
}
#define SHMSWARM__ERRNO(call) shmswarm__fail(-errno, call, NULL)

const char *shmswarm_last_detail(void) { return shmswarm__detail; }
const char *shmswarm_last_syscall(void) { return shmswarm__syscall; }

/* A NULL the caller had to fill in: an error naming it rather than a crash. */
static int shmswarm__null(const char *call, const char *what) {
  return shmswarm__fail(-EINVAL, call, "%s is NULL", what);
}

/* ---- time ---- */
static int64_t shmswarm__now(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static struct timespec shmswarm__ts(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  return ts;
}

/* ---- frame copies ----
 * On AMD Zen 4 a copy whose destination is 1 to ~2,000 bytes ahead of its source modulo
 * 256 MiB runs several times slower going forward (its stores alias the loads after them):
 * glibc's memcpy, which takes 2 KiB-1 MiB with `rep movsb`, up to 12x; 1 to 256 bytes ahead
 * modulo 4 KiB, or just behind, costs rep movsb up to ~1.5x, and a forward loop 16 to ~600
 * bytes ahead modulo 4 KiB up to 2x at 4 KB. Elsewhere too a plain AVX2 loop does as well or
 * better on Zen 4 (`shmbench copy-methods`, 256 offsets of a 4 KiB period: 4 KB 35 ns against
 * memcpy's 42 at the median, 97 at worst; 240 KB p90 4.4 against 4.7 us; 24 MB no worse). So
 * from 2 KiB on x86 with AVX2 a frame is copied with that loop (unaligned loads, aligned
 * stores), backward when the destination is up to 2 KiB ahead modulo 256 MiB or 4 KiB; on AMD
 * always, elsewhere (Intel's rep movsb is not known slow there; not measured here) only in
 * the aliasing windows as first measured (up to 256 bytes ahead modulo 4 KiB), the rest by
 * memcpy (docs/PERFORMANCE.md, "Copies from any address").
 * Smaller copies and other architectures use memcpy. The seqlock reader copies while a writer
 * may store (as it did with memcpy) and decides by the sequence after the copy. */
#define SHMSWARM__COPY_VEC_MIN 2048u
#define SHMSWARM__COPY_ALIAS ((uintptr_t)1 << 28) /* the span modulo which Zen 4's accesses alias */
enum { SHMSWARM__COPY_MEMCPY = 0, SHMSWARM__COPY_FORWARD = 1, SHMSWARM__COPY_BACKWARD = 2 };

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SHMSWARM__COPY_AVX2 1
static int shmswarm__copy_avx2, shmswarm__copy_amd;
static pthread_once_t shmswarm__copy_once = PTHREAD_ONCE_INIT;
static void shmswarm__copy_init(void) {
  __builtin_cpu_init();
  shmswarm__copy_avx2 = __builtin_cpu_supports("avx2") != 0;
  shmswarm__copy_amd = __builtin_cpu_is("amd") != 0;
}

/* bytes >= 64. The first and last 32 bytes are loaded first and stored unaligned; the loops
 * in between store at 32-byte boundaries of dst. */
__attribute__((target("avx2"))) static void shmswarm__copy_forward(uint8_t *dst, const uint8_t *src, size_t bytes) {
  __m256i head = _mm256_loadu_si256((const __m256i *)src);
  __m256i tail = _mm256_loadu_si256((const __m256i *)(src + bytes - 32));
  size_t at = 32 - ((uintptr_t)dst & 31);
  for (; bytes - at >= 128; at += 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(src + at));
    __m256i b = _mm256_loadu_si256((const __m256i *)(src + at + 32));
    __m256i c = _mm256_loadu_si256((const __m256i *)(src + at + 64));
    __m256i d = _mm256_loadu_si256((const __m256i *)(src + at + 96));
    _mm256_store_si256((__m256i *)(dst + at), a);
    _mm256_store_si256((__m256i *)(dst + at + 32), b);
    _mm256_store_si256((__m256i *)(dst + at + 64), c);
    _mm256_store_si256((__m256i *)(dst + at + 96), d);
  }
  for (; bytes - at >= 32; at += 32) _mm256_store_si256((__m256i *)(dst + at), _mm256_loadu_si256((const __m256i *)(src + at)));
  _mm256_storeu_si256((__m256i *)dst, head);
  _mm256_storeu_si256((__m256i *)(dst + bytes - 32), tail);
}

__attribute__((target("avx2"))) static void shmswarm__copy_backward(uint8_t *dst, const uint8_t *src, size_t bytes) {
  __m256i head = _mm256_loadu_si256((const __m256i *)src);
  __m256i tail = _mm256_loadu_si256((const __m256i *)(src + bytes - 32));
  size_t at = bytes - ((uintptr_t)(dst + bytes) & 31); /* dst + at: the last 32-byte boundary */
  for (; at >= 128; at -= 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(src + at - 32));
    __m256i b = _mm256_loadu_si256((const __m256i *)(src + at - 64));
    __m256i c = _mm256_loadu_si256((const __m256i *)(src + at - 96));
    __m256i d = _mm256_loadu_si256((const __m256i *)(src + at - 128));
    _mm256_store_si256((__m256i *)(dst + at - 32), a);
    _mm256_store_si256((__m256i *)(dst + at - 64), b);
    _mm256_store_si256((__m256i *)(dst + at - 96), c);
    _mm256_store_si256((__m256i *)(dst + at - 128), d);
  }
  for (; at >= 32; at -= 32) _mm256_store_si256((__m256i *)(dst + at - 32), _mm256_loadu_si256((const __m256i *)(src + at - 32)));
  _mm256_storeu_si256((__m256i *)dst, head);
  _mm256_storeu_si256((__m256i *)(dst + bytes - 32), tail);
}
#endif

/* How a copy of `bytes` from src to dst is made: SHMSWARM__COPY_*. */
static int shmswarm__copy_method(const void *dst, const void *src, size_t bytes) {
#ifdef SHMSWARM__COPY_AVX2
  if (bytes < SHMSWARM__COPY_VEC_MIN) return SHMSWARM__COPY_MEMCPY;
  pthread_once(&shmswarm__copy_once, shmswarm__copy_init);
  if (!shmswarm__copy_avx2) return SHMSWARM__COPY_MEMCPY;
  uintptr_t ahead = ((uintptr_t)dst - (uintptr_t)src) & (SHMSWARM__COPY_ALIAS - 1);
  if (ahead >= 1 && ahead <= 2048) return SHMSWARM__COPY_BACKWARD;
  if (ahead == 0 || ahead >= SHMSWARM__COPY_ALIAS - 2048) return SHMSWARM__COPY_FORWARD;
  ahead &= 4095u;
  if (!shmswarm__copy_amd) return ahead >= 1 && ahead <= 256 ? SHMSWARM__COPY_BACKWARD : SHMSWARM__COPY_MEMCPY;
  return ahead >= 1 && ahead <= 2048 ? SHMSWARM__COPY_BACKWARD : SHMSWARM__COPY_FORWARD;
#else
  (void)dst, (void)src, (void)bytes;
  return SHMSWARM__COPY_MEMCPY;
#endif
}

void shmswarm_copy(void *dst, const void *src, size_t bytes) {
  switch (shmswarm__copy_method(dst, src, bytes)) {
#ifdef SHMSWARM__COPY_AVX2
    case SHMSWARM__COPY_FORWARD: shmswarm__copy_forward((uint8_t *)dst, (const uint8_t *)src, bytes); return;
    case SHMSWARM__COPY_BACKWARD: shmswarm__copy_backward((uint8_t *)dst, (const uint8_t *)src, bytes); return;
#endif
    default: if (bytes) memcpy(dst, src, bytes);
  }
}

/* ---- memory-fault guard: SIGBUS inside a guarded region returns SHMSWARM_EBUS ---- */
static __thread sigjmp_buf *volatile shmswarm__jump;
static struct sigaction shmswarm__prev_bus;
static pthread_once_t shmswarm__bus_once = PTHREAD_ONCE_INIT;

static void shmswarm__bus_handler(int sig, siginfo_t *info, void *ctx) {
  sigjmp_buf *jb = shmswarm__jump;
  if (jb) {
    shmswarm__jump = NULL;
    siglongjmp(*jb, 1);
  }
  /* Not ours: hand over to whoever was there before, or die as the default would. */
  if ((shmswarm__prev_bus.sa_flags & SA_SIGINFO) && shmswarm__prev_bus.sa_sigaction) {
    shmswarm__prev_bus.sa_sigaction(sig, info, ctx);
  } else if (shmswarm__prev_bus.sa_handler != SIG_DFL && shmswarm__prev_bus.sa_handler != SIG_IGN) {
    shmswarm__prev_bus.sa_handler(sig);
  } else {
    signal(SIGBUS, SIG_DFL); /* returning re-executes the fault under the default action */
  }
}
static void shmswarm__install_bus(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = shmswarm__bus_handler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK; /* NODEFER: siglongjmp leaves no mask behind */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &shmswarm__prev_bus);
}
/* GUARD_BEGIN must be in the function whose frame stays alive while the guard is armed. */
#define SHMSWARM__GUARD_BEGIN(jb, onfault)            \
  pthread_once(&shmswarm__bus_once, shmswarm__install_bus); \
  if (sigsetjmp(jb, 0)) { onfault; }                   \
  shmswarm__jump = &(jb)
#define SHMSWARM__GUARD_END() (shmswarm__jump = NULL)

int shmswarm_copy_guarded(void *dst, const void *src, size_t bytes) {
  if (bytes == 0) return 0;
  if (!dst || !src) return shmswarm__null("memcpy", !dst ? "dst" : "src");
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "memcpy", "memory fault while copying"));
  shmswarm_copy(dst, src, bytes);
  SHMSWARM__GUARD_END();
  return 0;
}

/* ---- futex ---- */
static int shmswarm__futex_wait(void *addr, uint32_t expected, int64_t timeout_ns) {
#ifdef __linux__
  struct timespec ts = shmswarm__ts(timeout_ns < 0 ? 0 : timeout_ns);
  /* Shared futex (no FUTEX_PRIVATE_FLAG): the waker is another process. */
  long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
  return r == 0 ? 0 : -errno;
#else
  /* No futex: poll every 200 µs. */
  int64_t end = shmswarm__now(CLOCK_MONOTONIC) + timeout_ns;
  while (*(volatile uint32_t *)addr == expected) {
    if (shmswarm__now(CLOCK_MONOTONIC) >= end) return -ETIMEDOUT;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
  }
  return 0;
#endif
}
static void shmswarm__futex_wake(void *addr) {
#ifdef __linux__
  syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#else
  (void)addr;
#endif
}

/* ---- processes ---- */
/* From /proc/<pid>/stat: the state letter (field 3), the thread count (field 20) and the start
 * time (field 22, clock ticks since boot). 0, or -1 when it cannot be read (no /proc). */
static int shmswarm__proc_stat(int32_t pid, char *state, long *threads, uint64_t *start) {
#ifdef __linux__
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (!p || p[1] != ' ' || !p[2]) return -1;
  *state = p[2];
  *threads = 0;
  int field = 2; /* p is at the end of field 2 */
  for (; *p && field < 22; p++) {
    if (*p != ' ') continue;
    if (++field == 20) *threads = strtol(p + 1, NULL, 10);
  }
  *start = strtoull(p, NULL, 10);
  return 0;
#else
  (void)pid, (void)state, (void)threads, (void)start;
  return -1;
#endif
}

static uint64_t shmswarm__proc_start(int32_t pid) {
  char state;
  long threads;
  uint64_t start;
  return shmswarm__proc_stat(pid, &state, &threads, &start) == 0 ? start : 0;
}

int shmswarm_pid_alive(int32_t pid, uint64_t start) {
  if (pid <= 0) return 0;
  if (kill(pid, 0) != 0 && errno != EPERM) return 0;
  char state;
  long threads;
  uint64_t now;
  if (shmswarm__proc_stat(pid, &state, &threads, &now) != 0) return 1; /* no /proc: trust kill() */
  /* kill() succeeds on a zombie (killed, not yet reaped by its parent), which will never write
   * again. But a process whose main thread alone has exited shows Z too, with its other threads
   * still running: dead only when no thread is left (the zombie leader counts as 1). */
  if (state == 'X' || (state == 'Z' && threads <= 1)) return 0;
  return start == 0 || now == 0 || now == start; /* now 0: cannot tell, trust kill() */
}

/* The segments whose mutex this thread holds through shmswarm_lock* or begin_frame, by object,
 * so that every handle of a segment counts. glibc's robust mutex (kind NORMAL, part of the format)
 * does not notice a thread locking it twice: the second lock waits for itself until the timeout.
 * The owner tid in the mutex would tell, but a process in another pid namespace sharing
 * /dev/shm (a container) may have our tid; this list holds only what this thread did. Entries
 * carry the handle's pid: after fork the child, which owns none of its parent's locks, ignores
 * the ones it inherited. Beyond SHMSWARM__HELD_MAX locks at once, a lock is not listed and a
 * second lock of it waits for the timeout as it always did. */
#define SHMSWARM__HELD_MAX 16
typedef struct { uint64_t dev, ino; int32_t pid; } shmswarm__held_lock;
static __thread shmswarm__held_lock shmswarm__held[SHMSWARM__HELD_MAX];
static __thread unsigned shmswarm__nheld;

static void shmswarm__held_add(const shmswarm_segment *s) {
  if (shmswarm__nheld >= SHMSWARM__HELD_MAX) return;
  shmswarm__held_lock *h = &shmswarm__held[shmswarm__nheld++];
  h->dev = s->dev;
  h->ino = s->ino;
  h->pid = s->pid;
}
/* The entry of segment s held by process pid, or -1. */
static int shmswarm__held_index(const shmswarm_segment *s, int32_t pid) {
  for (unsigned i = 0; i < shmswarm__nheld; i++) {
    const shmswarm__held_lock *h = &shmswarm__held[i];
    if (h->dev == s->dev && h->ino == s->ino && h->pid == pid) return (int)i;
  }
  return -1;
}
static void shmswarm__held_remove(const shmswarm_segment *s) {
  int i = shmswarm__held_index(s, s->pid);
  if (i >= 0) shmswarm__held[i] = shmswarm__held[--shmswarm__nheld];
}
/* Asked only when the lock is busy, so getpid() costs nothing on the uncontended path. */
static int shmswarm__held_here(const shmswarm_segment *s) {
  return shmswarm__held_index(s, (int32_t)getpid()) >= 0;
}

/* ---- names, types ---- */
uint32_t shmswarm_dtype_size(int dtype) {
  static const uint8_t sizes[] = {0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
  return (dtype >= 1 && dtype <= 10) ? sizes[dtype] : 0;
}

static int shmswarm__check_name(const char *name) {
  if (!name || name[0] != '/')
    return shmswarm__fail(-EINVAL, "name", "a segment name starts with '/'");
  size_t n = strlen(name + 1);
  if (n == 0 || strchr(name + 1, '/') || strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
    return shmswarm__fail(-EINVAL, "name", "a segment name is '/' and 1-%u bytes without '/'",
                          SHMSWARM_NAME_MAX);
  if (n > SHMSWARM_NAME_MAX)
    return shmswarm__fail(-ENAMETOOLONG, "name", "a segment name has at most %u bytes after '/'",
                          SHMSWARM_NAME_MAX);
  /* Names reach JavaScript as strings: bytes that are not UTF-8 (RFC 3629: no overlong forms, no
   * surrogates, nothing past U+10FFFF) would come back as U+FFFD, a name no command could open
   * or unlink. They are printed and written into generated code: no C0/DEL, no C1, no
   * bidirectional marks, overrides or isolates (U+061C, U+200E-F, U+202A-E, U+2066-9), no line
   * or paragraph separator (U+2028-9), no U+FEFF (the set of src/core/names.ts). */
  const unsigned char *u = (const unsigned char *)name + 1;
  for (size_t i = 0; i < n;) {
    uint32_t c = u[i], len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    /* The second byte's range, which rules out overlong forms, surrogates and > U+10FFFF. */
    uint32_t lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    int ok = len != 0 && i + len <= n;
    c &= len == 2 ? 0x1f : len == 3 ? 0x0f : len == 4 ? 0x07 : 0x7f;
    for (uint32_t k = 1; ok && k < len; k++) {
      uint32_t b = u[i + k];
      ok = k == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xbf;
      c = (c << 6) | (b & 0x3f);
    }
    if (!ok) return shmswarm__fail(-EINVAL, "name", "a segment name is valid UTF-8 (byte %zu is not)", i + 1);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
        (c >= 0x2066 && c <= 0x2069) || c == 0xfeff)
      return shmswarm__fail(-EINVAL, "name", "a segment name has no control or bidirectional-override characters");
    i += len;
  }
  return 0;
}

static uint32_t shmswarm__fnv(uint32_t h, const void *p, size_t n) {
  const uint8_t *b = (const uint8_t *)p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}
static uint32_t shmswarm__checksum(const uint8_t *base, const shmswarm__block *blk, uint32_t version,
                                   uint64_t fields_off, uint32_t fields_len) {
  uint8_t line0[64];
  memcpy(line0, blk, 64);
  memset(line0 + 60, 0, 4); /* the checksum field itself */
  uint32_t h = 2166136261u;
  h = shmswarm__fnv(h, base, 32);
  h = shmswarm__fnv(h, line0, 64);
  h = shmswarm__fnv(h, (const uint8_t *)blk + 64, 32);
  /* init_state (96-99) is stored after the checksum is computed, so slots is summed on its own. */
  if (version == SHMSWARM_VERSION_SLOTS) h = shmswarm__fnv(h, (const uint8_t *)blk + 100, 4);
  h = shmswarm__fnv(h, base + fields_off, fields_len);
  return h;
}

static uint64_t shmswarm__roundup(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Field names: cols names, comma-separated, each non-empty, printable ASCII, no spaces at the ends. */
static int shmswarm__check_fields(const char *f, size_t len, uint32_t cols) {
  if (len == 0) return 0;
  if (len > SHMSWARM_FIELDS_MAX) return -1;
  uint64_t count = 1;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || f[i] == ',') {
      if (i == start) return -1;
      start = i + 1;
      if (i < len) count++;
    } else if ((unsigned char)f[i] < 0x20 || (unsigned char)f[i] >= 0x7f) {
      return -1;
    }
  }
  return count == cols ? 0 : -1;
}

/* The TypeScript API's further rules for new segments (parseFields in src/core/names.ts), so a C
 * creator cannot make what the CLI mis-handles: no space at either end of a name ("x, y" is read
 * back as "x" and " y"), no name twice (a column picked by name would be the first of them).
 * Segments made before may break either rule, so the validator does not ask for them. */
typedef struct { const char *p; size_t n; } shmswarm__span;
static int shmswarm__span_cmp(const void *a, const void *b) {
  const shmswarm__span *x = (const shmswarm__span *)a, *y = (const shmswarm__span *)b;
  int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}
/* After shmswarm__check_fields passed: exactly cols names, each non-empty. */
static int shmswarm__check_new_fields(const char *f, size_t len, uint32_t cols) {
  if (!f) return 0;
  if (len == 0) return shmswarm__fail(-EINVAL, "fields", "\"\" names no column; pass NULL for unnamed columns");
  shmswarm__span *names = (shmswarm__span *)malloc(cols * sizeof *names);
  if (!names) return shmswarm__fail(-ENOMEM, "malloc", NULL);
  size_t count = 0, start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && f[i] != ',') continue;
    names[count].p = f + start;
    names[count].n = i - start;
    count++;
    start = i + 1;
  }
  int r = 0;
  for (size_t i = 0; i < count && !r; i++)
    if (names[i].p[0] == ' ' || names[i].p[names[i].n - 1] == ' ')
      r = shmswarm__fail(-EINVAL, "fields", "field name \"%.*s\" must not start or end with a space",
                         (int)(names[i].n < 64 ? names[i].n : 64), names[i].p);
  if (!r) qsort(names, count, sizeof *names, shmswarm__span_cmp);
  for (size_t i = 1; i < count && !r; i++)
    if (shmswarm__span_cmp(&names[i - 1], &names[i]) == 0)
      r = shmswarm__fail(-EINVAL, "fields", "field name \"%.*s\" appears twice", (int)(names[i].n < 64 ? names[i].n : 64),
                         names[i].p);
  free(names);
  return r;
}

int shmswarm_validate(const void *bytes, uint64_t size, shmswarm_layout *out) {
  const uint8_t *b = (const uint8_t *)bytes;
  if (!b && size) return shmswarm__null("validate", "bytes");
  shmswarm_layout L;
  memset(&L, 0, sizeof L);
  if (size < 64) {
    if (size == 0) return shmswarm__fail(SHMSWARM_EUNINIT, "header", "empty object (size 0)");
    return shmswarm__fail(SHMSWARM_ETRUNCATED, "header", "object of %llu bytes is smaller than a header",
                          (unsigned long long)size);
  }
  uint32_t magic;
  uint16_t etype, ndims;
  int64_t offset;
  memcpy(&magic, b, 4);
  SHMSWARM__FENCE(acquire); /* pairs with the release store of the magic in shmswarm_create */
  memcpy(&etype, b + 4, 2);
  memcpy(&ndims, b + 6, 2);
  memcpy(&offset, b + 8, 8);
  if (magic != SHMSWARM_WA1_MAGIC) {
    if (magic == 0x312D4157u)
      return shmswarm__fail(SHMSWARM_EBYTEORDER, "magic", "written with the opposite byte order");
    /* shmswarm_create stores the magic last, after the other header fields: zero is "not yet". */
    if (magic == 0)
      return shmswarm__fail(SHMSWARM_EUNINIT, "magic", "no magic yet (being created, or abandoned)");
    return shmswarm__fail(SHMSWARM_EBADMAGIC, "magic", "magic 0x%08x is not WA-1 (0x%08x)", magic,
                          SHMSWARM_WA1_MAGIC);
  }
  if (etype == 11 || etype == 12)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "dtype", "complex element type %u is not supported", etype);
  uint32_t elsize = shmswarm_dtype_size(etype);
  if (!elsize) return shmswarm__fail(SHMSWARM_ECORRUPT, "dtype", "element type code %u is not 1-10", etype);
  if (ndims < 1 || ndims > SHMSWARM_WA1_MAX_NDIMS)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "ndims", "ndims %u is not 1-%u", ndims, SHMSWARM_WA1_MAX_NDIMS);
  uint64_t want_off = shmswarm__roundup(16 + 8 * (uint64_t)ndims, 64);
  if (offset < 0 || (uint64_t)offset != want_off)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "offset", "data offset %lld is not %llu", (long long)offset,
                          (unsigned long long)want_off);
  if (size < want_off)
    return shmswarm__fail(SHMSWARM_ETRUNCATED, "dims", "object of %llu bytes is smaller than its header",
                          (unsigned long long)size);
  /* Julia order: dims[0] varies fastest = columns; the rest flatten into rows. */
  uint64_t cols = 0, rows = 1, dim2 = 0;
  for (uint32_t i = 0; i < ndims; i++) {
    int64_t d;
    memcpy(&d, b + 16 + 8 * i, 8);
    if (d < 1) return shmswarm__fail(SHMSWARM_ECORRUPT, "dims", "dimension %u is %lld", i + 1, (long long)d);
    if (i == 2) dim2 = (uint64_t)d; /* version 2: the slots */
    if (i == 0) {
      cols = (uint64_t)d;
    } else {
      if ((uint64_t)d > SHMSWARM_MAX_DATA / rows)
        return shmswarm__fail(SHMSWARM_ECORRUPT, "dims", "shape is larger than %llu bytes",
                              (unsigned long long)SHMSWARM_MAX_DATA);
      rows *= (uint64_t)d;
    }
  }
  if (cols > UINT32_MAX)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "dims", "%llu columns (at most %u)", (unsigned long long)cols, UINT32_MAX);
  if (cols > SHMSWARM_MAX_DATA / elsize / rows)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "dims", "shape is larger than %llu bytes",
                          (unsigned long long)SHMSWARM_MAX_DATA);
  L.dtype = etype;
  L.elsize = elsize;
  L.cols = (uint32_t)cols;
  L.rows = rows;
  L.data_offset = want_off;
  L.data_bytes = rows * cols * elsize;
  L.slots = 1;
  uint64_t data_end = L.data_offset + L.data_bytes;
  if (size < data_end)
    return shmswarm__fail(SHMSWARM_ETRUNCATED, "size", "object of %llu bytes cannot hold %llu bytes of data",
                          (unsigned long long)size, (unsigned long long)data_end);
  uint64_t boff = shmswarm__roundup(data_end, SHMSWARM_CACHELINE);
  uint64_t bmagic = 0;
  /* Version 1 has ndims 2; version 2 has ndims 3 (cols, rows, slots), so boff is
   * roundup(64 + slots * D, 64) either way. */
  if ((ndims == 2 || ndims == 3) && size >= boff + 8) memcpy(&bmagic, b + boff, 8);
  if (bmagic != SHMSWARM_BLOCK_MAGIC) {
    /* A plain WA-1 object: Julia allows trailing bytes, so do we. */
    L.kind = SHMSWARM_KIND_WA1;
    L.total_size = data_end;
    if (out) *out = L;
    return 0;
  }
  if (size < boff + SHMSWARM_BLOCK_FIXED)
    return shmswarm__fail(SHMSWARM_ETRUNCATED, "block", "object of %llu bytes ends inside the shmswarm block",
                          (unsigned long long)size);
  const shmswarm__block *blk = (const shmswarm__block *)(b + boff);
  /* Fields are copied out before checks so a concurrent writer cannot change them between. */
  uint32_t version, layout, bcols, fields_len, checksum, mode, init, bslots;
  uint16_t bdtype, belsize;
  uint64_t brows, bdoff, bdbytes, bboff, total;
  int64_t created;
  int32_t cpid;
  memcpy(&version, &blk->version, 4);
  memcpy(&layout, &blk->layout, 4);
  memcpy(&brows, &blk->rows, 8);
  memcpy(&bcols, &blk->cols, 4);
  memcpy(&bdtype, &blk->dtype, 2);
  memcpy(&belsize, &blk->elsize, 2);
  memcpy(&bdoff, &blk->data_offset, 8);
  memcpy(&bdbytes, &blk->data_bytes, 8);
  memcpy(&bboff, &blk->block_offset, 8);
  memcpy(&fields_len, &blk->fields_len, 4);
  memcpy(&checksum, &blk->checksum, 4);
  memcpy(&created, &blk->created_ns, 8);
  memcpy(&total, &blk->total_size, 8);
  memcpy(&cpid, &blk->creator_pid, 4);
  memcpy(&mode, &blk->mode, 4);
  memcpy(&bslots, &blk->slots, 4);
  init = SHMSWARM__LOAD(&((shmswarm__block *)blk)->init_state, acquire);
  if (version != SHMSWARM_VERSION && version != SHMSWARM_VERSION_SLOTS)
    return shmswarm__fail(SHMSWARM_EVERSION, "version", "format version %u, this build reads %u and %u", version,
                          SHMSWARM_VERSION, SHMSWARM_VERSION_SLOTS);
  if (ndims != (version == SHMSWARM_VERSION ? 2 : 3))
    return shmswarm__fail(SHMSWARM_EVERSION, "version", "format version %u needs a WA-1 header of %u dims, not %u",
                          version, version == SHMSWARM_VERSION ? 2u : 3u, ndims);
  if (layout != SHMSWARM__LAYOUT)
    return shmswarm__fail(SHMSWARM_ELAYOUT, "layout",
                          "made for mutex size %u and cache line %u; this platform has %u and %u",
                          layout & 0xffff, layout >> 16, (unsigned)sizeof(pthread_mutex_t), SHMSWARM_CACHELINE);
  if (init != SHMSWARM__READY)
    return shmswarm__fail(SHMSWARM_EUNINIT, "init_state", "shmswarm block is not initialised");
  uint64_t slots = 1;
  if (version == SHMSWARM_VERSION_SLOTS) {
    if (bslots < 2 || bslots > SHMSWARM_SLOTS_MAX)
      return shmswarm__fail(SHMSWARM_ECORRUPT, "slots", "%u slots is not 2-%u", bslots, SHMSWARM_SLOTS_MAX);
    if (dim2 != bslots)
      return shmswarm__fail(SHMSWARM_ECORRUPT, "slots", "%u slots, but the WA-1 header's third dimension is %llu",
                            bslots, (unsigned long long)dim2);
    slots = bslots;
  }
  /* rows counted every slot: one slot is rows / slots (exact: rows = dims[1] * slots), and
   * slots * D = the data bytes checked above, so nothing here can overflow or pass the object. */
  uint64_t frows = rows / slots, fbytes = L.data_bytes / slots;
  if (brows != frows || bcols != cols || bdtype != etype || belsize != elsize || bdoff != L.data_offset ||
      bdbytes != fbytes || bboff != boff)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "block", "shmswarm block disagrees with the WA-1 header");
  if (fields_len > SHMSWARM_FIELDS_MAX)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "fields_len", "field names of %u bytes (at most %u)", fields_len,
                          SHMSWARM_FIELDS_MAX);
  uint64_t fields_off = boff + SHMSWARM_BLOCK_FIXED;
  uint64_t want_total = fields_off + shmswarm__roundup(fields_len, SHMSWARM_CACHELINE);
  if (total != want_total)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "total_size", "total size %llu is not %llu",
                          (unsigned long long)total, (unsigned long long)want_total);
  if (size < total)
    return shmswarm__fail(SHMSWARM_ETRUNCATED, "size", "object of %llu bytes is smaller than its %llu-byte layout",
                          (unsigned long long)size, (unsigned long long)total);
  uint32_t computed = shmswarm__checksum(b, blk, version, fields_off, fields_len);
  if (computed != checksum)
    return shmswarm__fail(SHMSWARM_ECHECKSUM, "checksum", "stored 0x%08x, computed 0x%08x", checksum, computed);
  if (shmswarm__check_fields((const char *)b + fields_off, fields_len, bcols) != 0)
    return shmswarm__fail(SHMSWARM_ECORRUPT, "fields", "field names do not match %u columns", bcols);
  L.kind = SHMSWARM_KIND_SHMSWARM;
  L.version = version;
  L.slots = (uint32_t)slots;
  L.rows = frows;
  L.data_bytes = fbytes;
  L.block_offset = boff;
  L.total_size = total;
  L.fields_len = fields_len;
  L.fields_offset = fields_off;
  L.created_ns = created;
  L.creator_pid = cpid;
  L.mode = mode;
  if (out) *out = L;
  return 0;
}

/* ---- the mutex ---- */
/* glibc (2.36 checked) has trylock on a not-recoverable robust mutex return ENOTRECOVERABLE but
 * leave the lock word holding the caller's tid (it unlocks only when the old word was the
 * caller's), so every later locker would time out instead. Read glibc's marker in the public
 * struct first; the state is permanent, so the unlocked read cannot miss it for long. */
static int shmswarm__notrecoverable(pthread_mutex_t *m) {
#if defined(__GLIBC__) && defined(SHMSWARM__ROBUST)
  return *(volatile int *)&m->__data.__owner == 0x7ffffffe; /* PTHREAD_MUTEX_NOTRECOVERABLE */
#else
  (void)m;
  return 0;
#endif
}

static int shmswarm__clocklock(pthread_mutex_t *m, int64_t timeout_ns) {
  if (shmswarm__notrecoverable(m)) return ENOTRECOVERABLE;
  if (timeout_ns == 0) return pthread_mutex_trylock(m);
#if defined(__USE_GNU) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
  struct timespec ts = shmswarm__ts(shmswarm__now(CLOCK_MONOTONIC) + timeout_ns);
  return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
#elif defined(__APPLE__)
  int64_t end = shmswarm__now(CLOCK_MONOTONIC) + timeout_ns;
  for (;;) {
    int r = pthread_mutex_trylock(m);
    if (r != EBUSY) return r;
    if (shmswarm__now(CLOCK_MONOTONIC) >= end) return ETIMEDOUT;
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
#else
  struct timespec ts = shmswarm__ts(shmswarm__now(CLOCK_REALTIME) + timeout_ns);
  return pthread_mutex_timedlock(m, &ts);
#endif
}

int shmswarm_mutex_timedlock(void *mutex, int64_t timeout_ns, int *recovered) {
  if (recovered) *recovered = 0;
  if (!mutex) return shmswarm__null("pthread_mutex_lock", "mutex");
  int r = shmswarm__clocklock((pthread_mutex_t *)mutex, timeout_ns);
#ifdef SHMSWARM__ROBUST
  if (r == EOWNERDEAD) {
    pthread_mutex_consistent((pthread_mutex_t *)mutex);
    if (recovered) *recovered = 1;
    r = 0;
  }
#endif
  if (r) return shmswarm__fail(-r, "pthread_mutex_lock", NULL);
  return 0;
}
int shmswarm_mutex_unlock(void *mutex) {
  if (!mutex) return shmswarm__null("pthread_mutex_unlock", "mutex");
  int r = pthread_mutex_unlock((pthread_mutex_t *)mutex);
  return r ? shmswarm__fail(-r, "pthread_mutex_unlock", NULL) : 0;
}
size_t shmswarm_mutex_size(void) { return sizeof(pthread_mutex_t); }

int shmswarm_mutex_check(const void *mutex) {
  if (!mutex) return shmswarm__null("mutex", "mutex");
#if defined(__GLIBC__) && defined(__linux__)
  /* struct __pthread_mutex_s: int __lock, unsigned __count, int __owner, unsigned __nusers,
   * int __kind, ... (the same first 20 bytes on every 64-bit glibc target). */
  uint32_t w[5];
  int r = shmswarm_copy_guarded(w, mutex, sizeof w);
  if (r) return r;
  uint32_t lock = w[0], owner = w[2], kind = w[4];
  if (lock == SHMSWARM_WA1_MAGIC)
    return shmswarm__fail(-EINVAL, "mutex", "these bytes start a WA-1/shmswarm segment, not a pthread mutex; refusing to lock them");
  /* type 0-3 | robust 16 | prio-inherit 32 | process-shared 128 | elision 256/512. Not
   * prio-protect (64): glibc keeps its ceiling in __lock and asserts (aborts the process) on a
   * ceiling it does not like, so such bytes are refused rather than trusted. */
  if (kind & 64u)
    return shmswarm__fail(-EINVAL, "mutex", "a priority-protect mutex (kind %#x) is not supported; refusing to lock it", kind);
  uint32_t allowed = 0x3u | 16u | 32u | 128u | 256u | 512u;
  int bad_kind = (kind & ~allowed) != 0;
  /* Unlocked: no owner (or glibc's not-recoverable mark). __count and __nusers prove nothing:
   * a robust mutex keeps __count 1 after its unlock, and a thread in pthread_cond_wait leaves
   * __nusers 1 with the mutex free. Locked without robust or PI: the futex word is 1, or 2 with
   * waiters. */
  /* glibc's robust marks in __owner: 0x7fffffff inconsistent (taken from a dead holder, not yet
   * made consistent), 0x7ffffffe not recoverable (released so): the lock then says so. */
  int robust_mark = (kind & 16u) && (owner == 0x7fffffffu || owner == 0x7ffffffeu);
  int bad_state = lock == 0 ? owner != 0 && !robust_mark : !(kind & 48u) && lock != 1 && lock != 2;
  if (bad_kind || bad_state)
    return shmswarm__fail(-EINVAL, "mutex",
                          "these bytes are not an initialised pthread mutex (lock %#x, owner %#x, kind %#x); "
                          "refusing to lock them",
                          lock, owner, kind);
#else
  (void)mutex;
#endif
  return 0;
}

int shmswarm_mutex_robust(const void *mutex) {
  if (!mutex) return -1;
#if defined(__GLIBC__) && defined(__linux__)
  uint32_t w[5]; /* __lock, __count, __owner, __nusers, __kind: see shmswarm_mutex_check */
  if (shmswarm_copy_guarded(w, mutex, sizeof w)) return -1;
  return (w[4] & 16u) ? 1 : 0;
#else
  (void)mutex;
  return -1;
#endif
}

/* With the mutex held: a sequence left odd means its writer died mid-frame. Idempotent, so a
 * repairer that dies half-way is repaired again by the next locker. */
static int shmswarm__repair(shmswarm__block *blk) {
  uint64_t seq = SHMSWARM__LOAD(&blk->seq, relaxed);
  if (!(seq & 1)) return 0;
  SHMSWARM__STORE(&blk->stats_seq, seq, relaxed);
  SHMSWARM__FENCE(release); /* stats_seq before the flag: see shmswarm__read_slots */
  SHMSWARM__STORE(&blk->flags, SHMSWARM__LOAD(&blk->flags, relaxed) | SHMSWARM_FRAME_TORN, relaxed);
  SHMSWARM__STORE(&blk->seq, seq + 1, release);
  SHMSWARM__ADD(&blk->notify, 1u);
  /* As a publish does (docs/FORMAT.md §10): a waiter asleep on the old notify would otherwise
   * learn of the repaired sequence only when its sleep ends, or at the next frame. */
  if (SHMSWARM__LOAD(&blk->waiters, seq_cst)) shmswarm__futex_wake(&blk->notify);
  return 1;
}

/* Lock; on EOWNERDEAD repair the frame state before making the mutex consistent (LMDB's order). */
static int shmswarm__lock(shmswarm_segment *s, int64_t timeout_ns, int *recovered) {
  if (recovered) *recovered = 0;
  if (!s->blk) return shmswarm__fail(SHMSWARM_ENOTSYNC, "lock", "plain WA-1 object has no mutex");
  if (!s->shared_rw) return shmswarm__fail(-EACCES, "lock", "read-only access cannot take the mutex");
  if (timeout_ns < 0) timeout_ns = s->timeout_ns;
  pthread_mutex_t *m = &s->blk->mutex.m;
  /* Uncontended, a trylock spares the deadline's clock read (a third of a 4 KB publish here). */
  int r = shmswarm__notrecoverable(m) ? ENOTRECOVERABLE : pthread_mutex_trylock(m);
  if (r == EBUSY && shmswarm__held_here(s))
    return shmswarm__fail(-EDEADLK, "lock",
                          "this thread already holds the segment's lock (through this or another handle); "
                          "unlock or end the frame first");
  if (r == EBUSY && timeout_ns > 0) {
    /* glibc's robust mutex sleeps at once, but it is held for one frame copy (µs at 240 KB):
     * spin a little before paying a futex sleep and wake-up on both sides. */
    int64_t spin = timeout_ns < SHMSWARM__HANDOFF_SPIN_NS ? timeout_ns : SHMSWARM__HANDOFF_SPIN_NS;
    int64_t spin_end = shmswarm__now(CLOCK_MONOTONIC) + spin;
    do {
      for (int i = 0; i < 16; i++) SHMSWARM__PAUSE();
      r = pthread_mutex_trylock(m);
    } while (r == EBUSY && shmswarm__now(CLOCK_MONOTONIC) < spin_end);
    if (r == EBUSY) r = shmswarm__clocklock(m, timeout_ns);
  }
#ifdef SHMSWARM__ROBUST
  if (r == EOWNERDEAD) {
    shmswarm__repair(s->blk);
    pthread_mutex_consistent(m);
    if (recovered) *recovered = 1;
    return 0;
  }
#endif
  if (r == 0) {
    /* An odd sequence under a free lock: the writer died where the kernel could not tell us. */
    if (shmswarm__repair(s->blk) && recovered) *recovered = 1;
    return 0;
  }
  if (r == ENOTRECOVERABLE)
    return shmswarm__fail(-r, "pthread_mutex_lock",
                          "mutex is not recoverable (a process skipped the repair); re-create the segment");
  if (r == ETIMEDOUT)
    return shmswarm__fail(-r, "pthread_mutex_lock",
                          "lock held for longer than the timeout (holder stuck, or it unmapped and died)");
  return shmswarm__fail(-r, "pthread_mutex_lock", NULL);
}

int shmswarm_lock_ex(shmswarm_segment *s, int64_t timeout_ns, int *recovered) {
  if (recovered) *recovered = 0;
  if (!s) return shmswarm__null("lock", "segment");
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "lock", "memory fault (segment shrunk?)"));
  int r = shmswarm__lock(s, timeout_ns, recovered);
  SHMSWARM__GUARD_END();
  if (r == 0) {
    s->held = 1;
    shmswarm__held_add(s);
  }
  return r;
}
int shmswarm_lock(shmswarm_segment *s) { return shmswarm_lock_ex(s, -1, NULL); }
int shmswarm_unlock(shmswarm_segment *s) {
  if (!s) return shmswarm__null("unlock", "segment");
  if (!s->blk) return shmswarm__fail(SHMSWARM_ENOTSYNC, "unlock", "plain WA-1 object has no mutex");
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "unlock", "memory fault (segment shrunk?)"));
  int r = pthread_mutex_unlock(&s->blk->mutex.m);
  SHMSWARM__GUARD_END();
  if (r == 0) {
    s->held = 0;
    shmswarm__held_remove(s);
  }
  return r ? shmswarm__fail(-r, "pthread_mutex_unlock", NULL) : 0;
}
void shmswarm_set_timeout(shmswarm_segment *s, int64_t timeout_ns) {
  if (s) s->timeout_ns = timeout_ns;
}

/* ---- open, create, close ---- */
/* populate: only for an object we created and reserved. Pre-faulting an object we are merely
 * opening would trust its size before its header is checked: a sparse object of any size (anyone
 * may make one in /dev/shm) would have every page allocated by a mere `list` or `info`. */
static int shmswarm__map(shmswarm_segment *s, int fd, uint64_t size, int populate) {
  int prot = s->shared_rw ? PROT_READ | PROT_WRITE : PROT_READ;
  int flags = MAP_SHARED;
#ifdef MAP_POPULATE
  if (populate) flags |= MAP_POPULATE; /* pay the page faults here, not in the first frames */
#else
  (void)populate;
#endif
  if (size > SIZE_MAX) return shmswarm__fail(-EFBIG, "mmap", NULL);
  void *p = mmap(NULL, (size_t)size, prot, flags, fd, 0);
  if (p == MAP_FAILED) return SHMSWARM__ERRNO("mmap");
  s->base = (uint8_t *)p;
  s->map_size = (size_t)size;
  return 0;
}

static void shmswarm__self(shmswarm_segment *s) {
  s->pid = (int32_t)getpid();
  s->start = shmswarm__proc_start(s->pid);
  s->timeout_ns = 1000000000;
}

#ifdef O_NONBLOCK
#define SHMSWARM__NONBLOCK O_NONBLOCK
#else
#define SHMSWARM__NONBLOCK 0
#endif

/* Squatting guard for writers: /dev/shm is mode 1777, so anyone may pre-create a name and wait
 * for a writer to pour its data (and its mutex) into an object they control. A writer accepts an
 * object it owns, or one deliberately shared with a group it belongs to (group-writable and not
 * world-writable). Readers accept any owner: they trust no byte, and info reports the owner. */
static int shmswarm__check_owner(const struct stat *st) {
  uid_t me = geteuid();
  if (st->st_uid == me) return 0;
  if ((st->st_mode & S_IWGRP) && !(st->st_mode & S_IWOTH)) {
    if (st->st_gid == getegid()) return 0;
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
      if (groups[i] == st->st_gid) return 0;
  }
  return shmswarm__fail(-EPERM, "owner",
                        "owned by uid %u (you are %u) and not shared with your group for writing; "
                        "refusing to write (open it read-only, or re-create it)",
                        (unsigned)st->st_uid, (unsigned)me);
}

int shmswarm_open(const char *name, int writable, shmswarm_segment **out) {
  if (!out) return shmswarm__null("open", "out");
  *out = NULL;
  int r = shmswarm__check_name(name);
  if (r) return r;
  shmswarm_segment *s = (shmswarm_segment *)calloc(1, sizeof *s);
  if (!s) return shmswarm__fail(-ENOMEM, "calloc", NULL);
  strcpy(s->name, name);
  s->fd = -1;
  shmswarm__self(s);
  struct stat st;
  /* O_NONBLOCK: a FIFO squatting the name must not block this open (it is refused below). */
  int fd = shm_open(name, O_RDWR | SHMSWARM__NONBLOCK, 0);
  s->shared_rw = fd >= 0;
  if (fd < 0 && !writable && (errno == EACCES || errno == EPERM))
    fd = shm_open(name, O_RDONLY | SHMSWARM__NONBLOCK, 0);
  if (fd < 0) {
    if (errno == ELOOP) /* glibc's shm_open adds O_NOFOLLOW */
      r = shmswarm__fail(-ELOOP, "shm_open", "the name is a symbolic link; refused");
    else if (errno == EINVAL) /* the name was checked above; glibc turns EISDIR into EINVAL */
      r = shmswarm__fail(-EINVAL, "shm_open", "not a shared-memory object (a directory?)");
    else
      r = SHMSWARM__ERRNO("shm_open");
    goto fail;
  }
  s->fd = fd;
  if (fstat(fd, &st) != 0) {
    r = SHMSWARM__ERRNO("fstat");
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) {
    r = shmswarm__fail(-EINVAL, "fstat", "not a regular shared-memory object");
    goto fail;
  }
  s->dev = (uint64_t)st.st_dev;
  s->ino = (uint64_t)st.st_ino;
  if (writable && (r = shmswarm__check_owner(&st)) != 0) goto fail;
  if (st.st_size < 64) {
    r = shmswarm_validate("", (uint64_t)st.st_size, NULL); /* the size alone decides */
    goto fail;
  }
  if ((r = shmswarm__map(s, fd, (uint64_t)st.st_size, 0)) != 0) goto fail;
  {
    sigjmp_buf jb;
    SHMSWARM__GUARD_BEGIN(jb, r = shmswarm__fail(SHMSWARM_EBUS, "validate", "memory fault while reading the header");
                          goto fail);
    r = shmswarm_validate(s->base, s->map_size, &s->lay);
    SHMSWARM__GUARD_END();
  }
  if (r) goto fail;
  if (s->lay.kind == SHMSWARM_KIND_SHMSWARM) {
    s->blk = (shmswarm__block *)(s->base + s->lay.block_offset);
  } else if (writable) {
    r = shmswarm__fail(SHMSWARM_ENOTSYNC, "open", "plain WA-1 object (no shmswarm block) opens read-only");
    goto fail;
  }
  s->writable = writable;
  *out = s;
  return 0;
fail:
  if (s->base) munmap(s->base, s->map_size);
  if (s->fd >= 0) close(s->fd);
  free(s);
  return r;
}

int shmswarm_create(const char *name, uint64_t rows, uint32_t cols, int dtype, const char *fields,
                    unsigned mode, shmswarm_segment **out) {
  return shmswarm_create_ex(name, rows, cols, dtype, fields, mode, NULL, out);
}

int shmswarm_create_ex(const char *name, uint64_t rows, uint32_t cols, int dtype, const char *fields,
                       unsigned mode, const shmswarm_create_options *opts, shmswarm_segment **out) {
  if (!out) return shmswarm__null("create", "out");
  *out = NULL;
  int r = shmswarm__check_name(name);
  if (r) return r;
  uint32_t elsize = shmswarm_dtype_size(dtype);
  if (!elsize) return shmswarm__fail(-EINVAL, "dtype", "element type code %d is not 1-10", dtype);
  if (rows < 1 || cols < 1) return shmswarm__fail(-EINVAL, "shape", "rows and cols must be at least 1");
  uint32_t slots = opts && opts->slots ? opts->slots : 1;
  if (slots > SHMSWARM_SLOTS_MAX)
    return shmswarm__fail(-EINVAL, "slots", "%u slots is not 1-%u", slots, SHMSWARM_SLOTS_MAX);
  if (rows > SHMSWARM_MAX_DATA / elsize / cols / slots)
    return shmswarm__fail(-EFBIG, "shape", "%u slot%s of this matrix take more than %llu bytes", slots,
                          slots > 1 ? "s" : "", (unsigned long long)SHMSWARM_MAX_DATA);
  size_t fields_len = fields ? strlen(fields) : 0;
  if (shmswarm__check_fields(fields, fields_len, cols) != 0)
    return shmswarm__fail(-EINVAL, "fields",
                          "give %u comma-separated non-empty printable field names, at most %u bytes", cols,
                          SHMSWARM_FIELDS_MAX);
  if ((r = shmswarm__check_new_fields(fields, fields_len, cols)) != 0) return r;
  /* Permission bits only, as the TypeScript API takes them: setuid, setgid and sticky mean
   * nothing on a shared-memory object, and `info` would show a mode no one could ask for. */
  if (mode & ~0777u) return shmswarm__fail(-EINVAL, "mode", "mode %o has bits beyond 0777 (setuid, setgid or sticky)", mode);

  uint64_t data_bytes = rows * cols * elsize;
  uint64_t boff = shmswarm__roundup(64 + slots * data_bytes, SHMSWARM_CACHELINE);
  uint64_t fields_off = boff + SHMSWARM_BLOCK_FIXED;
  uint64_t total = fields_off + shmswarm__roundup(fields_len, SHMSWARM_CACHELINE);

  shmswarm_segment *s = (shmswarm_segment *)calloc(1, sizeof *s);
  if (!s) return shmswarm__fail(-ENOMEM, "calloc", NULL);
  strcpy(s->name, name);
  shmswarm__self(s);
  s->writable = 1;
  s->shared_rw = 1;
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  s->fd = fd;
  if (fd < 0) {
    r = SHMSWARM__ERRNO("shm_open");
    free(s);
    return r;
  }
  /* From here on a failure unlinks the name we created. */
  if (fchmod(fd, mode) != 0) { r = SHMSWARM__ERRNO("fchmod"); goto fail; }
  {
    struct stat st;
    if (fstat(fd, &st) != 0) { r = SHMSWARM__ERRNO("fstat"); goto fail; }
    s->dev = (uint64_t)st.st_dev;
    s->ino = (uint64_t)st.st_ino;
  }
  if (ftruncate(fd, (off_t)total) != 0) { r = SHMSWARM__ERRNO("ftruncate"); goto fail; }
#ifdef __linux__
  /* tmpfs over-commits: reserve every page now, or a full /dev/shm is a SIGBUS at first touch. */
  if ((r = posix_fallocate(fd, 0, (off_t)total)) != 0) { r = shmswarm__fail(-r, "posix_fallocate", NULL); goto fail; }
#endif
  if ((r = shmswarm__map(s, fd, total, 1)) != 0) goto fail;
  {
    uint8_t *b = s->base;
    shmswarm__block *blk = (shmswarm__block *)(b + boff);
    /* Several slots are a third WA-1 dimension: Julia's WrappedArray sees cols x rows x slots. */
    uint16_t et = (uint16_t)dtype, nd = slots > 1 ? 3 : 2;
    int64_t off = 64, d0 = (int64_t)cols, d1 = (int64_t)rows, d2 = (int64_t)slots;
    /* WA-1 fields except the magic, which goes last: until then nobody sees a valid header. */
    memcpy(b + 4, &et, 2);
    memcpy(b + 6, &nd, 2);
    memcpy(b + 8, &off, 8);
    memcpy(b + 16, &d0, 8);
    memcpy(b + 24, &d1, 8);
    if (slots > 1) memcpy(b + 32, &d2, 8);
    blk->magic = SHMSWARM_BLOCK_MAGIC;
    blk->version = slots > 1 ? SHMSWARM_VERSION_SLOTS : SHMSWARM_VERSION;
    blk->slots = slots > 1 ? slots : 0; /* format 1 stays byte for byte as it was */
    blk->layout = SHMSWARM__LAYOUT;
    blk->rows = rows;
    blk->cols = cols;
    blk->dtype = (uint16_t)dtype;
    blk->elsize = (uint16_t)elsize;
    blk->data_offset = 64;
    blk->data_bytes = data_bytes;
    blk->block_offset = boff;
    blk->fields_len = (uint32_t)fields_len;
    blk->created_ns = shmswarm__now(CLOCK_REALTIME);
    blk->creator_start = s->start;
    blk->total_size = total;
    blk->creator_pid = s->pid;
    blk->mode = mode;
    if (fields_len) memcpy(b + fields_off, fields, fields_len);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
#ifdef SHMSWARM__ROBUST
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
#endif
    r = pthread_mutex_init(&blk->mutex.m, &attr);
    pthread_mutexattr_destroy(&attr);
    if (r) { r = shmswarm__fail(-r, "pthread_mutex_init", NULL); goto fail; }
    uint32_t wmagic = SHMSWARM_WA1_MAGIC;
    memcpy(b, &wmagic, 4); /* the checksum covers it; it becomes visible only after the fence below */
    blk->checksum = shmswarm__checksum(b, blk, blk->version, fields_off, (uint32_t)fields_len);
    memset(b, 0, 4);
    SHMSWARM__STORE(&blk->init_state, SHMSWARM__READY, release);
    SHMSWARM__FENCE(release);
    SHMSWARM__STORE((SHMSWARM__ATOMIC(uint32_t) *)(void *)b, SHMSWARM_WA1_MAGIC, release);
    s->blk = blk;
  }
  {
    int vr = shmswarm_validate(s->base, s->map_size, &s->lay);
    if (vr) { r = vr; goto fail; }
  }
  *out = s;
  return 0;
fail:
  {
    int saved = r;
    const char *sc = shmswarm__syscall;
    char detail[sizeof shmswarm__detail];
    memcpy(detail, shmswarm__detail, sizeof detail);
    if (s->base) munmap(s->base, s->map_size);
    shm_unlink(name);
    close(fd);
    free(s);
    shmswarm__syscall = sc;
    memcpy(shmswarm__detail, detail, sizeof detail);
    return saved;
  }
}

static void shmswarm__abandon(shmswarm_segment *s);

int shmswarm_close(shmswarm_segment *s) {
  if (!s) return 0;
  /* Unmapping a held robust mutex hides it from the kernel's dead-owner walk: every later locker
   * would time out, even after this process exits. Release it first; a begun frame is left torn. */
  if (s->blk && (s->in_frame || s->held)) shmswarm__abandon(s);
  if (s->base) munmap(s->base, s->map_size);
  if (s->fd >= 0) close(s->fd);
  free(s);
  return 0;
}

int shmswarm_unlink(const char *name) {
  int r = shmswarm__check_name(name);
  if (r) return r;
  return shm_unlink(name) == 0 ? 0 : SHMSWARM__ERRNO("shm_unlink");
}

/* Accessors have no error code to give: a NULL segment reads as 0, "" or NULL. */
uint64_t shmswarm_rows(const shmswarm_segment *s) { return s ? s->lay.rows : 0; }
uint32_t shmswarm_cols(const shmswarm_segment *s) { return s ? s->lay.cols : 0; }
int shmswarm_dtype(const shmswarm_segment *s) { return s ? s->lay.dtype : 0; }
const shmswarm_layout *shmswarm_get_layout(const shmswarm_segment *s) { return s ? &s->lay : NULL; }
const char *shmswarm_fields(const shmswarm_segment *s) {
  return s && s->lay.fields_len ? (const char *)s->base + s->lay.fields_offset : "";
}
void *shmswarm_data(shmswarm_segment *s) { return s ? s->base + s->lay.data_offset : NULL; }
uint32_t shmswarm_slots(const shmswarm_segment *s) { return s ? s->lay.slots : 0; }

/* Frame n (the n-th publish, sequence 2n) lives in slot n % slots. */
static uint8_t *shmswarm__slot(shmswarm_segment *s, uint64_t frame) {
  uint64_t i = s->lay.slots > 1 ? frame % s->lay.slots : 0;
  return s->base + s->lay.data_offset + i * s->lay.data_bytes;
}

void *shmswarm_frame_data(shmswarm_segment *s) {
  if (!s || !s->blk || s->lay.slots <= 1) return shmswarm_data(s);
  return shmswarm__slot(s, SHMSWARM__LOAD(&s->blk->seq, acquire) >> 1);
}

int shmswarm_map_private(shmswarm_segment *s, void **base, size_t *size) {
  if (!s || !base || !size) return shmswarm__null("mmap", !s ? "segment" : !base ? "base" : "size");
  void *p = mmap(NULL, s->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, s->fd, 0);
  if (p == MAP_FAILED) return SHMSWARM__ERRNO("mmap");
  *base = p;
  *size = s->map_size;
  return 0;
}

int shmswarm_stat(shmswarm_segment *s, uint64_t *size, uint64_t *ino, uint64_t *dev, uint32_t *uid,
                  uint32_t *mode) {
  if (!s) return shmswarm__null("fstat", "segment");
  struct stat st;
  if (fstat(s->fd, &st) != 0) return SHMSWARM__ERRNO("fstat");
  if (size) *size = (uint64_t)st.st_size;
  if (ino) *ino = (uint64_t)st.st_ino;
  if (dev) *dev = (uint64_t)st.st_dev;
  if (uid) *uid = (uint32_t)st.st_uid;
  if (mode) *mode = (uint32_t)(st.st_mode & 07777);
  return 0;
}

/* ---- writing ---- */
static int shmswarm__check_writer(shmswarm_segment *s) {
  if (!s->writable) return shmswarm__fail(-EBADF, "write", "segment was opened for reading");
  if (s->in_frame) return shmswarm__fail(-EALREADY, "write", "a frame is already begun");
  return 0;
}

/* A reader falling back to the mutex asked for a turn: step aside until it has the lock. */
static void shmswarm__yield_to_reader(shmswarm__block *blk) {
  int64_t deadline = SHMSWARM__LOAD(&blk->read_request, relaxed);
  if (!deadline) return;
  int64_t now = shmswarm__now(CLOCK_MONOTONIC);
  int64_t limit = now + SHMSWARM__GATE_NS;
  int64_t spin_end = now + SHMSWARM__HANDOFF_SPIN_NS;
  while (now < spin_end) {
    for (int i = 0; i < 16; i++) SHMSWARM__PAUSE();
    if (!SHMSWARM__LOAD(&blk->read_request, acquire)) return;
    now = shmswarm__now(CLOCK_MONOTONIC);
  }
  while (deadline && now < deadline && now < limit) {
    uint32_t g = SHMSWARM__LOAD(&blk->gate, acquire);
    deadline = SHMSWARM__LOAD(&blk->read_request, acquire);
    if (!deadline) break;
    int64_t left = (deadline < limit ? deadline : limit) - now;
    shmswarm__futex_wait(&blk->gate, g, left < 1000000 ? left : 1000000);
    deadline = SHMSWARM__LOAD(&blk->read_request, relaxed);
    now = shmswarm__now(CLOCK_MONOTONIC);
  }
}

/* Lock, make the sequence odd; *dst is the slot of the new frame (seq / 2 + 1). */
static int shmswarm__begin(shmswarm_segment *s, uint8_t **dst) {
  shmswarm__block *blk = s->blk;
  shmswarm__yield_to_reader(blk);
  int r = shmswarm__lock(s, -1, NULL);
  if (r) return r;
  uint64_t seq = SHMSWARM__LOAD(&blk->seq, relaxed);
  /* Release: a slots reader that loads this odd value copies the previous frame at once, so
   * that frame's data must be visible with it. */
  SHMSWARM__STORE(&blk->seq, seq + 1, release);
  SHMSWARM__FENCE(release); /* the odd sequence is visible before any data store */
  *dst = shmswarm__slot(s, (seq >> 1) + 1);
  return 0;
}

static void shmswarm__end(shmswarm_segment *s) {
  shmswarm__block *blk = s->blk;
  uint64_t seq = SHMSWARM__LOAD(&blk->seq, relaxed);
  SHMSWARM__STORE(&blk->stats_seq, seq, relaxed);
  SHMSWARM__FENCE(release); /* stats_seq before the figures: see shmswarm__read_slots */
  SHMSWARM__STORE(&blk->frames, SHMSWARM__LOAD(&blk->frames, relaxed) + 1, relaxed);
  SHMSWARM__STORE(&blk->last_write_ns, shmswarm__now(CLOCK_REALTIME), relaxed);
  SHMSWARM__STORE(&blk->writer_pid, s->pid, relaxed);
  SHMSWARM__STORE(&blk->writer_start, s->start, relaxed);
  SHMSWARM__STORE(&blk->flags, 0u, relaxed);
  SHMSWARM__STORE(&blk->seq, seq + 1, release);
  pthread_mutex_unlock(&blk->mutex.m);
  /* seq_cst pair with shmswarm_wait: either we see its waiter count, or it sees our notify. */
  SHMSWARM__ADD(&blk->notify, 1u);
  if (SHMSWARM__LOAD(&blk->waiters, seq_cst)) shmswarm__futex_wake(&blk->notify);
}

/* After a fault inside a frame: make a last, guarded attempt to leave the lock free. */
static void shmswarm__abandon(shmswarm_segment *s) {
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return);
  shmswarm__repair(s->blk);
  if (pthread_mutex_unlock(&s->blk->mutex.m) == 0) shmswarm__held_remove(s);
  SHMSWARM__GUARD_END();
}

int shmswarm_write_frame(shmswarm_segment *s, const void *src, size_t bytes) {
  if (!s) return shmswarm__null("write", "segment");
  int r = shmswarm__check_writer(s);
  if (r) return r;
  if (bytes != s->lay.data_bytes)
    return shmswarm__fail(-EINVAL, "write", "frame of %zu bytes, segment holds %llu", bytes,
                          (unsigned long long)s->lay.data_bytes);
  /* Checked before the lock: a fault on src is a SIGSEGV, which no guard turns into an error. */
  if (!src) return shmswarm__null("write", "src");
  volatile int locked = 0;
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, if (locked) shmswarm__abandon(s);
                        return shmswarm__fail(SHMSWARM_EBUS, "write", "memory fault while writing (segment shrunk, or /dev/shm full)"));
  uint8_t *dst;
  r = shmswarm__begin(s, &dst);
  if (r) { SHMSWARM__GUARD_END(); return r; }
  locked = 1;
  shmswarm_copy(dst, src, bytes);
  shmswarm__end(s);
  SHMSWARM__GUARD_END();
  return 0;
}

int shmswarm_begin_frame(shmswarm_segment *s, void **data) {
  if (!s) return shmswarm__null("begin_frame", "segment");
  int r = shmswarm__check_writer(s);
  if (r) return r;
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "begin_frame", "memory fault (segment shrunk?)"));
  uint8_t *dst;
  r = shmswarm__begin(s, &dst);
  SHMSWARM__GUARD_END();
  if (r) return r;
  s->in_frame = 1;
  shmswarm__held_add(s);
  if (data) *data = dst;
  return 0;
}

int shmswarm_end_frame(shmswarm_segment *s) {
  if (!s) return shmswarm__null("end_frame", "segment");
  if (!s->in_frame) return shmswarm__fail(-EINVAL, "end_frame", "no frame was begun");
  s->in_frame = 0;
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, shmswarm__abandon(s);
                        return shmswarm__fail(SHMSWARM_EBUS, "end_frame", "memory fault (segment shrunk?)"));
  shmswarm__end(s);
  SHMSWARM__GUARD_END();
  shmswarm__held_remove(s);
  return 0;
}

/* ---- reading ---- */
static void shmswarm__fill_info(shmswarm__block *blk, shmswarm_frame_info *info) {
  info->frames = SHMSWARM__LOAD(&blk->frames, relaxed);
  info->last_write_ns = SHMSWARM__LOAD(&blk->last_write_ns, relaxed);
  info->writer_pid = SHMSWARM__LOAD(&blk->writer_pid, relaxed);
  info->flags |= SHMSWARM__LOAD(&blk->flags, relaxed) & SHMSWARM_FRAME_TORN;
}

/* Seqlock read: 1 on success, 0 when every attempt overlapped a write. */
static int shmswarm__read_lockfree(shmswarm_segment *s, void *dst, size_t bytes, uint64_t seen,
                                   shmswarm_frame_info *info, int attempts, int64_t spin_ns) {
  shmswarm__block *blk = s->blk;
  const uint8_t *src = s->base + s->lay.data_offset;
  int64_t spin_end = 0;
  for (int attempt = 0; attempt < attempts;) {
    uint64_t s1 = SHMSWARM__LOAD(&blk->seq, acquire);
    if (s1 & 1) {
      /* A frame is being written: wait a little for it, then let the mutex decide. */
      int64_t now = shmswarm__now(CLOCK_MONOTONIC);
      if (!spin_end) spin_end = now + spin_ns;
      if (now > spin_end) return 0;
      for (int i = 0; i < 64; i++) SHMSWARM__PAUSE();
      continue;
    }
    if (s1 == seen) {
      info->sequence = s1;
      info->flags |= SHMSWARM_FRAME_UNCHANGED;
      shmswarm__fill_info(blk, info);
      return 1;
    }
    shmswarm_copy(dst, src, bytes);
    shmswarm__fill_info(blk, info);
    SHMSWARM__FENCE(acquire);
    if (SHMSWARM__LOAD(&blk->seq, relaxed) == s1) {
      info->sequence = s1;
      return 1;
    }
    attempt++;
    info->retries++;
    info->flags &= ~SHMSWARM_FRAME_TORN;
  }
  return 0;
}

/* Lock-free read of a segment with k >= 2 slots. Frame n lives in slot n % k and its writer
 * only starts overwriting that slot when seq reaches 2(n + k) - 1: an odd sequence (frame n + 1
 * being written, into another slot) is no reason to wait, and a copy is whole iff the sequence
 * after it is at most 2(n + k) - 2. 1 on success, 0 when every attempt was lapped. */
static int shmswarm__read_slots(shmswarm_segment *s, void *dst, size_t bytes, uint64_t seen,
                                shmswarm_frame_info *info, int attempts) {
  shmswarm__block *blk = s->blk;
  uint64_t k = s->lay.slots;
  int moved = 0;
  int64_t spin_end = 0;
  for (int attempt = 0; attempt < attempts;) {
    uint64_t s1 = SHMSWARM__LOAD(&blk->seq, acquire);
    uint64_t n = s1 >> 1;
    /* frames, flags, ... describe frame n from seq 2n until the writer, at the end of frame
     * n + 1 (seq still 2n + 1), sets stats_seq to 2n + 1 and then stores frame n + 1's. Read them,
     * then stats_seq: below 2n + 1 means none of frame n + 1's was seen (fence to fence). */
    shmswarm__fill_info(blk, info);
    SHMSWARM__FENCE(acquire);
    int in_stats = SHMSWARM__LOAD(&blk->stats_seq, relaxed) >= 2 * n + 1;
    if (in_stats || SHMSWARM__LOAD(&blk->seq, relaxed) >> 1 != n) {
      info->flags &= ~SHMSWARM_FRAME_TORN;
      if (in_stats && SHMSWARM__LOAD(&blk->seq, relaxed) >> 1 == n) {
        /* The writer is between its figures and its publish: a few stores, unless it was
         * preempted there. Wait for it as version 1 waits for an odd sequence, by time. */
        int64_t now = shmswarm__now(CLOCK_MONOTONIC);
        if (!spin_end) spin_end = now + SHMSWARM__SPIN_NS;
        if (now > spin_end) return 0;
        for (int i = 0; i < 64; i++) SHMSWARM__PAUSE();
        continue;
      }
      if (++moved > 64) return 0; /* tiny frames published back to back: let the mutex decide */
      continue;
    }
    if (2 * n == seen) {
      info->sequence = 2 * n;
      info->flags |= SHMSWARM_FRAME_UNCHANGED;
      return 1;
    }
    shmswarm_copy(dst, shmswarm__slot(s, n), bytes);
    SHMSWARM__FENCE(acquire);
    if (SHMSWARM__LOAD(&blk->seq, relaxed) <= 2 * (n + k) - 2) {
      info->sequence = 2 * n;
      return 1;
    }
    attempt++;
    info->retries++;
    info->flags &= ~SHMSWARM_FRAME_TORN;
  }
  return 0;
}

static int shmswarm__read_locked(shmswarm_segment *s, void *dst, size_t bytes, uint64_t seen, int64_t timeout_ns,
                                 shmswarm_frame_info *info) {
  shmswarm__block *blk = s->blk;
  /* Nothing new: answer without the lock, so a reader polling with `seen` never hammers it. */
  uint64_t now_seq = SHMSWARM__LOAD(&blk->seq, acquire);
  if (seen != UINT64_MAX && now_seq == seen) {
    info->sequence = now_seq;
    info->flags |= SHMSWARM_FRAME_UNCHANGED;
    shmswarm__fill_info(blk, info);
    return 0;
  }
  int recovered = 0;
  int r = shmswarm__lock(s, 0, &recovered);
  if (r == -EBUSY) {
    /* Contended: ask the writer to step aside for one frame, glibc's mutex is not fair. */
    int64_t mine = shmswarm__now(CLOCK_MONOTONIC) + SHMSWARM__GATE_NS;
    SHMSWARM__STORE(&blk->read_request, mine, release);
    r = shmswarm__lock(s, timeout_ns, &recovered);
    int64_t expect = mine;
    SHMSWARM__CAS(&blk->read_request, &expect, (int64_t)0);
    SHMSWARM__ADD(&blk->gate, 1u);
    shmswarm__futex_wake(&blk->gate);
  }
  if (r) return r;
  uint64_t seq = SHMSWARM__LOAD(&blk->seq, relaxed);
  info->sequence = seq;
  info->flags |= SHMSWARM_FRAME_LOCKED | (recovered ? SHMSWARM_FRAME_RECOVERED : 0);
  if (seq == seen) info->flags |= SHMSWARM_FRAME_UNCHANGED;
  else shmswarm_copy(dst, shmswarm__slot(s, seq >> 1), bytes);
  shmswarm__fill_info(blk, info);
  pthread_mutex_unlock(&blk->mutex.m);
  return 0;
}

static int shmswarm__read_guarded(shmswarm_segment *s, void *dst, size_t bytes, int mode, uint64_t seen,
                                  int64_t timeout_ns, shmswarm_frame_info *info) {
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "read", "memory fault while reading (segment shrunk?)"));
  int r = 0;
  if (!s->blk) {
    shmswarm_copy(dst, s->base + s->lay.data_offset, bytes);
    info->flags = SHMSWARM_FRAME_UNSYNCED;
  } else if (mode == SHMSWARM_READ_LOCK) {
    r = shmswarm__read_locked(s, dst, bytes, seen, timeout_ns, info);
  } else {
    /* After a fallback the writer is likely still publishing back to back: go to the mutex at
     * once instead of making copies that will be overwritten anyway, and only every 8th read
     * try lock-free once more, to notice when the writer slows down. With slots a lap means
     * the reader was descheduled or is k - 1 frames slower, not that the next copy will fail:
     * every read tries lock-free first. */
    int quick = mode == SHMSWARM_READ_AUTO && s->contended && s->shared_rw && s->lay.slots == 1;
    if (quick && (++s->contended & 7) != 0) {
      r = shmswarm__read_locked(s, dst, bytes, seen, timeout_ns, info);
    } else if (s->lay.slots > 1
                   ? shmswarm__read_slots(s, dst, bytes, seen, info, SHMSWARM__COPY_ATTEMPTS)
                   : shmswarm__read_lockfree(s, dst, bytes, seen, info, quick ? 1 : SHMSWARM__COPY_ATTEMPTS,
                                             quick ? SHMSWARM__SPIN_NS / 20 : SHMSWARM__SPIN_NS)) {
      s->contended = 0;
    } else if (mode == SHMSWARM_READ_NOLOCK || !s->shared_rw) {
      /* A writer that died inside a frame (version 2: between its figures and its publish) leaves
       * seq odd for good: only a locker repairs it, and "kept overwriting" would send the user
       * looking for a writer that is not there. */
      shmswarm__block *blk = s->blk;
      int32_t pid = SHMSWARM__LOAD(&blk->writer_pid, relaxed);
      if ((SHMSWARM__LOAD(&blk->seq, acquire) & 1) && !shmswarm_pid_alive(pid, SHMSWARM__LOAD(&blk->writer_start, relaxed)))
        r = shmswarm__fail(SHMSWARM_ENOFRAME, "read",
                           "its writer (pid %d) died in the middle of a frame; no consistent copy until a process "
                           "with write access takes the lock, which repairs it",
                           (int)pid);
      else
        r = shmswarm__fail(SHMSWARM_ENOFRAME, "read", "writer kept overwriting the frame; no consistent copy without the lock");
    } else {
      if (!s->contended) s->contended = 1;
      r = shmswarm__read_locked(s, dst, bytes, seen, timeout_ns, info);
    }
  }
  SHMSWARM__GUARD_END();
  return r;
}

int shmswarm_read_frame_ex(shmswarm_segment *s, void *dst, size_t bytes, int mode, uint64_t seen,
                           shmswarm_frame_info *info) {
  return shmswarm_read_frame_timed(s, dst, bytes, mode, seen, -1, info);
}

int shmswarm_read_frame_timed(shmswarm_segment *s, void *dst, size_t bytes, int mode, uint64_t seen,
                              int64_t timeout_ns, shmswarm_frame_info *info) {
  shmswarm_frame_info local;
  if (!info) info = &local;
  memset(info, 0, sizeof *info);
  if (!s) return shmswarm__null("read", "segment");
  if (mode != SHMSWARM_READ_AUTO && mode != SHMSWARM_READ_LOCK && mode != SHMSWARM_READ_NOLOCK)
    return shmswarm__fail(-EINVAL, "read", "read mode %d is not SHMSWARM_READ_AUTO, _LOCK or _NOLOCK", mode);
  if (bytes != s->lay.data_bytes)
    return shmswarm__fail(-EINVAL, "read", "buffer of %zu bytes, frame is %llu", bytes,
                          (unsigned long long)s->lay.data_bytes);
  if (!dst) return shmswarm__null("read", "dst");
  if (s->in_frame) return shmswarm__fail(-EDEADLK, "read", "this handle is inside begin_frame");
  return shmswarm__read_guarded(s, dst, bytes, mode, seen, timeout_ns, info);
}

int shmswarm_read_frame(shmswarm_segment *s, void *dst, size_t bytes, uint64_t *sequence) {
  shmswarm_frame_info info;
  int r = shmswarm_read_frame_ex(s, dst, bytes, SHMSWARM_READ_AUTO, UINT64_MAX, &info);
  if (!r && sequence) *sequence = info.sequence;
  return r;
}

int shmswarm_get_state(shmswarm_segment *s, shmswarm_state *out) {
  if (!out) return shmswarm__null("state", "out");
  memset(out, 0, sizeof *out);
  if (!s) return shmswarm__null("state", "segment");
  if (!s->blk) return 0;
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "state", "memory fault while reading (segment shrunk?)"));
  shmswarm__block *blk = s->blk;
  out->slots = s->lay.slots;
  out->sequence = SHMSWARM__LOAD(&blk->seq, acquire);
  out->frames = SHMSWARM__LOAD(&blk->frames, relaxed);
  out->last_write_ns = SHMSWARM__LOAD(&blk->last_write_ns, relaxed);
  out->writer_pid = SHMSWARM__LOAD(&blk->writer_pid, relaxed);
  out->writer_start = SHMSWARM__LOAD(&blk->writer_start, relaxed);
  out->flags = SHMSWARM__LOAD(&blk->flags, relaxed);
  out->waiters = SHMSWARM__LOAD(&blk->waiters, relaxed);
  SHMSWARM__GUARD_END();
  return 0;
}

/* ---- waiting ---- */
/* Waiting for an even sequence alone starved here: a back-to-back writer's sequence is even for
 * a µs per frame, and a woken waiter runs tens of µs later (bench/: 57 ms per wait). So a frame
 * being written (odd q) counts as q - 1, and an odd `seen` as seen - 1. */
static int shmswarm__newer(uint64_t seq, uint64_t seen, uint64_t *stable) {
  *stable = (seq & 1) ? seq - 1 : seq;
  uint64_t seen_stable = (seen != UINT64_MAX && (seen & 1)) ? seen - 1 : seen;
  return *stable != seen_stable;
}

int shmswarm_wait_cancellable(shmswarm_segment *s, uint64_t seen, int64_t timeout_ns,
                              const volatile int *cancel, uint64_t *sequence) {
  if (!s) return shmswarm__null("wait", "segment");
  if (!s->blk) return shmswarm__fail(SHMSWARM_ENOTSYNC, "wait", "plain WA-1 object has no sequence counter");
  shmswarm__block *blk = s->blk;
  int64_t deadline = shmswarm__now(CLOCK_MONOTONIC) + (timeout_ns < 0 ? 0 : timeout_ns);
  volatile int counted = 0;
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "wait", "memory fault while waiting (segment shrunk?)"));
  for (;;) {
    if (s->shared_rw) {
      SHMSWARM__ADD(&blk->waiters, 1u);
      counted = 1;
    }
    uint32_t n = SHMSWARM__LOAD(&blk->notify, seq_cst);
    uint64_t seq = SHMSWARM__LOAD(&blk->seq, acquire);
    int64_t now = shmswarm__now(CLOCK_MONOTONIC);
    int rc = 1;
    uint64_t stable;
    if (shmswarm__newer(seq, seen, &stable)) {
      if (sequence) *sequence = stable;
      rc = 0;
    } else if (cancel && *cancel) {
      rc = shmswarm__fail(-ECANCELED, "wait", "cancelled");
    } else if (now >= deadline) {
      if (sequence) *sequence = seq;
      rc = shmswarm__fail(-ETIMEDOUT, "wait", "no new frame before the timeout");
    } else {
      int64_t sleep = s->shared_rw ? SHMSWARM__WAIT_SLEEP_NS : SHMSWARM__WAIT_POLL_NS;
      if (cancel && sleep > SHMSWARM_CANCEL_CHECK_NS) sleep = SHMSWARM_CANCEL_CHECK_NS;
      int64_t left = deadline - now;
      shmswarm__futex_wait(&blk->notify, n, left < sleep ? left : sleep);
    }
    if (counted) {
      SHMSWARM__SUB(&blk->waiters, 1u);
      counted = 0;
    }
    if (rc <= 0) {
      SHMSWARM__GUARD_END();
      return rc;
    }
  }
}

int shmswarm_wait(shmswarm_segment *s, uint64_t seen, int64_t timeout_ns, uint64_t *sequence) {
  return shmswarm_wait_cancellable(s, seen, timeout_ns, NULL, sequence);
}

int shmswarm_wait_begin(shmswarm_segment *s, uint32_t **word) {
  if (!s) return shmswarm__null("wait", "segment");
  if (!s->blk) return shmswarm__fail(SHMSWARM_ENOTSYNC, "wait", "plain WA-1 object has no sequence counter");
  if (!s->shared_rw) return shmswarm__fail(-EACCES, "wait", "read-only access cannot register as a waiter");
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "wait", "memory fault while waiting (segment shrunk?)"));
  /* Registered for the whole wait, not per sleep: §11 needs it only before each notify load. */
  SHMSWARM__ADD(&s->blk->waiters, 1u);
  SHMSWARM__GUARD_END();
  if (word) *word = (uint32_t *)&s->blk->notify;
  return 0;
}

static int shmswarm__wait_words(shmswarm__block *blk, uint32_t *n, uint64_t *seq) {
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return shmswarm__fail(SHMSWARM_EBUS, "wait", "memory fault while waiting (segment shrunk?)"));
  /* seq_cst after the waiters increment in begin: pairs with the writer's notify, then waiters. */
  *n = SHMSWARM__LOAD(&blk->notify, seq_cst);
  *seq = SHMSWARM__LOAD(&blk->seq, acquire);
  SHMSWARM__GUARD_END();
  return 0;
}

int shmswarm_wait_check(shmswarm_segment *s, uint64_t seen, uint32_t *expected, uint64_t *sequence) {
  if (!s) return shmswarm__null("wait", "segment");
  if (!s->blk) return shmswarm__fail(SHMSWARM_ENOTSYNC, "wait", "plain WA-1 object has no sequence counter");
  uint32_t n;
  uint64_t seq;
  int r = shmswarm__wait_words(s->blk, &n, &seq);
  if (r) return r;
  uint64_t stable;
  if (shmswarm__newer(seq, seen, &stable)) {
    if (sequence) *sequence = stable;
    return 0;
  }
  if (expected) *expected = n;
  if (sequence) *sequence = seq;
  return 1;
}

void shmswarm_wait_end(shmswarm_segment *s) {
  if (!s || !s->blk || !s->shared_rw) return;
  sigjmp_buf jb;
  SHMSWARM__GUARD_BEGIN(jb, return);
  SHMSWARM__SUB(&s->blk->waiters, 1u);
  SHMSWARM__GUARD_END();
}

#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
/* The kernel's struct sched_attr (sched_setattr(2)); glibc 2.36 does not declare it. */
struct shmswarm__sched_attr {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};
int shmswarm_set_wake_slice(int64_t slice_ns, int64_t *applied_ns) {
  struct shmswarm__sched_attr a;
  memset(&a, 0, sizeof a);
  if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof a, 0u) != 0) return SHMSWARM__ERRNO("sched_getattr");
  if (a.sched_policy != 0 && a.sched_policy != 3) /* SCHED_OTHER, SCHED_BATCH (a GNU name) */
    return shmswarm__fail(-EINVAL, "sched_setattr", "thread is not in the fair scheduling class");
  a.size = sizeof a;
  a.sched_flags = 0;
  a.sched_runtime = slice_ns > 0 ? (uint64_t)slice_ns : 0;
  if (syscall(SYS_sched_setattr, 0, &a, 0u) != 0) return SHMSWARM__ERRNO("sched_setattr");
  /* Kernels before 6.12 accept and ignore the runtime of a fair thread; they report 0 back. */
  memset(&a, 0, sizeof a);
  if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof a, 0u) != 0) return SHMSWARM__ERRNO("sched_getattr");
  if (slice_ns > 0 && a.sched_runtime == 0)
    return shmswarm__fail(-ENOTSUP, "sched_setattr", "this kernel has no per-thread time slices (Linux 6.12+)");
  if (applied_ns) *applied_ns = (int64_t)a.sched_runtime;
  return 0;
}
#else
int shmswarm_set_wake_slice(int64_t slice_ns, int64_t *applied_ns) {
  (void)slice_ns;
  if (applied_ns) *applied_ns = 0;
  return shmswarm__fail(-ENOTSUP, "sched_setattr", "per-thread time slices are Linux-only");
}
#endif

/* ---- errors ---- */
const char *shmswarm_errname(int code) {
  switch (code) {
  case SHMSWARM_EBADMAGIC: return "EBADMAGIC";
  case SHMSWARM_EBYTEORDER: return "EBYTEORDER";
  case SHMSWARM_EVERSION: return "EVERSION";
  case SHMSWARM_ELAYOUT: return "ELAYOUT";
  case SHMSWARM_ECORRUPT: return "ECORRUPT";
  case SHMSWARM_ECHECKSUM: return "ECHECKSUM";
  case SHMSWARM_EUNINIT: return "EUNINIT";
  case SHMSWARM_ETRUNCATED: return "ETRUNCATED";
  case SHMSWARM_EBUS: return "EBUS";
  case SHMSWARM_ENOTSYNC: return "ENOTSYNC";
  case SHMSWARM_ENOFRAME: return "ENOFRAME";
#define SHMSWARM__E(e) case -e: return #e;
  SHMSWARM__E(EPERM) SHMSWARM__E(ENOENT) SHMSWARM__E(EINTR) SHMSWARM__E(EIO) SHMSWARM__E(EBADF)
  SHMSWARM__E(EAGAIN) SHMSWARM__E(ENOMEM) SHMSWARM__E(EACCES) SHMSWARM__E(EFAULT) SHMSWARM__E(EBUSY)
  SHMSWARM__E(EEXIST) SHMSWARM__E(EINVAL) SHMSWARM__E(ENFILE) SHMSWARM__E(EMFILE) SHMSWARM__E(EFBIG)
  SHMSWARM__E(ENOSPC) SHMSWARM__E(EDEADLK) SHMSWARM__E(ENAMETOOLONG) SHMSWARM__E(ENOSYS)
  SHMSWARM__E(ELOOP) SHMSWARM__E(ETIMEDOUT) SHMSWARM__E(EALREADY) SHMSWARM__E(ECANCELED)
  SHMSWARM__E(EOWNERDEAD) SHMSWARM__E(ENOTRECOVERABLE) SHMSWARM__E(ENOTSUP) SHMSWARM__E(EOVERFLOW)
  SHMSWARM__E(EROFS) SHMSWARM__E(ENODEV) SHMSWARM__E(EISDIR) SHMSWARM__E(ENOTDIR)
#undef SHMSWARM__E
  default: return NULL;
  }
}

const char *shmswarm_strerror(int code) {
  switch (code) {
  case 0: return "success";
  case SHMSWARM_EBADMAGIC: return "not a shmswarm or WA-1 segment";
  case SHMSWARM_EBYTEORDER: return "segment was written with the opposite byte order";
  case SHMSWARM_EVERSION: return "segment has another shmswarm format version";
  case SHMSWARM_ELAYOUT: return "segment was made on an incompatible platform";
  case SHMSWARM_ECORRUPT: return "segment header is invalid";
  case SHMSWARM_ECHECKSUM: return "segment header checksum mismatch";
  case SHMSWARM_EUNINIT: return "segment is not initialised";
  case SHMSWARM_ETRUNCATED: return "segment is smaller than its header says";
  case SHMSWARM_EBUS: return "memory fault in segment (shrunk, or /dev/shm full)";
  case SHMSWARM_ENOTSYNC: return "plain WA-1 segment has no lock or sequence counter";
  case SHMSWARM_ENOFRAME: return "no consistent frame without the lock";
  /* libc's words ("Connection timed out") speak of connections; ours are waits and locks. */
  case -ETIMEDOUT: return "timed out";
  default: return code < 0 ? strerror(-code) : "unknown error";
  }
}

#endif /* SHMSWARM_IMPLEMENTED */
#endif /* SHMSWARM_IMPLEMENTATION */
