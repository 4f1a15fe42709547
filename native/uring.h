// A Node-free io_uring client: raw syscalls and the shared queues, no Node or libuv types
// (native/futex_ring.cc waits on futexes through it). SHMSWARM_HAVE_URING says it is built.
#pragma once
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#define SHMSWARM_HAVE_URING 1
#endif
#endif

#ifdef SHMSWARM_HAVE_URING
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

// Headers before Linux 6.7 lack the futex opcode (an enum, so no #ifndef for it) and futex2 flags.
constexpr uint8_t kOpFutexWait = 51;  // IORING_OP_FUTEX_WAIT
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX_BITSET_MATCH_ANY
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#endif

#ifdef SHMSWARM_HAVE_URING
namespace shmswarm {

// The ring itself: raw syscalls and the shared queues, no Node types. Single-threaded (the
// loop's thread); nothing here sleeps but WaitOne, kept for the set-up probe that completes inline.
class Uring {
 public:
  ~Uring() { Close(); }

  // 0, or -errno with *what naming the step that failed.
  int Setup(unsigned entries, unsigned cq_entries, const char **what) {
    io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
    *what = "io_uring_setup";
    fd_ = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (fd_ < 0) return -errno;
    // Without NODROP a full completion queue loses completions, and a lost futex completion is
    // a wait that never ends.
    if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_SINGLE_MMAP)) {
      *what = "io_uring_setup (features)";
      return -ENOSYS;
    }
    ring_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    if (cq_size > ring_size_) ring_size_ = cq_size;
    *what = "mmap";
    ring_ = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING);
    if (ring_ == MAP_FAILED) {
      ring_ = nullptr;
      return -errno;
    }
    sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
    sqes_ = (io_uring_sqe *)mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES);
    if (sqes_ == MAP_FAILED) {
      sqes_ = nullptr;
      return -errno;
    }
    char *b = (char *)ring_;
    sq_head_ = (unsigned *)(b + p.sq_off.head);
    sq_tail_ = (unsigned *)(b + p.sq_off.tail);
    sq_flags_ = (unsigned *)(b + p.sq_off.flags);
    sq_array_ = (unsigned *)(b + p.sq_off.array);
    sq_mask_ = *(unsigned *)(b + p.sq_off.ring_mask);
    sq_entries_ = p.sq_entries;
    cq_head_ = (unsigned *)(b + p.cq_off.head);
    cq_tail_ = (unsigned *)(b + p.cq_off.tail);
    cq_mask_ = *(unsigned *)(b + p.cq_off.ring_mask);
    cqes_ = (io_uring_cqe *)(b + p.cq_off.cqes);
    tail_ = *sq_tail_;
    return 0;
  }

  int RegisterEventfd(int efd) {
    return syscall(__NR_io_uring_register, fd_, IORING_REGISTER_EVENTFD, &efd, 1) < 0 ? -errno : 0;
  }

  // `n` consecutive zeroed SQEs that go to the kernel in one Submit (a wait and its linked
  // timeout must), submitting what is queued first when the queue is short of room.
  io_uring_sqe *Reserve(unsigned n) {
    if (tail_ + n - Load(sq_head_) > sq_entries_) Submit();
    if (tail_ + n - Load(sq_head_) > sq_entries_) return nullptr;
    io_uring_sqe *first = nullptr;
    for (unsigned i = 0; i < n; i++) {
      unsigned idx = (tail_ + i) & sq_mask_;
      memset(&sqes_[idx], 0, sizeof(io_uring_sqe));
      sq_array_[idx] = idx;
      if (!first) first = &sqes_[idx];
    }
    return first;
  }
  // The SQE after `sqe` in the ring (the second of a Reserve(2)).
  io_uring_sqe *Next(io_uring_sqe *sqe) { return &sqes_[((unsigned)(sqe - sqes_) + 1) & sq_mask_]; }
  void Commit(unsigned n) { tail_ += n; }

  // Hands the committed SQEs to the kernel; 0 or -errno (then some may be left unconsumed).
  int Submit() {
    __atomic_store_n(sq_tail_, tail_, __ATOMIC_RELEASE);
    for (;;) {
      unsigned pending = tail_ - Load(sq_head_);
      if (!pending) return 0;
      long r = syscall(__NR_io_uring_enter, fd_, pending, 0, 0, nullptr, 0);
      if (r < 0 && errno != EINTR) return -errno;
    }
  }
  // Where the kernel stopped reading: SQEs from here on were not submitted.
  unsigned Consumed() { return Load(sq_head_); }
  // Takes back the SQEs the kernel has not read (it reads the queue only inside io_uring_enter).
  void Discard() {
    tail_ = Load(sq_head_);
    __atomic_store_n(sq_tail_, tail_, __ATOMIC_RELEASE);
  }
  unsigned Tail() const { return tail_; }

  // Pops one completion; false when there is none.
  bool Pop(io_uring_cqe *out) {
    unsigned head = *cq_head_;
    if (head == __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE)) return false;
    *out = cqes_[head & cq_mask_];
    __atomic_store_n(cq_head_, head + 1, __ATOMIC_RELEASE);
    return true;
  }

  // Completions that did not fit the queue wait in the kernel until asked for.
  bool Overflowed() { return Load(sq_flags_) & IORING_SQ_CQ_OVERFLOW; }
  void FlushOverflow() { syscall(__NR_io_uring_enter, fd_, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0); }

  // Waits for one completion: only for the set-up probe, whose wait completes inline.
  int WaitOne(io_uring_cqe *out) {
    while (!Pop(out)) {
      if (syscall(__NR_io_uring_enter, fd_, 0, 1, IORING_ENTER_GETEVENTS, nullptr, 0) < 0 && errno != EINTR)
        return -errno;
    }
    return 0;
  }

  // Closing the ring makes the kernel cancel whatever is still queued in it.
  void Close() {
    if (sqes_) munmap(sqes_, sqes_size_);
    if (ring_) munmap(ring_, ring_size_);
    if (fd_ >= 0) close(fd_);
    sqes_ = nullptr;
    ring_ = nullptr;
    fd_ = -1;
  }

 private:
  static unsigned Load(unsigned *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

  int fd_ = -1;
  void *ring_ = nullptr;
  size_t ring_size_ = 0;
  io_uring_sqe *sqes_ = nullptr;
  size_t sqes_size_ = 0;
  unsigned *sq_head_, *sq_tail_, *sq_flags_, *sq_array_, sq_mask_ = 0, sq_entries_ = 0;
  unsigned *cq_head_, *cq_tail_, cq_mask_ = 0;
  io_uring_cqe *cqes_ = nullptr;
  unsigned tail_ = 0;  // ours: SQEs prepared; *sq_tail_ is what the kernel may consume
};

}  // namespace shmswarm
#endif
