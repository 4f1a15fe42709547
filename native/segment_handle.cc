#include "segment_handle.h"

#include <sys/mman.h>

#include <cmath>
#include <cstdint>

#include "destination.h"
#include "errors.h"
#include "futex_ring.h"
#include "close_checks.h"

namespace shmswarm {

namespace {

constexpr double kNsPerMs = 1e6;

int64_t TimeoutNs(const Napi::Value &v) {
  if (!v.IsNumber()) ThrowType(v.Env(), "timeoutMs must be a number");
  double ms = v.As<Napi::Number>().DoubleValue();
  if (!(ms >= 0) || ms > 1e12) ThrowType(v.Env(), "timeoutMs must be between 0 and 1e12");
  return (int64_t)(ms * kNsPerMs);
}

// A sequence number from JS; -1 (or anything negative) means "none seen".
uint64_t Seen(const Napi::Value &v) {
  double d;
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok) return UINT64_MAX;
  return d < 0 ? UINT64_MAX : (uint64_t)d;
}

// A frame's figures in the order Segment#frame reads them (sequence, frames, last write ms,
// writer pid, flags, retries).
void PutInfo(double *d, const shmswarm_frame_info &fi) {
  d[0] = (double)fi.sequence;
  d[1] = (double)fi.frames;
  d[2] = (double)fi.last_write_ns / kNsPerMs;
  d[3] = (double)fi.writer_pid;
  d[4] = (double)fi.flags;
  d[5] = (double)fi.retries;
}

void FillInfo(Napi::Env env, const Napi::Value &out, const shmswarm_frame_info &fi) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, out, &type, &length, &data, nullptr, nullptr) != napi_ok) return;
  if (type != napi_float64_array || length < 6) ThrowType(env, "info must be a Float64Array(6)");
  PutInfo((double *)data, fi);
}

Napi::Array InfoArray(Napi::Env env, const shmswarm_frame_info &fi) {
  double d[6];
  PutInfo(d, fi);
  Napi::Array a = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) a.Set(i, d[i]);
  return a;
}

// Base for the Promise-returning workers: keeps the handle open while it runs.
class HandleWorker : public Napi::AsyncWorker {
 public:
  HandleWorker(Napi::Env env, SegmentHandle *h)
      : Napi::AsyncWorker(env), handle_(h), deferred_(Napi::Promise::Deferred::New(env)) {
    handle_->Ref();
    handle_->BeginWork();
  }
  ~HandleWorker() override {
    handle_->EndWork();
    // After a Worker's environment is torn down the reference may be gone: never throw here.
    try {
      handle_->Unref();
    } catch (const Napi::Error &) {
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    rc_ = Run();
    if (rc_ < 0) failure_ = Failure::Capture(rc_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      Napi::HandleScope scope(env);
      if (rc_ < 0) return deferred_.Reject(MakeError(env, failure_, handle_->name()).Value());
      Napi::Value result;
      try {
        result = Result(env);
      } catch (const Napi::Error &e) {
        return deferred_.Reject(e.Value());  // the result could not be delivered
      }
      deferred_.Resolve(result);
    } catch (const Napi::Error &) {
      // Completed during environment teardown (a Worker terminated mid-wait): JS is gone.
    }
  }
  virtual int Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  SegmentHandle *handle_;
  Napi::Promise::Deferred deferred_;
  int rc_ = 0;
  Failure failure_;
};

class WaitWorker : public HandleWorker {
 public:
  WaitWorker(Napi::Env env, SegmentHandle *h, uint64_t seen, int64_t timeout)
      : HandleWorker(env, h), seen_(seen), timeout_(timeout) {
    ThreadWaitBegin(env, h);
  }
  ~WaitWorker() override { ThreadWaitEnd(Env(), handle_); }

 protected:
  int Run() override {
    return shmswarm_wait_cancellable(handle_->segment(), seen_, timeout_, handle_->cancelFlag(), &sequence_);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, (double)sequence_); }

 private:
  uint64_t seen_;
  int64_t timeout_;
  uint64_t sequence_ = 0;
};

class ReadWorker : public HandleWorker {
 public:
  ReadWorker(Napi::Env env, SegmentHandle *h, Napi::Value dst, bool isPrivate, int mode, uint64_t seen, int64_t timeout)
      : HandleWorker(env, h), dst_(dst, isPrivate), mode_(mode), seen_(seen), timeout_(timeout) {}

