/* src/precond.c: gd's U-block preconditioner from a randomized Nystrom sketch (Frangella,
 * Tropp & Udell, "Randomized Nystrom preconditioning", SIAM J. Matrix Anal. Appl. 2023) and
 * the diagonal of what the sketch misses; applied as the metric P (x) V^T V (Mishra &
 * Sepulchre, "Riemannian preconditioning", SIAM J. Optim. 2016). README "Preconditioning"
 * has the measurements behind each choice.
 *
 * Setup, with A = Xc^T Xc (never formed) and H = A + lambda I:
 *   diag(A)            one pass over my rows, one allreduce of p numbers
 *   Y = A Omega        Omega p x l orthonormal Gaussian from --seed; one Gram pass
 *                      (rrr_pass_gram_k) and one allreduce of p l numbers per block;
 *                      l = 8, 16, 32, ... until the sketch reaches the flat part of the
 *                      spectrum (or --precond-rank fixes l)
 *   A_nys = B B^T      the stable shifted Nystrom approximation (Tropp, Yurtsever, Udell &
 *                      Cevher 2017, Alg. 3): nu = sqrt(p) eps ||Y||, C = chol(Omega^T
 *                      (Y + nu Omega)), B = (Y + nu Omega) C^-1, then the shift nu taken
 *                      back out of B's singular values
 *   D                  diag(A - B B^T) + lambda: Jacobi scaling of what the sketch missed
 *                      (column scales 10^4 apart live there), or, when Xc is rank-
 *                      deficient (p > n), its mean over the range of Xc^T times I: an
 *                      isotropic D keeps P^-1 mapping range(Xc^T) into itself, where gd's
 *                      iterates live (U = 0 at the start); an anisotropic one leaks into the
 *                      null space of Xc, where only lambda pulls back (measured: gap 1e-6
 *                      stalls)
 *   P = B B^T + D = D^1/2 (I + Q S^2 Q^T) D^1/2,  Q S W^T the SVD of D^-1/2 B (via QR)
 * Nothing p x p: 4 p l doubles during the setup, p (l + 1) + (l + p) d afterwards. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernels.h"
#include "lapack.h"
#include "linalg.h"
#include "precond.h"
#include "rng.h"

/* The sketch has reached the flat part of the spectrum when its smallest eigenvalue is
 * within GROW of the mean of what it missed (README "Preconditioning"). */
#define GROW 10.0
/* auto preconditions when the estimated condition number (a lower bound) is at least this:
 * below it plain gd needs a few tens of iterations and the setup would not pay. */
#define AUTO_COND 10.0

const char *rrr_precond_name(rrr_precond p)
{
    switch (p) {
    case RRR_PRECOND_NONE: return "none";
    case RRR_PRECOND_JACOBI: return "jacobi";
    case RRR_PRECOND_NYSTROM: return "nystrom";
    case RRR_PRECOND_AUTO: break;
    }
    return "auto";
}

/* ---- the sketch -------------------------------------------------------------------- */

/* The setup's state: the sketch so far and what the spectrum estimates say. */
typedef struct {
    size_t p;
    int cap, ell;          /* columns allocated, columns sketched                       */
    double *Om, *Y, *B;    /* p x cap: test matrix, A Om, Nystrom factor (A_nys = B B^T) */
    double *lam;           /* cap: eigenvalues of A_nys, descending                     */
    double *diag;          /* p: diag(A)                                                */
    double *work;          /* Gram pass workspace for cap columns                       */
    double *small;         /* 3 cap^2: C, B^T B and its eigenvectors, C^-1 W            */
    double tr, dmin, dmax; /* trace and extreme entries of diag(A)                      */
    double tau;            /* mean eigenvalue of A - A_nys on range(Xc^T): sum / (r - l) */
    double tmax, tmean;    /* largest and mean entry of diag(A - A_nys)                 */
} sketch;

