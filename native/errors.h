// Turning C core return codes into JS errors: one place, one error class (set from JS).
#pragma once
#include <napi.h>
#include <string>

namespace shmswarm {

// A failure captured where it happened (a worker thread has its own detail).
struct Failure {
  int code = 0;
  std::string syscall;
  std::string detail;
  static Failure Capture(int code);
};

class EnvRing;

// Per-environment state: the JS error class and the wrapped classes' constructors.
struct AddonData {
  Napi::FunctionReference errorClass;
  Napi::FunctionReference segmentClass;
  Napi::FunctionReference rawClass;
  EnvRing *ring = nullptr;  // futex_ring.cc's io_uring; freed by its own env cleanup hook
};
AddonData &Data(Napi::Env env);

void SetErrorClass(Napi::Env env, Napi::Function ctor);
// A Failure from a plain syscall's errno (for code outside the C core).
Failure ErrnoFailure(const char *syscall);
Napi::Error MakeError(Napi::Env env, const Failure &f, const std::string &segment);
// A call on a handle after close(): code ECLOSED, as the library documents.
Napi::Error ClosedError(Napi::Env env, const std::string &message, const std::string &segment);
// Throws (as a C++ exception) when rc < 0.
void Check(Napi::Env env, int rc, const std::string &segment);
// Misuse from JS: a TypeError saying what was expected.
[[noreturn]] void ThrowType(Napi::Env env, const std::string &message);

}  // namespace shmswarm
