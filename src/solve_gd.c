/* src/solve_gd.c: the distributed gradient method. Each rank computes partial gradients on
 * its rows; one MPI_Allreduce combines them before each update of U and each of V.
 *
 * One iteration of the residual form (two passes over my rows, two allreduces of about
 * (p + q) d numbers; the cross-product form below needs one pass over X):
 *   pass G at (U, V):  A = X U,  R = A V^T - Y,  X^T R V,  Y^T A,  A^T A,  ||R||^2
 *                      -> f, grad_U, grad_V at (U, V)               [allreduce 1]
 *   U update: preconditioned nonlinear conjugate gradient (Polak-Ribiere+) on U with the
 *     right preconditioner (V^T V)^-1, the inverse of the d x d factor of the U-block
 *     Hessian 2 (X^T X + lambda I) (x) V^T V. It makes the step invariant to the
 *     factorisation's gauge U -> U S, V -> V S^-T, so unbalanced factors cost nothing.
 *     f is quadratic along D: f(U + a D) = f + a <g, D> + a^2 (tr(E^T E V^T V)
 *     + lambda tr(D^T D V^T V)) with E = X D, so the exact minimising step is closed form.
 *   pass B along D:    E = X D,  E^T E,  A^T E,  Y^T E              [allreduce 2]
 *   V update: exact minimisation over V (its Hessian is 2 (A'^T A' + lambda U'^T U'),
 *     only d x d): V = Y^T A' (A'^T A' + lambda U'^T U')^-1, with A' = A + a E, and
 *     A'^T A', Y^T A' assembled from pass B's sums: no third pass.
 * With V eliminated exactly, this is nonlinear CG on phi(U) = min_V f(U, V) (variable
 * projection; Golub & Pereyra 1973), whose gradient is grad_U f at the fresh V (envelope
 * theorem), so iterations grow like sqrt(cond(X^T X + lambda I)), not cond.
 * f never increases: both updates minimise exactly over their block or line.
 * A = X U is recomputed from U at every pass G (not accumulated), so the iteration is a
 * function of the replicated state (U, V, D, previous gradient) alone: a checkpoint of that
 * state resumes bitwise, on any number of ranks. Balancing (below) keeps U^T U = V^T V.
 *
 * Cross-product form (--gd-xty, the default when p q fits): one pass over X per iteration,
 * Y never read. With C = Xc^T Yc summed once and W = Xc^T Xc U (p x d, replicated):
 *   X^T R V = W V^T V - C V,  Y^T A = C^T U,  A^T A = U^T W,
 * so the gradients and f need no pass. The step needs H = Xc^T Xc D, one Gram pass
 * (E = X D and X^T E on each panel while it is in cache)   [allreduce of p d]
 * and then W' = W + a H follows U' = U + a D with no pass at all. Rounding in this
 * recurrence is bounded by recomputing W = Xc^T Xc U by a Gram pass every W_REFRESH
 * iterations, and always before convergence is declared (so the stopping test is passed by
 * a gradient of fresh sums). W is part of the checkpointed state: resumes stay bitwise. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "gram.h"
#include "internal.h"

static double dot(size_t n, const double *a, const double *b)
{
    return cblas_ddot((int)n, a, 1, b, 1);
}

/* <A, B> for d x d matrices: tr(A^T B) */
static double frob(int d, const double *A, const double *B) { return dot((size_t)d * d, A, B); }

/* Local. V = Y^T A' (A'^T A' + lambda U'^T U')^+ after the step U' = U + a D, given
 * YtAn = Y^T A' (q x d) and AtAn = A'^T A' (d x d). H: d x d workspace. */
static rrr_status update_v(const rrr_problem *pb, const double *U, const double *AtAn,
                           const double *YtAn, double *V, double *H, rrr_err *e)
{
    const int q = (int)pb->q, d = pb->d, p = (int)pb->p;
    memcpy(H, AtAn, (size_t)d * d * sizeof *H);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, pb->lambda, U, p, U, p, 1.0, H,
                d);
    memcpy(V, YtAn, (size_t)q * d * sizeof *V);
    return rrr_solve_right_psd(d, H, (size_t)q, V, e);
}

