// One wrapped class per handle: a foreign shared-memory object mapped as it is (raw mode),
// e.g. the seed's bare float matrix and its separate mutex object.
#pragma once
#include <napi.h>

#include <atomic>
#include <string>

namespace shmswarm {

class RawMapping : public Napi::ObjectWrap<RawMapping> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RawMapping(const Napi::CallbackInfo &info);
  ~RawMapping() override;

 private:
  static Napi::Value Open(const Napi::CallbackInfo &info);
  Napi::Value Size(const Napi::CallbackInfo &info);
  Napi::Value Stat(const Napi::CallbackInfo &info);
  Napi::Value Read(const Napi::CallbackInfo &info);
  Napi::Value LockMutex(const Napi::CallbackInfo &info);
  Napi::Value UnlockMutex(const Napi::CallbackInfo &info);
  Napi::Value MutexRobust(const Napi::CallbackInfo &info);
  Napi::Value LockedReadAsync(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);

  void *MutexAt(Napi::Env env, const Napi::Value &offset);
  void Release();
  // A worker thread may be using the mapping: close() then only marks it, the last worker unmaps.
  void BeginWork() { inflight_++; }
  void EndWork();
  friend class LockedReadWorker;

  int inflight_ = 0;
  bool closed_ = false;
  std::atomic<int> cancel_{0};

  std::string name_;
  int fd_ = -1;
  void *base_ = nullptr;
  size_t size_ = 0;
  bool writable_ = false;
};

}  // namespace shmswarm
