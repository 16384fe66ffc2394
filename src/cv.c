/* src/cv.c: `rrr cv`: K-fold cross-validation of (lambda, rank) from one pass over the
 * data. The pass sums, per fold, X_k^T X_k, X_k^T Y_k, ||Y_k||^2, the column sums and n_k
 * (cv_stats.c); every training set's statistics are the totals minus one fold's, and every
 * (fold, lambda, rank) error follows from statistics alone (cv_solve.c). Folds are spread
 * over the ranks for that algebra; one allreduce gathers the table. Then the rule picks
 * (lambda, d), and the model is fitted on all rows exactly as `rrr fit` fits it. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "cv.h"
#include "folds.h"
#include "input.h"
#include "json.h"
#include "fit.h"
#include "fnv.h"
#include "model.h"
#include "npy.h"
#include "output.h"
#include "plan.h"
#include "signals.h"
#include "stream.h"

void rrr_cv_opts_default(rrr_cv_opts *o)
{
    memset(o, 0, sizeof *o);
    o->folds = 5;
    o->rule = RRR_CV_MIN;
    rrr_fit_opts_default(&o->fit);
}

void rrr_cv_result_destroy(rrr_cv_result **res)
{
    if (res == NULL || *res == NULL)
        return;
    free((*res)->ranks);
    free((*res)->lambdas);
    free((*res)->fold_sizes);
    free((*res)->cv_mse);
    free((*res)->cv_se);
    free((*res)->sse);
    free((*res)->cv_mse_rounding);
    free(*res);
    *res = NULL;
}

/* Local (replicated values: every rank decides alike). */
static rrr_status check_grid(rrr_err *e, const rrr_input *IX, const rrr_input *IY,
                             const rrr_cv_opts *o)
{
    const size_t n = rrr_input_rows(IX), p = rrr_input_cols(IX), q = rrr_input_cols(IY);
    if (n != rrr_input_rows(IY) || n == 0 || p == 0 || q == 0)
        return RRR_FAIL(e, RRR_EINVAL, "cv: X (%zu x %zu) and Y (%zu x %zu) must have the same, "
                        "non-zero number of rows", n, p, rrr_input_rows(IY), q);
    if (o->nranks < 1 || o->nlambdas < 1 || o->ranks == NULL || o->lambdas == NULL)
        return RRR_FAIL(e, RRR_EINVAL, "cv: no ranks or no lambdas to search");
    for (int r = 0; r < o->nranks; r++) {
        rrr_status st = rrr_check_rank(e, o->ranks[r], p, q);
        if (st != RRR_OK)
            return st;
        if (r > 0 && o->ranks[r] <= o->ranks[r - 1])
            return RRR_FAIL(e, RRR_EINVAL, "cv: the ranks must be ascending and distinct");
    }
    for (int l = 0; l < o->nlambdas; l++) {
        if (!(o->lambdas[l] >= 0) || !isfinite(o->lambdas[l]))
            return RRR_FAIL(e, RRR_EINVAL, "cv: lambda %g: every lambda must be a finite number "
                            ">= 0", o->lambdas[l]);
        if (l > 0 && o->lambdas[l] <= o->lambdas[l - 1])
            return RRR_FAIL(e, RRR_EINVAL, "cv: the lambdas must be ascending and distinct");
    }
    if (o->fold_ids == NULL && (o->folds < 2 || (size_t)o->folds > n))
        return RRR_FAIL(e, RRR_EINVAL, "cv: --folds %d: need 2 <= K <= n = %zu", o->folds, n);
    if (o->fold_ids != NULL && (o->fold_ids->n != n || o->fold_ids->ncols != 1))
        return RRR_FAIL(e, RRR_EINVAL, "cv: the fold ids are %zu x %zu; expected n x 1 = %zu x 1",
                        o->fold_ids->n, o->fold_ids->ncols, n);
    if (o->rule != RRR_CV_MIN && o->rule != RRR_CV_1SE)
        return RRR_FAIL(e, RRR_EINVAL, "cv: unknown rule %d", o->rule);
    if (o->method < RRR_CV_AUTO || o->method > RRR_CV_GD)
        return RRR_FAIL(e, RRR_EINVAL, "cv: unknown method %d", o->method);
    if (o->fit.checkpoint != NULL || o->fit.resume)
        return RRR_FAIL(e, RRR_EINVAL, "cv does not checkpoint (its one pass is short): drop "
                        "--checkpoint and --resume");
    return rrr_check_int_sizes(e, p, q, o->ranks[o->nranks - 1]);
}

/* Collective. My rows' folds, from the seed or from the ids; K and the fold sizes
 * (allreduced). Bad ids (not integers in [0, K), an empty fold) are RRR_EINVAL. */
