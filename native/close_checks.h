// Lock waits on a thread-pool thread, in steps: close() cannot interrupt a blocked pthread
// lock, so a pending wait looks at its cancel flag between steps of SHMSWARM_CANCEL_CHECK_NS
// (shmswarm_binding.h: the same interval as the C core's cancellable frame waits).
#pragma once
#include <cerrno>
#include <cstdint>

#include "shmswarm_binding.h"

namespace shmswarm {

// attempt(step_ns) until it ends other than ETIMEDOUT or `timeout_ns` is spent; between
// steps a true cancelled() ends it with -ECANCELED.
template <typename Cancelled, typename Attempt>
int WithCloseChecks(int64_t timeout_ns, Cancelled cancelled, Attempt attempt) {
  for (int64_t left = timeout_ns;;) {
    int64_t step = left < SHMSWARM_CANCEL_CHECK_NS ? left : SHMSWARM_CANCEL_CHECK_NS;
    int r = attempt(step);
    left -= step;
    if (r != -ETIMEDOUT || left <= 0) return r;
    if (cancelled()) return -ECANCELED;
  }
}

}  // namespace shmswarm