 protected:
  // The lock is waited for in steps, so that close() ends a pending read within one of them.
  int Run() override {
    return WithCloseChecks(timeout_, [&] { return *handle_->cancelFlag() != 0; }, [&](int64_t step) {
      return shmswarm_read_frame_timed(handle_->segment(), dst_.Bytes(), dst_.Length(), mode_, seen_, step, &info_);
    });
  }
  void Execute() override {
    HandleWorker::Execute();
    if (rc_ == -ECANCELED) failure_ = Failure{-ECANCELED, "read", "closed while waiting for the lock"};
  }
  Napi::Value Result(Napi::Env env) override {
    // An unchanged frame (`since`) copied nothing.
    if (!(info_.flags & SHMSWARM_FRAME_UNCHANGED) && !dst_.Deliver())
      throw CopyDestination::Gone(env);
    return InfoArray(env, info_);
  }

 private:
  CopyDestination dst_;
  int mode_;
  uint64_t seen_;
  int64_t timeout_;
  shmswarm_frame_info info_{};
};

class LockProbeWorker : public HandleWorker {
 public:
  LockProbeWorker(Napi::Env env, SegmentHandle *h, int64_t timeout) : HandleWorker(env, h), timeout_(timeout) {}

 protected:
  // A pthread mutex belongs to the thread that locked it, so the worker only learns that the
  // lock can be had (repairing a dead owner on the way); the caller then takes it on its thread.
  // In steps, as ReadWorker, so that close() ends it within one of them.
  int Run() override {
    int r = WithCloseChecks(timeout_, [&] { return *handle_->cancelFlag() != 0; },
                            [&](int64_t step) { return shmswarm_lock_ex(handle_->segment(), step, &recovered_); });
    return r == 0 ? shmswarm_unlock(handle_->segment()) : r;
  }
  void Execute() override {
    HandleWorker::Execute();
    if (rc_ == -ECANCELED) failure_ = Failure{-ECANCELED, "lock", "closed while waiting for the lock"};
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, recovered_ != 0); }

 private:
  int64_t timeout_;
  int recovered_ = 0;
};

}  // namespace

Napi::Function SegmentHandle::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "SegmentHandle",
      {
          StaticMethod<&SegmentHandle::Create>("create"),
          StaticMethod<&SegmentHandle::Open>("open"),
          InstanceMethod<&SegmentHandle::Layout>("layout"),
          InstanceMethod<&SegmentHandle::State>("state"),
          InstanceMethod<&SegmentHandle::Sequence>("sequence"),
          InstanceMethod<&SegmentHandle::Bound>("bound"),
          InstanceMethod<&SegmentHandle::Stat>("stat"),
          InstanceMethod<&SegmentHandle::View>("view"),
          InstanceMethod<&SegmentHandle::WriteFrame>("writeFrame"),
          InstanceMethod<&SegmentHandle::BeginFrame>("beginFrame"),
          InstanceMethod<&SegmentHandle::EndFrame>("endFrame"),
          InstanceMethod<&SegmentHandle::ReadFrame>("readFrame"),
          InstanceMethod<&SegmentHandle::ReadFrameAsync>("readFrameAsync"),
          InstanceMethod<&SegmentHandle::Lock>("lock"),
          InstanceMethod<&SegmentHandle::Unlock>("unlock"),
          InstanceMethod<&SegmentHandle::LockProbeAsync>("lockProbeAsync"),
          InstanceMethod<&SegmentHandle::NewerSequence>("newerSequence"),
          InstanceMethod<&SegmentHandle::WaitAsync>("waitAsync"),
          InstanceMethod<&SegmentHandle::SetTimeout>("setTimeout"),
          InstanceMethod<&SegmentHandle::Close>("close"),
      });
  Data(env).segmentClass = Napi::Persistent(ctor);
  return ctor;
}

SegmentHandle::SegmentHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SegmentHandle>(info) {
  if (info.Length() != 2 || !info[0].IsExternal())
    ThrowType(info.Env(), "use SegmentHandle.create() or SegmentHandle.open()");
  seg_ = info[0].As<Napi::External<shmswarm_segment>>().Data();
  name_ = info[1].As<Napi::String>().Utf8Value();
}

SegmentHandle::~SegmentHandle() {
  // Backstop only: close() is the plan. Views are gone with the environment or the GC by now.
  if (inflight_ == 0) Release();
}