static rrr_status assign_folds(rrr_cv_run *cv, rrr_cv_result *res)
{
    rrr_ctx *ctx = cv->ctx;
    const rrr_problem *pb = cv->pb;
    const rrr_block *F = cv->o->fold_ids;
    const size_t r0 = pb->r0, nloc = pb->nloc;
    rrr_status st = RRR_OK;
    double kmax = 0;
    if (F != NULL && (F->r0 != r0 || F->nloc != nloc))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "cv: rank %d holds fold ids of rows [%zu, %zu), "
                      "but rows [%zu, %zu) of X and Y: each rank must hold the ids of its rows",
                      ctx->rank, F->r0, F->r0 + F->nloc, r0, r0 + nloc);
    for (size_t il = 0; il < pb->nloc && st == RRR_OK; il++) {
        if (F == NULL) {
            cv->fold[il] = rrr_fold_of(r0 + il, pb->n, cv->o->folds, cv->o->fold_seed);
            continue;
        }
        double v = F->a[il];
        if (!(v >= 0) || v != floor(v) || v > 1e6)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "--fold-ids: row %zu holds %.17g: fold ids must "
                          "be integers 0 .. K-1 (K at most 1000001)", r0 + il, v);
        else
            cv->fold[il] = (int)v;
        kmax = fmax(kmax, v);
    }
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    MPI_Allreduce(MPI_IN_PLACE, &kmax, 1, MPI_DOUBLE, MPI_MAX, ctx->comm);
    cv->K = F == NULL ? cv->o->folds : (int)kmax + 1;
    res->folds = cv->K;
    res->n = pb->n;
    res->random_folds = F == NULL;
    res->fold_seed = cv->o->fold_seed;
    res->fold_sizes = rrr_calloc((size_t)cv->K, sizeof *res->fold_sizes);
    st = res->fold_sizes ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    for (size_t il = 0; il < pb->nloc; il++)
        res->fold_sizes[cv->fold[il]]++;
    MPI_Allreduce(MPI_IN_PLACE, res->fold_sizes, cv->K, MPI_LONG_LONG, MPI_SUM, ctx->comm);
    if (F != NULL && cv->K < 2)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--fold-ids: only one fold (0): need at least two");
    for (int k = 0; k < cv->K; k++)
        if (res->fold_sizes[k] == 0)
            return RRR_FAIL(&ctx->err, RRR_EINVAL, "--fold-ids: fold %d is empty (ids must be "
                            "0 .. K-1 with every fold non-empty; K = %d from the largest id)",
                            k, cv->K);
    return RRR_OK;
}

/* Local. How many folds' statistics fit at once: (group + 1) regions of (p^2 + pq + ...)
 * doubles and one fold's algebra within half the memory per rank. */
static int fold_group(const rrr_cv_run *cv, double *need)
{
    const double p = (double)cv->pb->p, q = (double)cv->pb->q;
    const double region = 8.0 * (double)rrr_cv_flen(cv->pb->p, cv->pb->q);
    const double algebra = 8.0 * (2 * p * p + 3 * p * q + (p < q ? p * p : q * q));
    const double avail = RRR_PLAN_STATS_FRACTION * cv->ctx->mem_per_rank - algebra;
    *need = (cv->K + 1) * region + algebra;
    int g = avail > 0 ? (int)fmin((double)cv->K, floor(avail / region) - 1) : 0;
    return g;
}

/* Collective. The errors of folds [k0, k1) whose statistics are in memory, in rounds of
 * one fold per rank; a signal or a failure on any rank stops every rank alike. A round of
 * r folds < K_ranks (the last, when the ranks do not divide the folds) gives fold
 * base + j mod r to rank j with every (j / r)-th lambda of that fold's ranks, so that no rank
 * idles through it (5 folds on 2 ranks: 3 folds' algebra on one, 2 on the other, before);
 * the fold's eigendecomposition is then made by each of its ranks, and each fills its own
 * lambdas' cells of the table. */
static rrr_status folds_sse(rrr_cv_run *cv, int k0, int k1, double t0)
{
    rrr_ctx *ctx = cv->ctx;
    rrr_status st = RRR_OK;
    for (int base = k0; base < k1 && st == RRR_OK; base += ctx->size) {
        const int r = k1 - base < ctx->size ? k1 - base : ctx->size;
        const int slot = ctx->rank % r, share = ctx->rank / r;
        const int sharers = (ctx->size - 1 - slot) / r + 1; /* ranks j with j mod r == slot */
        rrr_status lst = share < cv->o->nlambdas
                             ? rrr_cv_fold_sse(cv, base + slot, share, sharers) : RRR_OK;
        rrr_flags fl = rrr_flags_agree(ctx, lst);
        if (fl.fail)
            st = rrr_agree(ctx, lst);
        else if (fl.stop)
            st = RRR_FAIL(&ctx->err, RRR_ESTOPPED, "cv: stopped by a signal; nothing was written");
        else
            rrr_info(ctx, "cv: folds %d-%d of %d done (%d lambdas x %d ranks each), %.2f s",
                     base + 1, base + ctx->size < k1 ? base + ctx->size : k1, cv->K,
                     cv->o->nlambdas, cv->o->nranks, rrr_elapsed(ctx) - t0);
    }
    return st;
}

