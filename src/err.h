/* src/err.h: a rank's first failure, recorded with its message (serial). */
#ifndef RRR_ERR_H
#define RRR_ERR_H

#include "rrr_base.h"

#define RRR_ERRMSG 640

/* A rank's first failure: its status and a one-line message naming the file and problem. */
typedef struct {
    rrr_status st;
    char msg[RRR_ERRMSG];
} rrr_err;

/* Local. Record the first failure in e (later ones are ignored) and return st. */
rrr_status rrr_fail(rrr_err *e, rrr_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define RRR_FAIL(e, st, ...) rrr_fail((e), (st), __VA_ARGS__)

#endif
