#include "raw_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "destination.h"
#include "errors.h"
#include "shmswarm_binding.h"
#include "close_checks.h"

namespace shmswarm {

Napi::Function RawMapping::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "RawMapping",
                                    {
                                        StaticMethod<&RawMapping::Open>("open"),
                                        InstanceMethod<&RawMapping::Size>("size"),
                                        InstanceMethod<&RawMapping::Stat>("stat"),
                                        InstanceMethod<&RawMapping::Read>("read"),
                                        InstanceMethod<&RawMapping::LockMutex>("lockMutex"),
                                        InstanceMethod<&RawMapping::UnlockMutex>("unlockMutex"),
                                        InstanceMethod<&RawMapping::MutexRobust>("mutexRobust"),
                                        InstanceMethod<&RawMapping::LockedReadAsync>("lockedReadAsync"),
                                        InstanceMethod<&RawMapping::Close>("close"),
                                    });
  Data(env).rawClass = Napi::Persistent(ctor);
  return ctor;
}

// new RawMapping(name, writable): open and map the whole object. Never creates or truncates.
RawMapping::RawMapping(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RawMapping>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "name must be a string");
  name_ = info[0].As<Napi::String>().Utf8Value();
  writable_ = info[1].ToBoolean().Value();
  // O_NONBLOCK: a FIFO at the name must not block this open (it is refused below).
  fd_ = shm_open(name_.c_str(), (writable_ ? O_RDWR : O_RDONLY) | O_NONBLOCK, 0);
  if (fd_ < 0) throw MakeError(env, ErrnoFailure("shm_open"), name_);
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    Failure f = ErrnoFailure("fstat");
    Release();
    throw MakeError(env, f, name_);
  }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
    Release();
    Failure f;
    bool regular = S_ISREG(st.st_mode);
    f.code = regular ? SHMSWARM_ETRUNCATED : -EINVAL;
    f.syscall = "fstat";
    f.detail = regular ? "object is empty" : "not a regular shared-memory object (a FIFO, a socket?)";
    throw MakeError(env, f, name_);
  }
  size_ = (size_t)st.st_size;
  base_ = mmap(nullptr, size_, writable_ ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd_, 0);
  if (base_ == MAP_FAILED) {
    base_ = nullptr;
    Failure f = ErrnoFailure("mmap");
    Release();
    throw MakeError(env, f, name_);
  }
}

RawMapping::~RawMapping() { Release(); }

void RawMapping::Release() {
  if (base_) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
  base_ = nullptr;
  fd_ = -1;
}

Napi::Value RawMapping::Open(const Napi::CallbackInfo &info) {
  return Data(info.Env()).rawClass.New({info[0], info[1]});
}

void RawMapping::EndWork() {
  if (--inflight_ == 0 && closed_) Release();
}

Napi::Value RawMapping::Size(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), (double)size_); }

Napi::Value RawMapping::Stat(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (fd_ < 0 || closed_) throw ClosedError(env, "raw mapping " + name_ + " is closed", name_);
  struct stat st;
  if (fstat(fd_, &st) != 0) throw MakeError(env, ErrnoFailure("fstat"), name_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", (double)st.st_size);
  o.Set("ino", (double)st.st_ino);
  o.Set("uid", (double)st.st_uid);
  o.Set("mode", (double)(st.st_mode & 07777));
  return o;
}

// read(dst, offset): copy dst.byteLength bytes from offset, surviving a shrunk object.
Napi::Value RawMapping::Read(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!base_ || closed_) throw ClosedError(env, "raw mapping " + name_ + " is closed", name_);
  if (!info[0].IsTypedArray()) ThrowType(env, "expected a TypedArray");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  double off = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  size_t len = ta.ByteLength();
  if (!(off >= 0) || std::floor(off) != off || off > (double)size_ || len > size_ - (size_t)off)
    ThrowType(env, "offset and length must lie inside the object");
  uint8_t *dst = (uint8_t *)ta.ArrayBuffer().Data() + ta.ByteOffset();
  int rc = shmswarm_copy_guarded(dst, (uint8_t *)base_ + (size_t)off, len);
  Check(env, rc, name_);
  return env.Undefined();
}

void *RawMapping::MutexAt(Napi::Env env, const Napi::Value &offset) {
  if (!base_ || closed_) throw ClosedError(env, "raw mapping " + name_ + " is closed", name_);
  if (!writable_) ThrowType(env, "a mutex object must be opened writable");
  double off = offset.IsNumber() ? offset.As<Napi::Number>().DoubleValue() : 0;
  size_t need = shmswarm_mutex_size();
  if (!(off >= 0) || std::floor(off) != off || (size_t)off % 8 != 0 || size_ < need || (size_t)off > size_ - need) {
    Failure f;
    f.code = SHMSWARM_ETRUNCATED;
    f.syscall = "mutex";
    f.detail = "object of " + std::to_string(size_) + " bytes has no aligned " + std::to_string(need) +
               "-byte mutex at offset " + std::to_string((long long)off);
    throw MakeError(env, f, name_);
  }
  void *m = (uint8_t *)base_ + (size_t)off;
  Check(env, shmswarm_mutex_check(m), name_);
  return m;
}

