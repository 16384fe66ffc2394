/* src/iterate.c: the iteration engine. One loop drives every iterative solver:
 *
 *   resume from the checkpoint (or the solver's start)
 *   for k = 0, 1, ...:
 *       evaluate f, ||grad|| at iterate k      (the solver; flags ride in its allreduce)
 *       stop rule (fresh sums first if the evaluation came from recurrences)
 *       history, progress line
 *       a pending signal: checkpoint, exit 5;  every K iterations: checkpoint
 *       stop, or step to iterate k + 1         (the solver)
 *
 * A checkpoint at iterate k is written after its evaluation and verdict: it holds the
 * solver's state at k, f_0 .. f_k and the initial gradient norm. A resumed run takes f_k
 * from it, lets the solver rebuild what its step needs from the state, judges iterate k
 * again under its own options (the last iterate of a finished run stops there; a larger
 * --max-iter continues it), and steps: it continues bitwise as the uninterrupted run
 * would. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "iterate.h"
#include "signals.h"

const char *rrr_stop_rule(const rrr_fit_opts *o, long k, double f, double fprev, double g,
                          double g0, double floor, int *conv)
{
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

/* The engine's own state between iterations. */
typedef struct {
    long k;
    double fprev, g0;     /* f at iterate k - 1; the initial gradient norm of the
                             stopping test (in the iterates' gauge: solve_gd.c)  */
    double g0_start;      /* the gradient norm at the start itself (reported)  */
    double ratio;         /* g / g0 of the last judged iterate                 */
    double *hist;
    size_t nhist, cap;
    int resumed;          /* the current iterate was loaded from a checkpoint  */
    int decided;          /* ... with its f and the verdict "go on" (format 3) */
    double last_print;    /* elapsed time of the last progress line            */
    double t_first;       /* elapsed time at the first iterate of this run     */
    long k_first;
    rrr_ckpt_state cs;    /* kept across saves: it caches the data checksum    */
} engine;

/* Local. Append f to the history, growing it geometrically; 0 when out of memory. */
static int record(engine *e, double f)
{
    if (e->nhist == e->cap) {
        size_t nc = e->cap ? 2 * e->cap : 64;
        double *h = realloc(e->hist, nc * sizeof *h);
        if (h == NULL)
            return 0;
        e->hist = h;
        e->cap = nc;
    }
    e->hist[e->nhist++] = f;
    return 1;
}

/* Local. The checkpointed state at iterate k, after its evaluation and the verdict to go
 * on: the solver's part, then f_k, the initial gradient norm and f_0 .. f_k. */
static rrr_ckpt_state *ckpt_state(engine *e, const rrr_iter_ops *ops, void *s, double fk)
{
    ops->save_state(s, &e->cs);
    e->cs.iter = e->k;
    e->cs.fprev = fk;
    e->cs.g0 = e->g0;
    e->cs.g0_start = e->g0_start;
    e->cs.history = e->hist;
    e->cs.nhistory = e->nhist;
    return &e->cs;
}

/* Collective. With --resume, continue from the checkpoint if there is one. A checkpoint
 * of format 3 (or an als one of format 2) holds an evaluated iterate k with the verdict
 * to go on: the run takes f_k from it, lets the solver rebuild what its step needs, and
 * steps. A gd checkpoint of format 2 was written before its verdict: iterate k is
 * evaluated and judged again (bitwise as before: gd's evaluation is a function of the
 * state). */
static rrr_status resume(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                         const rrr_iter_ops *ops, void *s, engine *e)
{
    int resumed = 0;
    if (o->checkpoint == NULL || !o->resume)
        return RRR_OK;
    ops->save_state(s, &e->cs);
    rrr_status st = rrr_checkpoint_load(ctx, pb, o, ops->solver, &e->cs, &resumed);
    if (st != RRR_OK || !resumed)
        return st;
    ops->restored(s, &e->cs);
    e->resumed = 1;
    e->decided = e->cs.format >= 3 || ops->solver == RRR_SOLVER_ALS;
    e->k = e->cs.iter;
    e->fprev = e->cs.fprev; /* f_k when decided, else f_{k-1} */
    e->g0 = e->cs.g0;
    e->g0_start = e->cs.g0_start; /* NaN from a checkpoint of format 3 or older */
    e->hist = e->cs.history;
    e->nhist = e->cs.nhistory;
    e->cap = e->cs.history_cap;
    e->cs.history = NULL;
    return RRR_OK;
}

/* Local. "4.2 s", "3.1 min", "2.5 h" */
static void human_time(double t, char *buf, size_t len)
{
    if (t < 120)
        snprintf(buf, len, "%.0f s", t);
    else if (t < 7200)
        snprintf(buf, len, "%.1f min", t / 60);
    else
        snprintf(buf, len, "%.1f h", t / 3600);
}

