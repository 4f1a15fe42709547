#include "futex_ring.h"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "errors.h"
#include "shmswarm_binding.h"
#include "uring.h"

// Futex waits on the loop's thread need the io_uring client and libuv's poll handle.
#if defined(SHMSWARM_HAVE_URING) && defined(SHMSWARM_HAVE_UV)
#define SHMSWARM_URING 1
#endif

#ifdef SHMSWARM_URING
#include <uv.h>
#include <sys/eventfd.h>
#include <unistd.h>
#endif

namespace shmswarm {

#ifdef SHMSWARM_URING
namespace {

// user_data of the completions nobody waits for; a wait's own is its id (from 1).
constexpr uint64_t kTimeoutTag = ~0ull;
constexpr uint64_t kCancelTag = ~0ull - 1;
// Waits in flight are bounded by memory, not by the queue: the completion queue is large so
// that a wake-up of many waits at once rarely overflows it (and overflow is flushed anyway).
constexpr unsigned kSqEntries = 64;
constexpr unsigned kCqEntries = 4096;

}  // namespace

struct WaitRequest {
  uint64_t id;
  WaitTarget *handle;
  Napi::Promise::Deferred deferred;
  uint64_t seen;
  int64_t deadline;  // CLOCK_MONOTONIC ns, the linked timeout's absolute time
  uint32_t *word;    // the segment's notify word
  __kernel_timespec ts;  // read by the kernel when the linked timeout is submitted
  bool armed = false;    // a FUTEX_WAIT for it is in the kernel
  bool cancelled = false;
  unsigned sqpos = 0;    // its SQE's place in the submission queue
  bool registered = true;  // counted in the segment's waiters (shmswarm_wait_begin)
};

static void Unregister(WaitRequest *q) {
  if (q->registered) shmswarm_wait_end(q->handle->segment());
  q->registered = false;
}
#endif

// One per environment: the ring (once it has been tried) and the counters.
class EnvRing {
 public:
  enum State { kUnused, kReady, kUnavailable };

  static EnvRing &Of(Napi::Env env) {
    AddonData &d = Data(env);
    if (!d.ring) d.ring = new EnvRing(env);
    return *d.ring;
  }

  State state = kUnused;
  std::string reason;
  double ringWaits = 0, threadWaits = 0;

  void ThreadWaitBegin(WaitTarget *h) {
    threadWaits++;
    threadWaiting_[h]++;
    HookExit();
  }

  void ThreadWaitEnd(WaitTarget *h) {
    auto it = threadWaiting_.find(h);
    if (it != threadWaiting_.end() && --it->second == 0) threadWaiting_.erase(it);
  }

  void CancelThreadWaits() {
    for (auto &kv : threadWaiting_) kv.first->CancelWaits();
  }

  // process.exit() runs no cleanup hook on the main thread: on its 'exit' event, worker threads
  // are told to stop (libuv joins them before the process ends) and ring waits unregister, so
  // the segment's waiter count does not outlive this process.
  void HookExit() {
    if (exitHooked_) return;
    exitHooked_ = true;
    Napi::Object process = env_.Global().Get("process").As<Napi::Object>();
    Napi::Function onExit = Napi::Function::New(env_, [](const Napi::CallbackInfo &info) {
      AddonData *d = info.Env().GetInstanceData<AddonData>();
      if (!d || !d->ring) return;
      d->ring->CancelThreadWaits();
#ifdef SHMSWARM_URING
      d->ring->UnregisterRingWaits();
#endif
    }, "shmswarmOnExit");
    process.Get("once").As<Napi::Function>().Call(process, {Napi::String::New(env_, "exit"), onExit});
  }

#ifdef SHMSWARM_URING
  bool Ready() {
    if (state == kUnused) state = Start() ? kReady : kUnavailable;
    return state == kReady;
  }

  bool Wait(WaitTarget *h, uint64_t seen, int64_t timeout_ns, Napi::Value *promise) {
    uint32_t *word = nullptr;
    if (shmswarm_wait_begin(h->segment(), &word) < 0) return false;
    WaitRequest *q;
    try {
      HookExit();
      q = new WaitRequest{next_id_++, h, Napi::Promise::Deferred::New(env_), seen,
                          MonotonicNs() + timeout_ns, word, {}, false, false, 0, true};
      *promise = q->deferred.Promise();
      h->KeepAlive();
    } catch (...) {
      shmswarm_wait_end(h->segment());
      throw;
    }
    if (waits_.empty()) uv_ref((uv_handle_t *)poll_);
    waits_.emplace(q->id, q);
    ringWaits++;
    Step(q);
    Submit();
    return true;
  }

