#include "errors.h"

#include <cerrno>

#include "shmswarm_binding.h"

namespace shmswarm {

AddonData &Data(Napi::Env env) {
  auto *data = env.GetInstanceData<AddonData>();
  if (!data) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return *data;
}

Failure ErrnoFailure(const char *syscall) {
  Failure f;
  f.code = -errno;
  f.syscall = syscall;
  return f;
}

Failure Failure::Capture(int code) {
  Failure f;
  f.code = code;
  const char *sc = shmswarm_last_syscall();
  f.syscall = sc ? sc : "";
  f.detail = shmswarm_last_detail();
  return f;
}

void SetErrorClass(Napi::Env env, Napi::Function ctor) { Data(env).errorClass = Napi::Persistent(ctor); }

// An instance of the library's error class (a plain Error before it is set) with `code`.
static Napi::Object NewError(Napi::Env env, const std::string &message, const std::string &code) {
  AddonData &data = Data(env);
  if (!data.errorClass.IsEmpty())
    return data.errorClass.New({Napi::String::New(env, message), Napi::String::New(env, code)});
  Napi::Object err = Napi::Error::New(env, message).Value();
  err.Set("code", code);
  return err;
}

Napi::Error MakeError(Napi::Env env, const Failure &f, const std::string &segment) {
  std::string message = shmswarm_strerror(f.code);
  // The detail adds something only when it is more than the syscall's name.
  if (!f.detail.empty() && f.detail != f.syscall) message += " (" + f.detail + ")";
  if (!segment.empty()) message = segment + ": " + message;
  const char *name = shmswarm_errname(f.code);
  std::string code = name ? name : "E" + std::to_string(-f.code);

  Napi::Object err = NewError(env, message, code);
  err.Set("errno", Napi::Number::New(env, f.code));
  // A wait for a frame and a lock both time out with ETIMEDOUT: which one it was.
  if (f.code == -ETIMEDOUT) err.Set("reason", f.syscall == "wait" ? "no-frame" : "lock");
  if (!f.syscall.empty()) err.Set("syscall", f.syscall);
  if (!segment.empty()) err.Set("segment", segment);
  if (!f.detail.empty()) err.Set("detail", f.detail);
  return Napi::Error(env, err);
}

Napi::Error ClosedError(Napi::Env env, const std::string &message, const std::string &segment) {
  Napi::Object err = NewError(env, message, "ECLOSED");
  if (!segment.empty()) err.Set("segment", segment);
  return Napi::Error(env, err);
}

void Check(Napi::Env env, int rc, const std::string &segment) {
  if (rc < 0) throw MakeError(env, Failure::Capture(rc), segment);
}

void ThrowType(Napi::Env env, const std::string &message) { throw Napi::TypeError::New(env, message); }

}  // namespace shmswarm
