/* The core's frame copy (shmswarm_copy, issue 22): every byte, at every size class and at
 * source/destination offsets over a whole 4 KiB period, lands where memcpy would put it and
 * nothing around it moves; the method follows the relative alignment; and frames written and
 * read through real segments (one slot and four, every read mode) from misaligned buffers come
 * back exactly. Usage: copy_test SEGMENT-NAME. Prints TAP; exits 1 on any failure. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

#include <sys/mman.h>

static int failures, counter;

static void report(int failed, const char *what) {
  printf("%s %d - %s\n", failed ? "not ok" : "ok", ++counter, what);
  if (failed) failures++;
}

#define MAXBYTES ((size_t)(1u << 20) + 4096)
#define PERIOD 4096u
#define GUARD 64u

static uint8_t *src_area, *dst_area; /* dst_area: MAP_SHARED, like a segment */

static uint8_t pattern(size_t i, unsigned salt) { return (uint8_t)((i * 2654435761u + salt) >> 7 ^ salt); }

typedef void copy_fn(void *dst, const void *src, size_t bytes);
#ifdef SHMSWARM__COPY_AVX2
/* The two loops called directly: which one shmswarm_copy takes depends on where the buffers
 * happen to be modulo 256 MiB, and each must be right at every size and offset. */
static void forward(void *dst, const void *src, size_t bytes) { shmswarm__copy_forward((uint8_t *)dst, (const uint8_t *)src, bytes); }
static void backward(void *dst, const void *src, size_t bytes) { shmswarm__copy_backward((uint8_t *)dst, (const uint8_t *)src, bytes); }
#endif

/* Copies `bytes` from src_area + so to dst_area + GUARD + dof with `copy` and checks every byte
 * of the copy and GUARD bytes on both sides of it. 0 when right; prints the first wrong byte. */
static int copy_with(copy_fn *copy, const char *how, size_t bytes, size_t so, size_t dof, unsigned salt) {
  uint8_t *src = src_area + so, *dst = dst_area + GUARD + dof;
  for (size_t i = 0; i < bytes; i++) src[i] = pattern(i, salt);
  memset(dst - GUARD, 0xA5, bytes + 2 * GUARD);
  copy(dst, src, bytes);
  for (size_t i = 0; i < bytes; i++)
    if (dst[i] != pattern(i, salt)) {
      printf("#   %s, %zu bytes, src +%zu, dst +%zu: byte %zu is %u, want %u\n", how, bytes, so, dof, i, dst[i], pattern(i, salt));
      return 1;
    }
  for (size_t i = 0; i < GUARD; i++)
    if (dst[-1 - (long)i] != 0xA5 || dst[bytes + i] != 0xA5) {
      printf("#   %s, %zu bytes, src +%zu, dst +%zu: a byte around the copy changed\n", how, bytes, so, dof);
      return 1;
    }
  return 0;
}

static int copy_once(size_t bytes, size_t so, size_t dof, unsigned salt) {
  int failed = copy_with(shmswarm_copy, "shmswarm_copy", bytes, so, dof, salt);
#ifdef SHMSWARM__COPY_AVX2
  if (bytes >= 64 && __builtin_cpu_supports("avx2")) {
    failed |= copy_with(forward, "forward loop", bytes, so, dof, salt + 1);
    failed |= copy_with(backward, "backward loop", bytes, so, dof, salt + 2);
  }
#endif
  return failed;
}