/* Local. The time left, once it means something: the gradient ratio has fallen over at
 * least 10 iterations of this run, extrapolated log-linearly to its target (the decrease
 * test usually holds earlier), and never beyond --max-iter. */
static void eta(const engine *e, const rrr_fit_opts *o, double ratio, double now, char *buf,
                size_t len)
{
    long done = e->k - e->k_first;
    buf[0] = '\0';
    if (done < 10 || !(ratio > 0) || !(ratio < 1) || o->tol <= 0)
        return;
    double per_iter = (now - e->t_first) / (double)done;
    double rate = -log(ratio) / (double)e->k; /* decades of ratio gained per iteration */
    double left = rate > 0 ? log(ratio / sqrt(o->tol)) / rate : (double)INFINITY;
    if (left < 0)
        left = 0;
    if (left > (double)(o->max_iter - e->k))
        left = (double)(o->max_iter - e->k);
    char t[32];
    human_time(left * per_iter, t, sizeof t);
    snprintf(buf, len, "  eta %s", t);
}

/* Local. One progress line per iteration for the first 10, then at intervals that grow
 * with the elapsed time (1 s, or 1/50 of the elapsed time if longer): a ten-hour run
 * writes a few hundred lines. Each shows both stopping ratios against their targets. */
static void progress(rrr_ctx *ctx, const rrr_fit_opts *o, const rrr_iter_ops *ops, void *s,
                     engine *e, const rrr_eval *ev, int last)
{
    double now = rrr_elapsed(ctx), gap = now - e->last_print;
    if (!(e->k < 10 || last || gap >= fmax(1.0, 0.02 * now)))
        return;
    e->last_print = now;
    double dec = e->k > 0 && ev->comparable ? (e->fprev - ev->f) / ev->f : (double)NAN;
    double ratio = e->g0 > 0 ? ev->g / e->g0 : (double)NAN;
    char extra[64] = "", left[48];
    if (ops->progress != NULL)
        ops->progress(s, extra, sizeof extra);
    eta(e, o, ratio, now, left, sizeof left);
    rrr_info(ctx, "iter %6ld  f %.15e  |grad| %.3e  decrease %.1e/%.0e  grad ratio %.1e/%.0e"
             "%s  t %.3f s%s", e->k, ev->f, ev->g, dec, o->tol, ratio, sqrt(o->tol), extra, now,
             left);
}

/* Collective. Save a checkpoint at a pending signal or every K iterations; returns the
 * agreed status (RRR_ESTOPPED after a signal). */
static rrr_status checkpoints(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                              const rrr_iter_ops *ops, void *s, engine *e, const rrr_eval *ev)
{
    if (ev->flags.stop)
        return rrr_checkpoint_on_signal(ctx, pb, o, ops->solver, ckpt_state(e, ops, s, ev->f));
    if (o->checkpoint != NULL && e->k > 0 && e->k % o->checkpoint_every == 0 && !e->resumed)
        return rrr_checkpoint_save(ctx, pb, o, ops->solver, ckpt_state(e, ops, s, ev->f));
    return RRR_OK;
}

/* Collective. The solver's evaluation of iterate k, with the flags agreed (in its own
 * allreduce, or in one of the engine's); a failure on any rank is the agreed status. */
static rrr_status evaluate(rrr_ctx *ctx, const rrr_iter_ops *ops, void *s, const engine *e,
                           int refresh, rrr_status *lst, rrr_eval *ev)
{
    memset(ev, 0, sizeof *ev);
    rrr_status st = ops->evaluate(s, e->k, refresh, lst, ev);
    if (st != RRR_OK)
        return st;
    if (!ev->have_flags)
        ev->flags = rrr_flags_agree(ctx, *lst);
    return ev->flags.fail ? rrr_agree(ctx, *lst) : RRR_OK;
}

/* Local. The stop rule on iterate k (f, and f_{k-1} when the evaluation says f may be
 * compared with it): *why the reason to stop or NULL; returns 1 when that verdict is
 * convergence from recurrences, to be confirmed on fresh sums first. */
static int judge(const rrr_fit_opts *o, engine *e, const rrr_eval *ev, double f, double fprev,
                 const char **why, int *conv)
{
    e->ratio = e->g0 > 0 ? ev->g / e->g0 : (double)NAN;
    *why = rrr_stop_rule(o, e->k, f, ev->comparable ? fprev : (double)INFINITY, ev->g, e->g0,
                         ev->floor, conv);
    return *why != NULL && *conv && !ev->fresh;
}