  void UnregisterRingWaits() {
    for (auto &kv : waits_) Unregister(kv.second);
  }

  void Cancel(WaitTarget *h) {
    bool any = false;
    for (auto &kv : waits_) {
      WaitRequest *q = kv.second;
      if (q->handle != h || !q->armed || q->cancelled) continue;
      io_uring_sqe *s = ring_.Reserve(1);
      if (!s) continue;  // the wait's own timeout still ends it
      s->opcode = IORING_OP_ASYNC_CANCEL;
      s->fd = -1;
      s->addr = q->id;
      s->user_data = kCancelTag;
      ring_.Commit(1);
      q->cancelled = true;
      any = true;
    }
    if (any) Submit();
  }
#endif

 private:
  explicit EnvRing(Napi::Env env) : env_(env) {
    napi_add_async_cleanup_hook(env, &EnvRing::Cleanup, this, &hook_);
  }

  static void Cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
    auto *self = static_cast<EnvRing *>(arg);
    self->CancelThreadWaits();
    // Thread waits still finishing must not find this object (the instance data outlives us:
    // its own cleanup was registered first, when the addon loaded, so it runs after this one).
    if (AddonData *d = self->env_.GetInstanceData<AddonData>()) d->ring = nullptr;
#ifdef SHMSWARM_URING
    if (self->poll_) {
      self->Teardown();
      return;  // OnClosed finishes
    }
#endif
    napi_remove_async_cleanup_hook(hook);
    delete self;
  }

#ifdef SHMSWARM_URING
  bool Start() {
    const char *what = "";
    int rc = ring_.Setup(kSqEntries, kCqEntries, &what);
    if (rc == 0) rc = Probe(&what);
    if (rc == 0) {
      what = "eventfd";
      efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (efd_ < 0) rc = -errno;
    }
    if (rc == 0) {
      what = "IORING_REGISTER_EVENTFD";
      rc = ring_.RegisterEventfd(efd_);
    }
    uv_loop_t *loop = nullptr;
    if (rc == 0 && napi_get_uv_event_loop(env_, &loop) != napi_ok) what = "napi_get_uv_event_loop", rc = -EINVAL;
    if (rc == 0) {
      poll_ = new uv_poll_t;
      poll_->data = this;
      what = "uv_poll_init";
      rc = uv_poll_init(loop, poll_, efd_);
      if (rc == 0) {
        what = "uv_poll_start";
        rc = uv_poll_start(poll_, UV_READABLE, &EnvRing::OnPoll);
        uv_unref((uv_handle_t *)poll_);  // only pending waits keep the loop alive
        if (rc != 0) {
          uv_close((uv_handle_t *)poll_, [](uv_handle_t *p) { delete (uv_poll_t *)p; });
          poll_ = nullptr;
        }
      } else {
        delete poll_;
        poll_ = nullptr;
      }
    }
    if (rc == 0) {
      async_ = new Napi::AsyncContext(env_, "shmswarm.waitForFrame");
      return true;
    }
    reason = std::string(what) + ": " + (shmswarm_errname(rc) ? shmswarm_errname(rc) : strerror(-rc));
    ring_.Close();
    if (efd_ >= 0) close(efd_);
    efd_ = -1;
    return false;
  }

  // The kernel has IORING_OP_FUTEX_WAIT (6.7+) if a wait for a value the word does not hold
  // fails with EAGAIN; an older kernel answers EINVAL (unknown opcode), and a kernel without
  // futexes EOPNOTSUPP. Completes inline: nothing sleeps.
  int Probe(const char **what) {
    static uint32_t word = 0;
    *what = "IORING_OP_FUTEX_WAIT";
    io_uring_sqe *s = ring_.Reserve(1);
    if (!s) return -EBUSY;
    s->opcode = kOpFutexWait;
    s->fd = FUTEX2_SIZE_U32;
    s->addr = (uintptr_t)&word;
    s->addr2 = 1;
    s->addr3 = FUTEX_BITSET_MATCH_ANY;
    s->user_data = kCancelTag;
    ring_.Commit(1);
    int rc = ring_.Submit();
    if (rc < 0) return rc;
    io_uring_cqe c;
    if ((rc = ring_.WaitOne(&c)) < 0) return rc;
    if (c.res == -EAGAIN) return 0;
    return c.res < 0 ? c.res : -EPROTO;
  }

