/* src/main.c: `rrr` subcommand dispatch and argument checking; no numerics here. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_env.h"
#include "cli.h"
#include "comm.h"
#include "model.h"
#include "output.h"
#include "report.h"
#include "signals.h"

static const char *usage_main =
    "usage: mpirun -np K rrr COMMAND [options]   (or plainly: rrr COMMAND [options])\n"
    "Reduced-rank ridge regression: minimize ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2.\n"
    "commands:\n"
    "  gen        generate a synthetic problem (X.npy, Y.npy, U_true.npy, V_true.npy)\n"
    "  fit        fit U (p x d), V (q x d)\n"
    "  predict    YHAT = X U V^T (+ intercept); with --y print mse and r2\n"
    "  gradcheck  compare analytic gradients with central differences\n"
    "Run 'rrr COMMAND --help' for a command's options. Exit codes: 0 ok, 1 internal,\n"
    "2 bad arguments/input, 3 I/O, 4 numerical failure, 5 stopped by a signal.\n";

static const char *usage_gen =
    "usage: rrr gen --n N --p P --q Q --rank D [--noise S] [--seed SEED] --out DIR\n"
    "  X (n x p) ~ N(0,1); Y = X U_true V_true^T + S E, U_true ~ N(0,1/p), V_true ~ N(0,1),\n"
    "  E ~ N(0,1). Defaults: --noise 1, --seed 0. Output is identical for any rank count.\n";

static const char *usage_fit =
    "usage: rrr fit --x X.npy --y Y.npy --rank D --lambda L [--solver gd|als|exact|auto]\n"
    "               [--max-iter N] [--tol T] [--seed S] [--intercept] [--out DIR]\n"
    "               [--report R.json] [--checkpoint DIR] [--checkpoint-every K] [--resume]\n"
    "               [--quiet] [--grid-min-p P] [--no-certificate] [--gd-xty auto|on|off]\n"
    "  --solver       auto (default) picks by shape and memory; see README\n"
    "  --max-iter     iteration cap for gd/als (default 10000)\n"
    "  --tol          converged when (f_prev - f)/f <= T and |grad|/|grad_0| <= sqrt(T)\n"
    "                 (default 1e-10)\n"
    "  --seed         start of gd/als (default 0)\n"
    "  --grid-min-p   p from which exact/als keep X^T X on a 2-D ScaLAPACK grid\n"
    "  --no-certificate  skip computing f* and the optimality gap\n"
    "  --gd-xty       gd keeps X^T Y (p x q) and reads only X, once, per iteration: on,\n"
    "                 off, or auto (on when X^T Y fits in 1/16 of the memory per rank and\n"
    "                 its replicated cost stays below what it saves; see README)\n";

static const char *usage_predict =
    "usage: rrr predict --model DIR --x X.npy --out YHAT.npy [--y Y.npy]\n"
    "  With --y prints 'mse <v>' (SSE/(n q)) and 'r2 <v>' (1 - SSE/SST) on stdout.\n";

static const char *usage_gradcheck =
    "usage: rrr gradcheck --x X.npy --y Y.npy --rank D --lambda L [--seed S]\n"
    "  Prints 'max_rel_error <v>'; exit 0 when below 1e-6, else 4.\n";

static void print_usage(const rrr_ctx *ctx, const char *u)
{
    if (rrr_ctx_rank(ctx) == 0)
        fputs(u, stdout);
}

/* Collective. Read X and Y and check that the two files describe one problem. */
static rrr_status read_xy(rrr_ctx *ctx, const char *xp, const char *yp, rrr_block **X,
                          rrr_block **Y)
{
    rrr_status st = rrr_block_read(ctx, xp, X);
    if (st == RRR_OK)
        st = rrr_block_read(ctx, yp, Y);
    if (st == RRR_OK && (*X)->n != (*Y)->n)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has %zu rows but %s has %zu", xp, (*X)->n, yp,
                      (*Y)->n);
    if (st == RRR_OK && (*X)->n == 0)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has no rows", xp);
    return st; /* every check above is on replicated facts: the same on every rank */
}

