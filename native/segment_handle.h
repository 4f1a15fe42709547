// One wrapped class per handle: a mapped shmswarm segment.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "futex_ring.h"
#include "shmswarm_binding.h"

namespace shmswarm {

class SegmentHandle : public Napi::ObjectWrap<SegmentHandle>, public WaitTarget {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit SegmentHandle(const Napi::CallbackInfo &info);
  ~SegmentHandle() override;

  // Async workers hold the handle open; the mapping goes away with the last of them.
  void BeginWork();
  void EndWork();
  shmswarm_segment *segment() const override { return seg_; }
  const std::string &name() const override { return name_; }
  const volatile int *cancelFlag() const override { return &cancel_; }
  void CancelWaits() override { cancel_ = 1; }
  void KeepAlive() override;
  void LetGo() noexcept override;

 private:
  static Napi::Value Create(const Napi::CallbackInfo &info);
  static Napi::Value Open(const Napi::CallbackInfo &info);
  static Napi::Value Wrap(Napi::Env env, shmswarm_segment *seg, const std::string &name);

  Napi::Value Layout(const Napi::CallbackInfo &info);
  Napi::Value State(const Napi::CallbackInfo &info);
  Napi::Value Sequence(const Napi::CallbackInfo &info);
  Napi::Value Bound(const Napi::CallbackInfo &info);
  static Napi::Value BoundWriteFrame(const Napi::CallbackInfo &info);
  static Napi::Value BoundReadFrame(const Napi::CallbackInfo &info);
  Napi::Value Stat(const Napi::CallbackInfo &info);
  Napi::Value View(const Napi::CallbackInfo &info);
  Napi::Value WriteFrame(const Napi::CallbackInfo &info);
  Napi::Value BeginFrame(const Napi::CallbackInfo &info);
  Napi::Value EndFrame(const Napi::CallbackInfo &info);
  Napi::Value ReadFrame(const Napi::CallbackInfo &info);
  Napi::Value ReadFrameAsync(const Napi::CallbackInfo &info);
  Napi::Value Lock(const Napi::CallbackInfo &info);
  Napi::Value Unlock(const Napi::CallbackInfo &info);
  Napi::Value LockProbeAsync(const Napi::CallbackInfo &info);
  Napi::Value NewerSequence(const Napi::CallbackInfo &info);
  Napi::Value WaitAsync(const Napi::CallbackInfo &info);
  Napi::Value SetTimeout(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);

  shmswarm_segment *Live(Napi::Env env);
  void Release();

  shmswarm_segment *seg_ = nullptr;
  std::string name_;
  bool closed_ = false;
  int inflight_ = 0;
  volatile int cancel_ = 0;
  void *private_base_ = nullptr;  // copy-on-write mapping behind read-only views
  size_t private_size_ = 0;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> views_;
  // The bound readFrame's argument and result block (see Bound), kept alive by ioRef_.
  double *io_ = nullptr;
  Napi::Reference<Napi::Value> ioRef_;
};

}  // namespace shmswarm