  void Submit() {
    int rc = ring_.Submit();
    if (rc == 0) return;
    // The kernel refused the rest of the queue: take it back and fail the waits in it, so no
    // SQE outlives its wait (and, through it, the mapping of its futex word).
    unsigned head = ring_.Consumed();
    ring_.Discard();
    Failure f;
    f.code = rc;
    f.syscall = "io_uring_enter";
    std::vector<WaitRequest *> failed;
    for (auto &kv : waits_) {
      WaitRequest *q = kv.second;
      if (q->armed && (int)(q->sqpos - head) >= 0) failed.push_back(q);
    }
    for (WaitRequest *q : failed) Finish(q, &f, 0);
  }

  // One round of docs/FORMAT.md §11 for q: resolve, reject, or queue its FUTEX_WAIT.
  void Step(WaitRequest *q) {
    shmswarm_segment *seg = q->handle->segment();
    uint32_t expected = 0;
    uint64_t seq = 0;
    int rc = shmswarm_wait_check(seg, q->seen, &expected, &seq);
    if (rc == 0) return Finish(q, nullptr, seq);
    if (rc < 0) {
      Failure f = Failure::Capture(rc);
      return Finish(q, &f, 0);
    }
    Failure f;
    f.syscall = "wait";
    if (*q->handle->cancelFlag()) {
      f.code = -ECANCELED;
      f.detail = "cancelled";
      return Finish(q, &f, 0);
    }
    int64_t now = MonotonicNs();
    if (now >= q->deadline) {
      f.code = -ETIMEDOUT;
      f.detail = "no new frame before the timeout";
      return Finish(q, &f, 0);
    }
    io_uring_sqe *s = ring_.Reserve(2);
    if (!s) {
      f.code = -EBUSY;
      f.syscall = "io_uring_enter";
      return Finish(q, &f, 0);
    }
    // io_uring/futex.c: fd carries the futex2 flags (size only: shared, the wakers are other
    // processes' classic FUTEX_WAKE), addr2 the expected value, addr3 the bitset; len and
    // futex_flags must be zero. The timeout is absolute, so re-arming keeps the deadline.
    s->opcode = kOpFutexWait;
    s->flags = IOSQE_IO_LINK;
    s->fd = FUTEX2_SIZE_U32;
    s->addr = (uintptr_t)q->word;
    s->addr2 = expected;
    s->addr3 = FUTEX_BITSET_MATCH_ANY;
    s->user_data = q->id;
    io_uring_sqe *t = ring_.Next(s);
    q->ts.tv_sec = q->deadline / 1000000000;
    q->ts.tv_nsec = q->deadline % 1000000000;
    t->opcode = IORING_OP_LINK_TIMEOUT;
    t->fd = -1;
    t->addr = (uintptr_t)&q->ts;
    t->len = 1;
    t->timeout_flags = IORING_TIMEOUT_ABS;
    t->user_data = kTimeoutTag;
    q->sqpos = ring_.Tail();
    ring_.Commit(2);
    q->armed = true;
    q->cancelled = false;
  }

  // Settles q (error f, or the sequence) and lets go of its handle.
  void Finish(WaitRequest *q, const Failure *f, uint64_t seq) {
    waits_.erase(q->id);
    if (waits_.empty() && poll_) uv_unref((uv_handle_t *)poll_);
    WaitTarget *h = q->handle;
    Unregister(q);
    std::unique_ptr<WaitRequest> owned(q);
    struct Release {  // also when settling throws
      WaitTarget *h;
      ~Release() { h->LetGo(); }  // may unmap: the kernel has let go of the word (its completion is in)
    } release{h};
    if (f) q->deferred.Reject(MakeError(env_, *f, h->name()).Value());
    else q->deferred.Resolve(Napi::Number::New(env_, (double)seq));
  }

  static void OnPoll(uv_poll_t *p, int status, int events) {
    auto *self = static_cast<EnvRing *>(p->data);
    uint64_t n;
    // Cleared before reaping: a completion posted meanwhile signals it again.
    while (read(self->efd_, &n, sizeof n) < 0 && errno == EINTR) {
    }
    Napi::Env env = self->env_;
    // The scope is opened outside the try: the catch needs it too (e.Value() makes a handle).
    // A Worker being terminated still runs its loop (CleanupHandles, while a thread-pool read
    // finishes) after JS has stopped: settling a promise then fails, and that is no error.
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    try {
      // The callback scope runs the microtasks (the awaiting code) when the batch is done.
      Napi::CallbackScope callback(env, *self->async_);
      self->Reap();
    } catch (const Napi::Error &e) {
      napi_fatal_exception(env, e.Value());  // as an exception in any callback from the loop
    }
    napi_close_handle_scope(env, scope);
  }