static rrr_status cmd_gen(rrr_ctx *ctx, int argc, char **argv)
{
    size_t n = 0, p = 0, q = 0;
    int d = 0, help;
    double noise = 1.0;
    uint64_t seed = 0;
    const char *out = NULL;
    opt_spec specs[] = {
        { "--n", OPT_SIZE, &n, 1, 0 },          { "--p", OPT_SIZE, &p, 1, 0 },
        { "--q", OPT_SIZE, &q, 1, 0 },          { "--rank", OPT_INT, &d, 1, 0 },
        { "--noise", OPT_DOUBLE, &noise, 0, 0 }, { "--seed", OPT_U64, &seed, 0, 0 },
        { "--out", OPT_STR, &out, 1, 0 },        { NULL, OPT_FLAG, NULL, 0, 0 },
    };
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_gen);
        return st;
    }
    st = rrr_output_check(ctx, out, 1, "--out");
    if (st == RRR_OK)
        st = rrr_gen(ctx, n, p, q, d, noise, seed, out);
    if (st == RRR_OK)
        rrr_info(ctx, "gen: wrote %s/{X,Y,U_true,V_true}.npy (n=%zu p=%zu q=%zu rank=%d) in %.2f s",
                 out, n, p, q, d, rrr_elapsed(ctx));
    return st;
}

static rrr_status parse_solver(rrr_ctx *ctx, const char *s, rrr_solver *out)
{
    static const rrr_solver all[] = { RRR_SOLVER_AUTO, RRR_SOLVER_GD, RRR_SOLVER_ALS,
                                      RRR_SOLVER_EXACT };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (strcmp(s, rrr_solver_name(all[k])) == 0) {
            *out = all[k];
            return RRR_OK;
        }
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "--solver '%s': expected gd, als, exact or auto", s);
}

/* Collective. A SIGTERM/SIGUSR1 that arrived after the solver's last iteration boundary
 * (during exact's statistics pass, or the final evaluation) still stops the run: exit 5,
 * --out untouched (SPEC.md "Checkpoints"). */
static rrr_status stop_check(rrr_ctx *ctx)
{
    int stop = rrr_stop_requested != 0, any = 0;
    MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_MAX, ctx->comm);
    if (!any)
        return RRR_OK;
    return RRR_FAIL(&ctx->err, RRR_ESTOPPED,
                    "stopped by a signal after the solve; no output was written");
}

/* Collective. Every output location of fit is usable before the data is read, so a bad
 * path costs seconds, not the whole fit; without --out the model is not kept: say so. */
static rrr_status check_fit_outputs(rrr_ctx *ctx, const char *out, const char *report,
                                    const char *checkpoint)
{
    rrr_status st = RRR_OK;
    if (out != NULL)
        st = rrr_output_check(ctx, out, 1, "--out");
    else
        rrr_warn(ctx, "no --out: the fitted model will not be kept");
    if (st == RRR_OK && report != NULL)
        st = rrr_output_check(ctx, report, 0, "--report");
    if (st == RRR_OK && checkpoint != NULL)
        st = rrr_output_check(ctx, checkpoint, 1, "--checkpoint");
    return st;
}

/* Collective. The report and the model in one commit: both appear, or neither. */
static rrr_status write_fit_outputs(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                                    const char *out, const char *report)
{
    rrr_outset o;
    rrr_status st = RRR_OK;
    rrr_outset_init(&o);
    if (report != NULL)
        st = rrr_report_stage(ctx, &o, m, info, report);
    if (st == RRR_OK && out != NULL)
        st = rrr_model_stage(ctx, &o, m, info, out);
    return rrr_outset_finish(ctx, &o, st);
}