static void sketch_free(sketch *s)
{
    double *all[] = { s->Om, s->Y, s->B, s->lam, s->diag, s->work, s->small };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
    memset(s, 0, sizeof *s);
}

/* Collective. Every buffer of the setup for up to cap columns (README "Memory per rank"). */
static rrr_status sketch_alloc(rrr_ctx *ctx, const rrr_problem *pb, int cap, sketch *s)
{
    const size_t p = pb->p, pc = p * (size_t)cap;
    memset(s, 0, sizeof *s);
    s->p = p;
    s->cap = cap;
    s->Om = rrr_malloc(pc, sizeof(double));
    s->Y = rrr_malloc(pc + RRR_FLAG_SLOTS, sizeof(double));
    s->B = rrr_malloc(pc, sizeof(double));
    s->lam = rrr_malloc((size_t)cap, sizeof(double));
    s->diag = rrr_malloc(p, sizeof(double));
    s->work = rrr_malloc(rrr_pass_gram_work(pb, cap), sizeof(double));
    s->small = rrr_malloc(3 * (size_t)cap * cap, sizeof(double));
    rrr_status st = RRR_OK;
    if (!s->Om || !s->Y || !s->B || !s->lam || !s->diag || !s->work || !s->small)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "precond: out of memory for a sketch of %d "
                      "columns (%zu x %d)", cap, p, cap);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        sketch_free(s);
    return st;
}

/* Collective. diag(A)_j = sum over rows of (x_ij - xm_j)^2 (a sum of squares: no
 * cancellation), one read of my rows, one allreduce of p numbers. */
static void column_norms(rrr_ctx *ctx, const rrr_problem *pb, sketch *s)
{
    const size_t p = pb->p;
    double *restrict acc = s->diag;
    const double *restrict xm = pb->xm;
    double t0 = rrr_phase_begin();
    memset(acc, 0, p * sizeof *acc);
    for (size_t il = 0; il < pb->nloc; il++) { /* (memory-bound: one read of X) */
        const double *restrict x = pb->Xt + il * p;
        if (xm != NULL)
            for (size_t j = 0; j < p; j++)
                acc[j] += (x[j] - xm[j]) * (x[j] - xm[j]);
        else
            for (size_t j = 0; j < p; j++)
                acc[j] += x[j] * x[j];
    }
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(ctx, s->diag, p);
    s->tr = 0;
    s->dmin = INFINITY;
    s->dmax = 0;
    for (size_t j = 0; j < p; j++) {
        s->tr += s->diag[j];
        s->dmin = fmin(s->dmin, s->diag[j]);
        s->dmax = fmax(s->dmax, s->diag[j]);
    }
}

/* Local. Columns [l0, l1) of Om: Gaussian entries keyed by (seed, row, column), so the
 * same on every rank and for any rank count, made orthogonal to columns [0, l0) (block
 * Gram-Schmidt twice: "twice is enough") and orthonormal among themselves (QR). */
static rrr_status test_block(const rrr_fit_opts *o, sketch *s, int l0, int l1, rrr_err *e)
{
    const int p = (int)s->p, k = l1 - l0;
    double *G = s->Om + (size_t)p * l0, *T = s->small;
    for (int j = l0; j < l1; j++)
        for (int i = 0; i < p; i++)
            s->Om[IDX(i, j, p)] = rrr_rng_normal(o->seed, RRR_STREAM_PRECOND, (uint64_t)i,
                                                 (uint64_t)j);
    for (int pass = 0; pass < 2 && l0 > 0; pass++) {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, l0, k, p, 1.0, s->Om, p, G, p, 0.0,
                    T, l0);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, k, l0, -1.0, s->Om, p, T, l0,
                    1.0, G, p);
    }
    return rrr_orthonormalize(s->p, k, G, e);
}

/* Collective. Y[:, l0:l1) = A Om[:, l0:l1): one Gram pass, one allreduce of p (l1 - l0)
 * numbers (the failure flags ride along). */
