/* src/comm.h: the communication every module shares (comm.c): agreement on errors, the
 * allreduce of partial sums, and the stop/failure flags that ride along with it. */
#ifndef RRR_COMM_H
#define RRR_COMM_H

#include "ctx.h"

/* Collective. All ranks pass their local status; all return the same one, the largest
 * (lowest rank on ties), and ctx->err then holds that rank's message on every rank. */
rrr_status rrr_agree(rrr_ctx *ctx, rrr_status st);

/* Collective. RRR_OK when hash is the same on every rank, else RRR_EINVAL on every rank
 * ("the ranks passed different <what>"): arguments that must be replicated are compared
 * before any rank judges them alone (one rank's verdict alone is a hang or two models). */
rrr_status rrr_same_everywhere(rrr_ctx *ctx, uint64_t hash, const char *what);

/* Collective. In-place sum over ranks of count doubles (timed as RRR_T_ALLREDUCE; split
 * into chunks so no single message exceeds the int count limit). */
void rrr_allreduce_sum(rrr_ctx *ctx, double *buf, size_t count);
/* Collective. Sum count doubles of which the first p x p are an upper triangle (ld p; the
 * statistics' G, the lower triangle unused): packed in place to the front, one allreduce,
 * unpacked (p(p+1)/2 + the rest), when the p(p - 1)/2 doubles it saves outweigh moving the
 * rest twice; otherwise (q >> p: a 32 MB X^T Y behind a 0.3 MB G) all count as they are. */
void rrr_allreduce_upper(rrr_ctx *ctx, double *buf, size_t p, size_t count);

/* Flags that every rank must learn at an iteration boundary: a pending stop signal on
 * some rank, a local failure on some rank. They travel as RRR_FLAG_SLOTS doubles at the
 * end of an allreduce the solver makes anyway (one encoding: each slot is summed, > 0
 * means "some rank"), or in one small allreduce of their own (rrr_flags_agree). */
enum { RRR_FLAG_STOP, RRR_FLAG_FAIL, RRR_FLAG_SLOTS };
typedef struct {
    int stop; /* some rank got SIGTERM/SIGUSR1 */
    int fail; /* some rank failed locally (its message is agreed by rrr_agree) */
} rrr_flags;

/* Local. Write this rank's flags into slot[0 .. RRR_FLAG_SLOTS) before the allreduce:
 * stop from the signal handler's flag, fail from local_st. */
void rrr_flags_put(double *slot, rrr_status local_st);
/* Local. Read the summed slots after the allreduce. */
rrr_flags rrr_flags_get(const double *slot);
/* Collective. The same, with an allreduce of its own. */
rrr_flags rrr_flags_agree(rrr_ctx *ctx, rrr_status local_st);

#endif
