/* src/cv_solve.c: the per-fold algebra of `rrr cv`: every (lambda, rank) of one fold from
 * its statistics, with no pass over the data.
 *
 * Training set -k: G = Q Lambda Q^T (one eigendecomposition, O(p^3)) and C~ = Q^T C (2p^2 q).
 * For each lambda, with s = (Lambda + lambda)^{-1/2}: G + lambda I = R^T R for R = diag(1/s) Q^T,
 * so T = R^{-T} C = diag(s) C~ is a diagonal rescaling, and the rank-d optimum is
 * B_d = R^{-1} T_d = Q diag(s) A_d Bv_d^T with T_D = A Bv^T the top-D factors (topk.c; the
 * truncations are nested, so one eigenproblem of order m = min(p, q) serves every d <= D).
 * Fold k's error follows from its own sums (G_k, C_k, yy_k, shifted to the training
 * means with an intercept): with U = Q diag(s) A, V = Bv,
 *   SSE_k(d) = yy_k - 2 sum_{i<=d} U_i^T C_k V_i + sum_{i,j<=d} (U^T G_k U)_ij (V^T V)_ij.
 *
 * The p x p route (p <= q: many outputs) never touches a p x q matrix inside the lambda
 * loop: T T^T = diag(s) M diag(s) with M = C~ C~^T, and with A the top eigenvectors of it
 * (V = T^T A is never formed) the error needs only C_k V = N diag(s) A (N = C_k C~^T) and
 * V^T V = (diag(s) A)^T M (diag(s) A). M and N cost 3 p^2 q once per fold; each lambda
 * then costs p^2 + 9 p^3 (the eigenproblem, counted generously) + 8 p^2 D + 4 p D^2, where
 * going through T cost p q m + 4pqD more (the many-outputs bench shape, p = 200,
 * q = 20000, 5 folds x 20 lambdas, 2 ranks: 67.5 -> 16.7 GFLOP per rank). The q x q route
 * keeps T: pq + p q m + 9 m^3 + 2pqD + 4 p^2 D + 2pqD + 2(p + q) D^2 per lambda. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cv.h"
#include "gram.h"
#include "lapack.h"
#include "linalg.h"

/* Every buffer of one fold's algebra. */
typedef struct {
    double *Q, *lam, *Ct, *T, *Gv, *Cv, *A, *Bv, *U, *E, *F, *H, *S, *mu, *s, *dx, *dy;
    double *M, *N, *K; /* the p x p route: C~ C~^T, C_k C~^T, diag(s) M diag(s)        */
    double yyv;
    int graded; /* the training G's eigenpairs from eig_graded (positive definite) */
} fold_ws;

static void ws_free(fold_ws *w)
{
    double *all[] = { w->Q, w->lam, w->Ct, w->T, w->Gv, w->Cv, w->A, w->Bv, w->U, w->E, w->F,
                      w->H, w->S, w->mu, w->s, w->dx, w->dy, w->M, w->N, w->K };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
}

static rrr_status ws_alloc(rrr_err *e, rrr_route route, size_t p, size_t q, size_t D,
                           fold_ws *w)
{
    const int pr = route == RRR_ROUTE_P;
    memset(w, 0, sizeof *w);
    w->Q = rrr_malloc(p * p, sizeof(double));
    w->Gv = rrr_malloc(p * p, sizeof(double));
    w->Ct = rrr_malloc(p * q, sizeof(double));
    w->T = rrr_malloc(p * q, sizeof(double)); /* T; the p route: C~ = Q^T C first */
    if (pr) {
        w->M = rrr_malloc(p * p, sizeof(double));
        w->N = rrr_malloc(p * p, sizeof(double));
        w->K = rrr_malloc(p * p, sizeof(double));
    }
    w->Cv = rrr_malloc(p * q, sizeof(double));
    w->A = rrr_malloc(p * D, sizeof(double));
    w->U = rrr_malloc(p * D, sizeof(double));
    w->E = rrr_malloc(p * D, sizeof(double));
    w->F = rrr_malloc(p * D, sizeof(double));
    w->Bv = rrr_malloc(q * D, sizeof(double));
    w->H = rrr_malloc(D * D, sizeof(double));
    w->S = rrr_malloc(D * D, sizeof(double));
    w->mu = rrr_malloc(D, sizeof(double));
    w->lam = rrr_malloc(p, sizeof(double));
    w->s = rrr_malloc(p, sizeof(double));
    w->dx = rrr_calloc(p, sizeof(double));
    w->dy = rrr_calloc(q, sizeof(double));
    if (!w->Q || !w->Gv || !w->Ct || !w->T || !w->Cv || !w->A || !w->U || !w->E || !w->F ||
        !w->Bv || !w->H || !w->S || !w->mu || !w->lam || !w->s || !w->dx || !w->dy ||
        (pr && (!w->M || !w->N || !w->K)))
        return RRR_FAIL(e, RRR_EINTERNAL, "cv: out of memory for a fold's algebra (p = %zu, "
                        "q = %zu)", p, q);
    return RRR_OK;
}