Napi::Value SegmentHandle::Wrap(Napi::Env env, shmswarm_segment *seg, const std::string &name) {
  return Data(env).segmentClass.New(
      {Napi::External<shmswarm_segment>::New(env, seg), Napi::String::New(env, name)});
}

static std::string NameArg(const Napi::CallbackInfo &info) {
  if (!info[0].IsString()) ThrowType(info.Env(), "name must be a string");
  return info[0].As<Napi::String>().Utf8Value();
}

static double NumberArg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (!info[i].IsNumber()) ThrowType(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// create(name, rows, cols, dtype, fields|null, mode, slots?)
Napi::Value SegmentHandle::Create(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name = NameArg(info);
  double rows = NumberArg(info, 1, "rows"), cols = NumberArg(info, 2, "cols");
  double dtype = NumberArg(info, 3, "dtype"), mode = NumberArg(info, 5, "mode");
  if (!(rows >= 1) || rows > 9007199254740991.0 || std::floor(rows) != rows) ThrowType(env, "rows must be a positive integer");
  if (!(cols >= 1) || cols > 4294967295.0 || std::floor(cols) != cols) ThrowType(env, "cols must be a positive integer");
  shmswarm_create_options opts{};
  if (!info[6].IsUndefined()) {
    double slots = NumberArg(info, 6, "slots");
    if (!(slots >= 1) || slots > SHMSWARM_SLOTS_MAX || std::floor(slots) != slots) ThrowType(env, "slots must be an integer from 1 to 16");
    opts.slots = (uint32_t)slots;
  }
  std::string fields;
  bool hasFields = info[4].IsString();
  if (hasFields) fields = info[4].As<Napi::String>().Utf8Value();
  shmswarm_segment *seg = nullptr;
  Check(env, shmswarm_create_ex(name.c_str(), (uint64_t)rows, (uint32_t)cols, (int)dtype,
                                hasFields ? fields.c_str() : nullptr, (unsigned)mode, &opts, &seg),
        name);
  return Wrap(env, seg, name);
}

// open(name, writable)
Napi::Value SegmentHandle::Open(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name = NameArg(info);
  shmswarm_segment *seg = nullptr;
  Check(env, shmswarm_open(name.c_str(), info[1].ToBoolean().Value() ? 1 : 0, &seg), name);
  return Wrap(env, seg, name);
}

shmswarm_segment *SegmentHandle::Live(Napi::Env env) {
  if (closed_) throw ClosedError(env, "segment " + name_ + " is closed", name_);
  return seg_;
}

Napi::Value SegmentHandle::Layout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_segment *s = Live(env);
  const shmswarm_layout *l = shmswarm_get_layout(s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", l->kind == SHMSWARM_KIND_SHMSWARM ? "shmswarm" : "wa1");
  o.Set("dtype", l->dtype);
  o.Set("elsize", l->elsize);
  o.Set("rows", (double)l->rows);
  o.Set("cols", l->cols);
  o.Set("dataOffset", (double)l->data_offset);
  o.Set("dataBytes", (double)l->data_bytes);
  o.Set("slots", l->slots);
  o.Set("version", l->version);
  o.Set("blockOffset", (double)l->block_offset);
  o.Set("totalSize", (double)l->total_size);
  o.Set("fields", std::string(shmswarm_fields(s), l->fields_len));
  o.Set("createdMs", (double)l->created_ns / kNsPerMs);
  o.Set("creatorPid", l->creator_pid);
  o.Set("mode", l->mode);
  return o;
}

Napi::Value SegmentHandle::State(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_state st;
  Check(env, shmswarm_get_state(Live(env), &st), name_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("sequence", (double)st.sequence);
  o.Set("frames", (double)st.frames);
  o.Set("lastWriteMs", (double)st.last_write_ns / kNsPerMs);
  o.Set("writerPid", st.writer_pid);
  o.Set("writerAlive", Napi::Boolean::New(env, shmswarm_pid_alive(st.writer_pid, st.writer_start) != 0));
  o.Set("flags", st.flags);
  o.Set("waiters", st.waiters);
  return o;
}

// The sequence alone: state() also asks /proc whether the writer lives (microseconds), and
// pollers call this often.
Napi::Value SegmentHandle::Sequence(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_state st;
  Check(env, shmswarm_get_state(Live(env), &st), name_);
  return Napi::Number::New(env, (double)st.sequence);
}

Napi::Value SegmentHandle::Stat(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t size, ino, dev;
  uint32_t uid, mode;
  Check(env, shmswarm_stat(Live(env), &size, &ino, &dev, &uid, &mode), name_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", (double)size);
  o.Set("ino", (double)ino);
  o.Set("dev", (double)dev);
  o.Set("uid", uid);
  o.Set("mode", mode);
  return o;
}

// An ArrayBuffer over the matrix (every slot, slot i at i * dataBytes): the shared mapping for
// writers, a private copy-on-write mapping for readers (so a stray store cannot change the
// segment or fault on a read-only map).
Napi::Value SegmentHandle::View(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_segment *s = Live(env);
  const shmswarm_layout *l = shmswarm_get_layout(s);
  bool writable = info[0].ToBoolean().Value();
  uint8_t *base;
  if (writable) {
    base = (uint8_t *)shmswarm_data(s);
  } else {
    if (!private_base_) Check(env, shmswarm_map_private(s, &private_base_, &private_size_), name_);
    base = (uint8_t *)private_base_ + l->data_offset;
  }
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, base, (size_t)(l->data_bytes * l->slots));
  views_.push_back(Napi::Weak(ab));
  return ab;
}

Napi::Value SegmentHandle::WriteFrame(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_segment *s = Live(env);
  void *data;
  size_t len;
  BytesOf(info[0], &data, &len);
  Check(env, shmswarm_write_frame(s, data, len), name_);
  return Napi::Value();  // undefined, without a call to fetch it
}

// writeFrame and readFrame as functions bound to this handle through their data pointer: an
// instance method pays napi_unwrap (a private-symbol lookup) on every call, a third of a 4 KB
// publish here. The caller keeps them next to the handle object, so they never outlive it.
// bound(io: Float64Array(8) over its own ArrayBuffer): the bound readFrame(dst) takes its mode
// and `seen` from io[6] and io[7] and leaves the frame's figures (InfoArray's order) in io[0..5],
// instead of converting three more arguments and a result: each N-API call costs 25-45 ns here,
// and a read paid five (docs/PERFORMANCE.md, "Copies from any address").
Napi::Value SegmentHandle::Bound(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Live(env);
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array || length < 8)
    ThrowType(env, "bound() takes a Float64Array(8)");
  io_ = (double *)data;  // an ArrayBuffer's memory does not move; the reference keeps it alive
  ioRef_ = Napi::Persistent(info[0]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("writeFrame", Napi::Function::New<BoundWriteFrame>(env, "writeFrame", this));
  o.Set("readFrame", Napi::Function::New<BoundReadFrame>(env, "readFrame", this));
  return o;
}

Napi::Value SegmentHandle::BoundWriteFrame(const Napi::CallbackInfo &info) {
  return static_cast<SegmentHandle *>(info.Data())->WriteFrame(info);
}

Napi::Value SegmentHandle::BoundReadFrame(const Napi::CallbackInfo &info) {
  SegmentHandle *self = static_cast<SegmentHandle *>(info.Data());
  Napi::Env env = info.Env();
  shmswarm_segment *s = self->Live(env);
  void *data;
  size_t len;
  BytesOf(info[0], &data, &len);
  double *io = self->io_;
  shmswarm_frame_info fi;
  Check(env, shmswarm_read_frame_ex(s, data, len, (int)io[6], io[7] < 0 ? UINT64_MAX : (uint64_t)io[7], &fi), self->name_);
  PutInfo(io, fi);
  return Napi::Value();  // undefined, without a call to fetch it
}

// beginFrame() -> the slot being written (0 with one slot)
Napi::Value SegmentHandle::BeginFrame(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_segment *s = Live(env);
  void *data;
  Check(env, shmswarm_begin_frame(s, &data), name_);
  const shmswarm_layout *l = shmswarm_get_layout(s);
  return Napi::Number::New(env, (double)(((uint8_t *)data - (uint8_t *)shmswarm_data(s)) / l->data_bytes));
}

Napi::Value SegmentHandle::EndFrame(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env, shmswarm_end_frame(Live(env)), name_);
  return env.Undefined();
}

// readFrame(dst, mode, seen, info: Float64Array(6)) -> flags
Napi::Value SegmentHandle::ReadFrame(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_segment *s = Live(env);
  void *data;
  size_t len;
  BytesOf(info[0], &data, &len);
  int32_t mode;
  if (napi_get_value_int32(env, info[1], &mode) != napi_ok) mode = SHMSWARM_READ_AUTO;
  shmswarm_frame_info fi;
  Check(env, shmswarm_read_frame_ex(s, data, len, mode, Seen(info[2]), &fi), name_);
  FillInfo(env, info[3], fi);
  return Napi::Number::New(env, fi.flags);
}

// readFrameAsync(dst, mode, seen, timeoutMs) -> Promise<[sequence, frames, lastWriteMs, writerPid, flags, retries]>
Napi::Value SegmentHandle::ReadFrameAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Live(env);
  if (!info[0].IsObject()) ThrowType(env, "expected a TypedArray");
  int mode = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : SHMSWARM_READ_AUTO;
  // info[4]: the array is the library's own, unseen by the caller until the read resolves.
  bool isPrivate = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  auto *w = new ReadWorker(env, this, info[0], isPrivate, mode, Seen(info[2]), TimeoutNs(info[3]));
  w->Queue();
  return w->Promise();
}