/* Collective. Evaluate iterate k and decide. Returns the agreed status; *why is the
 * reason to stop (NULL: step on). */
static rrr_status boundary(rrr_ctx *ctx, const rrr_fit_opts *o, const rrr_iter_ops *ops,
                           void *s, engine *e, rrr_status *lst, rrr_eval *ev, const char **why,
                           int *conv)
{
    for (int refresh = 0;; refresh = 1) {
        rrr_status st = evaluate(ctx, ops, s, e, refresh, lst, ev);
        if (st != RRR_OK)
            return st;
        if (e->k == 0 && !e->resumed)
            e->g0 = e->g0_start = ev->g;
        if (ev->g0_scale > 0 && !e->resumed && !refresh)
            e->g0 *= ev->g0_scale;
        if (!isfinite(ev->f) || !isfinite(ev->g))
            return RRR_FAIL(&ctx->err, RRR_ENUMERIC, "%s: objective or gradient not finite at "
                            "iteration %ld", rrr_solver_name(ops->solver), e->k);
        if (!judge(o, e, ev, ev->f, e->fprev, why, conv))
            return RRR_OK;
    }
}

/* Collective. A decided iterate from the checkpoint: the solver rebuilds what its step
 * needs (its own f is not used: the checkpoint's f_k is the run's), and the iterate is
 * judged again under this run's options, since a run's last iterate is checkpointed too
 * (so that a finished run can be continued with a larger --max-iter) and a resume may
 * change --max-iter or --tol: f_k and f_{k-1} from the checkpoint's history, the gradient
 * norm from the rebuild (gd's is a function of the state), convergence confirmed on fresh
 * sums as in boundary(). */
static rrr_status rebuild(rrr_ctx *ctx, const rrr_fit_opts *o, const rrr_iter_ops *ops,
                          void *s, engine *e, rrr_status *lst, rrr_eval *ev, const char **why,
                          int *conv)
{
    const double fk = e->fprev, fprev = e->nhist >= 2 ? e->hist[e->nhist - 2] : (double)INFINITY;
    for (int refresh = 0;; refresh = 1) {
        rrr_status st = evaluate(ctx, ops, s, e, refresh, lst, ev);
        ev->f = fk;
        if (st != RRR_OK || !judge(o, e, ev, fk, fprev, why, conv))
            return st;
    }
}

rrr_status rrr_iterate(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                       const rrr_iter_ops *ops, void *s, rrr_iter_result *res)
{
    engine e = { .fprev = INFINITY, .g0_start = NAN, .ratio = NAN, .last_print = -1.0 };
    rrr_status st = resume(ctx, pb, o, ops, s, &e), lst = RRR_OK;
    memset(res, 0, sizeof *res);
    e.t_first = rrr_elapsed(ctx);
    e.k_first = e.k;
    while (st == RRR_OK) {
        rrr_eval ev;
        const char *why = NULL;
        int conv = 0;
        if (e.decided) {
            st = rebuild(ctx, o, ops, s, &e, &lst, &ev, &why, &conv);
        } else {
            st = boundary(ctx, o, ops, s, &e, &lst, &ev, &why, &conv);
            if (st == RRR_OK && !record(&e, ev.f))
                lst = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for the history",
                               rrr_solver_name(ops->solver));
            if (st == RRR_OK)
                progress(ctx, o, ops, s, &e, &ev, why != NULL);
        }
        if (st == RRR_OK)
            st = checkpoints(ctx, pb, o, ops, s, &e, &ev);
        if (st != RRR_OK)
            break;
        e.resumed = e.decided = 0;
        if (why != NULL) {
            res->converged = conv;
            snprintf(res->stop_reason, sizeof res->stop_reason, "%s", why);
            break;
        }
        st = ops->step(s, e.k, &lst);
        e.fprev = ev.f;
        e.k++;
    }
    st = rrr_agree(ctx, st != RRR_OK ? st : lst);
    res->iterations = e.k;
    res->g0 = isnan(e.g0_start) ? e.g0 : e.g0_start;
    res->ratio = e.ratio;
    res->history = e.hist;
    res->nhistory = e.nhist;
    return st;
}

void rrr_iter_result_take(rrr_iter_result *res, rrr_fit_info *info)
{
    info->iterations = res->iterations;
    info->converged = res->converged;
    snprintf(info->stop_reason, sizeof info->stop_reason, "%s", res->stop_reason);
    info->gradient_norm_initial = res->g0;
    info->gradient_ratio = res->ratio;
    free(info->history);
    info->history = res->history;
    info->nhistory = res->nhistory;
    res->history = NULL;
}
