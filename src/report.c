/* src/report.c: fit summary, optimality certificate and the JSON run report. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "blas_env.h"
#include "report.h"

static const char *timer_names[RRR_T_COUNT] = { "read", "compute", "allreduce", "solve", "write" };

double rrr_model_gap(const rrr_model *m)
{
    if (isnan(m->fstar))
        return NAN;
    /* relative to f*, or to eps ||Yc||^2 when f* is at the rounding level of the data */
    return (m->objective - m->fstar) / fmax(m->fstar, DBL_EPSILON * m->yy);
}

/* Collective. Phase times reduced over ranks: max (the phase time, as HPL), avg, min. */
static void reduce_timers(rrr_ctx *ctx, double tmax[], double tavg[], double tmin[])
{
    MPI_Allreduce(ctx->t, tmax, RRR_T_COUNT, MPI_DOUBLE, MPI_MAX, ctx->comm);
    MPI_Allreduce(ctx->t, tmin, RRR_T_COUNT, MPI_DOUBLE, MPI_MIN, ctx->comm);
    MPI_Allreduce(ctx->t, tavg, RRR_T_COUNT, MPI_DOUBLE, MPI_SUM, ctx->comm);
    for (int k = 0; k < RRR_T_COUNT; k++)
        tavg[k] /= ctx->size;
}

void rrr_fit_summary(rrr_ctx *ctx, const rrr_model *m)
{
    double tmax[RRR_T_COUNT], tavg[RRR_T_COUNT], tmin[RRR_T_COUNT];
    reduce_timers(ctx, tmax, tavg, tmin);
    rrr_info(ctx, "result: solver=%s objective=%.17g gradient_norm=%.3e (initial %.3e) "
                  "iterations=%ld converged=%s stop_reason=%s",
             rrr_solver_name(m->solver), m->objective, m->gradient_norm,
             m->gradient_norm_initial, m->iterations, m->converged ? "true" : "false",
             m->stop_reason);
    for (int k = 0; k < RRR_T_COUNT; k++)
        rrr_info(ctx, "time.%s max=%.4f avg=%.4f min=%.4f", timer_names[k], tmax[k], tavg[k],
                 tmin[k]);
    rrr_info(ctx, "time.total %.4f s  (ranks=%d threads/rank=%d blas=%s)", rrr_elapsed(ctx),
             ctx->size, rrr_blas_threads(), rrr_blas_corename());
    if (!m->converged)
        rrr_warn(ctx, "%s did not converge: %s after %ld iterations (gradient norm %.3e)",
                 rrr_solver_name(m->solver), m->stop_reason, m->iterations, m->gradient_norm);
    double gap = rrr_model_gap(m);
    if (ctx->rank == 0 && !isnan(gap)) {
        printf("optimality gap %.3e %s\n", gap, gap <= RRR_GAP_THRESHOLD ? "PASSED" : "FAILED");
        fflush(stdout);
    }
}

rrr_status rrr_report_write(rrr_ctx *ctx, const rrr_model *m, const char *path)
{
    double tmax[RRR_T_COUNT], tavg[RRR_T_COUNT], tmin[RRR_T_COUNT];
    unsigned long long bytes = 0;
    reduce_timers(ctx, tmax, tavg, tmin);
    MPI_Allreduce(&ctx->bytes_read, &bytes, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, ctx->comm);
    rrr_outset o;
    rrr_outset_init(ctx, &o);
    const char *tmp = rrr_outset_add(&o, path);
    rrr_status st = tmp ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EIO, "%s: path too long", path);
    if (st == RRR_OK && ctx->rank == 0) {
        FILE *f = fopen(tmp, "w");
        if (f == NULL) {
            st = RRR_FAIL(&ctx->err, RRR_EIO, "--report %s: cannot create: %s", path, strerror(errno));
        } else {
            rrr_json j;
            rrr_json_begin(&j, f);
            rrr_model_json_fields(&j, m);
            rrr_json_nums(&j, "objective_history", m->history, m->nhistory);
            rrr_json_obj_begin(&j, "time_max");
            for (int k = 0; k < RRR_T_COUNT; k++)
                rrr_json_num(&j, timer_names[k], tmax[k]);
            rrr_json_obj_end(&j);
            rrr_json_obj_begin(&j, "time_avg");
            for (int k = 0; k < RRR_T_COUNT; k++)
                rrr_json_num(&j, timer_names[k], tavg[k]);
            rrr_json_obj_end(&j);
            rrr_json_obj_begin(&j, "time_min");
            for (int k = 0; k < RRR_T_COUNT; k++)
                rrr_json_num(&j, timer_names[k], tmin[k]);
            rrr_json_obj_end(&j);
            rrr_json_num(&j, "time_total", rrr_elapsed(ctx));
            rrr_json_num(&j, "time_solve", m->solve_seconds);
            /* the solver's one-off setup (gd's X^T Y pass, als's statistics pass), then its
             * wall time per iteration without it; the closing evaluation and the
             * certificate are in neither */
            rrr_json_num(&j, "time_setup", m->setup_seconds);
            rrr_json_num(&j, "time_per_iteration",
                         m->iterations > 0
                             ? (m->solve_seconds - m->setup_seconds) / (double)m->iterations
                             : (double)NAN);
            rrr_json_int(&j, "bytes_read", (long long)bytes);
            rrr_json_end(&j);
            if (ferror(f) | (fclose(f) != 0))
                st = RRR_FAIL(&ctx->err, RRR_EIO, "--report %s: write failed", path);
        }
    }
    return rrr_outset_finish(ctx, &o, st);
}
