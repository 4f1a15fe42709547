#include "destination.h"

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "shmswarm.h"

namespace shmswarm {

// The bytes behind a TypedArray or DataView, or a TypeError.
// One N-API call on the hot path (each costs 25-45 ns here): ask for the typed-array info
// directly, without the ArrayBuffer handle; anything else fails that call and is checked after.
void BytesOf(const Napi::Value &v, void **data, size_t *len) {
  napi_env env = v.Env();
  napi_typedarray_type type;
  size_t length;
  if (napi_get_typedarray_info(env, v, &type, &length, data, nullptr, nullptr) == napi_ok) {
    static const size_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *len = length * (type <= napi_biguint64_array ? sizes[type] : 1);
    return;
  }
  bool isView = false;
  napi_is_dataview(env, v, &isView);
  if (isView) {
    size_t length, offset;
    napi_value ab;
    napi_get_dataview_info(env, v, &length, data, &ab, &offset);
    *len = length;
    return;
  }
  ThrowType(v.Env(), "expected a TypedArray");
}

// Over a SharedArrayBuffer: it can be neither detached nor shrunk (a growable one only grows).
static bool OverSharedMemory(const Napi::Value &v) {
  napi_value buffer = nullptr;
  bool plain = true;
  if (napi_get_typedarray_info(v.Env(), v, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok &&
      napi_get_dataview_info(v.Env(), v, nullptr, nullptr, &buffer, nullptr) != napi_ok)
    return false;
  return napi_is_arraybuffer(v.Env(), buffer, &plain) == napi_ok && !plain;
}

CopyDestination::CopyDestination(Napi::Value dst, bool isPrivate) {
  BytesOf(dst, &data_, &len_);
  ref_ = Napi::Reference<Napi::Value>::New(dst, 1);
  if (isPrivate || len_ == 0 || OverSharedMemory(dst)) return;
  // 64-byte aligned: a misaligned destination makes the copy many times slower (PERFORMANCE.md).
  staging_ = std::aligned_alloc(64, (len_ + 63) & ~(size_t)63);
  if (!staging_) throw MakeError(dst.Env(), Failure{-ENOMEM, "malloc", "no room for a " + std::to_string(len_) + "-byte frame"}, "");
}

bool CopyDestination::Deliver() {
  if (!staging_) return true;
  void *data = nullptr;
  size_t len = 0;
  BytesOf(ref_.Value(), &data, &len);
  if (len != len_ || (len_ > 0 && !data)) return false;
  shmswarm_copy(data, staging_, len_);
  return true;
}

}  // namespace shmswarm