static rrr_status sketch_block(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                               sketch *s, int l0, int l1)
{
    const size_t len = s->p * (size_t)(l1 - l0);
    double *Yb = s->Y + s->p * (size_t)l0;
    rrr_status lst = test_block(o, s, l0, l1, &ctx->err);
    double t0 = rrr_phase_begin();
    if (lst == RRR_OK)
        rrr_pass_gram_k(pb, s->Om + s->p * (size_t)l0, l1 - l0, Yb, s->work);
    rrr_flags_put(Yb + len, lst);
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(ctx, Yb, len + RRR_FLAG_SLOTS);
    if (rrr_flags_get(Yb + len).fail)
        return rrr_agree(ctx, lst);
    s->ell = l1;
    return RRR_OK;
}

/* Local. The symmetric eigenproblem A = Q diag(w) Q^T (d x d, ascending w; A <- Q). */
static rrr_status eig(int d, double *A, double *w, rrr_err *e)
{
    int info = 0, lwork = -1;
    double wq;
    dsyev_("V", "U", &d, A, &d, w, &wq, &lwork, &info, 1, 1);
    lwork = (int)wq > 3 * d ? (int)wq : 3 * d;
    double *work = rrr_malloc((size_t)lwork, sizeof *work);
    if (work == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "precond: out of memory (dsyev workspace)");
    dsyev_("V", "U", &d, A, &d, w, work, &lwork, &info, 1, 1);
    free(work);
    return info == 0 ? RRR_OK : RRR_FAIL(e, RRR_ENUMERIC, "precond: dsyev failed: info=%d", info);
}

/* Local. The stable Nystrom approximation A_nys = B B^T from (Om, Y) with l columns
 * (Tropp et al. 2017, Alg. 3; Frangella et al. 2023, Alg. 2.1): the shift nu makes the
 * Cholesky factor exist in floating point, and is taken out of the eigenvalues after:
 *   Y_nu = Y + nu Om,  Om^T Y_nu = C^T C,  Y_nu C^-1 = U Sigma W^T,
 *   lam = max(Sigma^2 - nu, 0),  B = U lam^1/2 = Y_nu M,  M = C^-1 W diag(sqrt(lam) / Sigma).
 * B is in range(Y_nu), largest first; its columns for lam = 0 are zero. RRR_ENUMERIC when
 * the sketch is zero or the Cholesky factor does not exist. */
static rrr_status nystrom(sketch *s, rrr_err *e)
{
    const int p = (int)s->p, l = s->ell;
    const size_t pl = (size_t)p * l, ll = (size_t)l * l;
    double *C = s->small, *G = C + ll, *M = G + ll;
    const double nu = sqrt((double)p) * DBL_EPSILON * cblas_dnrm2((int)pl, s->Y, 1);
    int info = 0;
    if (!(nu > 0))
        return RRR_FAIL(e, RRR_ENUMERIC, "the sketch X^T X Omega is zero");
    memcpy(s->B, s->Y, pl * sizeof *s->B); /* B = Y_nu */
    cblas_daxpy((int)pl, nu, s->Om, 1, s->B, 1);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, l, l, p, 1.0, s->Om, p, s->B, p, 0.0,
                C, l);
    for (int j = 0; j < l; j++)
        for (int i = 0; i < j; i++)
            C[IDX(i, j, l)] = C[IDX(j, i, l)] = 0.5 * (C[IDX(i, j, l)] + C[IDX(j, i, l)]);
    dpotrf_("U", &l, C, &l, &info, 1);
    if (info != 0)
        return RRR_FAIL(e, RRR_ENUMERIC, "Cholesky of Omega^T X^T X Omega failed (info=%d)", info);
    cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, p, l, 1.0, C,
                l, s->B, p); /* B = Y_nu C^-1 */
    rrr_gram_dd(s->p, l, s->B, G); /* B^T B = W Sigma^2 W^T, ascending */
    rrr_status st = eig(l, G, s->lam, e);
    if (st != RRR_OK)
        return st;
    for (int k = 0; k < l; k++) { /* M = W diag(sqrt(lam)/Sigma), largest first */
        const int src = l - 1 - k;
        const double sig2 = s->lam[src];
        const double sc = sig2 > nu ? sqrt((sig2 - nu) / sig2) : 0.0;
        for (int i = 0; i < l; i++)
            M[IDX(i, k, l)] = G[IDX(i, src, l)] * sc;
    }
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, l, l, 1.0, C, l,
                M, l); /* M = C^-1 W diag(...) */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, l, l, 1.0, s->Y, p, M, l, 0.0,
                s->B, p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, l, l, nu, s->Om, p, M, l, 1.0,
                s->B, p); /* B = (Y + nu Om) M */
    for (int k = 0; k < l / 2; k++) { /* descending */
        double t = s->lam[k];
        s->lam[k] = s->lam[l - 1 - k];
        s->lam[l - 1 - k] = t;
    }
    for (int k = 0; k < l; k++)
        s->lam[k] = s->lam[k] > nu ? s->lam[k] - nu : 0.0;
    return RRR_OK;
}

