/* src/report.c: the record of a run as the user reads it: the fit summary, the optimality
 * certificate and the JSON run report. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "blas_env.h"
#include "comm.h"
#include "kernels.h"
#include "model.h"
#include "output.h"
#include "report.h"

/* Collective. Phase times reduced over ranks: max (the phase time, as HPL), avg, min. */
static void reduce_timers(rrr_ctx *ctx, double tmax[], double tavg[], double tmin[])
{
    MPI_Allreduce(ctx->t, tmax, RRR_T_COUNT, MPI_DOUBLE, MPI_MAX, ctx->comm);
    MPI_Allreduce(ctx->t, tmin, RRR_T_COUNT, MPI_DOUBLE, MPI_MIN, ctx->comm);
    MPI_Allreduce(ctx->t, tavg, RRR_T_COUNT, MPI_DOUBLE, MPI_SUM, ctx->comm);
    for (int k = 0; k < RRR_T_COUNT; k++)
        tavg[k] /= ctx->size;
}

/* Collective. This rank's peak resident memory so far (getrusage: bytes), its largest and
 * smallest value over the ranks. */
static void peak_rss(rrr_ctx *ctx, double *most, double *least)
{
    struct rusage ru;
    double b = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss * 1024.0 : 0.0;
    MPI_Allreduce(&b, most, 1, MPI_DOUBLE, MPI_MAX, ctx->comm);
    MPI_Allreduce(&b, least, 1, MPI_DOUBLE, MPI_MIN, ctx->comm);
}

void rrr_fit_summary(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info)
{
    double rss_max = 0, rss_min = 0;
    double tmax[RRR_T_COUNT], tavg[RRR_T_COUNT], tmin[RRR_T_COUNT];
    (void)m;
    char initial[40] = ""; /* exact has no starting point, hence no initial gradient */
    reduce_timers(ctx, tmax, tavg, tmin);
    if (!isnan(info->gradient_norm_initial))
        snprintf(initial, sizeof initial, " (initial %.3e)", info->gradient_norm_initial);
    rrr_info(ctx, "result: solver=%s objective=%.17g gradient_norm=%.3e%s "
                  "iterations=%ld converged=%s stop_reason=%s",
             rrr_solver_name(info->solver), info->objective, info->gradient_norm, initial,
             info->iterations, info->converged ? "true" : "false", info->stop_reason);
    for (int k = 0; k < RRR_T_COUNT; k++)
        rrr_info(ctx, "time.%s max=%.4f avg=%.4f min=%.4f", rrr_timer_names[k], tmax[k],
                 tavg[k], tmin[k]);
    rrr_info(ctx, "time.total %.4f s  (ranks=%d threads/rank=%d blas=%s gram=%s)",
             rrr_elapsed(ctx), ctx->size, rrr_blas_threads(), rrr_blas_corename(),
             rrr_kernel_name(rrr_kernel_get()));
    peak_rss(ctx, &rss_max, &rss_min);
    rrr_info(ctx, "memory.peak_rss max=%.1f MB min=%.1f MB (per rank)", rss_max / 1e6,
             rss_min / 1e6);
    if (!info->converged)
        rrr_warn(ctx, "%s did not converge: %s after %ld iterations (gradient norm %.3e)",
                 rrr_solver_name(info->solver), info->stop_reason, info->iterations,
                 info->gradient_norm);
    double gap = rrr_fit_info_gap(info), tol = rrr_fit_info_gap_tolerance(info);
    if (ctx->rank == 0 && !isnan(gap)) {
        /* the tolerance is RRR_GAP_THRESHOLD, widened by the closed form's own absolute
         * error when f* is near zero (model.h): then say so */
        printf("optimality gap %.3e %s", gap, rrr_fit_info_passed(info) ? "PASSED" : "FAILED");
        if (tol > 2 * RRR_GAP_THRESHOLD)
            printf(" (tolerance %.3g: f* = %.3g is known to +-%.3g = %.3g eps ||Yc||^2)", tol,
                   info->fstar, rrr_fit_info_fstar_error(info),
                   rrr_fit_info_fstar_error(info) / (DBL_EPSILON * info->yy));
        printf("\n");
        fflush(stdout);
    }
}

