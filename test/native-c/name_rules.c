/* The C core's name and field rules against test/name-rules.json (test/native/name-rules.test.js
 * feeds the cases on stdin, one per line, the strings in hex):
 *   N <hex name>          ->  prints "ok" or the refusal's detail
 *   F <cols> <hex fields> ->  the same for a field list given to a creator
 * Uses the private checks shmswarm_create runs before it creates anything. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"

static size_t unhex(const char *h, char *out) {
  size_t n = 0;
  for (; h[0] && h[1] && h[0] != '\n'; h += 2) {
    unsigned v;
    sscanf(h, "%2x", &v);
    out[n++] = (char)v;
  }
  out[n] = 0;
  return n;
}

int main(void) {
  static char line[4096], text[2048];
  while (fgets(line, sizeof line, stdin)) {
    int rc;
    if (line[0] == 'N') {
      unhex(line + 2, text);
      rc = shmswarm__check_name(text);
    } else {
      unsigned cols = 0;
      int at = 0;
      sscanf(line + 2, "%u %n", &cols, &at);
      size_t len = unhex(line + 2 + at, text);
      rc = shmswarm__check_fields(text, len, cols) != 0 ? shmswarm__fail(-EINVAL, "fields", "malformed list")
                                                         : shmswarm__check_new_fields(text, len, cols);
    }
    if (rc == 0) puts("ok");
    else printf("refused: %s\n", shmswarm_last_detail());
  }
  return 0;
}