/* Local. Training statistics of fold k into Q (G, upper) and Ct (C), and the validation
 * sums Gv, Cv, yyv, all shifted to the training set's means with an intercept: with the
 * sums taken about the global means, the training mean is the global one plus
 * dx = sx_-k / n_-k, and shifting costs rank-one updates of small vectors only. */
static void training_and_validation(const rrr_cv_run *cv, const rrr_cv_fold *f,
                                    const rrr_cv_fold *tot, fold_ws *w)
{
    const size_t p = cv->pb->p, q = cv->pb->q;
    const int pi = (int)p, qi = (int)q;
    const double nk = *f->n, nt = *tot->n - nk;
    for (size_t k = 0; k < p * p; k++)
        w->Q[k] = tot->G[k] - f->G[k];
    for (size_t k = 0; k < p * q; k++)
        w->Ct[k] = tot->C[k] - f->C[k];
    memcpy(w->Gv, f->G, p * p * sizeof(double));
    memcpy(w->Cv, f->C, p * q * sizeof(double));
    w->yyv = *f->yy;
    if (cv->pb->xm == NULL)
        return;
    rrr_cv_shift(p, q, tot->sx, f->sx, tot->sy, f->sy, nt, w->dx, w->dy);
    /* training: sum over -k of (x - dx)(x - dx)^T = G_-k - n_-k dx dx^T (as sx_-k = n_-k dx) */
    cblas_dsyr(CblasColMajor, CblasUpper, pi, -nt, w->dx, 1, w->Q, pi);
    cblas_dger(CblasColMajor, pi, qi, -nt, w->dx, 1, w->dy, 1, w->Ct, pi);
    /* validation: sum over k of (x - dx)(x - dx)^T, (x - dx)(y - dy)^T, ||y - dy||^2 */
    cblas_dsyr2(CblasColMajor, CblasUpper, pi, -1.0, f->sx, 1, w->dx, 1, w->Gv, pi);
    cblas_dsyr(CblasColMajor, CblasUpper, pi, nk, w->dx, 1, w->Gv, pi);
    cblas_dger(CblasColMajor, pi, qi, -1.0, f->sx, 1, w->dy, 1, w->Cv, pi);
    cblas_dger(CblasColMajor, pi, qi, -1.0, w->dx, 1, f->sy, 1, w->Cv, pi);
    cblas_dger(CblasColMajor, pi, qi, nk, w->dx, 1, w->dy, 1, w->Cv, pi);
    w->yyv += rrr_cv_yy_shift(q, w->dy, f->sy, nk);
}

void rrr_cv_shift(size_t p, size_t q, const double *tsx, const double *fsx, const double *tsy,
                  const double *fsy, double nt, double *dx, double *dy)
{
    for (size_t j = 0; j < p; j++)
        dx[j] = (tsx[j] - fsx[j]) / nt;
    for (size_t j = 0; j < q; j++)
        dy[j] = (tsy[j] - fsy[j]) / nt;
}

double rrr_cv_yy_shift(size_t q, const double *dy, const double *fsy, double nk)
{
    return -2.0 * rrr_dot(q, dy, fsy) + nk * rrr_dot(q, dy, dy);
}