/* Collective. fit factors [X Y] by QR where the column-scaled Cholesky factor's condition
 * exceeds RRR_QR_COND (the normal equations keep few digits there); cv's per-fold algebra
 * has no rows left for that, so it says so: on collinear spectra at lambda = 1e-14 cv_mse
 * was 9-37 % off a refit, and the choice depended on the rank count. */
static void warn_condition(rrr_ctx *ctx, rrr_cv_run *cv)
{
    struct { double c; int k; } in = { cv->cond, cv->cond_fold }, out;
    MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, ctx->comm);
    if (!(out.c > RRR_QR_COND))
        return;
    rrr_warn(ctx, "cv: at the smallest lambda (%g) the training X^T X + lambda I of fold %d has a "
             "Cholesky factor of condition %.1e after scaling its columns (above %.0e, where fit "
             "would factor the rows by QR): the per-fold algebra keeps few digits there, so "
             "cv_mse at the smallest lambdas may keep only a few (off by percents at 1e8; "
             "beyond cv_mse_rounding); "
             "use larger lambdas, or scale or drop nearly collinear columns", cv->o->lambdas[0],
             out.k, out.c, RRR_QR_COND);
}

/* Collective. The statistics pass(es) and the per-fold algebra. */
static rrr_status search(rrr_cv_run *cv, rrr_cv_result *res)
{
    rrr_ctx *ctx = cv->ctx;
    double need, t0 = rrr_elapsed(ctx);
    int g = fold_group(cv, &need);
    if (g < 1)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: the statistics of one fold need %.3g GB "
                        "per rank, more than the %.3g GB available: use more ranks",
                        need / (cv->K + 1) / 1e9, ctx->mem_per_rank / 1e9);
    cv->group = g;
    cv->stats = rrr_malloc((size_t)(g + 1) * rrr_cv_flen(cv->pb->p, cv->pb->q), sizeof(double));
    rrr_status st = cv->stats ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory "
                                                  "for the statistics of %d folds", g);
    st = rrr_agree(ctx, st);
    res->passes = g == cv->K ? 1 : 1 + (cv->K + g - 1) / g;
    if (st == RRR_OK && g < cv->K) {
        rrr_warn(ctx, "cv: the statistics of %d folds need %.3g GB per rank, %.3g GB available: "
                 "%d passes over the data (folds %d at a time)", cv->K, need / 1e9,
                 ctx->mem_per_rank / 1e9, res->passes, g);
        cv->k0 = 0;
        st = rrr_cv_stats(cv, 0, 0); /* the totals, on their own */
    }
    for (int k0 = 0; k0 < cv->K && st == RRR_OK; k0 += g) {
        int k1 = k0 + g < cv->K ? k0 + g : cv->K;
        cv->k0 = k0;
        st = rrr_cv_stats(cv, k0, k1);
        if (st == RRR_OK)
            st = folds_sse(cv, k0, k1, t0);
    }
    if (st == RRR_OK) {
        size_t len = (size_t)cv->K * (size_t)res->nranks * (size_t)res->nlambdas;
        rrr_allreduce_sum(ctx, cv->sse, len);
        rrr_allreduce_sum(ctx, cv->sse_mag, len);
        MPI_Allreduce(MPI_IN_PLACE, &cv->flops, 1, MPI_DOUBLE, MPI_MAX, ctx->comm);
        res->flops = cv->flops;
        warn_condition(ctx, cv);
    }
    return st;
}

/* Local. cv_mse and cv_se from the SSE table: cv_mse = sum_k SSE_k / (n q), cv_se = the
 * sample standard deviation (K - 1 in the denominator) of SSE_k / (n_k q), over sqrt(K);
 * cv_mse's rounding, 4 eps of the magnitudes the SSE_k cancelled (a few eps of ||Y_k||^2
 * was measured), from mag. */
static void summarise(const rrr_problem *pb, const double *mag, rrr_cv_result *res)
{
    const int nr = res->nranks, nl = res->nlambdas, K = res->folds;
    const double q = (double)pb->q;
    for (int r = 0; r < nr; r++)
        for (int l = 0; l < nl; l++) {
            double sum = 0, m = 0, ss = 0;
            double cancelled = 0;
            for (int k = 0; k < K; k++) {
                sum += res->sse[((size_t)k * nr + r) * nl + l];
                cancelled += mag[((size_t)k * nr + r) * nl + l];
            }
            res->cv_mse_rounding[(size_t)r * nl + l] = 4 * DBL_EPSILON * cancelled / ((double)pb->n * q);
            for (int k = 0; k < K; k++)
                m += res->sse[((size_t)k * nr + r) * nl + l] / ((double)res->fold_sizes[k] * q);
            m /= K;
            for (int k = 0; k < K; k++) {
                double v = res->sse[((size_t)k * nr + r) * nl + l] /
                           ((double)res->fold_sizes[k] * q) - m;
                ss += v * v;
            }
            res->cv_mse[(size_t)r * nl + l] = sum / ((double)pb->n * q);
            res->cv_se[(size_t)r * nl + l] = sqrt(ss / (K - 1)) / sqrt((double)K);
        }
}

