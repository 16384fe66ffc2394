/* src/topk.h: the top singular triplets of a whitened cross product T (p x q) by the
 * cheaper of two routes (topk.c; serial, LAPACK). Used by exact, the certificate, als's
 * certificate and cv's per-fold algebra. */
#ifndef RRR_TOPK_H
#define RRR_TOPK_H

#include <stddef.h>

#include "err.h"

/* The route: the eigenproblem of M = T^T T (q x q) or of N = T T^T (p x p); the same
 * nonzero spectrum, so the smaller one is the cheaper (plan.c decides, by shape). */
typedef enum { RRR_ROUTE_Q = 0, RRR_ROUTE_P = 1 } rrr_route;

/* Local, pure. With T = P S Q^T (SVD), the rank-k truncation T_k = A Bv^T as factors:
 *   q route:  Bv = Q_k (top-k eigenvectors of T^T T, orthonormal),  A = T Bv
 *   p route:  A = P_k (top-k eigenvectors of T T^T, orthonormal),   Bv = T^T A
 * and mu = S_k^2 (descending). No division by a singular value anywhere: when mu_k is at
 * rounding level the k-th term of A Bv^T is at rounding level too. A (p x k), Bv (q x k)
 * column-major; T is not modified. RRR_ENUMERIC if the eigensolver fails, RRR_EINTERNAL
 * when out of memory. */
rrr_status rrr_topk(rrr_route route, size_t p, size_t q, int k, const double *T, double *A,
                    double *Bv, double *mu, rrr_err *e);

/* Local, pure. The p route of rrr_topk from Tt = T^T (q x p, ld q), the same factors. */
rrr_status rrr_topk_pt(size_t p, size_t q, int k, const double *Tt, double *A, double *Bv,
                       double *mu, rrr_err *e);

/* Local. The top k eigenpairs of the symmetric n x n matrix S (upper triangle; destroyed):
 * vectors into Z (n x k, descending), values into w (k, descending). */
rrr_status rrr_top_eig(int n, int k, double *S, double *Z, double *w, rrr_err *e);

/* Local. How many of mu_1 >= ... >= mu_k are above rounding level, n eps mu_1 (n the
 * order of the eigenproblem): the numerical rank of the whitened cross product. */
int rrr_topk_rank(int k, const double *mu, size_t n);

#endif