/* Local. G = Q diag(lam) Q^T (ascending) from the SVD of G's Cholesky factor R by one-sided
 * Jacobi (dgesvj), whose singular values and vectors keep their relative accuracy when R
 * is badly scaled but R D^{-1} is not (columns of X in different units): dsyevd's
 * eigenvalues of G itself are accurate only to eps lam_max, so a column 1e8 smaller than
 * another was lost. 0 when G is not positive definite to working precision by the scaled
 * pivot test (then dsyevd's stand). G: p x p (upper); Q and lam written on success only. */
static int eig_graded(size_t p, const double *G, fold_ws *w)
{
    const int n = (int)p, lwork = n > 3 ? 2 * n : 6;
    double *R = rrr_malloc(2 * p * p + p + (size_t)lwork, sizeof *R);
    int info = 0;
    if (R == NULL)
        return 0;
    double *V = R + p * p, *sva = V + p * p, *work = sva + p;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            R[i + j * p] = i <= j ? G[i + j * p] : 0;
    dpotrf_("U", &n, R, &n, &info, 1);
    for (size_t i = 0; info == 0 && i < p; i++) /* the scaled pivots (stats.c's test) */
        if (!(R[i + i * p] * R[i + i * p] > (double)p * DBL_EPSILON * G[i + i * p]))
            info = 1;
    if (info == 0) {
        int mv = 0;
        work[0] = 1; /* no user-given precision */
        dgesvj_("U", "N", "V", &n, &n, R, &n, sva, &mv, V, &n, work, &lwork, &info, 1, 1, 1);
    }
    for (size_t i = 1; info == 0 && i < p; i++) /* descending, as dgesvj sorts them */
        if (!(sva[i] <= sva[i - 1]))
            info = 1;
    if (info == 0) { /* sigma = work[0] sva; lam = sigma^2 ascending, Q = V reversed */
        const double scale = work[0];
        for (size_t j = 0; j < p; j++) {
            w->lam[j] = scale * sva[p - 1 - j] * scale * sva[p - 1 - j];
            memcpy(w->Q + j * p, V + (p - 1 - j) * p, p * sizeof *V);
        }
    }
    free(R);
    return info == 0;
}

/* Local. The training G_-k (in Q, upper) = Q diag(lam) Q^T in place, lam ascending and
 * clamped at 0 (rounding): dsyevd, whose small eigenvalues are accurate only to
 * eps lam_max; when they are below GRADED_SPREAD lam_max (columns in different units, or
 * nearly collinear), one-sided Jacobi on the Cholesky factor instead (eig_graded), which
 * is slower but keeps them. */
#define GRADED_SPREAD 1e-8
static rrr_status eig_training(size_t p, fold_ws *w, rrr_err *e)
{
    int n = (int)p, info = 0, lwork = -1, liwork = -1, iwq = 0;
    double wq = 0, *G = rrr_malloc(p * p, sizeof *G);
    if (G == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "cv: out of memory (%zu x %zu)", p, p);
    memcpy(G, w->Q, p * p * sizeof *G);
    w->graded = 0;
    dsyevd_("V", "U", &n, w->Q, &n, w->lam, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    lwork = (int)wq;
    liwork = iwq;
    double *work = rrr_malloc((size_t)lwork, sizeof *work);
    int *iwork = rrr_malloc((size_t)liwork, sizeof *iwork);
    rrr_status st = RRR_OK;
    if (info != 0 || work == NULL || iwork == NULL)
        st = RRR_FAIL(e, RRR_EINTERNAL, "cv: dsyevd workspace (info=%d)", info);
    else
        dsyevd_("V", "U", &n, w->Q, &n, w->lam, work, &lwork, iwork, &liwork, &info, 1, 1);
    if (st == RRR_OK && info != 0)
        st = RRR_FAIL(e, RRR_ENUMERIC, "cv: dsyevd failed (info=%d)", info);
    if (st == RRR_OK && !(w->lam[0] > GRADED_SPREAD * w->lam[p - 1]))
        w->graded = eig_graded(p, G, w);
    for (size_t i = 0; st == RRR_OK && i < p; i++)
        if (w->lam[i] < 0)
            w->lam[i] = 0;
    free(G);
    free(work);
    free(iwork);
    return st;
}

void rrr_cv_sse_ranks(const rrr_cv_run *cv, const double *U, const double *E, const double *F,
                      const double *V, double yyv, double *H, double *S, double *out, int stride)
{
    const int p = (int)cv->pb->p, q = (int)cv->pb->q, D = cv->D;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, D, D, p, 1.0, U, p, F, p, 0.0, H, D);
    if (V != NULL)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, D, D, q, 1.0, V, q, V, q, 0.0, S,
                    D);
    double lin = 0.0, quad = 0.0;
    int r = 0;
    for (int d = 1; d <= D && r < cv->o->nranks; d++) {
        const int i = d - 1;
        lin += rrr_dot((size_t)p, U + (size_t)i * p, E + (size_t)i * p);
        double cross = 0.0;
        for (int j = 0; j < i; j++)
            cross += H[IDX(i, j, D)] * S[IDX(i, j, D)];
        quad += H[IDX(i, i, D)] * S[IDX(i, i, D)] + 2.0 * cross;
        if (cv->o->ranks[r] == d) {
            const size_t at = (size_t)r++ * (size_t)stride;
            out[at] = yyv - 2.0 * lin + quad;
            cv->sse_mag[(size_t)(out - cv->sse) + at] = yyv + 2.0 * fabs(lin) + fabs(quad);
        }
    }
}

