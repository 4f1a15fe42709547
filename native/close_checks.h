// Lock waits on a thread-pool thread, in slices: close() cannot interrupt a blocked pthread
// lock, so a pending wait looks at its cancel flag between slices instead.
#pragma once
#include <cerrno>
#include <cstdint>

namespace shmswarm {

constexpr int64_t kLockSliceNs = 20000000;  // how soon a pending lock wait notices close()

// attempt(slice_ns) until it ends other than ETIMEDOUT or `timeout_ns` is spent; between
// slices a true cancelled() ends it with -ECANCELED.
template <typename Cancelled, typename Attempt>
int InSlices(int64_t timeout_ns, Cancelled cancelled, Attempt attempt) {
  for (int64_t left = timeout_ns;;) {
    int64_t slice = left < kLockSliceNs ? left : kLockSliceNs;
    int r = attempt(slice);
    left -= slice;
    if (r != -ETIMEDOUT || left <= 0) return r;
    if (cancelled()) return -ECANCELED;
  }
}

}  // namespace shmswarm