// lock(timeoutMs) -> recovered (the previous owner had died holding it)
Napi::Value SegmentHandle::Lock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int recovered = 0;
  Check(env, shmswarm_lock_ex(Live(env), TimeoutNs(info[0]), &recovered), name_);
  return Napi::Boolean::New(env, recovered != 0);
}

Napi::Value SegmentHandle::Unlock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env, shmswarm_unlock(Live(env)), name_);
  return env.Undefined();
}

Napi::Value SegmentHandle::LockProbeAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Live(env);
  auto *w = new LockProbeWorker(env, this, TimeoutNs(info[0]));
  w->Queue();
  return w->Promise();
}

// newerSequence(seen, pollMs) -> the sequence of a frame newer than `seen` published now, or -1:
// waitForFrame's answer without a wait. What counts as newer is the C core's rule
// (shmswarm_wait_check); while the frame after `seen` is being written (the sequence is odd),
// it polls for up to pollMs, which beats a round trip through a wait when the copy is short.
Napi::Value SegmentHandle::NewerSequence(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_segment *s = Live(env);
  uint64_t seen = Seen(info[0]);
  int64_t poll = TimeoutNs(info[1]);
  int64_t end = -1;
  for (;;) {
    uint32_t expected;
    uint64_t seq = 0;
    int rc = shmswarm_wait_check(s, seen, &expected, &seq);
    Check(env, rc, name_);
    if (rc == 0) return Napi::Number::New(env, (double)seq);
    if (!(seq & 1)) return Napi::Number::New(env, -1);
    int64_t now = MonotonicNs();
    if (end < 0) end = now + poll;
    if (now >= end) return Napi::Number::New(env, -1);
  }
}