/* Local. A'^T A' = A^T A + a (A^T E + E^T A) + a^2 E^T E from pass G's and pass B's sums. */
static void step_ata(int d, double a, const double *AtA, const double *pb_sums, double *out)
{
    const double *EtE = pb_sums, *AtE = EtE + (size_t)d * d;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++)
            out[IDX(i, j, d)] = AtA[IDX(i, j, d)] + a * (AtE[IDX(i, j, d)] + AtE[IDX(j, i, d)]) +
                                a * a * EtE[IDX(i, j, d)];
}

/* Local. AtA = A^T A = U^T W, symmetrised (W = Xc^T Xc U up to rounding). */
static void gram_ata(int p, int d, const double *U, const double *W, double *AtA)
{
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, U, p, W, p, 0.0, AtA, d);
    for (int j = 0; j < d; j++)
        for (int i = j + 1; i < d; i++)
            AtA[IDX(i, j, d)] = AtA[IDX(j, i, d)] = 0.5 * (AtA[IDX(i, j, d)] + AtA[IDX(j, i, d)]);
}

/* Local. The cross-product form of the gradients: with C = Xc^T Yc, W = Xc^T Xc U, A = Xc U,
 *   grad_U = 2 (W V^T V - C V + lambda U V^T V),  grad_V = 2 (V A^T A - C^T U + lambda V U^T U)
 *   f = yy - 2 <C^T U, V> + <A^T A, V^T V> + lambda <U^T U, V^T V>
 * (f by this identity carries an absolute error of a few eps yy: the stopping rule's floor
 * is then 100 eps yy, as for als; the reported f comes from a direct pass anyway). Also
 * returns AtA = U^T W and CtU = C^T U (q x d), the Y^T A of the residual form. */
static void gradients_cross(const rrr_problem *pb, const double *C, const double *U,
                            const double *V, const double *W, double *UtU, double *VtV,
                            double *AtA, double *CtU, double *f, double *gU, double *gV)
{
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, U, p, U, p, 0.0, UtU, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, q, 1.0, V, q, V, q, 0.0, VtV, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, q, d, p, 1.0, C, p, U, p, 0.0, CtU, q);
    gram_ata(p, d, U, W, AtA);
    /* gU = 2 W VtV - 2 C V + 2 lambda U VtV */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, q, -2.0, C, p, V, q, 0.0, gU, p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, d, 2.0, W, p, VtV, d, 1.0, gU, p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, d, 2.0 * pb->lambda, U, p, VtV, d,
                1.0, gU, p);
    /* gV = 2 V A^T A - 2 C^T U + 2 lambda V UtU */
    memcpy(gV, CtU, (size_t)q * d * sizeof *gV);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, d, d, 2.0, V, q, AtA, d, -2.0, gV, q);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, d, d, 2.0 * pb->lambda, V, q, UtU, d,
                1.0, gV, q);
    *f = pb->yy - 2.0 * dot((size_t)q * d, CtU, V) + frob(d, AtA, VtV) +
         pb->lambda * frob(d, UtU, VtV);
}

/* Local. The gauge U -> U S, V -> V S^-T leaves f unchanged but not the gradient norm
 * (grad_U = G V grows with V): keep U^T U = V^T V so that the stopping test on the gradient
 * means the same thing whatever scale the updates drifted to. The CG memory and the Gram
 * product follow the gauge (D -> D S, W -> W S, previous gradient -> g S^-T), so the
 * iteration itself is unaffected. W may be NULL (residual form). work: max(p, q) d. */
static rrr_status rebalance(const rrr_problem *pb, double *U, double *V, double *D, double *W,
                            double *gprev, double *work, double *S, rrr_err *e)
{
    const int d = pb->d;
    double *Sinv = S + (size_t)d * d; /* H has room for 2 d x d */
    int balanced;
    rrr_status st = rrr_balance(pb->p, pb->q, d, U, V, S, Sinv, &balanced, e);
    if (st != RRR_OK || !balanced)
        return st;
    double *right[5] = { U, V, D, W, gprev };
    const double *by[5] = { S, Sinv, S, S, Sinv };
    const int rows[5] = { (int)pb->p, (int)pb->q, (int)pb->p, (int)pb->p, (int)pb->p };
    for (int k = 0; k < 5; k++) {
        const int m = rows[k];
        if (right[k] == NULL)
            continue;
        memcpy(work, right[k], (size_t)m * d * sizeof *work);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, d, d, 1.0, work, m, by[k], d,
                    0.0, right[k], m);
    }
    return RRR_OK;
}

