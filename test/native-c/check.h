/* CHECK(condition): on failure, name the line and the condition on stderr and exit 1. */
#pragma once
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                     \
  do {                                                               \
    if (!(c)) {                                                      \
      fprintf(stderr, "check failed, line %d: %s\n", __LINE__, #c); \
      exit(1);                                                       \
    }                                                                \
  } while (0)