/* Local. One object of phase times. */
static void timers_json(rrr_json *j, const char *key, const double t[])
{
    rrr_json_obj_begin(j, key);
    for (int k = 0; k < RRR_T_COUNT; k++)
        rrr_json_num(j, rrr_timer_names[k], t[k]);
    rrr_json_obj_end(j);
}

/* Local (rank 0). The report's contents. */
static void report_json(rrr_ctx *ctx, FILE *f, const rrr_model *m, const rrr_fit_info *info,
                        const double tmax[], const double tavg[], const double tmin[],
                        unsigned long long bytes, double rss_max)
{
    rrr_json j;
    rrr_json_begin(&j, f);
    rrr_model_json_fields(&j, m, info);
    rrr_json_nums(&j, "objective_history", info->history, info->nhistory);
    timers_json(&j, "time_max", tmax);
    timers_json(&j, "time_avg", tavg);
    timers_json(&j, "time_min", tmin);
    rrr_json_num(&j, "time_total", rrr_elapsed(ctx));
    rrr_json_num(&j, "time_solve", info->solve_seconds);
    /* the solver's one-off setup (gd's X^T Y pass, als's statistics pass), then its wall
     * time per iteration without it; the closing evaluation and the certificate are in
     * neither */
    rrr_json_num(&j, "time_setup", info->setup_seconds);
    rrr_json_num(&j, "time_per_iteration",
                 info->iterations > 0
                     ? (info->solve_seconds - info->setup_seconds) / (double)info->iterations
                     : (double)NAN);
    rrr_json_int(&j, "bytes_read", (long long)bytes);
    rrr_json_num(&j, "peak_rss_bytes_max", rss_max); /* the largest rank's, so far */
    /* what ran gd's Gram pass and C^T U, C V (kernels.h: RRR_KERNEL, else CPU features) */
    rrr_json_str(&j, "gram_kernel", rrr_kernel_name(rrr_kernel_get()));
    int nb;
    size_t kc;
    rrr_gram_tuned_last(&nb, &kc); /* the fused pass's measured shape (kernels.h) */
    if (info->solver == RRR_SOLVER_GD && nb > 0) {
        rrr_json_obj_begin(&j, "gram_panel");
        rrr_json_int(&j, "rows", nb);
        rrr_json_int(&j, "chunk", (long long)kc);
        rrr_json_obj_end(&j);
    }
    if (info->solver == RRR_SOLVER_EXACT)
        rrr_json_int(&j, "numerical_rank", info->numerical_rank);
    if (info->plan != NULL)
        rrr_plan_json(&j, "plan", info->plan);
    rrr_json_end(&j);
}

rrr_status rrr_report_stage(rrr_ctx *ctx, rrr_outset *o, const rrr_model *m,
                            const rrr_fit_info *info, const char *path)
{
    double tmax[RRR_T_COUNT], tavg[RRR_T_COUNT], tmin[RRR_T_COUNT];
    unsigned long long bytes = 0;
    double rss_max = 0, rss_min = 0;
    int slot = -1;
    reduce_timers(ctx, tmax, tavg, tmin);
    peak_rss(ctx, &rss_max, &rss_min);
    MPI_Allreduce(&ctx->bytes_read, &bytes, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, ctx->comm);
    rrr_status st = rrr_outset_add(ctx, o, path, &slot);
    if (st != RRR_OK)
        return st;
    if (ctx->rank == 0) {
        FILE *f = rrr_outset_stream(ctx, o, slot);
        st = f != NULL ? RRR_OK : RRR_EIO;
        if (f != NULL) {
            report_json(ctx, f, m, info, tmax, tavg, tmin, bytes, rss_max);
            st = rrr_outset_close_stream(ctx, o, slot, f);
        }
    }
    return rrr_agree(ctx, st);
}
