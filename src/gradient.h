/* src/gradient.h: the gradient from a pass's sums, and the direct evaluation (gradient.c). */
#ifndef RRR_GRADIENT_H
#define RRR_GRADIENT_H

#include "comm.h"
#include "problem.h"

/* Local. From the allreduced sums of rrr_pass_g at (U, V): U^T U, V^T V (d x d), f, and
 * the gradients gU (p x d), gV (q x d) (either may be NULL). */
void rrr_gradients(const rrr_problem *pb, const double *U, const double *V, const double *sums,
                   double *UtU, double *VtV, double *f, double *gU, double *gV);

/* Collective. f(U, V) from the residual itself (no cancellation-prone identities), and
 * the gradients gU (p x d), gV (q x d) if non-NULL. One pass over my rows, one allreduce. */
rrr_status rrr_evaluate(rrr_ctx *ctx, const rrr_problem *pb, const double *U, const double *V,
                        double *f, double *gU, double *gV);

#endif