  void Reap() {
    for (;;) {
      io_uring_cqe c;
      bool any = false;
      while (ring_.Pop(&c)) {
        any = true;
        if (c.user_data == kTimeoutTag || c.user_data == kCancelTag) continue;
        auto it = waits_.find(c.user_data);
        if (it == waits_.end()) continue;
        WaitRequest *q = it->second;
        q->armed = false;
        // 0: woken; -EAGAIN: the word had changed; -ECANCELED: the linked timeout or close().
        // Anything else is the kernel refusing the wait (EFAULT: the word is not mapped).
        if (c.res < 0 && c.res != -EAGAIN && c.res != -ECANCELED && c.res != -EINTR) {
          Failure f;
          f.code = c.res;
          f.syscall = "IORING_OP_FUTEX_WAIT";
          // The mapping outlives the wait, so a fault is the object shrinking under it: the
          // same EBUS as the worker thread's guarded wait.
          if (c.res == -EFAULT) {
            f.code = SHMSWARM_EBUS;
            f.detail = "while waiting";
          }
          Finish(q, &f, 0);
        } else {
          Step(q);
        }
      }
      Submit();
      if (ring_.Overflowed()) {
        ring_.FlushOverflow();
        continue;
      }
      if (!any) break;
    }
  }

  // Environment teardown: no JS runs any more. Waits are dropped unsettled.
  void Teardown() {
    for (auto &kv : waits_) {
      WaitRequest *q = kv.second;
      Unregister(q);
      q->handle->LetGo();
      delete q;
    }
    waits_.clear();
    ring_.Close();
    delete async_;
    async_ = nullptr;
    uv_close((uv_handle_t *)poll_, &EnvRing::OnClosed);
    close(efd_);  // safe right after uv_close (libuv docs, uv_poll_t)
    efd_ = -1;
  }

  static void OnClosed(uv_handle_t *p) {
    auto *self = static_cast<EnvRing *>(p->data);
    delete (uv_poll_t *)p;
    self->poll_ = nullptr;
    napi_remove_async_cleanup_hook(self->hook_);
    delete self;
  }

  Uring ring_;
  int efd_ = -1;
  uv_poll_t *poll_ = nullptr;
  Napi::AsyncContext *async_ = nullptr;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, WaitRequest *> waits_;
#endif

  Napi::Env env_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  std::unordered_map<WaitTarget *, int> threadWaiting_;  // handles with waits on worker threads
  bool exitHooked_ = false;
};

bool RingWaitAsync(Napi::Env env, WaitTarget *h, uint64_t seen, int64_t timeout_ns, Napi::Value *promise) {
#ifdef SHMSWARM_URING
  EnvRing &r = EnvRing::Of(env);
  return r.Ready() && r.Wait(h, seen, timeout_ns, promise);
#else
  EnvRing &r = EnvRing::Of(env);
  if (r.state == EnvRing::kUnused) r.state = EnvRing::kUnavailable, r.reason = "no io_uring on this platform";
  return false;
#endif
}

void RingCancel(Napi::Env env, WaitTarget *h) {
#ifdef SHMSWARM_URING
  AddonData &d = Data(env);
  if (d.ring && d.ring->state == EnvRing::kReady) d.ring->Cancel(h);
#endif
}

void ThreadWaitBegin(Napi::Env env, WaitTarget *h) { EnvRing::Of(env).ThreadWaitBegin(h); }

void ThreadWaitEnd(Napi::Env env, WaitTarget *h) noexcept {
  AddonData *d = nullptr;
  if (napi_get_instance_data(env, (void **)&d) != napi_ok || !d || !d->ring) return;
  d->ring->ThreadWaitEnd(h);
}

Napi::Value WaitStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  EnvRing &r = EnvRing::Of(env);
  static const char *states[] = {"unused", "ready", "unavailable"};
  Napi::Object o = Napi::Object::New(env);
  o.Set("ring", r.ringWaits);
  o.Set("thread", r.threadWaits);
  o.Set("ringState", states[r.state]);
  o.Set("reason", r.reason.empty() ? env.Null() : Napi::String::New(env, r.reason));
  return o;
}

}  // namespace shmswarm