// waitAsync(seen, timeoutMs, onThread) -> Promise<sequence>
Napi::Value SegmentHandle::WaitAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Live(env);
  uint64_t seen = Seen(info[0]);
  int64_t timeout = TimeoutNs(info[1]);
  // info[2]: use the worker thread (the caller's choice; the ring may also be unavailable).
  Napi::Value promise;
  if (!info[2].ToBoolean().Value() && RingWaitAsync(env, this, seen, timeout, &promise)) return promise;
  auto *w = new WaitWorker(env, this, seen, timeout);
  w->Queue();
  return w->Promise();
}

Napi::Value SegmentHandle::SetTimeout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  shmswarm_set_timeout(Live(env), TimeoutNs(info[0]));
  return env.Undefined();
}

Napi::Value SegmentHandle::Close(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (closed_) return env.Undefined();
  closed_ = true;
  cancel_ = 1;
  RingCancel(env, this);
  // Typed arrays over the mapping become empty instead of pointing at unmapped memory.
  for (auto &ref : views_) {
    if (ref.IsEmpty()) continue;
    Napi::ArrayBuffer ab = ref.Value();
    if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  }
  views_.clear();
  if (inflight_ == 0) Release();
  return env.Undefined();
}

void SegmentHandle::BeginWork() { inflight_++; }

void SegmentHandle::KeepAlive() {
  Ref();
  BeginWork();
}

void SegmentHandle::LetGo() noexcept {
  EndWork();
  try {
    Unref();
  } catch (const Napi::Error &) {
  }
}

void SegmentHandle::EndWork() {
  if (--inflight_ == 0 && closed_) Release();
}

void SegmentHandle::Release() {
  if (!seg_) return;
  if (private_base_) munmap(private_base_, private_size_);
  private_base_ = nullptr;
  shmswarm_close(seg_);
  seg_ = nullptr;
}

}  // namespace shmswarm
