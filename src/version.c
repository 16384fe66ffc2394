/* src/version.c: the library's version (one place; the Makefile's soname follows it). */
#include "rrr.h"

const char *rrr_version(void) { return RRR_VERSION_STRING; }