/* Local. What the sketch missed: tau, the mean eigenvalue of A - A_nys over the r - l
 * directions of range(Xc^T) it has not seen (r = the rank bound; 0 once l >= r), and the
 * largest and mean entry of t = diag(A - A_nys) = diag(A) - row norms of B. */
static void residual(sketch *s, size_t r)
{
    const size_t p = s->p, l = (size_t)s->ell;
    double sum = 0, tsum = 0;
    for (size_t k = 0; k < l; k++)
        sum += s->lam[k];
    s->tau = r > l ? fmax(s->tr - sum, 0.0) / (double)(r - l) : 0.0;
    s->tmax = 0;
    for (size_t i = 0; i < p; i++) {
        double t = s->diag[i];
        for (size_t k = 0; k < l; k++)
            t -= s->B[IDX(i, k, p)] * s->B[IDX(i, k, p)];
        t = fmax(t, 0.0);
        s->tmax = fmax(s->tmax, t);
        tsum += t;
    }
    s->tmean = tsum / (double)p;
}

/* Local, pure. The sketch has reached the flat part of the spectrum: its smallest
 * eigenvalue lam_l is within GROW of the level tau + lambda of what it missed, and, when
 * Xc is rank-deficient (isotropic D), what it missed is spread evenly over the
 * coordinates (largest entry of diag(A - A_nys) within GROW of their mean). */
static int resolved(const sketch *s, int deficient, double lambda)
{
    const double lam_l = s->lam[s->ell - 1];
    if (!(lam_l <= GROW * (s->tau + lambda)))
        return 0;
    return !deficient || s->tmax <= GROW * s->tmean;
}

/* Local, pure. Lower bounds on cond(H) (all of it, and on range(Xc^T)): lam_1 <= lam_max(A)
 * and diag(A)_j <= lam_max(A); lam_min(A) <= diag(A)_j, and <= tau (a mean of eigenvalues
 * at the bottom of A's spectrum, since A_nys <= A makes lam_k <= lam_k(A)); lam_min(A) = 0
 * when Xc is rank-deficient (the least non-zero one is <= tau on range(Xc^T)). */
static void bounds(const sketch *s, size_t r, int deficient, double lambda, double *all,
                   double *range)
{
    const size_t l = (size_t)s->ell;
    const double seen_all = r > l ? s->tau : s->lam[(r < l ? r : l) - 1];
    const double lo = fmin(deficient ? (double)INFINITY : s->dmin, seen_all);
    *all = (fmax(s->lam[0], s->dmax) + lambda) / ((deficient ? 0.0 : lo) + lambda);
    *range = (fmax(s->lam[0], s->dmax) + lambda) / (lo + lambda);
}

/* ---- the preconditioner ------------------------------------------------------------ */

