/* src/status.c: status names, exit codes, and recording a rank's first failure. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

const char *rrr_strerror(rrr_status st)
{
    switch (st) {
    case RRR_OK: return "success";
    case RRR_EINTERNAL: return "internal failure";
    case RRR_EINVAL: return "invalid input";
    case RRR_EIO: return "I/O failure";
    case RRR_ENUMERIC: return "numerical failure";
    case RRR_ESTOPPED: return "stopped by a signal";
    }
    return "unknown status";
}

int rrr_exit_code(rrr_status st)
{
    return (st >= RRR_OK && st <= RRR_ESTOPPED) ? (int)st : 1;
}

rrr_status rrr_fail(rrr_err *e, rrr_status st, const char *fmt, ...)
{
    if (e != NULL && e->st == RRR_OK && st != RRR_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->st = st;
    }
    return st;
}