/* Local, same on every rank: the stopping rules of README "Stopping". Returns the reason to
 * stop (NULL: go on) and sets *conv when it is convergence. */
static const char *stop_rule(const rrr_problem *pb, const rrr_fit_opts *o, long k, double f,
                             double fprev, double g, double g0, int cross, int *conv)
{
    /* (100 eps)^2 ||Yc||^2 for f from the residual. The cross-product form cannot see that
     * far (its f is known to ~eps yy): it hands over to the residual form instead. */
    double floor = cross ? -1.0 : 1e4 * DBL_EPSILON * DBL_EPSILON * pb->yy;
    *conv = 1;
    if (g == 0.0)
        return "zero gradient";
    if (f <= floor)
        return "objective at rounding floor";
    if (k > 0 && fprev - f <= o->tol * f && g <= sqrt(o->tol) * g0)
        return "converged";
    *conv = 0;
    return k >= o->max_iter ? "max_iter" : NULL;
}

/* Local. Append f to the objective history, growing it geometrically. */
static int record(rrr_model *m, size_t *cap, double f)
{
    if (m->nhistory == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        double *h = realloc(m->history, nc * sizeof *h);
        if (h == NULL)
            return 0;
        m->history = h;
        *cap = nc;
    }
    m->history[m->nhistory++] = f;
    return 1;
}

/* Keep C = X^T Y? It costs one pass of 2 n p q / K flops and p q doubles per rank; then no
 * iteration reads Y: each reads X once and does (n/K) 4pd flops instead of reading X twice
 * and Y twice for (n/K)(6pd + 8qd), but every rank repeats 6pqd flops of C V and C^T U. Auto:
 * when C takes at most 1/16 of the memory per rank and 6pqd <= 2 (n/K)(2pd + 8qd), i.e. the
 * replicated work does not outgrow what it saves (it does for wide problems on many ranks).
 * The factor 2 stands for the residual form's extra memory traffic (X and Y read twice): it
 * puts the switch for p = 4000, q = 1000, d = 20 at 750 rows per rank, where
 * scripts/model.py calibrated on a Zen 4 node put it at ~1000 (flops alone: 1500). */
int rrr_gd_keeps_xty(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o)
{
    const double p = (double)pb->p, q = (double)pb->q, d = pb->d;
    const double rows = ceil((double)pb->n / ctx->size);
    if (o->gd_xty >= 0)
        return o->gd_xty;
    return 8.0 * p * q <= rrr_mem_per_rank(ctx) / 16 &&
           6 * p * q * d <= 2 * rows * (2 * p * d + 8 * q * d);
}

/* Iterations of the cross-product form between recomputations of W = Xc^T Xc U: the
 * recurrence W += a H then drifts by at most ~W_REFRESH roundings of one Gram pass, for
 * 1/W_REFRESH more passes. */
enum { W_REFRESH = 50 };