/* Local. SSE_k at every candidate rank for one lambda, from U, V (p x D, q x D). */
static void errors(const rrr_cv_run *cv, fold_ws *w, double *out, int stride)
{
    const int p = (int)cv->pb->p, q = (int)cv->pb->q, D = cv->D;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, D, q, 1.0, w->Cv, p, w->Bv, q, 0.0,
                w->E, p); /* E = C_k V */
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, p, D, 1.0, w->Gv, p, w->U, p, 0.0, w->F, p);
    rrr_cv_sse_ranks(cv, w->U, w->E, w->F, w->Bv, w->yyv, w->H, w->S, out, stride);
}

/* Local. One lambda: T = diag(s) C~, its top-D factors, U = Q diag(s) A, the errors. */
static rrr_status one_lambda(rrr_cv_run *cv, fold_ws *w, double lambda, double *out, int stride,
                             rrr_err *e)
{
    const size_t p = cv->pb->p, q = cv->pb->q;
    const int D = cv->D;
    for (size_t i = 0; i < p; i++)
        w->s[i] = 1.0 / sqrt(w->lam[i] + lambda);
    for (size_t j = 0; j < q; j++)
        for (size_t i = 0; i < p; i++)
            w->T[IDX(i, j, p)] = w->s[i] * w->Ct[IDX(i, j, p)];
    rrr_status st = rrr_topk(cv->route, p, q, D, w->T, w->A, w->Bv, w->mu, e);
    if (st != RRR_OK)
        return st;
    for (int c = 0; c < D; c++)
        for (size_t i = 0; i < p; i++)
            w->A[IDX(i, c, p)] *= w->s[i];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)p, D, (int)p, 1.0, w->Q, (int)p,
                w->A, (int)p, 0.0, w->U, (int)p);
    errors(cv, w, out, stride);
    return RRR_OK;
}

/* Local. One lambda by the p x p route: K = diag(s) M diag(s) = T T^T, its top-D
 * eigenvectors A (V = T^T A is never formed), U = Q diag(s) A, and the errors from
 * C_k V = N diag(s) A and V^T V = (diag(s) A)^T M (diag(s) A). */
