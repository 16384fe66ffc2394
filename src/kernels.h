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

/* The fused Gram pass's panel shape (rows per panel x doubles per chunk) is a speed knob
 * only: its results are the same, bitwise, for every shape. Which shape is fastest depends
 * on the CPU (measured at the tall bench shape, 2 ranks: 16 x 256 on a 2-core Intel Xeon,
 * 48 x 512 on a 2-core AMD EPYC, ~15 % apart either way), so a caller that makes many
 * passes of one shape lets it measure: with a tuner, the first calls each time one
 * candidate shape and the later ones use the fastest (FFTW's MEASURE, on the real
 * data; each shape is timed RRR_GRAM_ROUNDS times, round by round, and its fastest call
 * counts, since one call can be slowed by the machine's other work). Start from a zeroed
 * tuner; each belongs to one caller (gd's workspace). Local. */
enum { RRR_GRAM_SHAPES = 6, RRR_GRAM_ROUNDS = 2 };
typedef struct {
    int tried;                      /* timed calls so far (of RRR_GRAM_ROUNDS per shape) */
    int best;                       /* index of the fastest shape                        */
    double seconds[RRR_GRAM_SHAPES]; /* each shape's fastest call                        */
} rrr_gram_tuner;
void rrr_pass_gram_tuned(const rrr_problem *pb, const double *M, double *out, double *work,
                         rrr_gram_tuner *t);
/* The shape a tuner uses from now on (rows, doubles per chunk); before it has measured all
 * candidates, the one it times next. */
void rrr_gram_tuner_shape(const rrr_gram_tuner *t, int *nb, size_t *kc);
/* Local. The shape of the last tuned pass in this process (for the report); 0 if the
 * last pass was not tuned (BLAS kernel, or a shape set by RRR_NB or the knobs). */
void rrr_gram_tuned_last(int *nb, size_t *kc);

/* The same for M of any width k >= 1 (p x k, ld p; out p x k): the preconditioner's sketch
 * Xc^T Xc Omega (precond.c). work: rrr_pass_gram_work(pb, k) doubles; rrr_pass_work(pb)
 * covers k = d. */
void rrr_pass_gram_k(const rrr_problem *pb, const double *M, int k, double *out, double *work);
size_t rrr_pass_gram_work(const rrr_problem *pb, int k);

/* Local. C (p x q) = Xc^T Yc over my rows, in row panels (centred by copying each panel
 * when pb->xm is set). */
void rrr_cross(const rrr_problem *pb, double *C, double *work);

/* Local. For the columns [j0, j1) of C (p x q): rows j0..j1-1 of CtU (q x d) = C^T U (its
 * other rows untouched) and CV (p x d) = C[:, j0:j1] V[j0:j1, :]; U (p x d), V (q x d),
 * all column-major; either output may be NULL. [0, q) gives C^T U and C V; a rank's share
 * [j0, j1) gives its part of both (gd's cross form sums the parts in its allreduce). With
 * the fused kernel one sweep over the columns gives both (each column panel of C serves
 * C^T U and C V while in cache); else two GEMMs. work: rrr_cross_products_work(p, q, d)
 * doubles (rrr_pass_work covers it for pb's). */
void rrr_cross_products(size_t p, size_t q, size_t j0, size_t j1, int d, const double *C,
                        const double *U, const double *V, double *CtU, double *CV, double *work);
size_t rrr_cross_products_work(size_t p, size_t q, int d);

/* Doubles of workspace the passes need. */
size_t rrr_pass_work(const rrr_problem *pb);

/* ---- the fused kernel ------------------------------------------------------------- */

/* Which code runs the Gram pass and rrr_cross_products: OpenBLAS calls on row panels, or
 * the fused sweep below in AVX2 or AVX-512 intrinsics. The default (rrr_kernel_default)
 * is a measured rule: the AVX-512 sweep where the CPU has AVX-512F, else BLAS (the AVX2
 * sweep measured slower than BLAS); RRR_KERNEL=blas|avx2|avx512|auto in the environment
 * overrides it (a kernel the CPU lacks falls back to the next narrower one). */
typedef enum { RRR_KERNEL_BLAS = 0, RRR_KERNEL_AVX2 = 1, RRR_KERNEL_AVX512 = 2 } rrr_kernel;

/* Local. The kernel used when RRR_KERNEL is unset or auto. */
rrr_kernel rrr_kernel_default(void);
/* Local. The kernel in use (chosen once, at the first call). */
rrr_kernel rrr_kernel_get(void);
/* Local. Use kernel k from now on (clamped to what the CPU supports); returns the one set.
 * For tests and the probe. */
rrr_kernel rrr_kernel_set(rrr_kernel k);
/* Local. 1 when this CPU (and this build) can run k. */
int rrr_kernel_supported(rrr_kernel k);
/* "blas", "avx2", "avx512" */
const char *rrr_kernel_name(rrr_kernel k);
/* Local. Rows per panel of the Gram pass with kernel kn at p columns and width k (RRR_NB
 * overrides); the fused kernel's results do not depend on it. */
int rrr_pass_gram_rows(rrr_kernel kn, size_t p, int k);

/* Local. Measurement knobs of the fused Gram pass (the probe's tuning runs): rows per
 * panel, doubles per chunk, prefetch (-1 off, 0 one chunk ahead, 1 the chunk phase 1 reads right after).
 * Zero fields keep the defaults; results do not depend on any of them. */
typedef struct {
    int nb;
    size_t kc;
    int prefetch;
} rrr_gram_knobs;
void rrr_gram_knobs_set(const rrr_gram_knobs *k);

/* One sweep over i in [0, p) of the fused kernel (kernel_avx512.c, kernel_avx2.c):
 *   phase 1 (m1 > 0):  A1[r, j] = sum_i X1[i, r] M[i, j]       A1 = X1^T M  (m1 x k)
 *   phase 2 (m2 > 0):  out[i, j] += sum_r X2[i, r] B2[r, j]     out += X2 B2 (p x k)
 * X1, X2: p x m1, p x m2 column-major (ld >= p), i.e. m rows of a row-major matrix; M, out:
 * p x k column-major; A1[r ars + j acs], B2[r brs + j] (rows of B2 contiguous). Both phases walk i in chunks of
 * kc doubles (0: 256): in the Gram pass phase 1 streams the next row panel in from memory
 * while phase 2 works on the current one from cache; for C^T U and C V both phases read the
 * same columns, once. While phase 2 works on a chunk it prefetches into L2 what phase 1
 * reads one chunk later: X1's next chunk, or in the last chunk the next sweep's rows Xn.
 * part: m1 k 8 doubles of partial sums. Local. */
typedef struct {
    size_t p, kc;
    int k;
    const double *M;
    size_t ldm;
    double *out;
    size_t ldo;
    const double *X1;
    size_t ldx1;
    int m1;
    double *A1;
    size_t ars, acs;
    const double *X2;
    size_t ldx2;
    int m2;
    const double *B2;
    size_t brs;
    const double *Xn; /* NULL, or the rows phase 1 reads in the next sweep (p x mn, ld ldxn) */
    size_t ldxn;
    int mn;
    int pf_same, pf_off; /* measurement knobs: prefetch the chunk phase 1 reads right after, or none */
    double *part;
} rrr_sweep;
void rrr_sweep_avx512(const rrr_sweep *s);
void rrr_sweep_avx2(const rrr_sweep *s);
int rrr_sweep_avx512_built(void);
int rrr_sweep_avx2_built(void);

#endif