static rrr_status pc_alloc(rrr_err *e, rrr_pc *pc, size_t p, int d, int ell)
{
    pc->p = p;
    pc->d = d;
    pc->ell = ell;
    pc->dh = rrr_malloc(p, sizeof(double));
    pc->Q = rrr_malloc(p * (size_t)ell, sizeof(double));
    pc->s2 = rrr_malloc((size_t)ell + 1, sizeof(double));
    pc->wq = rrr_malloc((size_t)ell + 1, sizeof(double));
    pc->T = rrr_malloc((size_t)(ell > d ? ell : d) * d, sizeof(double));
    pc->M = rrr_malloc(p * (size_t)d, sizeof(double));
    if (!pc->dh || !pc->Q || !pc->s2 || !pc->wq || !pc->T || !pc->M)
        return RRR_FAIL(e, RRR_EINTERNAL, "precond: out of memory (%zu x %d)", p, ell);
    return RRR_OK;
}

/* Local. P = B B^T + D held as D^1/2 (I + Q S^2 Q^T) D^1/2: Bt = D^-1/2 B = Q0 R (QR),
 * R R^T = W S^2 W^T, Q = Q0 W. D is diag(A - A_nys) + lambda, each entry at least 64 eps
 * diag(A)_j (what cancellation leaves of a captured column is noise) and eps tr(A)/p (a
 * zero column), or its mean over range(Xc^T) on every coordinate when Xc is rank-deficient
 * (tau + lambda: isotropic, so P^-1 keeps range(Xc^T)). Uses s->Y and s->Om as scratch. */
static rrr_status factor(sketch *s, int deficient, double lambda, rrr_pc *pc, rrr_err *e)
{
    const int p = (int)s->p, l = s->ell;
    const double floor_all = DBL_EPSILON * s->tr / (double)p;
    double *R = s->small, *S = R + (size_t)l * l, *Bt = s->Y, *Q0 = s->Om;
    for (int i = 0; i < p; i++) {
        double t = s->diag[i];
        for (int k = 0; k < l; k++)
            t -= s->B[IDX(i, k, p)] * s->B[IDX(i, k, p)];
        t = deficient ? s->tau : fmax(t, 64 * DBL_EPSILON * s->diag[i]);
        pc->dh[i] = 1.0 / sqrt(fmax(t, floor_all) + lambda);
    }
    for (int k = 0; k < l; k++)
        for (int i = 0; i < p; i++)
            Bt[IDX(i, k, p)] = pc->dh[i] * s->B[IDX(i, k, p)];
    memcpy(Q0, Bt, (size_t)p * l * sizeof *Q0);
    rrr_status st = rrr_orthonormalize(s->p, l, Q0, e);
    if (st != RRR_OK)
        return st;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, l, l, p, 1.0, Q0, p, Bt, p, 0.0, R, l);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, l, l, l, 1.0, R, l, R, l, 0.0, S, l);
    st = eig(l, S, pc->s2, e);
    if (st != RRR_OK)
        return st;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, l, l, 1.0, Q0, p, S, l, 0.0, pc->Q,
                p);
    for (int k = 0; k < l; k++) {
        pc->s2[k] = fmax(pc->s2[k], 0.0);
        pc->wq[k] = pc->s2[k] / (1.0 + pc->s2[k]);
    }
    return RRR_OK;
}

/* Local. Jacobi: D = diag(A) + lambda (at least eps tr(A)/p + lambda: a zero column). */
static void jacobi(const sketch *s, double lambda, rrr_pc *pc)
{
    const double floor_all = DBL_EPSILON * s->tr / (double)s->p;
    for (size_t i = 0; i < s->p; i++)
        pc->dh[i] = 1.0 / sqrt(fmax(s->diag[i], floor_all) + lambda);
}

void rrr_pc_free(rrr_pc *pc)
{
    if (pc == NULL)
        return;
    double *all[] = { pc->dh, pc->Q, pc->s2, pc->wq, pc->T, pc->M };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
    memset(pc, 0, sizeof *pc);
    pc->kind = RRR_PRECOND_NONE;
    pc->cond_before = pc->cond_range = NAN;
    pc->rq_min = INFINITY;
}