/* Local (replicated). Say so when cv_mse is at the rounding level of the sums it came from
 * (a nearly exact fit: the chosen cell's value not 3 digits above its rounding, or a
 * value at or below its own, negative even): the table cannot tell those candidates apart. */
static void warn_rounding(rrr_ctx *ctx, const rrr_cv_result *res)
{
    const size_t cells = (size_t)res->nranks * (size_t)res->nlambdas;
    size_t low = 0, at = 0;
    for (size_t c = 0; c < cells; c++) {
        low += res->cv_mse_rounding[c] > 0 && res->cv_mse[c] <= res->cv_mse_rounding[c];
        if (res->ranks[c / (size_t)res->nlambdas] == res->rank &&
            res->lambdas[c % (size_t)res->nlambdas] == res->lambda)
            at = c;
    }
    if (low == 0 && !(res->cv_mse_rounding[at] > 1e-3 * res->cv_mse[at]))
        return;
    rrr_warn(ctx, "cv: cv_mse is at the rounding level of the fold sums it is computed from "
             "(a nearly exact fit: %.3g at the choice, rounding ~%.1g; %zu of %zu values at or "
             "below theirs): candidates whose cv_mse differ by less are not told apart (the "
             "rule's tie-break decides among them; cv.json cv_mse_rounding)",
             res->cv_mse[at], res->cv_mse_rounding[at], low, cells);
}

/* Local. The rules of README "cv". min: the smallest cv_mse, ties to the larger lambda,
 * then the smaller rank, where values closer than their rounding (cv_mse_rounding: a tie
 * in exact arithmetic comes out a few ulps apart) are ties. 1se: among the pairs within one
 * standard error of that minimum, the smallest rank, and for it the largest lambda. */
static void choose(rrr_cv_result *res)
{
    const int nr = res->nranks, nl = res->nlambdas;
    int br = 0, bl = nl - 1;
    for (int l = nl - 1; l >= 0; l--) /* the preferred candidates first */
        for (int r = 0; r < nr; r++) {
            const size_t c = (size_t)r * nl + l, b = (size_t)br * nl + bl;
            double tie = fmax(res->cv_mse_rounding[c], res->cv_mse_rounding[b]);
            if (!(tie > 0))
                tie = 0;
            if (res->cv_mse[c] < res->cv_mse[b] - tie) {
                br = r;
                bl = l;
            }
        }
    res->cv_mse_min = res->cv_mse[(size_t)br * nl + bl];
    if (res->rule == RRR_CV_1SE) {
        double thr = res->cv_mse_min + res->cv_se[(size_t)br * nl + bl];
        int found = 0;
        for (int r = 0; r < nr && !found; r++)
            for (int l = nl - 1; l >= 0 && !found; l--)
                if (res->cv_mse[(size_t)r * nl + l] <= thr) {
                    br = r;
                    bl = l;
                    found = 1;
                }
    }
    res->rank = res->ranks[br];
    res->lambda = res->lambdas[bl];
    res->cv_mse_choice = res->cv_mse[(size_t)br * nl + bl];
}

/* Local (rank 0). The table on stderr: a line per lambda, a column per rank, cv_mse +- se;
 * '*' marks the choice, '<' the minimum when the 1se rule chose elsewhere. */
static void print_table(const rrr_ctx *ctx, const rrr_cv_result *res)
{
    if (ctx->rank != 0 || ctx->quiet)
        return;
    const int nr = res->nranks, nl = res->nlambdas;
    fprintf(stderr, "rrr: cv: %d folds; cv_mse +- se (* chosen by the %s rule%s)\n", res->folds,
            res->rule == RRR_CV_1SE ? "1se" : "min", res->rule == RRR_CV_1SE ? ", < the minimum" : "");
    fprintf(stderr, "rrr: %12s", "lambda \\ d");
    for (int r = 0; r < nr; r++)
        fprintf(stderr, " %21d", res->ranks[r]);
    fputc('\n', stderr);
    for (int l = 0; l < nl; l++) {
        fprintf(stderr, "rrr: %12.4g", res->lambdas[l]);
        for (int r = 0; r < nr; r++) {
            double m = res->cv_mse[(size_t)r * nl + l], se = res->cv_se[(size_t)r * nl + l];
            int chosen = res->ranks[r] == res->rank && res->lambdas[l] == res->lambda;
            int least = res->rule == RRR_CV_1SE && m == res->cv_mse_min;
            fprintf(stderr, " %10.6g +- %7.2g%c", m, se, chosen ? '*' : least ? '<' : ' ');
        }
        fputc('\n', stderr);
    }
}

