/* src/fit.h: the pieces of rrr_fit that rrr cv shares (fit.c). */
#ifndef RRR_FIT_H
#define RRR_FIT_H

#include "gram.h"
#include "problem.h"
#include "stream.h"

/* Local (fit.c). A hash of what every rank must pass alike through the library: the
 * options (the warm start's values too) and the global shapes. */
uint64_t rrr_fit_opts_hash(const rrr_fit_opts *o, size_t nx, size_t p, size_t ny, size_t q);
/* Collective (fit.c). The arguments of rrr_fit: the same on every rank
 * (rrr_same_everywhere), then RRR_EINVAL with a message. (How the rows are split is
 * rrr_input_share's to check.) */
rrr_status rrr_fit_check_args(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                              const rrr_fit_opts *o);

/* Collective (fit.c). Column means (with an intercept: new *xm, *ym, else NULL) and
 * pb->yy = ||Yc||_F^2, from one pass over my rows and one allreduce. With warn and no
 * intercept, a warning when columns of X or Y have |mean| > standard deviation. */
rrr_status rrr_column_stats(rrr_ctx *ctx, rrr_problem *pb, int intercept, int warn,
                            double **xm, double **ym);

/* Collective. rrr_fit over inputs (stream.h): rows in memory, or files that exact and als
 * stream (nothing n-sized in memory) and gd reads into memory when the plan finds room for
 * them (else RRR_EINTERNAL, "out of memory", before reading). sums and warn as
 * rrr_fit_with. */
rrr_status rrr_fit_inputs(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, const rrr_fit_opts *o,
                          const rrr_sums *sums, int warn, rrr_model **model,
                          rrr_fit_info **info);

/* Collective. rrr_fit, with the statistics from sums (centred as rrr_fit centres) when its
 * plan solves exactly in the replicated regime: no pass over the data for them; warn as in
 * rrr_column_stats (cv, which has warned already, passes 0). */
rrr_status rrr_fit_with(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                        const rrr_fit_opts *o, const rrr_sums *sums, int warn,
                        rrr_model **model, rrr_fit_info **info);

#endif