/* Collective. The sketch, grown until resolved (or fixed by --precond-rank), its Nystrom
 * factor and the estimates. A numerical failure of the factor (zero sketch) is reported
 * in *why and leaves s->ell = 0; other failures are the agreed status. */
static rrr_status grow(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                       const rrr_plan *plan, sketch *s, rrr_pc *pc)
{
    const int deficient = plan->rank_bound < pb->p, fixed = o->precond_rank > 0;
    const int cap = fixed ? o->precond_rank : plan->precond_rank_max;
    int l0 = 0, l1 = plan->precond_rank0 < cap ? plan->precond_rank0 : cap;
    for (;;) {
        rrr_status st = sketch_block(ctx, pb, o, s, l0, l1);
        pc->passes++;
        if (st != RRR_OK)
            return st;
        rrr_err quiet = { RRR_OK, "" };
        rrr_status lst = nystrom(s, &quiet);
        if (lst == RRR_ENUMERIC) { /* replicated data: the same on every rank */
            snprintf(pc->why, sizeof pc->why, "none: no Nystrom factor (%.160s)", quiet.msg);
            s->ell = 0;
            return RRR_OK;
        }
        if (lst != RRR_OK)
            RRR_FAIL(&ctx->err, lst, "precond: %s", quiet.msg);
        st = rrr_agree(ctx, lst);
        if (st != RRR_OK)
            return st;
        residual(s, plan->rank_bound);
        if (fixed || l1 >= cap || resolved(s, deficient, pb->lambda))
            break;
        l0 = l1;
        l1 = 2 * l1 < cap ? 2 * l1 : cap;
    }
    bounds(s, plan->rank_bound, deficient, pb->lambda, &pc->cond_before, &pc->cond_range);
    return RRR_OK;
}

/* Local. auto's choice from the sketch's estimate (README "Preconditioning"). */
static rrr_precond choose(const rrr_pc *pc, rrr_precond asked)
{
    if (asked != RRR_PRECOND_AUTO)
        return asked;
    return pc->cond_range >= AUTO_COND ? RRR_PRECOND_NYSTROM : RRR_PRECOND_NONE;
}

/* Local. The reason line: what was chosen, from which estimate. */
static void explain(const sketch *s, const rrr_fit_opts *o, int deficient, rrr_pc *pc,
                    rrr_precond kind)
{
    char range[64] = "";
    if (deficient)
        snprintf(range, sizeof range, ", >= %.2g on the range of X^T", pc->cond_range);
    snprintf(pc->why, sizeof pc->why, "%s: cond(X^T X + lambda I) >= %.2g%s%s; sketch of %d "
             "columns (lam_1 %.3g, lam_l %.3g, %.3g per direction missed)",
             rrr_precond_name(kind), pc->cond_before, range,
             o->precond != RRR_PRECOND_AUTO ? " (requested)"
             : kind == RRR_PRECOND_NONE     ? " (auto: below 10)"
                                            : " (auto: 10 or more)",
             s->ell, s->lam[0], s->lam[s->ell - 1], s->tau);
}

/* Local (replicated). At lambda = 0 a zero column of Xc, or fewer rows than columns,
 * leaves part of U undetermined by the data: f is flat there and gd keeps what its start
 * (and the sketch) put in, so B differs with --seed and the number of ranks. Said once, from
 * the column norms the preconditioner computes anyway (so not with --precond none, which
 * skips them). rank: the plan's bound on rank(Xc) when below p, else 0. */