/* Collective. A new result with the grids copied and the tables zeroed. */
static rrr_status result_new(rrr_ctx *ctx, const rrr_cv_opts *o, rrr_cv_result **out)
{
    rrr_cv_result *res = calloc(1, sizeof *res);
    size_t cells = (size_t)o->nranks * (size_t)o->nlambdas;
    if (res != NULL) {
        res->nranks = o->nranks;
        res->nlambdas = o->nlambdas;
        res->rule = o->rule;
        res->ranks = rrr_malloc((size_t)o->nranks, sizeof *res->ranks);
        res->lambdas = rrr_malloc((size_t)o->nlambdas, sizeof *res->lambdas);
        res->cv_mse = rrr_calloc(cells, sizeof *res->cv_mse);
        res->cv_se = rrr_calloc(cells, sizeof *res->cv_se);
        res->cv_mse_rounding = rrr_calloc(cells, sizeof *res->cv_mse_rounding);
        snprintf(res->method, sizeof res->method, "statistics");
    }
    rrr_status st = RRR_OK;
    if (res == NULL || !res->ranks || !res->lambdas || !res->cv_mse || !res->cv_se ||
        !res->cv_mse_rounding) {
        rrr_cv_result_destroy(&res);
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory for the results");
    } else {
        memcpy(res->ranks, o->ranks, (size_t)o->nranks * sizeof *res->ranks);
        memcpy(res->lambdas, o->lambdas, (size_t)o->nlambdas * sizeof *res->lambdas);
    }
    *out = res;
    return rrr_agree(ctx, st);
}

/* Collective. Folds, statistics, errors, the choice. *totals: the replicated statistics of
 * all rows (a region of rrr_cv_flen doubles, new) when the search had them, else NULL. */
/* Collective. The grid and gd methods take the rows in memory: read (when the plan found
 * room for them, else exit 1 before reading), and their means (into means). */
static rrr_status rows_in_memory(rrr_ctx *ctx, rrr_problem *pb, rrr_input *X, rrr_input *Y,
                                 const rrr_plan *plan, const char *method, int intercept,
                                 double *means)
{
    const rrr_block *BX = NULL, *BY = NULL;
    double *xm = NULL, *ym = NULL;
    if (!plan->gd_fits)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: the %s method holds the rows in memory: "
                        "%.3g GB per rank, %.3g GB available (out of memory): use more ranks",
                        method, plan->gd_bytes / 1e9, plan->mach.mem_per_rank / 1e9);
    rrr_status st = rrr_input_load(ctx, X, &BX);
    if (st == RRR_OK)
        st = rrr_input_load(ctx, Y, &BY);
    if (st != RRR_OK)
        return st;
    pb->Xt = BX->a;
    pb->Yt = BY->a;
    st = rrr_column_stats(ctx, pb, intercept, 1, &xm, &ym); /* warns: cv.warned */
    if (st == RRR_OK && intercept) {
        memcpy(means, xm, pb->p * sizeof *means);
        memcpy(means + pb->p, ym, pb->q * sizeof *means);
        pb->xm = means;
        pb->ym = means + pb->p;
    }
    free(xm);
    free(ym);
    return st;
}

