/* The addon's copy of the C core: the same implementation the public header gives C/C++ programs. */
#define SHMSWARM_IMPLEMENTATION
#include "shmswarm.h"
