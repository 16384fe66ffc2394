/* src/ctx.c: the context (private communicator, rank, the machine, timers) and rank-0
 * logging. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "ctx.h"

const char *const rrr_timer_names[RRR_T_COUNT] = { "read", "compute", "allreduce", "solve",
                                                   "write" };

/* Local. Bytes this process may still map under ulimit -v (RLIMIT_AS) or ulimit -d
 * (RLIMIT_DATA): the limit minus what it maps already (/proc/self/statm: total size and
 * data pages); +inf without limits. A run that counted physical memory only would plan
 * for memory it cannot map. */
static double rlimit_room(void)
{
    double room = (double)INFINITY, page = (double)sysconf(_SC_PAGESIZE);
    unsigned long long size = 0, resident, shared, text, lib, data = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%llu %llu %llu %llu %llu %llu", &size, &resident, &shared, &text, &lib,
                   &data) != 6)
            size = data = 0;
        fclose(f);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        room = fmin(room, (double)rl.rlim_cur - (double)size * page);
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        room = fmin(room, (double)rl.rlim_cur - (double)data * page);
    return room > 0 ? room : 0;
}

double rrr_node_memory(void)
{
    double bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f != NULL) {
        double lim;
        if (fscanf(f, "%lf", &lim) == 1 && lim > 0 && lim < bytes)
            bytes = lim;
        fclose(f);
    }
    return bytes;
}

void rrr_ctx_measure_memory(rrr_ctx *ctx)
{
    double bytes = rrr_node_memory() / ctx->node_ranks;
    bytes = fmin(bytes, rlimit_room()); /* a per-process limit: not shared by the node */
    MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_DOUBLE, MPI_MIN, ctx->comm);
    ctx->mem_per_rank = bytes;
}

/* Collective. Ranks on my node (and on the most crowded one), then the memory per rank. */
static void measure_machine(rrr_ctx *ctx)
{
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    MPI_Allreduce(&local, &ctx->node_ranks_max, 1, MPI_INT, MPI_MAX, ctx->comm);
    ctx->node_ranks = local;
    rrr_ctx_measure_memory(ctx);
}

rrr_status rrr_ctx_create(MPI_Comm comm, rrr_ctx **out)
{
    if (out == NULL || comm == MPI_COMM_NULL) /* no communicator: nothing to agree on */
        return RRR_EINVAL;
    rrr_ctx *ctx = calloc(1, sizeof *ctx);
    int ok = ctx != NULL, all_ok = 0;
    /* Everyone learns whether everyone got memory before anyone uses ctx. */
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        free(ctx);
        *out = NULL;
        return RRR_EINTERNAL;
    }
    MPI_Comm_dup(comm, &ctx->comm);
    MPI_Comm_rank(ctx->comm, &ctx->rank);
    MPI_Comm_size(ctx->comm, &ctx->size);
    ctx->t_start = MPI_Wtime();
    measure_machine(ctx);
    /* Fault injection for the tests: RRR_FAIL_ALLOC=R:K makes the K-th rrr_malloc/rrr_calloc
     * on rank R fail, so every failure path can be reached from the command line. */
    const char *fa = getenv("RRR_FAIL_ALLOC");
    int fr = -1;
    long fk = 0;
    if (fa != NULL && sscanf(fa, "%d:%ld", &fr, &fk) == 2 && fr == ctx->rank)
        rrr_alloc_fail_after(fk);
    *out = ctx;
    return RRR_OK;
}

void rrr_ctx_destroy(rrr_ctx **ctx)
{
    if (ctx == NULL || *ctx == NULL)
        return;
    MPI_Comm_free(&(*ctx)->comm);
    free(*ctx);
    *ctx = NULL;
}

const char *rrr_ctx_errmsg(const rrr_ctx *ctx)
{
    if (ctx == NULL)
        return "no context (NULL)";
    return ctx->err.msg[0] ? ctx->err.msg : rrr_strerror(ctx->err.st);
}

int rrr_ctx_rank(const rrr_ctx *ctx) { return ctx != NULL ? ctx->rank : -1; }
int rrr_ctx_size(const rrr_ctx *ctx) { return ctx != NULL ? ctx->size : 0; }
void rrr_ctx_set_quiet(rrr_ctx *ctx, int quiet)
{
    if (ctx != NULL)
        ctx->quiet = quiet;
}
double rrr_elapsed(const rrr_ctx *ctx) { return MPI_Wtime() - ctx->t_start; }

double rrr_phase_begin(void) { return MPI_Wtime(); }
void rrr_phase_end(rrr_ctx *ctx, rrr_timer k, double t0) { ctx->t[k] += MPI_Wtime() - t0; }

size_t rrr_line(char line[RRR_LINE_MAX], const char *prefix, const char *msg)
{
    size_t n = strnlen(prefix, 64);
    memcpy(line, prefix, n);
    for (const unsigned char *c = (const unsigned char *)msg; *c != '\0' && n < RRR_LINE_MAX - 6;
         c++)
        if (*c == '\n')
            n += (size_t)snprintf(line + n, 3, "\\n");
        else if (*c < 0x20 || *c == 0x7f)
            n += (size_t)snprintf(line + n, 5, "\\x%02x", *c);
        else
            line[n++] = (char)*c;
    line[n++] = '\n';
    return n;
}

void rrr_say(const char *prefix, const char *msg)
{
    char line[RRR_LINE_MAX]; /* written with one call: ranks sharing a stderr file do not interleave */
    fwrite(line, 1, rrr_line(line, prefix, msg), stderr);
}

/* Local. The message of fmt, ap after prefix, as one line (rrr_say). */
static void say_v(const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    rrr_say(prefix, msg);
}

void rrr_info(const rrr_ctx *ctx, const char *fmt, ...)
{
    if (ctx->rank != 0 || ctx->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    say_v("rrr: ", fmt, ap);
    va_end(ap);
}

void rrr_warn(const rrr_ctx *ctx, const char *fmt, ...)
{
    if (ctx->rank != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    say_v("rrr: warning: ", fmt, ap);
    va_end(ap);
}
