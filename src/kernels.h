/* src/kernels.h: the local passes over my rows that gd makes (kernels.c): the hot loops,
 * BLAS-3 on row panels (serial). */
#ifndef RRR_KERNELS_H
#define RRR_KERNELS_H

#include <stddef.h>

#include "problem.h"

/* Pass G at (U, V). For my rows computes A = Xc U (stored in At, d x nloc, ld d) and, with
 * R = A V^T - Yc, accumulates into out (zeroed first):
 *   out[0 .. pd)            X_c^T (R V)        (p x d)   -> grad_U data part / 2
 *   out[pd .. pd+qd)        Y_c^T A            (q x d)
 *   out[pd+qd .. +d*d)      A^T A              (d x d)
 *   out[pd+qd+d*d]          ||R||_F^2
 * Xc, Yc are X, Y centred by pb->xm, pb->ym when given. Local; work from rrr_pass_work. */
size_t rrr_pass_g_len(const rrr_problem *pb);
void rrr_pass_g(const rrr_problem *pb, const double *U, const double *V, double *At,
                double *out, double *work);

/* Pass B along a direction D (p x d) with A from pass G: E = Xc D, accumulates into out:
 *   out[0 .. d*d)           E^T E     out[d*d .. 2d*d)   A^T E     out[2d*d .. +qd)  Y_c^T E */
size_t rrr_pass_b_len(const rrr_problem *pb);
void rrr_pass_b(const rrr_problem *pb, const double *D, const double *At, double *out,
                double *work);

/* The Gram pass of the cross-product form (Y is not read): out (p x d, zeroed first) =
 * Xc^T Xc M over my rows, with E = Xc M formed one panel at a time (nothing n-sized). */
void rrr_pass_gram(const rrr_problem *pb, const double *M, double *out, double *work);

/* The same for M of any width k >= 1 (p x k, ld p; out p x k): the preconditioner's sketch
 * Xc^T Xc Omega (precond.c). work: rrr_pass_gram_work(pb, k) doubles; rrr_pass_work(pb)
 * covers k = d. */
void rrr_pass_gram_k(const rrr_problem *pb, const double *M, int k, double *out, double *work);
size_t rrr_pass_gram_work(const rrr_problem *pb, int k);

/* Local. C (p x q) = Xc^T Yc over my rows, in row panels (centred by copying each panel
 * when pb->xm is set). */
void rrr_cross(const rrr_problem *pb, double *C, double *work);

/* Doubles of workspace the passes need. */
size_t rrr_pass_work(const rrr_problem *pb);

#endif
