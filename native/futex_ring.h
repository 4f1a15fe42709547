// Futex waits completed on the event-loop thread: one io_uring per Node environment, its
// eventfd polled by the loop. The writer's FUTEX_WAKE then wakes the loop's thread directly,
// where a worker thread costs a second wake-up (docs/PERFORMANCE.md, "Wake latency").
#pragma once
#include <napi.h>

#include <cstdint>

namespace shmswarm {

class SegmentHandle;

// Starts a wait for a frame newer than `seen` on this environment's ring and sets *promise.
// Returns false, starting nothing, when the ring is unavailable here (no io_uring, no
// IORING_OP_FUTEX_WAIT: decided once per environment) or the handle cannot register as a
// waiter (read-only access, plain WA-1): the caller waits on a worker thread instead.
bool RingWaitAsync(Napi::Env env, SegmentHandle *h, uint64_t seen, int64_t timeout_ns, Napi::Value *promise);
// close(): this handle's ring waits reject with ECANCELED once the kernel has let go of them.
void RingCancel(Napi::Env env, SegmentHandle *h);
// A wait on the worker thread begins / ends (counted for waitStats()). Those still running
// when the environment is torn down or the process exits are cancelled: a worker thread
// asleep in a futex would otherwise hold process.exit() (libuv joins its pool) or a Worker's
// termination until the wait's timeout.
void ThreadWaitBegin(Napi::Env env, SegmentHandle *h);
void ThreadWaitEnd(Napi::Env env, SegmentHandle *h) noexcept;
// waitStats() -> { ring, thread, ringState: 'unused' | 'ready' | 'unavailable', reason }:
// which path served this environment's waits (tests and bench).
Napi::Value WaitStats(const Napi::CallbackInfo &info);

}  // namespace shmswarm