static rrr_status cmd_fit(rrr_ctx *ctx, int argc, char **argv)
{
    rrr_fit_opts o;
    rrr_fit_opts_default(&o);
    const char *xp = NULL, *yp = NULL, *solver = "auto", *out = NULL, *report = NULL;
    const char *xty = "auto";
    int help, quiet = 0, nocert = 0;
    double lambda = -1;
    opt_spec specs[] = {
        { "--x", OPT_STR, &xp, 1, 0 },
        { "--y", OPT_STR, &yp, 1, 0 },
        { "--rank", OPT_INT, &o.d, 1, 0 },
        { "--lambda", OPT_DOUBLE, &lambda, 1, 0 },
        { "--solver", OPT_STR, &solver, 0, 0 },
        { "--max-iter", OPT_LONG, &o.max_iter, 0, 0 },
        { "--tol", OPT_DOUBLE, &o.tol, 0, 0 },
        { "--seed", OPT_U64, &o.seed, 0, 0 },
        { "--intercept", OPT_FLAG, &o.intercept, 0, 0 },
        { "--out", OPT_STR, &out, 0, 0 },
        { "--report", OPT_STR, &report, 0, 0 },
        { "--checkpoint", OPT_STR, &o.checkpoint, 0, 0 },
        { "--checkpoint-every", OPT_LONG, &o.checkpoint_every, 0, 0 },
        { "--resume", OPT_FLAG, &o.resume, 0, 0 },
        { "--quiet", OPT_FLAG, &quiet, 0, 0 },
        { "--grid-min-p", OPT_SIZE, &o.grid_min_p, 0, 0 },
        { "--no-certificate", OPT_FLAG, &nocert, 0, 0 },
        { "--gd-xty", OPT_STR, &xty, 0, 0 },
        { NULL, OPT_FLAG, NULL, 0, 0 },
    };
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_fit);
        return st;
    }
    o.lambda = lambda;
    o.certificate = !nocert;
    rrr_ctx_set_quiet(ctx, quiet);
    rrr_signals_install(); /* only fit stops cleanly on a signal; other commands die as usual */
    st = parse_solver(ctx, solver, &o.solver);
    if (st != RRR_OK)
        return st;
    if (strcmp(xty, "auto") == 0 || strcmp(xty, "on") == 0 || strcmp(xty, "off") == 0)
        o.gd_xty = xty[1] == 'u' ? -1 : xty[1] == 'n';
    else
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--gd-xty '%s': expected auto, on or off", xty);

    rrr_block *X = NULL, *Y = NULL;
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    st = check_fit_outputs(ctx, out, report, o.checkpoint);
    if (st == RRR_OK)
        st = read_xy(ctx, xp, yp, &X, &Y);
    if (st == RRR_OK)
        st = rrr_fit(ctx, X, Y, &o, &m, &info);
    if (st == RRR_OK)
        st = stop_check(ctx);
    if (st == RRR_OK && (report != NULL || out != NULL))
        st = write_fit_outputs(ctx, m, info, out, report);
    if (st == RRR_OK)
        rrr_fit_summary(ctx, m, info);
    rrr_fit_info_destroy(&info);
    rrr_model_destroy(&m);
    rrr_block_destroy(&X);
    rrr_block_destroy(&Y);
    return st;
}

static rrr_status cmd_predict(rrr_ctx *ctx, int argc, char **argv)
{
    const char *model = NULL, *xp = NULL, *out = NULL, *yp = NULL;
    int help;
    opt_spec specs[] = {
        { "--model", OPT_STR, &model, 1, 0 }, { "--x", OPT_STR, &xp, 1, 0 },
        { "--out", OPT_STR, &out, 1, 0 },     { "--y", OPT_STR, &yp, 0, 0 },
        { NULL, OPT_FLAG, NULL, 0, 0 },
    };
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_predict);
        return st;
    }
    rrr_model *m = NULL;
    rrr_block *X = NULL, *Y = NULL, *Yhat = NULL;
    st = rrr_output_check(ctx, out, 0, "--out");
    if (st == RRR_OK)
        st = rrr_model_read(ctx, model, &m);
    if (st == RRR_OK)
        st = rrr_block_read(ctx, xp, &X);
    if (st == RRR_OK && X->ncols != m->p) /* the file's name in the message */
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has %zu columns but the model has p = %zu", xp,
                      X->ncols, m->p);
    if (st == RRR_OK && yp != NULL) {
        st = rrr_block_read(ctx, yp, &Y);
        if (st == RRR_OK && (Y->n != X->n || Y->ncols != m->q))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s is %zu x %zu; expected %zu x %zu", yp, Y->n,
                          Y->ncols, X->n, m->q);
    }
    double mse = 0, r2 = 0;
    if (st == RRR_OK)
        st = rrr_predict(ctx, m, X, &Yhat);
    if (st == RRR_OK && Y != NULL) /* before writing: a failure leaves no YHAT behind */
        st = rrr_score(ctx, Y, Yhat, &mse, &r2);
    if (st == RRR_OK)
        st = rrr_block_write(ctx, Yhat, out);
    if (st == RRR_OK && Y != NULL && rrr_ctx_rank(ctx) == 0) {
        printf("mse %.17g\nr2 %.17g\n", mse, r2);
        fflush(stdout);
    }
    rrr_block_destroy(&Yhat);
    rrr_block_destroy(&X);
    rrr_block_destroy(&Y);
    rrr_model_destroy(&m);
    return st;
}

