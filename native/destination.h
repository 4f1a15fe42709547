// The destination of a copy made on a thread-pool thread.
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstdlib>

namespace shmswarm {

// JS can detach or shrink a caller's array while a worker thread copies into it (a
// structuredClone transfer, then the GC; ArrayBuffer#resize), and the copy would then write into
// freed memory. So a caller's array is filled through staging memory this object owns, and only
// on the loop thread, if it is still there and as long. An array the library made for the call
// and hands out only when it resolves (`private`), and one over a SharedArrayBuffer (which can be
// neither detached nor shrunk), are filled directly.
class CopyDestination {
 public:
  // Loop thread. Throws a TypeError for anything but a TypedArray or DataView.
  CopyDestination(Napi::Value dst, bool isPrivate);
  ~CopyDestination() { std::free(staging_); }
  CopyDestination(const CopyDestination &) = delete;
  CopyDestination &operator=(const CopyDestination &) = delete;

  // Worker thread: where to copy, and how many bytes.
  void *Bytes() const { return staging_ ? staging_ : data_; }
  size_t Length() const { return len_; }
  // Loop thread, after a successful copy: false when the array was detached or resized meanwhile.
  bool Deliver();
  // The error for a destination Deliver() found gone.
  static Napi::TypeError Gone(Napi::Env env) {
    return Napi::TypeError::New(env, "the destination array was detached or resized while the read was pending");
  }

 private:
  Napi::Reference<Napi::Value> ref_;
  void *data_ = nullptr;
  size_t len_ = 0;
  void *staging_ = nullptr;
};

// The bytes of a TypedArray or DataView; a TypeError for anything else.
void BytesOf(const Napi::Value &v, void **data, size_t *len);

}  // namespace shmswarm