// lockMutex(offset, timeoutMs) -> recovered. Never initialises the foreign mutex.
Napi::Value RawMapping::LockMutex(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  void *m = MutexAt(env, info[0]);
  double ms = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 1000;
  if (!(ms >= 0)) ThrowType(env, "timeoutMs must be >= 0");
  int recovered = 0;
  int rc = shmswarm_mutex_timedlock(m, (int64_t)(ms * 1e6), &recovered);
  Check(env, rc, name_);
  return Napi::Boolean::New(env, recovered != 0);
}

Napi::Value RawMapping::UnlockMutex(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env, shmswarm_mutex_unlock(MutexAt(env, info[0])), name_);
  return env.Undefined();
}

// mutexRobust(offset) -> true, false, or null when it cannot be told.
Napi::Value RawMapping::MutexRobust(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int r = shmswarm_mutex_robust(MutexAt(env, info[0]));
  return r < 0 ? env.Null() : Napi::Boolean::New(env, r == 1);
}

// A pthread mutex belongs to the thread that locked it, so the whole lock, copy, unlock runs on
// the worker thread; the event loop only starts it and receives the result.
class LockedReadWorker : public Napi::AsyncWorker {
 public:
  LockedReadWorker(Napi::Env env, RawMapping *lock, void *mutex, RawMapping *data, const uint8_t *src,
                   Napi::TypedArray dst, bool isPrivate, int64_t timeout_ns)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), lock_(lock), data_(data),
        dst_(dst, isPrivate), mutex_(mutex), src_(src), timeout_ns_(timeout_ns) {
    lockRef_ = Napi::Persistent(lock->Value());
    dataRef_ = Napi::Persistent(data->Value());
    lock_->BeginWork();
    if (data_ != lock_) data_->BeginWork();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    int rc = WithCloseChecks(timeout_ns_, [&] { return lock_->cancel_.load() || data_->cancel_.load(); },
                             [&](int64_t step) { return shmswarm_mutex_timedlock(mutex_, step, &recovered_); });
    if (rc == 0) {
      rc = shmswarm_copy_guarded(dst_.Bytes(), src_, dst_.Length());
      int u = shmswarm_mutex_unlock(mutex_);
      if (rc == 0) rc = u;
    }
    rc_ = rc;
    if (rc < 0) failure_ = rc == -ECANCELED ? Failure{rc, "pthread_mutex_lock", "closed while waiting"} : Failure::Capture(rc);
  }
  void OnOK() override { Settle(); }
  void OnError(const Napi::Error &) override { Settle(); }

 private:
  void Settle() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    lock_->EndWork();
    if (data_ != lock_) data_->EndWork();
    if (rc_ < 0) deferred_.Reject(MakeError(env, failure_, lock_->name_).Value());
    else if (!dst_.Deliver())
      deferred_.Reject(CopyDestination::Gone(env).Value());
    else deferred_.Resolve(Napi::Boolean::New(env, recovered_ != 0));
  }

  Napi::Promise::Deferred deferred_;
  RawMapping *lock_;
  RawMapping *data_;
  Napi::ObjectReference lockRef_, dataRef_;  // both outlive the worker thread
  CopyDestination dst_;
  void *mutex_;
  const uint8_t *src_;
  int64_t timeout_ns_;
  int recovered_ = 0;
  int rc_ = 0;
  Failure failure_;
};

// lockedReadAsync(mutexOffset, dataMapping, dataOffset, dst, timeoutMs, isPrivate) -> Promise<recovered>:
// lock this object's mutex, copy dst.byteLength bytes from dataMapping at dataOffset, unlock.
Napi::Value RawMapping::LockedReadAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  void *m = MutexAt(env, info[0]);
  if (!info[1].IsObject() || !info[1].As<Napi::Object>().InstanceOf(Data(env).rawClass.Value()))
    ThrowType(env, "expected the data's RawMapping");
  RawMapping *data = Napi::ObjectWrap<RawMapping>::Unwrap(info[1].As<Napi::Object>());
  if (!data->base_ || data->closed_) throw ClosedError(env, "raw mapping " + data->name_ + " is closed", data->name_);
  if (!info[3].IsTypedArray()) ThrowType(env, "expected a TypedArray");
  Napi::TypedArray ta = info[3].As<Napi::TypedArray>();
  double off = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 0;
  size_t len = ta.ByteLength();
  if (!(off >= 0) || std::floor(off) != off || off > (double)data->size_ || len > data->size_ - (size_t)off)
    ThrowType(env, "offset and length must lie inside the object");
  double ms = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 1000;
  if (!(ms >= 0)) ThrowType(env, "timeoutMs must be >= 0");
  // info[5]: the array is the library's own, unseen by the caller until the read resolves.
  bool isPrivate = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  auto *w = new LockedReadWorker(env, this, m, data, (const uint8_t *)data->base_ + (size_t)off, ta, isPrivate,
                                 (int64_t)(ms * 1e6));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value RawMapping::Close(const Napi::CallbackInfo &info) {
  if (inflight_ > 0) {
    closed_ = true;
    cancel_.store(1);
  } else {
    Release();
  }
  return info.Env().Undefined();
}

}  // namespace shmswarm
