// The addon's entry: registers the wrapped classes and the few stateless functions.
#include <napi.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "errors.h"
#include "futex_ring.h"
#include "raw_mapping.h"
#include "segment_handle.h"
#include "shmswarm_binding.h"

namespace shmswarm {
namespace {

Napi::Value SetErrorClassJs(const Napi::CallbackInfo &info) {
  if (!info[0].IsFunction()) ThrowType(info.Env(), "expected the error class");
  SetErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Unlink(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Check(env, shmswarm_unlink(name.c_str()), name);
  return env.Undefined();
}

// validate(bytes: Uint8Array, size?: number) -> layout; throws the format error. A pure function
// of the bytes, for tests and fuzzing: it reads only bytes[0, min(size, byteLength)).
Napi::Value Validate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) ThrowType(env, "expected a Uint8Array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const uint8_t *bytes = (const uint8_t *)ta.ArrayBuffer().Data() + ta.ByteOffset();
  uint64_t size = ta.ByteLength();
  if (info[1].IsNumber()) {
    double s = info[1].As<Napi::Number>().DoubleValue();
    if (s >= 0 && s < (double)size) size = (uint64_t)s;
  }
  shmswarm_layout l;
  Check(env, shmswarm_validate(bytes, size, &l), "");
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", l.kind == SHMSWARM_KIND_SHMSWARM ? "shmswarm" : "wa1");
  o.Set("dtype", l.dtype);
  o.Set("rows", (double)l.rows);
  o.Set("cols", l.cols);
  o.Set("dataOffset", (double)l.data_offset);
  o.Set("dataBytes", (double)l.data_bytes);
  o.Set("slots", l.slots);
  o.Set("version", l.version);
  o.Set("blockOffset", (double)l.block_offset);
  o.Set("totalSize", (double)l.total_size);
  o.Set("fieldsOffset", (double)l.fields_offset);
  o.Set("fieldsLength", l.fields_len);
  return o;
}

// allocAligned(bytes) -> ArrayBuffer on a 64-byte boundary: memcpy into a destination 16 bytes
// past a cache line was ~18x slower here, and V8's own buffers land there.
Napi::Value AllocAligned(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 0) || n > 9007199254740991.0) ThrowType(env, "bytes must be a non-negative number");
  void *p = nullptr;
  if (posix_memalign(&p, 64, n > 0 ? (size_t)n : 64) != 0) throw MakeError(env, Failure{-ENOMEM, "posix_memalign", ""}, "");
  memset(p, 0, n > 0 ? (size_t)n : 64);  // posix_memalign may hand back used memory; callers expect zeros
  return Napi::ArrayBuffer::New(env, p, (size_t)n, [](Napi::Env, void *data) { free(data); });
}

// setWakeSlice(ns) -> the slice the kernel applied to the calling thread, in ns.
Napi::Value SetWakeSlice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) ThrowType(env, "slice must be a number of ns");
  int64_t applied = 0;
  Check(env, shmswarm_set_wake_slice(info[0].As<Napi::Number>().Int64Value(), &applied), "");
  return Napi::Number::New(env, (double)applied);
}

Napi::Value PidAlive(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t pid = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  double start = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  return Napi::Boolean::New(env, shmswarm_pid_alive(pid, (uint64_t)start) != 0);
}

template <typename T>
void SplitInto(const uint8_t *src, uint8_t *dst, size_t rows, size_t cols) {
  // Reads in order, writes one stream per column; memcpy keeps every bit (a NaN's payload too)
  // and any alignment.
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) memcpy(dst + (c * rows + r) * sizeof(T), src + (r * cols + c) * sizeof(T), sizeof(T));
}

// splitColumns(frame, out, rows, cols, elementBytes): an agent-major rows × cols frame into
// column-major `out` (column c from element c × rows), bit for bit: the Arrow recorder's one pass
// per frame (a JS loop took ~3x as long). Sizes are checked before any byte is touched.
Napi::Value SplitColumns(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[1].IsTypedArray()) ThrowType(env, "expected the frame and the output as typed arrays");
  for (int i = 2; i < 5; i++)
    if (!info[i].IsNumber()) ThrowType(env, "expected rows, cols and the element size as numbers");
  Napi::TypedArray src = info[0].As<Napi::TypedArray>();
  Napi::TypedArray dst = info[1].As<Napi::TypedArray>();
  double rows = info[2].As<Napi::Number>().DoubleValue();
  double cols = info[3].As<Napi::Number>().DoubleValue();
  double size = info[4].As<Napi::Number>().DoubleValue();
  if (!(rows >= 1 && cols >= 1 && rows == (double)(uint64_t)rows && cols == (double)(uint64_t)cols) || !(size == 1 || size == 2 || size == 4 || size == 8))
    ThrowType(env, "rows and cols must be integers >= 1 and the element size 1, 2, 4 or 8");
  double bytes = rows * cols * size;
  if (bytes != (double)src.ByteLength() || bytes > (double)dst.ByteLength()) ThrowType(env, "the frame must be rows × cols elements and the output at least as large");
  const uint8_t *s = (const uint8_t *)src.ArrayBuffer().Data() + src.ByteOffset();
  uint8_t *d = (uint8_t *)dst.ArrayBuffer().Data() + dst.ByteOffset();
  if (s < d + (size_t)bytes && d < s + (size_t)bytes) ThrowType(env, "the frame and the output overlap");
  size_t r = (size_t)rows, c = (size_t)cols;
  switch ((int)size) {
    case 1: SplitInto<uint8_t>(s, d, r, c); break;
    case 2: SplitInto<uint16_t>(s, d, r, c); break;
    case 4: SplitInto<uint32_t>(s, d, r, c); break;
    default: SplitInto<uint64_t>(s, d, r, c); break;
  }
  return env.Undefined();
}

}  // namespace
}  // namespace shmswarm

static Napi::Object InitShmswarm(Napi::Env env, Napi::Object exports) {
  using namespace shmswarm;
  exports.Set("SegmentHandle", SegmentHandle::Init(env));
  exports.Set("RawMapping", RawMapping::Init(env));
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClassJs>(env, "setErrorClass"));
  exports.Set("unlink", Napi::Function::New<Unlink>(env, "unlink"));
  exports.Set("validate", Napi::Function::New<Validate>(env, "validate"));
  exports.Set("allocAligned", Napi::Function::New<AllocAligned>(env, "allocAligned"));
  exports.Set("pidAlive", Napi::Function::New<PidAlive>(env, "pidAlive"));
  exports.Set("setWakeSlice", Napi::Function::New<SetWakeSlice>(env, "setWakeSlice"));
  exports.Set("splitColumns", Napi::Function::New<SplitColumns>(env, "splitColumns"));
  exports.Set("waitStats", Napi::Function::New<WaitStats>(env, "waitStats"));
  exports.Set("mutexSize", Napi::Number::New(env, (double)shmswarm_mutex_size()));
  exports.Set("formatVersion", Napi::Number::New(env, SHMSWARM_VERSION));
  exports.Set("blockFixedBytes", Napi::Number::New(env, SHMSWARM_BLOCK_FIXED));
  return exports;
}

NODE_API_MODULE(shmswarm, InitShmswarm)