static rrr_status one_lambda_p(rrr_cv_run *cv, fold_ws *w, double lambda, double *out,
                               int stride, rrr_err *e)
{
    const size_t p = cv->pb->p;
    const int pi = (int)p, D = cv->D;
    for (size_t i = 0; i < p; i++)
        w->s[i] = 1.0 / sqrt(w->lam[i] + lambda);
    for (size_t j = 0; j < p; j++) /* the upper triangle */
        for (size_t i = 0; i <= j; i++)
            w->K[IDX(i, j, p)] = w->s[i] * w->M[IDX(i, j, p)] * w->s[j];
    rrr_status st = rrr_top_eig(pi, D, w->K, w->A, w->mu, e);
    if (st != RRR_OK)
        return st;
    for (int c = 0; c < D; c++)
        for (size_t i = 0; i < p; i++)
            w->A[IDX(i, c, p)] *= w->s[i];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, D, pi, 1.0, w->Q, pi, w->A, pi,
                0.0, w->U, pi);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, D, pi, 1.0, w->N, pi, w->A, pi,
                0.0, w->E, pi); /* E = C_k V */
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, pi, D, 1.0, w->M, pi, w->A, pi, 0.0,
                w->F, pi); /* F = M diag(s) A, for V^T V */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, D, D, pi, 1.0, w->A, pi, w->F, pi, 0.0,
                w->S, D);
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, pi, D, 1.0, w->Gv, pi, w->U, pi, 0.0,
                w->F, pi); /* F = G_k U */
    rrr_cv_sse_ranks(cv, w->U, w->E, w->F, NULL, w->yyv, w->H, w->S, out, stride);
    return RRR_OK;
}

/* Local. The p x p route's per-fold products of C~ (in Ct): M = C~ C~^T (upper) and
 * N = C_k C~^T. */
static void route_p_products(size_t p, size_t q, fold_ws *w)
{
    const int pi = (int)p, qi = (int)q;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, pi, qi, 1.0, w->Ct, pi, 0.0, w->M, pi);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, pi, qi, 1.0, w->Cv, pi, w->Ct, pi,
                0.0, w->N, pi);
}

/* Local. Directions in which the training rows are null to working precision (p > the
 * training rows, or collinear columns: lam_i <= p eps lam_max, the accuracy of dsyevd's
 * eigenvalues): C~ = Q^T C is 0 there in exact arithmetic (C = X^T Y lies in the row space
 * of X) and rounding in floating point, which s = (lam_i + lambda)^{-1/2} would amplify by
 * 1/lambda into B and the held-out rows' errors (cv_mse off by 0.4 at lambda = 1e-10 with
 * p = 300 > 160 training rows), so it is set to 0. Jacobi's eigenpairs (w->graded) are
 * of a positive definite G: none. */
double rrr_cv_null_level(size_t p, const double *lam)
{
    return (double)p * DBL_EPSILON * lam[p - 1];
}

static void null_directions(size_t p, size_t q, fold_ws *w)
{
    const double tol = rrr_cv_null_level(p, w->lam);
    for (size_t i = 0; !w->graded && i < p && w->lam[i] <= tol; i++) /* lam ascending */
        for (size_t j = 0; j < q; j++)
            w->Ct[IDX(i, j, p)] = 0.0;
}

/* Local. lambda 0 needs every column of X alive on the training rows: a column zero there
 * (constant, once --intercept centres it) leaves a training G_ii that is only the rounding
 * of its cancellation, ~eps times that column's sum of squares over all rows (tot, about
 * the shift), which the Cholesky pivot test, relative to G_ii itself, may pass or not
 * depending on the rank count's rounding. Judged against the sum it cancelled, it is zero
 * alike at every rank count. */
static rrr_status zero_training_column(size_t p, int k, int centred, const double *Gtot,
                                       const fold_ws *w, rrr_err *e)
{
    for (size_t i = 0; i < p; i++)
        if (!(w->Q[IDX(i, i, p)] > 64 * DBL_EPSILON * Gtot[IDX(i, i, p)]))
            return RRR_FAIL(e, RRR_ENUMERIC, "cv: column %zu (0-based) of X is %s on the "
                            "training rows of fold %d, so X^T X is singular there: lambda 0 "
                            "needs it positive definite; use lambdas > 0, or drop the column",
                            i, centred ? "constant" : "zero", k);
    return RRR_OK;
}

/* Local. rrr_scaled_condition of the Cholesky factor of the training G + lambda I (upper,
 * in w->Q): the quantity fit's statistics judge before their QR pass (RRR_QR_COND).
 * HUGE_VAL when the factorisation fails, 0 without memory (no verdict). */
static double scaled_condition(size_t p, const double *G, double lambda)
{
    const int n = (int)p;
    double *R = rrr_malloc(p * p, sizeof *R);
    int info = 0;
    if (R == NULL)
        return 0;
    memcpy(R, G, p * p * sizeof *R);
    for (size_t j = 0; j < p; j++)
        R[IDX(j, j, p)] += lambda;
    dpotrf_("U", &n, R, &n, &info, 1);
    double cond = info == 0 ? rrr_scaled_condition(p, R) : HUGE_VAL;
    free(R);
    return cond;
}