static rrr_status cmd_gradcheck(rrr_ctx *ctx, int argc, char **argv)
{
    const char *xp = NULL, *yp = NULL;
    int d = 0, help;
    double lambda = -1, err = 0;
    uint64_t seed = 0;
    opt_spec specs[] = {
        { "--x", OPT_STR, &xp, 1, 0 },         { "--y", OPT_STR, &yp, 1, 0 },
        { "--rank", OPT_INT, &d, 1, 0 },       { "--lambda", OPT_DOUBLE, &lambda, 1, 0 },
        { "--seed", OPT_U64, &seed, 0, 0 },    { NULL, OPT_FLAG, NULL, 0, 0 },
    };
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_gradcheck);
        return st;
    }
    rrr_block *X = NULL, *Y = NULL;
    st = read_xy(ctx, xp, yp, &X, &Y);
    if (st == RRR_OK)
        st = rrr_gradcheck(ctx, X, Y, d, lambda, seed, &err);
    if (st == RRR_OK) {
        if (rrr_ctx_rank(ctx) == 0) {
            printf("max_rel_error %.3e\n", err);
            fflush(stdout);
        }
        if (!(err < 1e-6))
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC,
                          "gradcheck: max relative error %.3e is not below 1e-6", err);
    }
    rrr_block_destroy(&X);
    rrr_block_destroy(&Y);
    return st;
}

static rrr_status run(rrr_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(ctx, usage_main);
        return argc < 2 ? RRR_FAIL(&ctx->err, RRR_EINVAL, "no command given") : RRR_OK;
    }
    if (strcmp(argv[1], "gen") == 0)
        return cmd_gen(ctx, argc, argv);
    if (strcmp(argv[1], "fit") == 0)
        return cmd_fit(ctx, argc, argv);
    if (strcmp(argv[1], "predict") == 0)
        return cmd_predict(ctx, argc, argv);
    if (strcmp(argv[1], "gradcheck") == 0)
        return cmd_gradcheck(ctx, argc, argv);
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "unknown command '%s' (see rrr --help)", argv[1]);
}

int main(int argc, char **argv)
{
    rrr_blas_pick_kernel(argv); /* may re-exec once, before MPI exists */
    MPI_Init(&argc, &argv);
    rrr_ctx *ctx = NULL;
    rrr_status st = rrr_ctx_create(MPI_COMM_WORLD, &ctx);
    if (st == RRR_OK) {
        st = rrr_blas_configure(ctx);
        if (st == RRR_OK)
            st = rrr_agree(ctx, run(ctx, argc, argv));
        if (st != RRR_OK && rrr_ctx_rank(ctx) == 0)
            fprintf(stderr, "rrr: error: %s\n", rrr_ctx_errmsg(ctx));
    } else {
        fprintf(stderr, "rrr: error: %s\n", rrr_strerror(st));
    }
    rrr_ctx_destroy(&ctx);
    MPI_Finalize();
    return rrr_exit_code(st);
}
