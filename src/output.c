/* src/output.c: outputs appear whole or not at all: temporary names, agreement, rename. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm.h"
#include "output.h"

static long job_pid; /* rank 0's pid: one temporary name per job, the same on every rank */

void rrr_outset_init(rrr_ctx *ctx, rrr_outset *o)
{
    long pid = (long)getpid();
    MPI_Bcast(&pid, 1, MPI_LONG, 0, ctx->comm);
    job_pid = pid;
    o->count = 0;
}

const char *rrr_outset_add(rrr_outset *o, const char *dst)
{
    if (o->count >= RRR_MAX_OUTPUTS)
        return NULL;
    int k = o->count;
    int len = snprintf(o->tmp[k], sizeof o->tmp[k], "%s.tmp.%ld", dst, job_pid);
    if (len < 0 || (size_t)len >= sizeof o->tmp[k] || strlen(dst) >= sizeof o->dst[k])
        return NULL;
    strcpy(o->dst[k], dst);
    o->count++;
    return o->tmp[k];
}

rrr_status rrr_outset_finish(rrr_ctx *ctx, rrr_outset *o, rrr_status st)
{
    st = rrr_agree(ctx, st);
    rrr_status rst = RRR_OK;
    if (ctx->rank == 0) {
        for (int k = 0; k < o->count; k++) {
            if (st == RRR_OK && rst == RRR_OK) {
                if (rename(o->tmp[k], o->dst[k]) != 0)
                    rst = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot rename into place: %s",
                                   o->dst[k], strerror(errno));
            } else {
                unlink(o->tmp[k]); /* failure: leave nothing half-made behind */
            }
        }
    }
    o->count = 0;
    return st == RRR_OK ? rrr_agree(ctx, rst) : st;
}

rrr_status rrr_mkdir(rrr_ctx *ctx, const char *dir, const char *what)
{
    rrr_status st = RRR_OK;
    if (ctx->rank == 0) {
        struct stat sb;
        if (stat(dir, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode))
                st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: exists and is not a directory", what, dir);
        } else if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: cannot create directory: %s", what, dir,
                          strerror(errno));
        }
    }
    return rrr_agree(ctx, st);
}