static rrr_status cross_validate(rrr_ctx *ctx, rrr_problem *pb, rrr_input *X, rrr_input *Y,
                                 double *means, const rrr_cv_opts *o, rrr_cv_result *res,
                                 double **totals)
{
    rrr_cv_run cv = { .ctx = ctx, .pb = pb, .o = o, .D = o->ranks[o->nranks - 1], .X = X,
                      .Y = Y, .intercept = o->fit.intercept, .mean = means };
    rrr_machine mach = rrr_machine_of(ctx);
    mach.resident = rrr_input_in_memory(X) && rrr_input_in_memory(Y);
    rrr_plan plan;
    rrr_plan_make(&mach, pb->n, pb->p, pb->q, cv.D, &o->fit, &plan);
    cv.route = plan.route;
    cv.fold = rrr_malloc(pb->nloc, sizeof *cv.fold);
    cv.shift = rrr_malloc(2 * (pb->p + pb->q) + 1, sizeof *cv.shift);
    rrr_status st = cv.fold && cv.shift ? RRR_OK
                                        : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = assign_folds(&cv, res);
    if (st == RRR_OK) {
        size_t len = (size_t)cv.K * (size_t)res->nranks * (size_t)res->nlambdas;
        res->sse = cv.sse = rrr_calloc(len, sizeof(double));
        cv.sse_mag = rrr_calloc(len, sizeof(double));
        st = rrr_agree(ctx, res->sse && cv.sse_mag
                                ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory"));
    }
    char why[256];
    int method = rrr_plan_cv_method(&plan, cv.K, o->method, why, sizeof why);
    if (st == RRR_OK && why[0])
        rrr_info(ctx, "cv: %s", why);
    if (st == RRR_OK && method == RRR_CV_STATISTICS && plan.grid)
        snprintf(res->method, sizeof res->method, "statistics on the 2-D grid");
    if (st == RRR_OK && (method == RRR_CV_GD || plan.grid)) { /* these hold the rows */
        st = rows_in_memory(ctx, pb, X, Y, &plan, method == RRR_CV_GD ? "gd" : "2-D grid",
                            o->fit.intercept, means);
        cv.warned = 1; /* rrr_column_stats warned */
    }
    /* the gd method sorts the rows by fold in place: a private copy of the caller's (the
     * library's blocks are borrowed, read-only memory maps among them, and Y may be X) */
    const double *cx = pb->Xt, *cy = pb->Yt;
    double *own = NULL;
    if (st == RRR_OK && method == RRR_CV_GD && mach.resident) {
        const size_t nx = pb->nloc * pb->p, ny = pb->nloc * pb->q;
        own = rrr_malloc(nx + ny > 0 ? nx + ny : 1, sizeof *own);
        st = rrr_agree(ctx, own ? RRR_OK
                                : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory for a copy of "
                                           "my rows (%zu x %zu), which the gd method reorders",
                                           pb->nloc, pb->p + pb->q));
        if (st == RRR_OK) {
            memcpy(own, cx, nx * sizeof *own);
            memcpy(own + nx, cy, ny * sizeof *own);
            pb->Xt = own;
            pb->Yt = own + nx;
        }
    }
    if (st == RRR_OK)
        st = method == RRR_CV_GD ? rrr_cv_gd_search(&cv, res)
             : plan.grid         ? rrr_cv_grid_search(&cv, res)
                                 : search(&cv, res);
    if (own != NULL) {
        pb->Xt = cx;
        pb->Yt = cy;
        free(own);
    }
    if (st == RRR_OK) {
        summarise(pb, cv.sse_mag, res);
        choose(res);
        warn_rounding(ctx, res);
    }
    *totals = NULL;
    if (st == RRR_OK && method == RRR_CV_STATISTICS && !plan.grid) { /* keep them: no pass */
        size_t flen = rrr_cv_flen(pb->p, pb->q);
        memmove(cv.stats, cv.stats + (size_t)cv.group * flen, flen * sizeof(double));
        double *t = realloc(cv.stats, flen * sizeof(double));
        *totals = t ? t : cv.stats;
        cv.stats = NULL;
    }
    free(cv.fold);
    free(cv.stats);
    free(cv.shift);
    free(cv.sse_mag);
    return st;
}

/* Local. What every rank must pass alike to rrr_cv: the grids, the fold choice, the rule,
 * the method, the fit options and the global shapes (NULL blocks count as 0 x 0). */
static uint64_t cv_opts_hash(const rrr_cv_opts *o, const rrr_block *X, const rrr_block *Y)
{
    const uint64_t v[] = { (uint64_t)o->nranks, (uint64_t)o->nlambdas, (uint64_t)o->folds,
                           o->fold_seed, (uint64_t)o->rule, (uint64_t)o->method,
                           o->fold_ids != NULL, o->ranks != NULL, o->lambdas != NULL };
    uint64_t h = rrr_fnv1a(RRR_FNV_INIT, v, sizeof v);
    if (o->ranks != NULL && o->nranks > 0)
        h = rrr_fnv1a(h, o->ranks, (size_t)o->nranks * sizeof *o->ranks);
    if (o->lambdas != NULL && o->nlambdas > 0)
        h = rrr_fnv1a(h, o->lambdas, (size_t)o->nlambdas * sizeof *o->lambdas);
    const uint64_t f = rrr_fit_opts_hash(&o->fit, X ? X->n : 0, X ? X->ncols : 0,
                                         Y ? Y->n : 0, Y ? Y->ncols : 0);
    return rrr_fnv1a(h, &f, sizeof f);
}

rrr_status rrr_cv(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, const rrr_cv_opts *o,
                  rrr_cv_result **res_out, rrr_model **model, rrr_fit_info **info)
{
    if (ctx == NULL || res_out == NULL || model == NULL)
        return RRR_EINVAL;
    *res_out = NULL;
    *model = NULL;
    if (info != NULL)
        *info = NULL;
    if (o == NULL) /* replicated: the same verdict on every rank */
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_cv: no options (rrr_cv_opts_default)");
    rrr_status st = rrr_same_everywhere(ctx, cv_opts_hash(o, X, Y),
                                          "options or shapes (rrr_cv_opts, n, p and q)");
    rrr_input *IX = NULL, *IY = NULL;
    if (st == RRR_OK)
        st = rrr_agree(ctx, rrr_input_mem(ctx, X, &IX));
    if (st == RRR_OK)
        st = rrr_agree(ctx, rrr_input_mem(ctx, Y, &IY));
    if (st == RRR_OK)
        st = rrr_cv_inputs(ctx, IX, IY, o, res_out, model, info);
    rrr_input_close(&IX);
    rrr_input_close(&IY);
    return st;
}

