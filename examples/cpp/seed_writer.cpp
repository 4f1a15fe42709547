// seed_writer.cpp: reproduces the seed's hand-made two-object layout (an adapted
// ofxSharedMemory; docs/BRIDGES.md describes it) to test shmswarm's raw mode against it:
//
//   <data>  a bare rows x 3 float32 matrix, no header          (the seed's /position_data)
//   <mutex> a plain process-shared, NON-robust pthread mutex     (the seed's /mutex_lock)
//           that this writer initialises itself
//
// Per frame: lock, write the matrix slowly (first half, pause, second half) so an unsynchronised
// reader can catch it mid-frame, unlock, pause. Frame k (from 1) holds k + r*3 + c (the ramp pattern).
//
//   g++ -std=c++17 -O2 -I ../../include seed_writer.cpp -o seed_writer -lpthread -lrt
//   ./seed_writer /position_data /mutex_lock [--agents 300] [--frames 0] [--mid-us 200]
//                 [--between-us 1000] [--stall-after K]
//
// --stall-after K: after K frames, take the lock and stop this process (SIGSTOP) while holding
// it: a reader must time out, not hang. At exit (SIGINT/SIGTERM or --frames done) both names are
// unlinked, as the seed's close() does. Deliberately plain POSIX: no shmswarm API at all.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

// Map a new or existing object of `bytes` bytes read-write; the seed opens the mutex with O_TRUNC.
void *mapObject(const char *name, size_t bytes, int extraFlags) {
  int fd = shm_open(name, O_CREAT | O_RDWR | extraFlags, 0600);
  if (fd < 0) return std::perror(name), nullptr;
  if (ftruncate(fd, (off_t)bytes) != 0) return std::perror("ftruncate"), close(fd), nullptr;
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return std::perror("mmap"), nullptr;
  return p;
}

void pauseUs(long us) {
  if (us <= 0) return;
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

}  // namespace

int main(int argc, char **argv) {
  std::string dataName, mutexName;
  unsigned long agents = 300, frames = 0, stallAfter = 0;
  long midUs = 200, betweenUs = 1000;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    bool v = i + 1 < argc;
    if (a == "--agents" && v) agents = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--frames" && v) frames = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--mid-us" && v) midUs = std::atol(argv[++i]);
    else if (a == "--between-us" && v) betweenUs = std::atol(argv[++i]);
    else if (a == "--stall-after" && v) stallAfter = std::strtoul(argv[++i], nullptr, 10);
    else if (a[0] == '/' && dataName.empty()) dataName = a;
    else if (a[0] == '/' && mutexName.empty()) mutexName = a;
    else {
      std::fprintf(stderr, "usage: seed_writer /data /mutex [--agents N] [--frames K] [--mid-us U] [--between-us U] [--stall-after K]\n");
      return 2;
    }
  }
  if (dataName.empty() || mutexName.empty()) return std::fprintf(stderr, "seed_writer: give two names\n"), 2;
  if (dataName == mutexName) return std::fprintf(stderr, "seed_writer: the data and the mutex need two different names\n"), 2;
  // 3 floats an agent; 2^28 agents is 3 GiB, and the product must not wrap around.
  if (agents < 1 || agents > (1ul << 28)) return std::fprintf(stderr, "seed_writer: --agents must be 1 to 268435456\n"), 2;
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);

  const size_t n = agents * 3;
  float *data = (float *)mapObject(dataName.c_str(), n * sizeof(float), 0);
  // The seed maps 64 bytes for the mutex; sizeof(pthread_mutex_t) is 40 on x86-64 glibc.
  const size_t mutexBytes = sizeof(pthread_mutex_t) > 64 ? sizeof(pthread_mutex_t) : 64;
  pthread_mutex_t *mutex = (pthread_mutex_t *)mapObject(mutexName.c_str(), mutexBytes, O_TRUNC);
  if (!data || !mutex) {
    // Leave nothing behind of a start that failed halfway (e.g. a bad mutex name).
    if (data) shm_unlink(dataName.c_str());
    if (mutex) shm_unlink(mutexName.c_str());
    return 1;
  }
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED); // shared, but not robust: like the seed
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);

  const size_t half = n / 2;
  for (unsigned long k = 0; !g_stop && (frames == 0 || k < frames); k++) {
    const float base = (float)(k % 1000000 + 1);
    if (stallAfter && k == stallAfter) {
      pthread_mutex_lock(mutex);
      std::printf("stalled holding %s\n", mutexName.c_str());
      std::fflush(stdout);
      raise(SIGSTOP); // stays stopped, lock held, until SIGCONT or SIGKILL
      pthread_mutex_unlock(mutex);
    }
    pthread_mutex_lock(mutex);
    for (size_t i = 0; i < half; i++) data[i] = base + (float)i;
    pauseUs(midUs);
    for (size_t i = half; i < n; i++) data[i] = base + (float)i;
    pthread_mutex_unlock(mutex);
    if (k == 0) {
      std::printf("ready %s %s %lu x 3\n", dataName.c_str(), mutexName.c_str(), agents);
      std::fflush(stdout);
    }
    pauseUs(betweenUs);
  }
  munmap(data, n * sizeof(float));
  munmap(mutex, mutexBytes);
  shm_unlink(dataName.c_str());
  shm_unlink(mutexName.c_str());
  return 0;
}
