/* src/solvers.h: the solvers rrr_fit dispatches to (solve_gd.c, solve_als.c,
 * solve_exact.c). Collective. Each fills m->U, m->V (allocated by the caller, p x d and
 * q x d) and the record info (iterations, converged, stop_reason, history, the initial
 * gradient norm, f* when it has it); the caller then evaluates the objective and the
 * gradient norm directly (rrr_evaluate) and canonicalises the factors. */
#ifndef RRR_SOLVERS_H
#define RRR_SOLVERS_H

#include "gram.h"
#include "plan.h"
#include "problem.h"

rrr_status rrr_solve_gd(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        const rrr_plan *plan, rrr_model *m, rrr_fit_info *info);
/* als and exact make the statistics pass (stats.c) over the rows of rq, streamed; on
 * success *keep is their statistics (rrr_gram_destroy), whose means and pilot the final
 * evaluation uses. als's certificate also leaves the closed form B* = Us Vs^T in Us
 * (p x d) and Vs (q x d) when they are not NULL (and f* is not NaN). */
rrr_status rrr_solve_als(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_problem *pb,
                         const rrr_fit_opts *o, const rrr_plan *plan, rrr_model *m,
                         rrr_fit_info *info, rrr_gram **keep, double *Us, double *Vs);
/* exact takes the statistics from sums (rrr cv's totals) instead of a pass when given and
 * the regime is replicated. */
rrr_status rrr_solve_exact(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_fit_opts *o,
                           const rrr_plan *plan, const rrr_sums *sums, rrr_model *m,
                           rrr_fit_info *info, rrr_gram **keep);

/* Collective. The optimal value f* from the closed form for the certificate, when the
 * plan affords it (NaN otherwise, with a warning saying why): one statistics pass over the
 * rows of rq (gd's, in memory), with the pilot where rq asks for it (rrr_gram_exact:
 * *fstar_err, the bound on its error). */
rrr_status rrr_optimal_value(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_plan *plan,
                             double *fstar, double *fstar_err, double *Us, double *Vs);

#endif
