/* src/core.h: serial internals shared by the src modules. No MPI here: tests/unit builds these with cc. */
#ifndef RRR_CORE_H
#define RRR_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rrr_base.h"

/* Column-major element (i, j) with leading dimension ld. A row-major nloc x p block read
 * from .npy IS the column-major p x nloc matrix X^T with ld = p (STYLE.md section 5). */
#define IDX(i, j, ld) ((size_t)(j) * (size_t)(ld) + (size_t)(i))

/* ---- errors (status.c) ------------------------------------------------------------ */

#define RRR_ERRMSG 640

/* A rank's first failure: its status and a one-line message naming the file and problem. */
typedef struct {
    rrr_status st;
    char msg[RRR_ERRMSG];
} rrr_err;

/* Local. Record the first failure in e (later ones are ignored) and return st. */
rrr_status rrr_fail(rrr_err *e, rrr_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define RRR_FAIL(e, st, ...) rrr_fail((e), (st), __VA_ARGS__)

/* ---- memory (alloc.c) ------------------------------------------------------------- */

/* Local. malloc/calloc of count*size bytes (at least one byte, since a rank may own zero
 * rows), with overflow check; NULL on failure. rrr_alloc_fail_after(k) makes the k-th call
 * from now fail (k >= 1; 0 disables), so tests can exercise every failure path. */
void *rrr_malloc(size_t count, size_t size);
void *rrr_calloc(size_t count, size_t size);
void rrr_alloc_fail_after(long k);

/* ---- row partition (partition.c) -------------------------------------------------- */

/* SPEC.md: b = ceil(n/K) rows per rank; rank r owns rows [r*b, min((r+1)*b, n)). */
typedef struct {
    size_t n;    /* global rows                 */
    size_t b;    /* block size ceil(n/K)        */
    size_t r0;   /* my first global row         */
    size_t nloc; /* my rows (may be 0)          */
} rrr_part;

rrr_part rrr_partition(size_t n, int nranks, int rank);

/* ---- .npy headers (npy_header.c; the only code that knows the format) ------------- */

typedef struct {
    size_t rows, cols;  /* 2-D shape                               */
    size_t itemsize;    /* 8 for <f8, 4 for <f4                     */
    size_t data_offset; /* bytes before the first element          */
} rrr_npy_hdr;

/* Upper bound on the bytes rrr_npy_parse ever needs (magic + length + header). */
#define RRR_NPY_MAX_HEADER ((size_t)1 << 20)

/* Local, pure. Parse a .npy header from the first len bytes of a file whose total size is
 * file_size. Accepts versions 1.0/2.0/3.0, 2-D, C order, '<f8' or '<f4', and requires
 * data_offset + rows*cols*itemsize == file_size exactly. On rejection records in e a
 * message "NAME: problem" and returns RRR_EINVAL. Never reads past buf[len-1]. */
rrr_status rrr_npy_parse(const unsigned char *buf, size_t len, uint64_t file_size,
                         const char *name, rrr_npy_hdr *h, rrr_err *e);

/* Local, pure. Write a version 1.0 '<f8' C-order header for a rows x cols array into buf
 * (cap bytes); returns its length (a multiple of 64), or 0 if cap is too small. */
size_t rrr_npy_format(char *buf, size_t cap, size_t rows, size_t cols);

/* ---- counter-based normal generator (rng.c) --------------------------------------- */

/* Standard normal deviate that depends only on (seed, stream, i, j): the same on every
 * rank and for any number of ranks. */
double rrr_rng_normal(uint64_t seed, uint64_t stream, uint64_t i, uint64_t j);

/* ---- tiny JSON writer (json.c) ---------------------------------------------------- */

typedef struct {
    FILE *f;
    int depth;
    int first; /* no comma needed before the next member */
} rrr_json;

void rrr_json_begin(rrr_json *j, FILE *f);              /* "{"            */
void rrr_json_end(rrr_json *j);                         /* "}\n"          */
void rrr_json_num(rrr_json *j, const char *key, double v); /* 17 sig. digits; null if non-finite */
void rrr_json_int(rrr_json *j, const char *key, long long v);
void rrr_json_bool(rrr_json *j, const char *key, int v);
void rrr_json_str(rrr_json *j, const char *key, const char *v);
void rrr_json_nums(rrr_json *j, const char *key, const double *v, size_t n);
void rrr_json_obj_begin(rrr_json *j, const char *key);  /* nested object  */
void rrr_json_obj_end(rrr_json *j);

/* ---- the problem the solvers see (fit.c fills it; serial kernels read it) ------------------------------------------ */

/* My rows and the global facts. With an intercept, xm/ym hold the column means and the
 * solvers work on X - 1 xm^T, Y - 1 ym^T without forming them. */
typedef struct {
    size_t n, p, q, nloc;
    int d;
    double lambda;
    const double *Xt; /* p x nloc, column-major (= my rows of X, row-major); borrowed */
    const double *Yt; /* q x nloc, column-major; borrowed                            */
    const double *xm; /* p column means or NULL                                      */
    const double *ym; /* q column means or NULL                                      */
    double yy;        /* ||Y - 1 ym^T||_F^2 over all rows (global)                   */
} rrr_problem;

/* ---- local passes over my rows (kernels.c): the hot loops, BLAS-3 on row panels ---- */

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

/* Local. C (p x q) = Xc^T Yc over my rows, in row panels (centred by copying each panel
 * when pb->xm is set). */
void rrr_cross(const rrr_problem *pb, double *C, double *work);

/* Doubles of workspace the passes need. */
size_t rrr_pass_work(const rrr_problem *pb);

/* ---- small dense algebra, replicated (linalg.c) ----------------------------------- */

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

#endif