rrr_status rrr_solve_gd(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        rrr_model *m)
{
    const int cross = rrr_gd_keeps_xty(ctx, pb, o);
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    const size_t pd = (size_t)p * d, qd = (size_t)q * d, dd = (size_t)d * d;
    /* pass buffers large enough for either form (the residual form's sums, or p d for the
     * Gram pass) */
    const size_t lgmax = rrr_pass_g_len(pb), lbmax = rrr_pass_b_len(pb) + pd;
    double *U = m->U, *V = m->V;
    double *C = cross ? rrr_malloc(pb->p * pb->q, sizeof *C) : NULL;
    double *W = rrr_calloc(pd, sizeof *W);
    double *CtU = rrr_malloc(qd, sizeof *CtU);
    double *At = rrr_malloc(pb->nloc * (size_t)d, sizeof *At);
    double *work = rrr_malloc(rrr_pass_work(pb), sizeof *work);
    /* the sums of the passes, plus flags that ride along in the same allreduces:
     * sg[lg] a pending stop signal, sg[lg + 1] and sb[lb] a local failure on some rank */
    double *sg = rrr_malloc(lgmax + 2, sizeof *sg), *sb = rrr_malloc(lbmax + 1, sizeof *sb);
    double *gU = rrr_malloc(pd, sizeof *gU), *gV = rrr_malloc(qd, sizeof *gV);
    double *Z = rrr_malloc(pd, sizeof *Z), *D = rrr_calloc(pd, sizeof *D);
    double *tmp = rrr_malloc((p > q ? pd : qd), sizeof *tmp); /* rebalance's copies */
    double *gprev = rrr_calloc(pd, sizeof *gprev);
    double *UtU = rrr_malloc(dd, sizeof *UtU), *VtV = rrr_malloc(dd, sizeof *VtV);
    double *AtA = rrr_malloc(dd, sizeof *AtA), *H = rrr_malloc(2 * dd, sizeof *H);
    size_t cap = 0;
    rrr_status st = RRR_OK;
    if (!At || !work || !sg || !sb || !gU || !gV || !Z || !D || !gprev || !UtU || !VtV || !H ||
        !AtA || !CtU || !W || !tmp || (cross && !C))
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gd: out of memory for %zu rows", pb->nloc);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    if (cross) {
        double t0 = MPI_Wtime();
        rrr_cross(pb, C, work);
        ctx->t[RRR_T_COMPUTE] += MPI_Wtime() - t0;
        rrr_allreduce_sum(ctx, C, pb->p * pb->q);
        m->setup_seconds = MPI_Wtime() - t0;
        rrr_info(ctx, "gd: keeps X^T Y (%zu x %zu); iterations read X only, once", pb->p, pb->q);
    }

    /* The state a checkpoint holds; everything else is recomputed from it and the data. */
    rrr_ckpt_state s = { .iter = 0, .fprev = INFINITY, .g0 = 0, .zg_prev = 0,
                         .U = U, .V = V, .D = D, .gprev = gprev, .W = W, .w_valid = 0 };
    int resumed = 0;
    if (o->checkpoint != NULL && o->resume)
        st = rrr_checkpoint_load(ctx, pb, o, RRR_SOLVER_GD, &s, &resumed);
    if (st != RRR_OK)
        goto done;
    if (resumed) { /* the loader allocates room for one more entry */
        m->history = s.history;
        m->nhistory = s.nhistory;
        cap = s.nhistory + 1;
    }
    if (!resumed) {
        /* U = 0 and a random orthonormal V (the same on every rank, from the seed): the first
         * step then moves U along X^T Y V, one step of subspace iteration. */
        memset(U, 0, pd * sizeof *U);
        for (int k = 0; k < d; k++)
            for (int i = 0; i < q; i++)
                V[IDX(i, k, q)] = rrr_rng_normal(o->seed, 100, (uint64_t)i, (uint64_t)k);
        st = rrr_agree(ctx, rrr_orthonormalize((size_t)q, d, V, &ctx->err));
        if (st != RRR_OK)
            goto done;
        s.w_valid = 1; /* W = Xc^T Xc 0 = 0 exactly: no pass needed to know it */
    }

    /* The cross-product form knows f only to ~ a few eps yy (cancellation in its identity),
     * and its gradient to a like absolute error: its decrease test f_prev - f <= tol f is
     * noise once tol f < ~100 eps yy, and near an exact fit it would stop on noise (gaps
     * of 1e-4 to f* were seen at f* ~ 1e-11 yy). So the residual form takes over once
     * f <= h yy, h = 100 eps / tol within [1e4 eps, 1e-3]: a fit that explains more than
     * 99.9 % of ||Yc||^2 always finishes in the residual form. */
    const double h = fmin(1e-3, fmax(1e4 * DBL_EPSILON, 100 * DBL_EPSILON / o->tol));
    const double handover = h * pb->yy;
    double last_print = -1.0, step = 0.0;
    int verify = 0; /* recompute W before accepting convergence */
    /* A failure seen by one rank only (out of memory) is kept in lst and announced through
     * the next allreduce; every rank then leaves the loop at the same point. */
    rrr_status lst = RRR_OK;
    for (;;) {
        /* The switch depends on the replicated state only (f_prev), so a resumed run makes
         * the same choice. */
        const int xf = cross && !(s.fprev <= handover);
        /* pass G: the residual form's, a Gram pass refreshing W, or none (flags only) */
        const int fresh = !xf || !s.w_valid || (s.iter > 0 && s.iter % W_REFRESH == 0) || verify;
        const size_t lg = !xf ? rrr_pass_g_len(pb) : fresh ? pd : 0;
        double t0 = MPI_Wtime();
        if (!xf)
            rrr_pass_g(pb, U, V, At, sg, work);
        else if (fresh)
            rrr_pass_gram(pb, U, sg, work);
        sg[lg] = rrr_stop_requested ? 1.0 : 0.0;
        sg[lg + 1] = lst != RRR_OK ? 1.0 : 0.0;
        ctx->t[RRR_T_COMPUTE] += MPI_Wtime() - t0;
        rrr_allreduce_sum(ctx, sg, lg + 2);
        if (sg[lg + 1] > 0)
            break;
        s.w_valid = xf;
        if (xf && fresh)
            memcpy(W, sg, pd * sizeof *W);

        t0 = MPI_Wtime();
        double f;
        if (xf)
            gradients_cross(pb, C, U, V, W, UtU, VtV, AtA, CtU, &f, gU, gV);
        else
            rrr_gradients(pb, U, V, sg, UtU, VtV, &f, gU, gV);
        double g = sqrt(dot(pd, gU, gU) + dot(qd, gV, gV));
        if (s.iter == 0 && !resumed)
            s.g0 = g;
        if (!isfinite(f) || !isfinite(g)) {
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC,
                          "gd: objective or gradient not finite at iteration %ld", s.iter);
            break;
        }
        /* On the iteration that hands over, f_prev (cross form, known to ~eps yy) and f
         * (residual) are not comparable: no decrease test there. Whether the previous
         * iteration was in the cross form follows from f two iterations back, in the history
         * (so a resumed run decides the same). */
        const double f2 = m->nhistory >= 2 ? m->history[m->nhistory - 2] : (double)INFINITY;
        const int xf_prev = cross && !(f2 <= handover);
        if (xf_prev && !xf)
            rrr_info(ctx, "gd: f <= %.1e ||Yc||^2: the residual form takes over at iteration %ld",
                     h, s.iter);
        int conv;
        const char *why = stop_rule(pb, o, s.iter, f, xf == xf_prev ? s.fprev : (double)INFINITY, g,
                                    s.g0, xf, &conv);
        verify = why != NULL && conv && !fresh;
        if (verify) { /* W came from the recurrence: confirm with fresh sums first */
            ctx->t[RRR_T_SOLVE] += MPI_Wtime() - t0;
            continue;
        }
        if (!record(m, &cap, f))
            lst = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gd: out of memory for the history");
        double now = rrr_elapsed(ctx);
        if (s.iter < 10 || now - last_print >= 1.0) {
            rrr_info(ctx, "iter %6ld  f %.15e  |grad| %.3e  step %.3e  t %.3f s", s.iter, f, g,
                     step, now);
            last_print = now;
        }
        s.history = m->history; /* f of iterations 0 .. iter-1 */
        s.nhistory = m->nhistory > 0 ? m->nhistory - 1 : 0;
        if (sg[lg] > 0) { /* some rank got SIGTERM/SIGUSR1: every rank stops here */
            st = rrr_checkpoint_on_signal(ctx, pb, o, RRR_SOLVER_GD, &s);
            break;
        }
        if (o->checkpoint != NULL && s.iter > 0 && s.iter % o->checkpoint_every == 0 && !resumed) {
            st = rrr_checkpoint_save(ctx, pb, o, RRR_SOLVER_GD, &s);
            if (st != RRR_OK)
                break;
        }
        resumed = 0;
        if (why != NULL) {
            m->converged = conv;
            snprintf(m->stop_reason, sizeof m->stop_reason, "%s", why);
            break;
        }

        /* Preconditioned direction Z = gU (V^T V)^+ and the Polak-Ribiere+ update. */
        memcpy(Z, gU, pd * sizeof *Z);
        if (lst == RRR_OK)
            lst = rrr_solve_right_psd(d, VtV, (size_t)p, Z, &ctx->err);
        double zg = dot(pd, Z, gU);
        double beta = s.zg_prev > 0 ? (zg - dot(pd, Z, gprev)) / s.zg_prev : 0.0;
        if (!(beta > 0))
            beta = 0.0;
        cblas_dscal((int)pd, beta, D, 1);
        cblas_daxpy((int)pd, -1.0, Z, 1, D, 1);
        double slope = dot(pd, gU, D);
        if (!(slope < 0)) { /* not a descent direction: restart from the gradient */
            memcpy(D, Z, pd * sizeof *D);
            cblas_dscal((int)pd, -1.0, D, 1);
            slope = -zg;
        }
        memcpy(gprev, gU, pd * sizeof *gprev);
        s.zg_prev = zg;
        ctx->t[RRR_T_SOLVE] += MPI_Wtime() - t0;

        /* pass B along D: H = Xc^T Xc D (cross form), or E^T E, A^T E, Y^T E */
        const size_t lb = xf ? pd : rrr_pass_b_len(pb);
        t0 = MPI_Wtime();
        if (xf)
            rrr_pass_gram(pb, D, sb, work);
        else
            rrr_pass_b(pb, D, At, sb, work);
        sb[lb] = lst != RRR_OK ? 1.0 : 0.0;
        ctx->t[RRR_T_COMPUTE] += MPI_Wtime() - t0;
        rrr_allreduce_sum(ctx, sb, lb + 1);
        if (sb[lb] > 0)
            break;

        t0 = MPI_Wtime();
        /* curvature c = tr(E^T E V^T V) + lambda tr(D^T D V^T V), E^T E = D^T H in the cross
         * form; step a = -slope / (2 c) */
        double *DtD = H, *EtE = xf ? H + dd : sb;
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, D, p, D, p, 0.0, DtD, d);
        if (xf)
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, D, p, sb, p, 0.0,
                        EtE, d);
        double c = frob(d, EtE, VtV) + pb->lambda * frob(d, DtD, VtV);
        step = c > 0 ? -slope / (2.0 * c) : 0.0;
        cblas_daxpy((int)pd, step, D, 1, U, 1);
        /* A'^T A' and Y^T A' for the V update: from W' = W + a H (cross form), or from the
         * sums of both passes, Y^T A' = Y^T A + a Y^T E (residual form) */
        if (xf) {
            cblas_daxpy((int)pd, step, sb, 1, W, 1);
            gram_ata(p, d, U, W, AtA);
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, q, d, p, 1.0, C, p, U, p, 0.0,
                        CtU, q);
        } else {
            step_ata(d, step, sg + pd + qd, sb, AtA);
            memcpy(CtU, sg + pd, qd * sizeof *CtU);
            cblas_daxpy((int)qd, step, sb + 2 * dd, 1, CtU, 1);
        }
        lst = update_v(pb, U, AtA, CtU, V, H, &ctx->err);
        if (lst == RRR_OK)
            lst = rebalance(pb, U, V, D, xf ? W : NULL, gprev, tmp, H, &ctx->err);
        ctx->t[RRR_T_SOLVE] += MPI_Wtime() - t0;
        s.fprev = f;
        s.iter++;
    }
    st = rrr_agree(ctx, st != RRR_OK ? st : lst);
    m->iterations = s.iter;
    m->gradient_norm_initial = s.g0;
done:
    free(C);
    free(W);
    free(CtU);
    free(At);
    free(work);
    free(sg);
    free(sb);
    free(gU);
    free(gV);
    free(Z);
    free(tmp);
    free(D);
    free(gprev);
    free(UtU);
    free(VtV);
    free(AtA);
    free(H);
    return st;
}