rrr_status rrr_cv_inputs(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, const rrr_cv_opts *o,
                         rrr_cv_result **res_out, rrr_model **model, rrr_fit_info **info)
{
    *res_out = NULL;
    *model = NULL;
    if (info != NULL)
        *info = NULL;
    rrr_status st = rrr_agree(ctx, check_grid(&ctx->err, X, Y, o));
    if (st != RRR_OK)
        return st;
    rrr_problem pb = { .n = rrr_input_rows(X), .p = rrr_input_cols(X), .q = rrr_input_cols(Y),
                       .d = o->ranks[o->nranks - 1], .lambda = o->lambdas[0] };
    st = rrr_input_share(ctx, X, Y, &pb.r0, &pb.nloc);
    if (st != RRR_OK)
        return st;
    double *tot = NULL, *means = rrr_calloc(pb.p + pb.q, sizeof *means);
    rrr_cv_result *res = NULL;
    st = rrr_agree(ctx, means ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory"));
    if (st == RRR_OK)
        st = result_new(ctx, o, &res);
    if (st == RRR_OK)
        st = cross_validate(ctx, &pb, X, Y, means, o, res, &tot);
    if (st == RRR_OK) {
        print_table(ctx, res);
        rrr_info(ctx, "cv: chose rank %d, lambda %.17g (cv_mse %.6g; the minimum %.6g) by the %s "
                 "rule", res->rank, res->lambda, res->cv_mse_choice, res->cv_mse_min,
                 res->rule ? "1se" : "min");
        rrr_fit_opts fo = o->fit;
        fo.d = res->rank;
        fo.lambda = res->lambda;
        rrr_fit_info *fi = NULL;
        /* the totals of the folds are the statistics an exact fit of all rows needs (the
         * same up to the order of summation): no second pass for them */
        rrr_sums sums = { NULL, NULL, 0, NULL, NULL };
        const int chosen = tot != NULL && fo.solver == RRR_SOLVER_AUTO;
        if (tot != NULL) {
            rrr_cv_fold t = rrr_cv_fold_at(tot, pb.p, pb.q);
            sums = (rrr_sums){ t.G, t.C, *t.yy, o->fit.intercept ? means : NULL,
                               o->fit.intercept ? means + pb.p : NULL };
        }
        if (chosen) /* with the statistics in hand exact costs one eigenproblem: auto's choice */
            fo.solver = RRR_SOLVER_EXACT;
        st = rrr_fit_inputs(ctx, X, Y, &fo, tot ? &sums : NULL, 0, model, &fi);
        if (st == RRR_OK)
            snprintf(fi->selected_by, sizeof fi->selected_by, "cv");
        if (st == RRR_OK && chosen) {
            fi->solver_requested = RRR_SOLVER_AUTO;
            snprintf(fi->solver_why, sizeof fi->solver_why, "the search's statistics are those "
                     "of all rows: exact needs no pass over the data");
        }
        if (info != NULL)
            *info = fi;
        else
            rrr_fit_info_destroy(&fi);
    }
    free(tot);
    free(means);
    if (st != RRR_OK)
        rrr_cv_result_destroy(&res);
    *res_out = res;
    return st;
}

/* ---- cv.json and cv.csv ------------------------------------------------------------- */

/* Local. "[rank index][lambda index]" rows of a table. */
static void table_json(rrr_json *j, const char *key, const double *t, int nr, int nl)
{
    rrr_json_arr_begin(j, key);
    for (int r = 0; r < nr; r++)
        rrr_json_nums(j, NULL, t + (size_t)r * nl, (size_t)nl);
    rrr_json_arr_end(j);
}

static void write_cv_json(FILE *f, const rrr_cv_result *res)
{
    rrr_json j;
    long long *ranks = malloc((size_t)res->nranks * sizeof *ranks);
    rrr_json_begin(&j, f);
    rrr_json_str(&j, "format", "rrr-cv-1");
    rrr_json_nums(&j, "lambdas", res->lambdas, (size_t)res->nlambdas);
    for (int r = 0; ranks != NULL && r < res->nranks; r++)
        ranks[r] = res->ranks[r];
    if (ranks != NULL)
        rrr_json_ints(&j, "ranks", ranks, (size_t)res->nranks);
    rrr_json_int(&j, "folds", res->folds);
    rrr_json_str(&j, "folds_from", res->random_folds ? "seed" : "ids"); /* fold_ids.npy ours? */
    rrr_json_ints(&j, "fold_sizes", res->fold_sizes, (size_t)res->folds);
    table_json(&j, "cv_mse", res->cv_mse, res->nranks, res->nlambdas);
    table_json(&j, "cv_se", res->cv_se, res->nranks, res->nlambdas);
    table_json(&j, "cv_mse_rounding", res->cv_mse_rounding, res->nranks, res->nlambdas);
    rrr_json_arr_begin(&j, "sse");
    for (int k = 0; k < res->folds; k++)
        table_json(&j, NULL, res->sse + (size_t)k * res->nranks * res->nlambdas, res->nranks,
                   res->nlambdas);
    rrr_json_arr_end(&j);
    rrr_json_str(&j, "rule", res->rule == RRR_CV_1SE ? "1se" : "min");
    rrr_json_int(&j, "rank", res->rank);
    rrr_json_num(&j, "lambda", res->lambda);
    rrr_json_num(&j, "cv_mse_min", res->cv_mse_min);
    rrr_json_num(&j, "cv_mse_choice", res->cv_mse_choice);
    rrr_json_str(&j, "method", res->method);
    if (strcmp(res->method, "gd") == 0) { /* each iteration is a pass or two over the data */
        rrr_json_int(&j, "gd_iterations", res->gd_iterations);
        rrr_json_int(&j, "gd_fits_not_converged", res->gd_not_converged);
    } else {
        rrr_json_int(&j, "passes", res->passes);
    }
    rrr_json_num(&j, "algebra_flops_per_rank", res->flops);
    rrr_json_end(&j);
    free(ranks);
}

static void write_cv_csv(FILE *f, const rrr_cv_result *res)
{
    fputs("rank,lambda,cv_mse,cv_se\n", f);
    for (int r = 0; r < res->nranks; r++)
        for (int l = 0; l < res->nlambdas; l++)
            fprintf(f, "%d,%.17g,%.17g,%.17g\n", res->ranks[r], res->lambdas[l],
                    res->cv_mse[(size_t)r * res->nlambdas + l],
                    res->cv_se[(size_t)r * res->nlambdas + l]);
}

/* Collective. DIR/fold_ids.npy (n x 1) of random folds, each rank its rows, so that a
 * search can be reproduced or checked elsewhere. */
static rrr_status fold_ids_stage(rrr_ctx *ctx, rrr_outset *o, int slot, const rrr_cv_result *res)
{
    size_t r0 = 0, nloc = 0;
    rrr_partition(res->n, ctx->size, ctx->rank, &r0, &nloc);
    double *ids = rrr_malloc(nloc, sizeof *ids);
    rrr_status st = ids ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    for (size_t il = 0; il < nloc; il++)
        ids[il] = rrr_fold_of(r0 + il, res->n, res->folds, res->fold_seed);
    st = rrr_npy_write_rows(ctx, o, slot, res->n, 1, r0, nloc, ids);
    free(ids);
    return st;
}

/* Collective. cv.json or cv.csv into o's slot (rank 0 writes). */
static rrr_status text_stage(rrr_ctx *ctx, rrr_outset *o, int slot, const rrr_cv_result *res,
                             int csv)
{
    rrr_status st = RRR_OK;
    if (ctx->rank == 0) {
        FILE *f = rrr_outset_stream(ctx, o, slot);
        if (f != NULL && csv)
            write_cv_csv(f, res);
        else if (f != NULL)
            write_cv_json(f, res);
        st = f == NULL ? RRR_EIO : rrr_outset_close_stream(ctx, o, slot, f);
    }
    return rrr_agree(ctx, st);
}

rrr_status rrr_cv_stage(rrr_ctx *ctx, rrr_outset *o, const rrr_cv_result *res,
                        const char *ids, const char *dir)
{
    static const char *names[3] = { "cv.json", "cv.csv", "fold_ids.npy" };
    char path[PATH_MAX];
    rrr_status st = rrr_outset_mkdir(ctx, o, dir, "--out");
    for (int k = 0; k < 3 && st == RRR_OK; k++) {
        int slot = -1, len = snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        if (len < 0 || (size_t)len >= sizeof path)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
        else if (k == 2 && !res->random_folds) { /* a stale one goes, unless it is ids */
            if (ids != NULL && !rrr_same_file(ctx, path, ids))
                st = rrr_outset_remove(ctx, o, path);
            continue;
        } else
            st = rrr_outset_add(ctx, o, path, &slot);
        if (st == RRR_OK && k < 2)
            st = text_stage(ctx, o, slot, res, k);
        else if (st == RRR_OK && res->random_folds)
            st = fold_ids_stage(ctx, o, slot, res);
    }
    return st;
}

rrr_status rrr_cv_write(rrr_ctx *ctx, const rrr_cv_result *res, const char *dir)
{
    if (ctx == NULL)
        return RRR_EINVAL;
    if (res == NULL || dir == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_cv_write: no result or no directory");
    rrr_outset o;
    rrr_outset_init(&o);
    return rrr_outset_finish(ctx, &o, rrr_cv_stage(ctx, &o, res, NULL, dir));
}
