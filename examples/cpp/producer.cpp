// producer.cpp: a small flocking simulation that publishes its agents through shmswarm, shaped
// like an openFrameworks app (setup / update / exit) so the ofApp recipe in docs/BRIDGES.md maps
// onto it line by line.
//
//   g++ -std=c++17 -O2 -I ../../include producer.cpp -o producer -lpthread -lrt
//   ./producer /swarm [--agents 300] [--fps 60] [--frames 0] [--ramp] [--keep] [--slots 1]
//
// Columns are x,y,z,vx,vy,vz (float32). --ramp publishes a test pattern instead of the flock:
// frame k (counting from 1, as `shmswarm simulate --pattern ramp`) holds k + r*cols + c at row r, column c, so a reader can prove every frame it gets is
// whole and in place. --frames 0 runs until SIGINT/SIGTERM. The segment is unlinked at exit
// unless --keep (it is this program's own name: it created it).
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

struct Options {
  std::string name;
  uint64_t agents = 300;
  double fps = 60;
  uint64_t frames = 0;
  bool ramp = false;
  bool keep = false;
  uint32_t slots = 1;  // frame buffers (1-16): with more, readers rarely wait for this writer
};

// float32 holds integers exactly only up to 2^24: the ramp's frame number wraps here.
constexpr uint64_t kRampWrap = 1000000;

struct Agent {
  float x, y, z, vx, vy, vz;
};

class ofApp {
 public:
  explicit ofApp(const Options &o) : opt_(o) {}

  // setup(): create the segment once. Field names travel with it, so readers need no config.
  bool setup() {
    shmswarm_create_options co = {};
    co.slots = opt_.slots;
    int rc = shmswarm_create_ex(opt_.name.c_str(), opt_.agents, kCols, SHMSWARM_F32, "x,y,z,vx,vy,vz", 0600, &co, &seg_);
    if (rc) {
      std::fprintf(stderr, "producer: cannot create %s: %s (%s)\n", opt_.name.c_str(), shmswarm_strerror(rc),
                   shmswarm_last_detail());
      return false;
    }
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> pos(-100.f, 100.f), vel(-1.f, 1.f);
    agents_.resize(opt_.agents);
    for (Agent &a : agents_) a = {pos(rng), pos(rng), pos(rng), vel(rng), vel(rng), vel(rng)};
    return true;
  }

  // update(): simulate, then fill the shared matrix in place between begin and end. Readers see
  // either the previous frame or this one, never a mix.
  bool update() {
    if (!opt_.ramp) step();
    float *m = nullptr;
    int rc = shmswarm_begin_frame(seg_, (void **)&m);
    if (rc) {
      std::fprintf(stderr, "producer: begin_frame: %s\n", shmswarm_strerror(rc));
      return false;
    }
    if (opt_.ramp) {
      const uint64_t k = frame_ % kRampWrap + 1;
      for (uint64_t i = 0; i < opt_.agents * kCols; i++) m[i] = (float)(k + i);
    } else {
      for (uint64_t r = 0; r < opt_.agents; r++) std::memcpy(m + r * kCols, &agents_[r], sizeof(Agent));
    }
    rc = shmswarm_end_frame(seg_);
    if (rc) {
      std::fprintf(stderr, "producer: end_frame: %s\n", shmswarm_strerror(rc));
      return false;
    }
    if (frame_ == 0) {
      std::printf("ready %s %llu x %u\n", opt_.name.c_str(), (unsigned long long)opt_.agents, kCols);
      std::fflush(stdout);
    }
    frame_++;
    return true;
  }

  // exit(): close the mapping; remove the name unless other programs should keep reading it.
  void exit() {
    if (!seg_) return;
    shmswarm_close(seg_);
    seg_ = nullptr;
    if (!opt_.keep) shmswarm_unlink(opt_.name.c_str());
  }

  uint64_t frames() const { return frame_; }

 private:
  static constexpr uint32_t kCols = 6;

  // Boids: cohesion, alignment and separation within a radius, speed-limited, in a soft box.
  void step() {
    const float radius2 = 20.f * 20.f, sep2 = 5.f * 5.f, maxSpeed = 2.f;
    std::vector<Agent> next = agents_;
    for (size_t i = 0; i < agents_.size(); i++) {
      const Agent &a = agents_[i];
      float cx = 0, cy = 0, cz = 0, ax = 0, ay = 0, az = 0, sx = 0, sy = 0, sz = 0;
      int n = 0;
      for (size_t j = 0; j < agents_.size(); j++) {
        if (i == j) continue;
        const Agent &b = agents_[j];
        float dx = b.x - a.x, dy = b.y - a.y, dz = b.z - a.z, d2 = dx * dx + dy * dy + dz * dz;
        if (d2 > radius2) continue;
        n++;
        cx += dx, cy += dy, cz += dz;
        ax += b.vx, ay += b.vy, az += b.vz;
        if (d2 < sep2) sx -= dx, sy -= dy, sz -= dz;
      }
      Agent &o = next[i];
      if (n) {
        o.vx += 0.005f * cx / n + 0.05f * (ax / n - a.vx) + 0.05f * sx;
        o.vy += 0.005f * cy / n + 0.05f * (ay / n - a.vy) + 0.05f * sy;
        o.vz += 0.005f * cz / n + 0.05f * (az / n - a.vz) + 0.05f * sz;
      }
      o.vx -= 0.0005f * a.x, o.vy -= 0.0005f * a.y, o.vz -= 0.0005f * a.z;
      float speed = std::sqrt(o.vx * o.vx + o.vy * o.vy + o.vz * o.vz);
      if (speed > maxSpeed) o.vx *= maxSpeed / speed, o.vy *= maxSpeed / speed, o.vz *= maxSpeed / speed;
      o.x += o.vx, o.y += o.vy, o.z += o.vz;
    }
    agents_.swap(next);
  }

  Options opt_;
  shmswarm_segment *seg_ = nullptr;
  std::vector<Agent> agents_;
  uint64_t frame_ = 0;
};

int usage() {
  std::fprintf(stderr, "usage: producer /name [--agents N] [--fps F] [--frames K] [--ramp] [--keep] [--slots 1-16]\n");
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    bool hasValue = i + 1 < argc;
    if (a == "--agents" && hasValue) opt.agents = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--fps" && hasValue) opt.fps = std::atof(argv[++i]);
    else if (a == "--frames" && hasValue) opt.frames = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--slots" && hasValue) opt.slots = (uint32_t)std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--ramp") opt.ramp = true;
    else if (a == "--keep") opt.keep = true;
    else if (a[0] == '/' && opt.name.empty()) opt.name = a;
    else return usage();
  }
  if (opt.name.empty() || opt.agents < 1 || !(opt.fps > 0) || opt.slots < 1 || opt.slots > SHMSWARM_SLOTS_MAX) return usage();
  if (opt.ramp && opt.agents * 6 + kRampWrap + 1 > (1u << 24)) {
    std::fprintf(stderr, "producer: --ramp needs at most %llu agents (float32 exact integers)\n",
                 (unsigned long long)(((1u << 24) - kRampWrap) / 6));
    return 2;
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);

  ofApp app(opt);
  if (!app.setup()) return 1;
  const auto period = std::chrono::duration<double>(1.0 / opt.fps);
  auto next = std::chrono::steady_clock::now();
  int status = 0;
  while (!g_stop && (opt.frames == 0 || app.frames() < opt.frames)) {
    if (!app.update()) {
      status = 1;
      break;
    }
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::this_thread::sleep_until(next);
  }
  app.exit();
  return status;
}