static void undetermined(rrr_ctx *ctx, const rrr_problem *pb, const sketch *s, size_t rank)
{
    if (pb->lambda != 0)
        return;
    size_t j = 0;
    while (j < pb->p && s->diag[j] > 0)
        j++;
    if (j < pb->p)
        rrr_warn(ctx, "gd: column %zu (0-based) of X is zero%s: with lambda 0 its coefficients "
                 "are not determined by the data, and gd leaves them where its start put them "
                 "(they vary with --seed and the number of ranks); drop the column or use "
                 "--lambda > 0", j, pb->xm != NULL ? " after centring (constant)" : "");
    else if (rank > 0)
        rrr_warn(ctx, "gd: X has rank <= %zu < p = %zu: with lambda 0 part of B is not "
                 "determined by the data, and gd leaves it where its start put it (it varies "
                 "with --seed and the number of ranks); use --lambda > 0", rank, pb->p);
}

/* Collective. jacobi, or nystrom and auto: the diagonal pass, the sketch, the choice and
 * the factor. */
static rrr_status build(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        const rrr_plan *plan, rrr_pc *pc)
{
    const int deficient = plan->rank_bound < pb->p;
    const int cap = o->precond_rank > 0 ? o->precond_rank : plan->precond_rank_max;
    rrr_precond kind = RRR_PRECOND_NONE;
    sketch s;
    rrr_status st = sketch_alloc(ctx, pb, o->precond == RRR_PRECOND_JACOBI ? 1 : cap, &s);
    if (st != RRR_OK)
        return st;
    column_norms(ctx, pb, &s);
    pc->passes = 1;
    if (!ctx->nested)
        undetermined(ctx, pb, &s, deficient ? plan->rank_bound : 0);
    if (!(s.tr > 0)) { /* Xc = 0: nothing to precondition */
        snprintf(pc->why, sizeof pc->why, "none: X^T X = 0");
        goto done;
    }
    if (o->precond == RRR_PRECOND_JACOBI) {
        st = rrr_agree(ctx, pc_alloc(&ctx->err, pc, pb->p, pb->d, 0));
        if (st == RRR_OK) {
            jacobi(&s, pb->lambda, pc);
            pc->kind = RRR_PRECOND_JACOBI;
            pc->cond_before = (s.dmax + pb->lambda) / (s.dmin + pb->lambda);
            snprintf(pc->why, sizeof pc->why, "jacobi (requested): D = diag(X^T X) + lambda; "
                     "cond(X^T X + lambda I) >= %.2g", pc->cond_before);
        }
        goto done;
    }
    st = grow(ctx, pb, o, plan, &s, pc);
    if (st != RRR_OK || s.ell == 0)
        goto done;
    kind = choose(pc, o->precond);
    if (kind == RRR_PRECOND_NYSTROM) {
        st = pc_alloc(&ctx->err, pc, pb->p, pb->d, s.ell);
        if (st == RRR_OK)
            st = factor(&s, deficient, pb->lambda, pc, &ctx->err);
        st = rrr_agree(ctx, st);
        if (st != RRR_OK)
            goto done;
        pc->kind = kind;
    }
    explain(&s, o, deficient, pc, kind);
done:
    sketch_free(&s);
    return st;
}

rrr_status rrr_pc_build(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        const rrr_plan *plan, rrr_pc *pc)
{
    double t0 = rrr_phase_begin();
    memset(pc, 0, sizeof *pc);
    rrr_pc_free(pc); /* empty: none, no estimates */
    if (o->precond < RRR_PRECOND_AUTO || o->precond > RRR_PRECOND_NYSTROM)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "unknown preconditioner %d", (int)o->precond);
    if (o->precond_rank < 0 || (size_t)o->precond_rank > pb->p)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--precond-rank %d: must be in [1, p = %zu] (0: "
                        "adaptive)", o->precond_rank, pb->p);
    pc->p = pb->p;
    pc->d = pb->d;
    if (o->precond == RRR_PRECOND_NONE) {
        snprintf(pc->why, sizeof pc->why, "none (requested)");
        return RRR_OK;
    }
    rrr_status st = build(ctx, pb, o, plan, pc);
    double cb = pc->cond_before, cr = pc->cond_range;
    int passes = pc->passes;
    char why[sizeof pc->why];
    memcpy(why, pc->why, sizeof why);
    if (st != RRR_OK || pc->kind == RRR_PRECOND_NONE) {
        rrr_pc_free(pc); /* keep the estimates and the reason */
        pc->cond_before = cb;
        pc->cond_range = cr;
        pc->passes = passes;
        memcpy(pc->why, why, sizeof why);
    }
    pc->p = pb->p; /* none observes its Rayleigh quotients too */
    pc->d = pb->d;
    pc->seconds = rrr_phase_begin() - t0;
    if (st == RRR_OK)
        rrr_info(ctx, "precond: %s (%d passes over X, %.3f s)", pc->why, pc->passes,
                 pc->seconds);
    return st;
}