static void sizes_and_offsets(void) {
  /* Small sizes and the edges of the vector band, every 16-byte offset over the 4 KiB period
   * (and every byte offset in the first cache line). */
  static const size_t sizes[] = {0, 1, 7, 31, 32, 33, 63, 64, 65, 127, 128, 129, 2047, 2048, 2049,
                                 2050, 2063, 2079, 2111, 2112, 4095, 4096, 4097, 4096 + 33, 65536 + 17};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    int failed = 0;
    for (size_t so = 0; so < PERIOD && !failed; so += so < 64 ? 1 : 16)
      failed |= copy_once(sizes[k], so, 0, (unsigned)(so + k));
    for (size_t dof = 1; dof < 64 && !failed; dof++) failed |= copy_once(sizes[k], 0, dof, (unsigned)dof);
    char what[96];
    snprintf(what, sizeof what, "shmswarm_copy and both loops: %zu bytes at every offset match memcpy", sizes[k]);
    report(failed, what);
  }
  /* Large sizes: both addresses at offsets that cover co-aligned, just-ahead and just-behind. */
  static const size_t big[] = {245760, 245760 + 7, 245760 + 44, (1u << 20) - 1, 1u << 20, (1u << 20) + 5};
  static const size_t offs[] = {0, 1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 2048, 4032, 4080, 4095};
  for (size_t k = 0; k < sizeof big / sizeof *big; k++) {
    int failed = 0;
    for (size_t a = 0; a < sizeof offs / sizeof *offs && !failed; a++)
      for (size_t b = 0; b < 8 && !failed; b++) failed |= copy_once(big[k], offs[a], offs[b], (unsigned)(a * 8 + b));
    char what[96];
    snprintf(what, sizeof what, "shmswarm_copy and both loops: %zu bytes at misaligned pairs match memcpy", big[k]);
    report(failed, what);
  }
}

static void method_choice(void) {
  int failed = 0;
#ifdef SHMSWARM__COPY_AVX2
  int avx2 = __builtin_cpu_supports("avx2") != 0, amd = __builtin_cpu_is("amd") != 0;
  uint8_t *d = dst_area + 8192, *s = src_area + 8192;
  /* From 2 KiB on, by (dst - src): ahead by 1..2048 bytes modulo 256 MiB, or by 1..256 modulo
   * 4 KiB: backward; equal or up to 2048 behind modulo 256 MiB: forward; otherwise memcpy. On
   * AMD 257..2048 ahead modulo 4 KiB is backward too (method 3 below) and memcpy's cases are
   * forward (method 0: the CPU decides). */
  static const struct { long long distance; int method; } cases[] = {
      {16, 2}, {2048, 2}, {(1ll << 28) + 16, 2}, {(1ll << 30) + 1024, 2}, {(1 << 20) + 16, 2}, {(1 << 20) + 256, 2},
      {0, 1}, {1ll << 28, 1}, {-16, 1}, {-528, 1}, {-2048, 1}, {(1ll << 29) - 64, 1},
      {(1 << 20) + 272, 3}, {(1 << 20) + 1024, 3}, {-2064, 3}, {(1 << 20) + 2048, 3},
      {2064, 0}, {(1 << 20) - 16, 0}, {(1 << 20) + 2049, 0}, {(1 << 20) + 3072, 0}, {-(1 << 20) - 64, 0}, {64, 2}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const uint8_t *from = (const uint8_t *)((uintptr_t)d - (uintptr_t)cases[i].distance);
    int m = cases[i].method;
    int want = !avx2 ? SHMSWARM__COPY_MEMCPY
               : m == 3  ? (amd ? SHMSWARM__COPY_BACKWARD : SHMSWARM__COPY_MEMCPY)
               : m == 0  ? (amd ? SHMSWARM__COPY_FORWARD : SHMSWARM__COPY_MEMCPY)
                         : m;
    if (shmswarm__copy_method(d, from, 245760) != want || shmswarm__copy_method(d, from, 4096) != want) {
      printf("#   dst - src = %lld: method %d, want %d\n", cases[i].distance, shmswarm__copy_method(d, from, 245760), want);
      failed = 1;
    }
  }
  if (shmswarm__copy_method(d, s - 16, SHMSWARM__COPY_VEC_MIN - 1) != SHMSWARM__COPY_MEMCPY)
    failed = 1, printf("#   the vector loop below %u bytes\n", SHMSWARM__COPY_VEC_MIN);
  if (avx2 && shmswarm__copy_method(d, s - 16, SHMSWARM__COPY_VEC_MIN) != SHMSWARM__COPY_BACKWARD)
    failed = 1, printf("#   memcpy at the band's first size\n");
  printf("# AVX2 %s%s\n", avx2 ? "present: copies from 2 KiB take the vector loops" : "absent: memcpy only", avx2 && amd ? " (AMD: always)" : "");
#else
  printf("# not x86: memcpy only\n");
  if (shmswarm__copy_method(dst_area, src_area + 16, 245760)) failed = 1;
#endif
  report(failed, "the copy method follows the relative alignment and the size");
}

