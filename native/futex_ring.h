// Futex waits completed on the event-loop thread: one io_uring per Node environment, its
// eventfd polled by the loop. The writer's FUTEX_WAKE then wakes the loop's thread directly,
// where a worker thread costs a second wake-up (docs/PERFORMANCE.md, "Wake latency").
#pragma once
#include <napi.h>

#include <cstdint>
#include <ctime>
#include <string>

#include "shmswarm_binding.h"

namespace shmswarm {

inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// What a wait waits on: a mapped segment and what the wait needs of its owner, nothing more
// (native/segment_handle.h is the one owner). Keeps this file free of the handle's class.
class WaitTarget {
 public:
  virtual shmswarm_segment *segment() const = 0;
  // For error messages.
  virtual const std::string &name() const = 0;
  // Non-zero once the target's waits must end (ECANCELED).
  virtual const volatile int *cancelFlag() const = 0;
  // Environment teardown or process exit: waits on this target end now (ECANCELED).
  virtual void CancelWaits() = 0;
  // A pending wait keeps the target (its JS object and mapping) alive from KeepAlive to LetGo;
  // LetGo comes after the kernel has let go of the futex word, and may unmap it. KeepAlive may throw.
  virtual void KeepAlive() = 0;
  virtual void LetGo() noexcept = 0;

 protected:
  ~WaitTarget() = default;
};

// Starts a wait for a frame newer than `seen` on this environment's ring and sets *promise.
// Returns false, starting nothing, when the ring is unavailable here (no io_uring, no
// IORING_OP_FUTEX_WAIT: decided once per environment) or the handle cannot register as a
// waiter (read-only access, plain WA-1): the caller waits on a worker thread instead.
bool RingWaitAsync(Napi::Env env, WaitTarget *h, uint64_t seen, int64_t timeout_ns, Napi::Value *promise);
// close(): this handle's ring waits reject with ECANCELED once the kernel has let go of them.
void RingCancel(Napi::Env env, WaitTarget *h);
// A wait on the worker thread begins / ends (counted for waitStats()). Those still running
// when the environment is torn down or the process exits are cancelled: a worker thread
// asleep in a futex would otherwise hold process.exit() (libuv joins its pool) or a Worker's
// termination until the wait's timeout.
void ThreadWaitBegin(Napi::Env env, WaitTarget *h);
void ThreadWaitEnd(Napi::Env env, WaitTarget *h) noexcept;
// waitStats() -> { ring, thread, ringState: 'unused' | 'ready' | 'unavailable', reason }:
// which path served this environment's waits (tests and bench).
Napi::Value WaitStats(const Napi::CallbackInfo &info);

}  // namespace shmswarm
