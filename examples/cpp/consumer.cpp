// consumer.cpp: reads consistent frames from a shmswarm segment written by anyone (the C header,
// the Node library, the CLI) and prints them, or checks them against the ramp test pattern.
//
//   g++ -std=c++17 -O2 -I ../../include consumer.cpp -o consumer -lpthread -lrt
//   ./consumer /swarm [--frames 10] [--timeout-ms 5000] [--check-ramp] [--lock]
//
// Prints one header line, then one line per new frame (row 0, or the ramp's k with
// --check-ramp), then "ok <n> frames". --check-ramp: frame k must hold k + r*cols + c at row r,
// column c; any other value means a torn or misplaced frame and exits 1. --lock reads under the
// mutex instead of the lock-free seqlock.
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Element i of a matrix of any shmswarm dtype, as a double (exact for the ramp's integers).
double at(const void *m, int dtype, uint64_t i) {
  switch (dtype) {
    case SHMSWARM_I8: return ((const int8_t *)m)[i];
    case SHMSWARM_U8: return ((const uint8_t *)m)[i];
    case SHMSWARM_I16: return ((const int16_t *)m)[i];
    case SHMSWARM_U16: return ((const uint16_t *)m)[i];
    case SHMSWARM_I32: return ((const int32_t *)m)[i];
    case SHMSWARM_U32: return ((const uint32_t *)m)[i];
    case SHMSWARM_I64: return (double)((const int64_t *)m)[i];
    case SHMSWARM_U64: return (double)((const uint64_t *)m)[i];
    case SHMSWARM_F32: return ((const float *)m)[i];
    case SHMSWARM_F64: return ((const double *)m)[i];
    default: return 0;
  }
}

const char *dtypeName(int dtype) {
  static const char *names[] = {"?", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"};
  return dtype >= 1 && dtype <= 10 ? names[dtype] : "?";
}

int fail(const char *what, int rc) {
  std::fprintf(stderr, "consumer: %s: %s (%s)\n", what, shmswarm_strerror(rc), shmswarm_last_detail());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  std::string name;
  uint64_t want = 10;
  long timeoutMs = 5000;
  bool ramp = false, lock = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--frames" && i + 1 < argc) want = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--timeout-ms" && i + 1 < argc) timeoutMs = std::atol(argv[++i]);
    else if (a == "--check-ramp") ramp = true;
    else if (a == "--lock") lock = true;
    else if (a[0] == '/' && name.empty()) name = a;
    else {
      std::fprintf(stderr, "usage: consumer /name [--frames N] [--timeout-ms MS] [--check-ramp] [--lock]\n");
      return 2;
    }
  }
  if (name.empty()) return std::fprintf(stderr, "consumer: give a segment name such as /swarm\n"), 2;

  shmswarm_segment *s = nullptr;
  int rc = shmswarm_open(name.c_str(), 0, &s);
  if (rc) return fail(name.c_str(), rc);
  const shmswarm_layout *lay = shmswarm_get_layout(s);
  const uint64_t n = shmswarm_rows(s) * shmswarm_cols(s);
  std::printf("segment %s rows %llu cols %u dtype %s fields %.*s\n", name.c_str(), (unsigned long long)shmswarm_rows(s),
              shmswarm_cols(s), dtypeName(shmswarm_dtype(s)), (int)lay->fields_len, shmswarm_fields(s));
  std::fflush(stdout);

  std::vector<unsigned char> frame(lay->data_bytes);
  uint64_t seen = 0; // sequence 0: nothing published yet
  uint64_t got = 0;
  int status = 0;
  while (got < want) {
    uint64_t seq = 0;
    rc = shmswarm_wait(s, seen, (int64_t)timeoutMs * 1000000, &seq);
    if (rc) { status = fail("waiting for a frame", rc); break; }
    shmswarm_frame_info info;
    rc = shmswarm_read_frame_ex(s, frame.data(), frame.size(), lock ? SHMSWARM_READ_LOCK : SHMSWARM_READ_AUTO, seen, &info);
    if (rc) { status = fail("read_frame", rc); break; }
    if (info.flags & SHMSWARM_FRAME_UNCHANGED) continue;
    seen = info.sequence;
    got++;
    if (ramp) {
      const double k = at(frame.data(), shmswarm_dtype(s), 0);
      for (uint64_t i = 0; i < n; i++) {
        if (at(frame.data(), shmswarm_dtype(s), i) != k + (double)i) {
          std::fprintf(stderr, "consumer: frame %llu is torn or misplaced at element %llu: %g, expected %g\n",
                       (unsigned long long)seen, (unsigned long long)i, at(frame.data(), shmswarm_dtype(s), i), k + (double)i);
          status = 1;
          break;
        }
      }
      if (status) break;
      std::printf("frame %llu k %.0f%s\n", (unsigned long long)seen, k, (info.flags & SHMSWARM_FRAME_TORN) ? " torn" : "");
    } else {
      std::printf("frame %llu row0", (unsigned long long)seen);
      for (uint32_t c = 0; c < shmswarm_cols(s); c++) std::printf(" %g", at(frame.data(), shmswarm_dtype(s), c));
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  if (!status) std::printf("ok %llu frames\n", (unsigned long long)got);
  shmswarm_close(s);
  return status;
}