/* Frames through real segments: written from and read into buffers at misaligned offsets. */
static void through_segments(const char *name) {
  static const uint32_t cols[] = {1024, 61440, 61443}; /* 4 KB, 240 KB, 240 KB + 12 (f32) */
  static const uint32_t slots[] = {1, 4};
  static const size_t offs[] = {0, 4, 16, 48, 60, 4080};
  for (size_t c = 0; c < 3; c++)
    for (size_t k = 0; k < 2; k++) {
      int failed = 0;
      shmswarm_segment *w = NULL, *r = NULL;
      shmswarm_create_options o = {slots[k]};
      shm_unlink(name);
      int rc = shmswarm_create_ex(name, 1, cols[c], SHMSWARM_F32, NULL, 0600, &o, &w);
      if (!rc) rc = shmswarm_open(name, 0, &r);
      if (rc) {
        printf("#   create/open: %s (%s)\n", shmswarm_strerror(rc), shmswarm_last_detail());
        failed = 1;
      }
      size_t bytes = (size_t)cols[c] * 4;
      for (size_t a = 0; a < sizeof offs / sizeof *offs && !failed; a++)
        for (int mode = SHMSWARM_READ_AUTO; mode <= SHMSWARM_READ_NOLOCK && !failed; mode++) {
          uint8_t *src = src_area + offs[a], *dst = dst_area + GUARD + offs[(a + 1 + mode) % 6];
          unsigned salt = (unsigned)(a * 3 + mode);
          for (size_t i = 0; i < bytes; i++) src[i] = pattern(i, salt);
          memset(dst - GUARD, 0xA5, bytes + 2 * GUARD);
          shmswarm_frame_info fi;
          if ((rc = shmswarm_write_frame(w, src, bytes)) || (rc = shmswarm_read_frame_ex(r, dst, bytes, mode, UINT64_MAX, &fi))) {
            printf("#   write/read: %s (%s)\n", shmswarm_strerror(rc), shmswarm_last_detail());
            failed = 1;
            break;
          }
          failed |= memcmp(dst, src, bytes) != 0 || dst[-1] != 0xA5 || dst[bytes] != 0xA5;
          /* The guarded copy (RawMapping, the CLI's views) too. */
          memset(dst, 0, bytes);
          failed |= shmswarm_copy_guarded(dst, src, bytes) != 0 || memcmp(dst, src, bytes) != 0;
          if (failed) printf("#   src +%zu, mode %d: the frame read back differs\n", offs[a], mode);
        }
      if (w) shmswarm_close(w);
      if (r) shmswarm_close(r);
      shm_unlink(name);
      char what[96];
      snprintf(what, sizeof what, "frames of %zu bytes, %u slot(s), round-trip from misaligned buffers", bytes, slots[k]);
      report(failed, what);
    }
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  src_area = aligned_alloc(4096, MAXBYTES + 2 * PERIOD);
  dst_area = mmap(NULL, MAXBYTES + 2 * PERIOD, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (!src_area || dst_area == MAP_FAILED) return 1;
  printf("TAP version 13\n");
  sizes_and_offsets();
  method_choice();
  through_segments(argv[1]);
  printf("1..%d\n", counter);
  return failures ? 1 : 0;
}
