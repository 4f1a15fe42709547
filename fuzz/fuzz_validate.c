/* libFuzzer target for shmswarm_validate, the only code that parses bytes another process wrote.
 * libFuzzer hands over a heap copy of exactly `size` bytes, so with -fsanitize=address any read
 * past the claimed object is reported. Beyond "no crash", an accepted header must describe
 * something that fits in the bytes it came from: those checks trap. Run: npm run fuzz [-- secs]. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  shmswarm_layout lay;
  if (shmswarm_validate(data, size, &lay) != 0) return 0;
  if (lay.data_offset + lay.data_bytes > size) __builtin_trap();
  if (lay.slots < 1 || lay.slots > SHMSWARM_SLOTS_MAX) __builtin_trap();
  if (lay.data_offset + lay.slots * lay.data_bytes > size) __builtin_trap();
  if (lay.data_bytes != lay.rows * lay.cols * lay.elsize) __builtin_trap();
  if (lay.elsize != shmswarm_dtype_size(lay.dtype)) __builtin_trap();
  if (lay.kind == SHMSWARM_KIND_SHMSWARM) {
    if (lay.total_size > size || lay.block_offset + SHMSWARM_BLOCK_FIXED > size) __builtin_trap();
    if (lay.fields_offset + lay.fields_len > size || lay.fields_len > SHMSWARM_FIELDS_MAX) __builtin_trap();
    if (lay.block_offset % SHMSWARM_CACHELINE) __builtin_trap();
    if (lay.block_offset < lay.data_offset + lay.slots * lay.data_bytes) __builtin_trap();
    if ((lay.version == SHMSWARM_VERSION_SLOTS) != (lay.slots > 1)) __builtin_trap();
  } else if (lay.kind != SHMSWARM_KIND_WA1) {
    __builtin_trap();
  }
  return 0;
}