double rrr_cv_flops(size_t pz, size_t qz, int D, int nl, int via_m)
{
    double p = (double)pz, q = (double)qz, m = p < q ? p : q, d = D;
    if (via_m)
        return 9 * p * p * p + 5 * p * p * q +
               nl * (p * p + 9 * p * p * p + 8 * p * p * d + 4 * p * d * d);
    double per_lambda = p * q + p * q * m + 9 * m * m * m + 2 * p * q * d + 4 * p * p * d +
                        2 * p * q * d + 2 * (p + q) * d * d;
    return 9 * p * p * p + 2 * p * p * q + nl * per_lambda;
}

rrr_status rrr_cv_fold_sse(rrr_cv_run *cv, int k, int l0, int step)
{
    const rrr_problem *pb = cv->pb;
    const size_t p = pb->p, q = pb->q, flen = rrr_cv_flen(p, q);
    rrr_err *e = &cv->ctx->err;
    rrr_cv_fold f = rrr_cv_fold_at(cv->stats + (size_t)(k - cv->k0) * flen, p, q);
    rrr_cv_fold tot = rrr_cv_fold_at(cv->stats + (size_t)cv->group * flen, p, q);
    const double nt = *tot.n - *f.n;
    const int nl = cv->o->nlambdas, nr = cv->o->nranks;
    fold_ws w;
    rrr_status st = ws_alloc(e, cv->route, p, q, (size_t)cv->D, &w);
    const int centred = cv->pb->xm != NULL; /* centring takes one degree of freedom */
    if (st == RRR_OK && cv->o->lambdas[0] == 0 && nt < (double)(p + (size_t)centred))
        st = RRR_FAIL(e, RRR_EINVAL, "cv: lambda 0 with a training set of %.0f rows, fewer than "
                      "p%s = %zu (fold %d held out): X^T X is singular there; use lambdas > 0",
                      nt, centred ? " + 1 (--intercept)" : "", p + (size_t)centred, k);
    if (st == RRR_OK)
        training_and_validation(cv, &f, &tot, &w);
    if (st == RRR_OK && cv->o->lambdas[0] == 0)
        st = zero_training_column(p, k, centred, tot.G, &w, e);
    if (st == RRR_OK) {
        double c = scaled_condition(p, w.Q, cv->o->lambdas[0]);
        if (c > cv->cond) {
            cv->cond = c;
            cv->cond_fold = k;
        }
    }
    if (st == RRR_OK)
        st = eig_training(p, &w, e);
    if (st == RRR_OK && cv->o->lambdas[0] == 0 && !w.graded &&
        !(w.lam[0] > rrr_cv_null_level(p, w.lam)))
        st = RRR_FAIL(e, RRR_ENUMERIC, "cv: X^T X of the training rows of fold %d is singular "
                      "to working precision (rank-deficient X): lambda 0 needs it positive "
                      "definite; use lambdas > 0", k);
    if (st == RRR_OK) {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)p, (int)q, (int)p, 1.0, w.Q,
                    (int)p, w.Ct, (int)p, 0.0, w.T, (int)p); /* C~ = Q^T C, into Ct below */
        memcpy(w.Ct, w.T, p * q * sizeof(double));
        null_directions(p, q, &w);
        if (cv->route == RRR_ROUTE_P)
            route_p_products(p, q, &w);
    }
    double *sse = cv->sse + (size_t)k * (size_t)nr * (size_t)nl;
    int mine = 0;
    for (int l = l0; l < nl && st == RRR_OK; l += step, mine++)
        st = cv->route == RRR_ROUTE_P ? one_lambda_p(cv, &w, cv->o->lambdas[l], sse + l, nl, e)
                                      : one_lambda(cv, &w, cv->o->lambdas[l], sse + l, nl, e);
    cv->flops += rrr_cv_flops(p, q, cv->D, mine, cv->route == RRR_ROUTE_P);
    ws_free(&w);
    return st;
}
