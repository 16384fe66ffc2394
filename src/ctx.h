/* src/ctx.h: the context body, phase timers and rank-0 logging (ctx.c). */
#ifndef RRR_CTX_H
#define RRR_CTX_H

#include <mpi.h>

#include "err.h"
#include "rrr.h"

/* Phase timers, accumulated with MPI_Wtime; reports give max/avg/min over ranks. */
typedef enum {
    RRR_T_READ,      /* reading input files               */
    RRR_T_COMPUTE,   /* local arithmetic on my rows        */
    RRR_T_ALLREDUCE, /* combining partial sums             */
    RRR_T_SOLVE,     /* replicated or grid dense algebra   */
    RRR_T_WRITE,     /* writing outputs and checkpoints    */
    RRR_T_COUNT
} rrr_timer;

/* The names of the phases in logs and reports ("read", "compute", ...). */
extern const char *const rrr_timer_names[RRR_T_COUNT];

struct rrr_ctx {
    MPI_Comm comm; /* private duplicate: our collectives never match a user's */
    int rank, size;
    int quiet;
    int nested;    /* inside rrr cv's many fits: what each fit would warn, cv says once */
    rrr_err err;                /* this rank's first failure, or the agreed one      */
    double t[RRR_T_COUNT];      /* seconds per phase on this rank                    */
    double t_start;             /* MPI_Wtime at creation                             */
    unsigned long long bytes_read;
    int node_ranks;             /* ranks of ctx->comm on my node (measured once)     */
    int node_ranks_max;         /* ... on the most crowded node                      */
    double mem_per_rank;        /* bytes one rank may use, the minimum over ranks    */
};

/* Collective. (Re)measure mem_per_rank: physical memory (or a smaller cgroup v2 limit)
 * over the ranks of my node, or what ulimit -v / -d still lets this process map if that
 * is less; the minimum over all ranks, so every rank decides alike. */
void rrr_ctx_measure_memory(rrr_ctx *ctx);
/* Local. This node's physical memory, or a smaller cgroup v2 limit (which counts the page
 * cache too), in bytes. */
double rrr_node_memory(void);

/* Local. A phase starts: returns the time to hand to rrr_phase_end. */
double rrr_phase_begin(void);
/* Local. The phase that started at t0 ends: its time is added to timer k. */
void rrr_phase_end(rrr_ctx *ctx, rrr_timer k, double t0);

/* Local. prefix, then msg as one line on stderr: a newline in it (a path's, say) printed as
 * \n and other control characters as \xHH, so that every message is one line. */
void rrr_say(const char *prefix, const char *msg);
/* Local, pure. The line rrr_say writes, into line (not NUL-terminated): its length. */
enum { RRR_LINE_MAX = 4096 };
size_t rrr_line(char line[RRR_LINE_MAX], const char *prefix, const char *msg);
/* Logging to stderr: INFO and WARN from rank 0 (INFO silenced by quiet); Local. */
void rrr_info(const rrr_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rrr_warn(const rrr_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds since the context was created. Local. */
double rrr_elapsed(const rrr_ctx *ctx);

#endif