/* ---- applying it ------------------------------------------------------------------- */

/* Local. G <- diag(dh) G for G p x d. */
static void scale_rows(size_t p, int d, const double *dh, double *G)
{
    for (int k = 0; k < d; k++)
        for (size_t i = 0; i < p; i++)
            G[IDX(i, k, p)] *= dh[i];
}

void rrr_pc_apply(rrr_pc *pc, double *G)
{
    const int p = (int)pc->p, d = pc->d, l = pc->ell;
    if (pc->kind == RRR_PRECOND_NONE)
        return;
    scale_rows(pc->p, d, pc->dh, G);
    if (l > 0) { /* G <- (I - Q diag(s^2 / (1 + s^2)) Q^T) G */
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, l, d, p, 1.0, pc->Q, p, G, p, 0.0,
                    pc->T, l);
        for (int k = 0; k < d; k++)
            for (int i = 0; i < l; i++)
                pc->T[IDX(i, k, l)] *= pc->wq[i];
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, l, -1.0, pc->Q, p, pc->T, l,
                    1.0, G, p);
    }
    scale_rows(pc->p, d, pc->dh, G);
}

/* Local. <M, M VtV> = sum over k, l of VtV_kl <M_k, M_l> for M m x d (ld ldm): O(m d^2). */
static double weighted(int m, int d, const double *M, int ldm, const double *VtV)
{
    double e = 0;
    for (int l = 0; l < d; l++)
        for (int k = 0; k < d; k++)
            e += VtV[IDX(k, l, d)] * cblas_ddot(m, M + (size_t)k * ldm, 1, M + (size_t)l * ldm, 1);
    return e;
}

void rrr_pc_observe(rrr_pc *pc, const double *D, const double *VtV, double curv)
{
    const int p = (int)pc->p, d = pc->d, l = pc->ell;
    double e;
    if (pc->kind == RRR_PRECOND_NONE) {
        e = weighted(p, d, D, p, VtV); /* <D, D VtV> */
    } else { /* <D, P D VtV> = |D^1/2 D|^2 + |S Q^T D^1/2 D|^2, weighted by VtV */
        for (int k = 0; k < d; k++)
            for (int i = 0; i < p; i++)
                pc->M[IDX(i, k, p)] = D[IDX(i, k, p)] / pc->dh[i];
        e = weighted(p, d, pc->M, p, VtV);
        if (l > 0) {
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, l, d, p, 1.0, pc->Q, p, pc->M, p,
                        0.0, pc->T, l);
            for (int k = 0; k < d; k++)
                for (int i = 0; i < l; i++)
                    pc->T[IDX(i, k, l)] *= sqrt(pc->s2[i]);
            e += weighted(l, d, pc->T, l, VtV);
        }
    }
    double rq = curv / e;
    if (isfinite(rq) && rq > 0) {
        pc->rq_min = fmin(pc->rq_min, rq);
        pc->rq_max = fmax(pc->rq_max, rq);
    }
}

double rrr_pc_cond_observed(const rrr_pc *pc)
{
    return pc->rq_max > 0 && isfinite(pc->rq_min) ? pc->rq_max / pc->rq_min : (double)NAN;
}
