/* src/linalg.h: the column-major convention and the small replicated dense algebra on
 * d x d and (p|q) x d matrices (linalg.c; serial). */
#ifndef RRR_LINALG_H
#define RRR_LINALG_H

#include <stddef.h>

#include "err.h"

/* Column-major element (i, j) with leading dimension ld. A row-major nloc x p block read
 * from .npy IS the column-major p x nloc matrix X^T with ld = p. */
#define IDX(i, j, ld) ((size_t)(j) * (size_t)(ld) + (size_t)(i))

/* Local. B (m x d, ld m) <- B H^+ for symmetric positive semidefinite H (d x d): Cholesky,
 * or an eigen pseudo-inverse when H is singular to working precision. */
rrr_status rrr_solve_right_psd(int d, const double *H, size_t m, double *B, rrr_err *e);

/* Local. Canonical factors: V orthonormal, U's columns orthogonal with non-increasing
 * norms (then U V^T is the rank-d SVD with U carrying the singular values), each V
 * column's largest-magnitude entry positive. U V^T is unchanged. */
rrr_status rrr_canonicalize(size_t p, size_t q, int d, double *U, double *V, rrr_err *e);

/* Local. The gauge that balances the factors without changing U V^T: S symmetric positive
 * definite (and Sinv = S^-1, both d x d outputs) such that U S and V S^-1 have equal Gram
 * matrices; the caller applies it. *balanced = 0 when either factor is rank-deficient.
 * Only O(d^2) workspace. RRR_EINTERNAL only when out of memory. */
rrr_status rrr_balance(size_t p, size_t q, int d, const double *U, const double *V, double *S,
                       double *Sinv, int *balanced, rrr_err *e);

/* Local. Orthonormalize the columns of V (q x d) in place (QR). */
rrr_status rrr_orthonormalize(size_t q, int d, double *V, rrr_err *e);

/* Local. S = B^T B (d x d, both triangles) for B (m x d). */
void rrr_gram_dd(size_t m, int d, const double *B, double *S);

/* Local. <A, B> = sum of a_k b_k over n entries (tr(A^T B) for matrices). */
double rrr_dot(size_t n, const double *a, const double *b);

/* Local. B (n x m, ld n) = A^T for A (m x n, ld m), column-major; A and B distinct. */
void rrr_transpose(size_t m, size_t n, const double *restrict A, double *restrict B);

/* Local. ||(a, b)||_2 of two vectors (n1 and n2 entries, b may be empty), scaled by the
 * largest entry so that neither underflow nor overflow loses it (data at 1e-150 or 1e150
 * have gradients whose squares leave double's range). NaN if an entry is not finite. */
double rrr_norm2(size_t n1, const double *a, size_t n2, const double *b);

/* Local. Reverse the column order of an m x k matrix (ascending -> descending). */
void rrr_reverse_columns(size_t m, int k, double *A);

/* Local. The condition of R D^{-1} (LAPACK dtrcon's 1-norm estimate), R the p x p upper
 * Cholesky factor of some G + lambda I (ld p; overwritten by R D^{-1}), D its column norms:
 * the condition that scaling X's columns cannot hide. HUGE_VAL when R D^{-1} is singular,
 * 0 without memory for the estimate (no verdict). */
double rrr_scaled_condition(size_t p, double *R);

#endif
