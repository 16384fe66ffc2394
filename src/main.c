/* src/main.c: `rrr` subcommand dispatch and argument checking; no numerics here. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_env.h"
#include "checkpoint.h"
#include "mpi_env.h"
#include "check.h"
#include "cli.h"
#include "cv.h"
#include "cv_args.h"
#include "fit.h"
#include "input.h"
#include "json.h"
#include "npy.h"
#include "plan.h"
#include "comm.h"
#include "h5.h"
#include "model.h"
#include "output.h"
#include "predict.h"
#include "report.h"
#include "signals.h"
#include "stream.h"

static const char *usage_main =
    "usage: mpirun -np K rrr COMMAND [options]   (or plainly: rrr COMMAND [options])\n"
    "Reduced-rank ridge regression: minimize ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2.\n"
    "commands:\n"
    "  gen        generate a synthetic problem (X.npy, Y.npy, U_true.npy, V_true.npy)\n"
    "  fit        fit U (p x d), V (q x d)\n"
    "  predict    YHAT = X U V^T (+ intercept); with --y print mse, r2 and r2_mean\n"
    "  cv         choose rank and lambda by K-fold cross-validation, then fit\n"
    "  gradcheck  compare analytic gradients with central differences\n"
    "  plan       the decisions a fit would take for a problem size (JSON, no data)\n"
    "Inputs are .npy files (C or Fortran order) or HDF5 datasets named FILE.h5:/path.\n"
    "Options take their value as '--opt value' or '--opt=value'. 'rrr --version' prints\n"
    "the version. Run 'rrr COMMAND --help' for a command's options. Exit codes: 0 ok,\n"
    "1 internal, 2 bad arguments/input, 3 I/O, 4 numerical failure, 5 stopped by a signal.\n";

static const char *usage_gen =
    "usage: rrr gen --n N --p P --q Q --rank D [--noise S] [--seed SEED] --out DIR\n"
    "  X (n x p) ~ N(0,1); Y = X U_true V_true^T + S E, U_true ~ N(0,1/p), V_true ~ N(0,1),\n"
    "  E ~ N(0,1). Defaults: --noise 1, --seed 0. Output is identical for any rank count.\n";

static const char *usage_fit =
    "usage: rrr fit --x X.npy --y Y.npy --rank D --lambda L [--solver gd|als|exact|auto]\n"
    "               [--max-iter N] [--tol T] [--seed S] [--intercept] [--out DIR]\n"
    "               [--report R.json] [--checkpoint DIR] [--checkpoint-every K] [--resume]\n"
    "               [--quiet] [--grid-min-p P] [--[no-]certificate] [--gd-xty auto|on|off]\n"
    "               [--eig-route auto|p|q] [--precond auto|none|jacobi|nystrom]\n"
    "               [--precond-rank L]\n"
    "  --solver       auto (default) picks by shape and memory; see README\n"
    "  --max-iter     iteration cap for gd/als (default 10000)\n"
    "  --tol          converged when (f_prev - f)/f <= T and |grad|/|grad_0| <= sqrt(T)\n"
    "                 (default 1e-10)\n"
    "  --seed         start of gd/als (default 0)\n"
    "  --grid-min-p   p from which exact/als keep X^T X on a 2-D ScaLAPACK grid\n"
    "  --no-certificate  skip computing f* and the optimality gap; --certificate: compute\n"
    "                 it even when it costs more than the fit (gd)\n"
    "  --gd-xty       gd keeps X^T Y (p x q) and reads only X, once, per iteration: on,\n"
    "                 off, or auto (on when X^T Y fits in 1/16 of the memory per rank and\n"
    "                 its replicated cost stays below what it saves; see README)\n"
    "  --eig-route    the closed form's eigenproblem: p x p (p), q x q (q), or auto:\n"
    "                 the smaller of the two\n"
    "  --precond      gd's preconditioner for U: auto (default; nystrom when a sketch of\n"
    "                 X^T X shows cond >= 10, else none), none, jacobi (diag(X^T X) +\n"
    "                 lambda), nystrom (randomized Nystrom of X^T X + the diagonal of the\n"
    "                 rest; never p x p); see README \"Preconditioning\"\n"
    "  --precond-rank columns L of the Nystrom sketch (default: 8, doubled while the\n"
    "                 sketch has not reached the flat part of the spectrum)\n"
    "  X.npy, Y.npy   .npy files, or HDF5 datasets as FILE.h5:/path/to/dataset\n";

static const char *usage_predict =
    "usage: rrr predict --model DIR --x X.npy [--out YHAT.npy] [--y Y.npy [--scores S.json]]\n"
    "                   [--quiet]\n"
    "  --out     the predictions: a .npy file, or FILE.h5:/dataset (a new FILE replaces\n"
    "            an existing one); optional when --y asks for scores only\n"
    "  --y       prints 'mse <v>' (SSE/(n q)), 'r2 <v>' (1 - SSE/SST over all entries) and\n"
    "            'r2_mean <v>' (the mean of the per-output R^2, scikit-learn's r2_score)\n"
    "  --scores  also writes them, with per-output mse and r2, to S.json\n"
    "  --quiet   no progress or timing lines on stderr (warnings and errors stay)\n";

static const char *usage_cv =
    "usage: rrr cv --x X.npy --y Y.npy --rank RANKS --lambda LAMBDAS [--folds K | --fold-ids F.npy]\n"
    "              [--fold-seed S] [--rule min|1se] [--intercept] [--out DIR] [--report R.json]\n"
    "              [--quiet] [the solver options of fit]\n"
    "  RANKS    D, D1,D2,... or A:B (every rank from A to B), each in [1, min(p, q)]\n"
    "  LAMBDAS  L, L1,L2,... (lambda 0 allowed) or LO:HI:N (N >= 2 values evenly spaced in\n"
    "           log from LO to HI, 0 < LO < HI)\n"
    "  --folds K        K random folds of sizes differing by at most one (default 5), from\n"
    "                   --fold-seed S (default 0); the same at any rank count\n"
    "  --fold-ids F     n x 1 fold ids 0 .. K-1 (.npy <f8 or <i8, or HDF5 floats or integers),\n"
    "                   every fold non-empty\n"
    "  --rule           min (default): the smallest cv_mse; 1se: the smallest rank within one\n"
    "                   standard error of it, and for it the largest lambda\n"
    "  --cv-method      statistics (one pass; replicated, or on the 2-D grid for large p),\n"
    "                   gd (fits of every training set: for p too large for statistics), or\n"
    "                   auto (default: statistics when they fit)\n"
    "  Writes DIR/cv.json, DIR/cv.csv and the fit of all rows at the choice (as rrr fit);\n"
    "  prints 'cv_choice rank <d> lambda <l> cv_mse <v>' on stdout.\n";

static const char *usage_plan =
    "usage: rrr plan --n N --p P --q Q --rank D [--ranks K] [--ranks-per-node C]\n"
    "                [--mem-per-rank BYTES] [--solver S] [--gd-xty auto|on|off]\n"
    "                [--grid-min-p P] [--eig-route auto|p|q] [--no-certificate]\n"
    "  Prints, as JSON, the plan rrr fit would make for an n x p, n x q problem of rank D on\n"
    "  K ranks (default: this run's) with that memory per rank (default: this machine's):\n"
    "  solver, statistics regime, gd's X^T Y, eigen route, certificate, costs.\n";

static const char *usage_gradcheck =
    "usage: rrr gradcheck --x X.npy --y Y.npy --rank D --lambda L [--seed S]\n"
    "  Prints 'max_rel_error <v>'; exit 0 when below 1e-6, else 4.\n";

static void print_usage(const rrr_ctx *ctx, const char *u)
{
    if (rrr_ctx_rank(ctx) == 0)
        fputs(u, stdout);
}

/* Collective. Open X and Y (their headers: the rows are streamed, or read by the solvers
 * that hold them) and check that the two files describe one problem. */
static rrr_status open_xy(rrr_ctx *ctx, const char *xp, const char *yp, rrr_input **X,
                          rrr_input **Y)
{
    rrr_status st = rrr_input_file(ctx, xp, X);
    if (st == RRR_OK)
        st = rrr_input_file(ctx, yp, Y);
    if (st == RRR_OK && rrr_input_rows(*X) != rrr_input_rows(*Y))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has %zu rows but %s has %zu", xp,
                      rrr_input_rows(*X), yp, rrr_input_rows(*Y));
    if (st == RRR_OK && rrr_input_rows(*X) == 0)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has no rows", xp);
    return st; /* every check above is on replicated facts: the same on every rank */
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
    static const char *const made[] = { "X.npy", "Y.npy", "U_true.npy", "V_true.npy" };
    rrr_signals_install(); /* stops at the next panel, temporaries removed: exit 5 */
    st = rrr_output_check(ctx, out, 1, "--out");
    if (st == RRR_OK)
        st = rrr_output_names_check(ctx, out, made, 4, "--out");
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

static rrr_status parse_precond(rrr_ctx *ctx, const char *s, rrr_precond *out)
{
    static const rrr_precond all[] = { RRR_PRECOND_AUTO, RRR_PRECOND_NONE, RRR_PRECOND_JACOBI,
                                       RRR_PRECOND_NYSTROM };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (strcmp(s, rrr_precond_name(all[k])) == 0) {
            *out = all[k];
            return RRR_OK;
        }
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "--precond '%s': expected auto, none, jacobi or "
                    "nystrom", s);
}

/* Collective. A SIGTERM/SIGUSR1 that arrived after the solver's last iteration boundary
 * (during exact's statistics pass, or the final evaluation), or during predict, still
 * stops the run: exit 5, the outputs untouched (docs/cli.md "Checkpoints and signals").
 * when: where the signal came, for the message. */
static rrr_status stop_check(rrr_ctx *ctx, const char *when)
{
    int stop = rrr_stop_requested != 0, any = 0;
    MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_MAX, ctx->comm);
    if (!any)
        return RRR_OK;
    return RRR_FAIL(&ctx->err, RRR_ESTOPPED, "stopped by a signal %s; no output was written",
                    when);
}

/* The fit options shared by fit and cv (their --help texts list them). */
typedef struct {
    const char *solver, *xty, *route, *precond;
    int nocert, cert;
} solver_args;

/* Local. The solver options into o (after parsing). */
static rrr_status solver_options(rrr_ctx *ctx, const solver_args *a, rrr_fit_opts *o)
{
    rrr_status st = parse_solver(ctx, a->solver, &o->solver);
    if (st != RRR_OK)
        return st;
    if (a->nocert && a->cert)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--certificate and --no-certificate exclude each "
                        "other");
    o->certificate = a->nocert ? RRR_CERT_OFF : a->cert ? RRR_CERT_ON : RRR_CERT_AUTO;
    if (strcmp(a->xty, "auto") == 0 || strcmp(a->xty, "on") == 0 || strcmp(a->xty, "off") == 0)
        o->gd_xty = a->xty[1] == 'u' ? -1 : a->xty[1] == 'n';
    else
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--gd-xty '%s': expected auto, on or off", a->xty);
    if (strcmp(a->route, "auto") == 0 || strcmp(a->route, "p") == 0 || strcmp(a->route, "q") == 0)
        o->eig_route = a->route[0] == 'a' ? -1 : a->route[0] == 'p';
    else
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--eig-route '%s': expected auto, p or q",
                        a->route);
    return parse_precond(ctx, a->precond, &o->precond);
}

/* Collective. Every output location is usable before the data is read, so a bad path
 * costs seconds, not the whole fit; no output is one of the inputs (a --report named like
 * X.npy, a model directory holding them) or another output of the same command (a
 * --report named DIR/U.npy or CKPT/checkpoint.bin). cv also writes (or, with --fold-ids,
 * removes a stale) DIR/fold_ids.npy, unless that is the --fold-ids file itself (ids); fit
 * removes a stale search's cv files. */
static rrr_status check_fit_outputs(rrr_ctx *ctx, const char *out, const char *report,
                                    const char *checkpoint, const char *const inputs[3],
                                    const char *ids)
{
    static const char *const names[] = { "U.npy", "V.npy", "x_mean.npy", "y_mean.npy",
                                         "model.json", "cv.json", "cv.csv", "fold_ids.npy" };
    const int nnames = 8; /* fit removes a stale search's cv.json, cv.csv, fold_ids.npy */
    rrr_status st = RRR_OK;
    char files[8][PATH_MAX], ckpt[PATH_MAX], whose[PATH_MAX + 32];
    const char *outs[8] = { NULL }, *ck[1] = { NULL };
    if (out != NULL)
        st = rrr_output_check(ctx, out, 1, "--out");
    if (st == RRR_OK && out != NULL)
        st = rrr_output_names_check(ctx, out, names, nnames, "--out");
    for (int k = 0; out != NULL && k < nnames && st == RRR_OK; k++) {
        if (snprintf(files[k], PATH_MAX, "%s/%s", out, names[k]) >= PATH_MAX)
            continue;
        outs[k] = files[k];
        if (k == 7 && ids != NULL && rrr_same_file(ctx, files[k], ids))
            outs[k] = NULL; /* the --fold-ids input: cv leaves it as it is */
        /* with --fold-ids, DIR/fold_ids.npy is only removed: it may not be X or Y */
        st = outs[k] == NULL ? RRR_OK
                             : rrr_output_not_input(ctx, files[k], "--out", inputs,
                                                    k == 7 && ids != NULL ? 2 : 3);
    }
    /* a collision first: a report named DIR/U.npy is exit 2 even before DIR exists */
    if (st == RRR_OK && report != NULL && out != NULL) {
        snprintf(whose, sizeof whose, "a file of --out %s", out);
        st = rrr_output_not_output(ctx, report, "--report", outs, nnames, whose);
    }
    if (st == RRR_OK && report != NULL)
        st = rrr_output_not_input(ctx, report, "--report", inputs, 3);
    /* so is a report named CKPT/checkpoint.bin, even before CKPT exists */
    if (st == RRR_OK && report != NULL && checkpoint != NULL &&
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", checkpoint) < (int)sizeof ckpt) {
        ck[0] = ckpt;
        st = rrr_output_not_output(ctx, report, "--report", ck, 1, "the checkpoint");
    }
    /* a report inside --out DIR or --checkpoint CKPT: their checks cover its directory (fit
     * creates DIR first, and CKPT if it must), not what already stands at its name */
    if (st == RRR_OK && report != NULL && !(out != NULL && rrr_path_in_dir(report, out)) &&
        !(checkpoint != NULL && rrr_path_in_dir(report, checkpoint)))
        st = rrr_output_check(ctx, report, 0, "--report");
    else if (st == RRR_OK && report != NULL)
        st = rrr_output_replaceable(ctx, report, "--report");
    if (st == RRR_OK && checkpoint != NULL)
        st = rrr_checkpoint_dir_check(ctx, checkpoint, "--checkpoint");
    return st;
}

/* Local (rank 0 says it), once the arguments are known to be good: no second message
 * before an error. */
static void warn_no_out(rrr_ctx *ctx, const char *out)
{
    if (out == NULL)
        rrr_warn(ctx, "no --out: the fitted model will not be kept");
}

/* Local (rank 0). What of DIR an earlier `rrr cv` wrote: bit 0 cv.json and cv.csv (DIR/cv.json
 * is an rrr cv.json), bit 1 also fold_ids.npy (its folds were drawn from the seed, not read
 * from a --fold-ids file, which may be that very file). 0 for anything else. */
static int stale_search(const char *dir)
{
    char path[PATH_MAX], s[32];
    rrr_err e = { .st = RRR_OK };
    rrr_jval fmt, from;
    if (snprintf(path, sizeof path, "%s/cv.json", dir) >= (int)sizeof path)
        return 0;
    FILE *f = fopen(path, "rb");
    long size = f != NULL && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    /* a search's cv.json grows with its grid (73 KB at 5 ranks x 100 lambdas) */
    char *buf = size > 0 && size <= (64L << 20) && fseek(f, 0, SEEK_SET) == 0
                    ? malloc((size_t)size) : NULL;
    size_t len = buf != NULL ? fread(buf, 1, (size_t)size, f) : 0;
    if (f != NULL)
        fclose(f);
    int which = 0;
    if (len == (size_t)size && len > 0 &&
        rrr_json_lookup(buf, len, "format", &fmt, path, &e) == RRR_OK &&
        rrr_json_lookup(buf, len, "folds_from", &from, path, &e) == RRR_OK &&
        rrr_json_string(&fmt, s, sizeof s) && strcmp(s, "rrr-cv-1") == 0)
        which = 1 | (rrr_json_string(&from, s, sizeof s) && strcmp(s, "seed") == 0) << 1;
    free(buf);
    return which;
}

/* Collective. fit into the directory of an earlier search: its cv.json and cv.csv, and the
 * fold_ids.npy it drew, would describe another model than model.json's, so they go in the
 * same commit (as stale means do); files that are not such a search's stay. */
static rrr_status remove_stale_search(rrr_ctx *ctx, rrr_outset *o, const char *dir)
{
    static const char *const names[3] = { "cv.json", "cv.csv", "fold_ids.npy" };
    char path[PATH_MAX];
    int which = ctx->rank == 0 ? stale_search(dir) : 0;
    MPI_Bcast(&which, 1, MPI_INT, 0, ctx->comm);
    rrr_status st = RRR_OK;
    for (int k = 0; k < 3 && st == RRR_OK; k++) {
        if (!(which & (k < 2 ? 1 : 2)))
            continue;
        st = snprintf(path, sizeof path, "%s/%s", dir, names[k]) < (int)sizeof path
                 ? rrr_outset_remove(ctx, o, path)
                 : RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
    }
    return st;
}

/* Collective. After a fit (or cv's final fit): a signal that came late still stops it
 * (exit 5, nothing written); the report, the model and (cv) the search's files in one
 * commit: all appear, or none; then the summary. ids: cv's --fold-ids file, or NULL. */
static rrr_status write_fit(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                            const rrr_cv_result *cv, const char *ids, const char *report,
                            const char *out, const char *checkpoint)
{
    rrr_outset o;
    rrr_outset_init(&o);
    rrr_status st = stop_check(ctx, "after the solve");
    if (st == RRR_OK && out != NULL) /* first: it creates DIR, where the report may go */
        st = rrr_model_stage(ctx, &o, m, info, out);
    if (st == RRR_OK && out != NULL && cv != NULL)
        st = rrr_cv_stage(ctx, &o, cv, ids, out);
    if (st == RRR_OK && out != NULL && cv == NULL)
        st = remove_stale_search(ctx, &o, out);
    /* a report inside --checkpoint CKPT: CKPT appears with the first checkpoint, which a
     * short run (or exact, or --resume of a finished run) never writes */
    if (st == RRR_OK && report != NULL && checkpoint != NULL &&
        rrr_path_in_dir(report, checkpoint))
        st = rrr_outset_mkdir(ctx, &o, checkpoint, "--checkpoint");
    if (st == RRR_OK && report != NULL)
        st = rrr_report_stage(ctx, &o, m, info, report);
    st = rrr_outset_finish(ctx, &o, st);
    if (st == RRR_OK)
        rrr_fit_summary(ctx, m, info);
    return st;
}

/* Local. Append the solver options of fit (also cv's) to specs at *n. */
static void solver_specs(opt_spec *specs, int *n, solver_args *sa, rrr_fit_opts *o)
{
    const opt_spec shared[] = {
        { "--solver", OPT_STR, &sa->solver, 0, 0 },
        { "--max-iter", OPT_LONG, &o->max_iter, 0, 0 },
        { "--tol", OPT_DOUBLE, &o->tol, 0, 0 },
        { "--seed", OPT_U64, &o->seed, 0, 0 },
        { "--grid-min-p", OPT_SIZE, &o->grid_min_p, 0, 0 },
        { "--no-certificate", OPT_FLAG, &sa->nocert, 0, 0 },
        { "--certificate", OPT_FLAG, &sa->cert, 0, 0 },
        { "--gd-xty", OPT_STR, &sa->xty, 0, 0 },
        { "--eig-route", OPT_STR, &sa->route, 0, 0 },
        { "--precond", OPT_STR, &sa->precond, 0, 0 },
        { "--precond-rank", OPT_INT, &o->precond_rank, 0, 0 },
        { "--intercept", OPT_FLAG, &o->intercept, 0, 0 },
    };
    for (size_t k = 0; k < sizeof shared / sizeof shared[0]; k++)
        specs[(*n)++] = shared[k];
    specs[*n] = (opt_spec){ NULL, OPT_FLAG, NULL, 0, 0 };
}

static rrr_status cmd_fit(rrr_ctx *ctx, int argc, char **argv)
{
    rrr_fit_opts o;
    rrr_fit_opts_default(&o);
    const char *xp = NULL, *yp = NULL, *out = NULL, *report = NULL;
    solver_args sa = { "auto", "auto", "auto", "auto", 0, 0 };
    int help, quiet = 0;
    opt_spec specs[32] = {
        { "--x", OPT_STR, &xp, 1, 0 },
        { "--y", OPT_STR, &yp, 1, 0 },
        { "--rank", OPT_INT, &o.d, 1, 0 },
        { "--lambda", OPT_DOUBLE, &o.lambda, 1, 0 },
        { "--out", OPT_STR, &out, 0, 0 },
        { "--report", OPT_STR, &report, 0, 0 },
        { "--checkpoint", OPT_STR, &o.checkpoint, 0, 0 },
        { "--checkpoint-every", OPT_LONG, &o.checkpoint_every, 0, 0 },
        { "--resume", OPT_FLAG, &o.resume, 0, 0 },
        { "--quiet", OPT_FLAG, &quiet, 0, 0 },
    };
    int nspecs = 10;
    solver_specs(specs, &nspecs, &sa, &o);
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_fit);
        return st;
    }
    rrr_ctx_set_quiet(ctx, quiet);
    rrr_signals_install(); /* fit, cv, gen and predict stop cleanly on a signal */
    st = solver_options(ctx, &sa, &o);
    if (st != RRR_OK)
        return st;

    rrr_input *X = NULL, *Y = NULL;
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    const char *inputs[3] = { xp, yp, NULL };
    st = check_fit_outputs(ctx, out, report, o.checkpoint, inputs, NULL);
    if (st == RRR_OK)
        st = open_xy(ctx, xp, yp, &X, &Y);
    if (st == RRR_OK)
        warn_no_out(ctx, out);
    if (st == RRR_OK)
        st = rrr_fit_inputs(ctx, X, Y, &o, NULL, 1, &m, &info);
    if (st == RRR_OK) { /* provenance for model.json */
        info->x_source = xp;
        info->y_source = yp;
        st = write_fit(ctx, m, info, NULL, NULL, report, out, o.checkpoint);
    }
    rrr_fit_info_destroy(&info);
    rrr_model_destroy(&m);
    rrr_input_close(&X);
    rrr_input_close(&Y);
    return st;
}

/* Local (the message is agreed: every rank rewrites it alike). "--fold-ids: row 3 ..." from
 * the library, which sees a block, becomes "--fold-ids F.npy: row 3 ...". */
static void name_ids_file(rrr_ctx *ctx, const char *ids)
{
    static const char tag[] = "--fold-ids:";
    char msg[sizeof ctx->err.msg];
    if (strncmp(ctx->err.msg, tag, sizeof tag - 1) != 0)
        return;
    snprintf(msg, sizeof msg, "--fold-ids %s:%s", ids, ctx->err.msg + sizeof tag - 1);
    memcpy(ctx->err.msg, msg, sizeof msg);
}

/* Collective. cv once its options are parsed: the data, the grids, the search, the files. */
static rrr_status run_cv(rrr_ctx *ctx, rrr_cv_opts *o, const char *xp, const char *yp,
                         const char *ranks, const char *lambdas, const char *ids,
                         const char *report, const char *out)
{
    rrr_input *X = NULL, *Y = NULL;
    rrr_block *F = NULL;
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    rrr_cv_result *res = NULL;
    int *rk = NULL;
    double *lam = NULL;
    const char *inputs[3] = { xp, yp, ids };
    rrr_status st = check_fit_outputs(ctx, out, report, NULL, inputs, ids);
    if (st == RRR_OK)
        st = open_xy(ctx, xp, yp, &X, &Y);
    size_t p = st == RRR_OK ? rrr_input_cols(X) : 0, q = st == RRR_OK ? rrr_input_cols(Y) : 0;
    if (st == RRR_OK)
        st = rrr_cv_parse_ranks(ranks, p < q ? p : q, &rk, &o->nranks, &ctx->err);
    if (st == RRR_OK)
        st = rrr_cv_parse_lambdas(lambdas, &lam, &o->nlambdas, &ctx->err);
    o->ranks = rk;
    o->lambdas = lam;
    if (st == RRR_OK && ids != NULL) {
        st = rrr_block_read_ids(ctx, ids, &F);
        if (st == RRR_OK && F->n != rrr_input_rows(X))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has %zu rows but %s has %zu", ids, F->n, xp,
                          rrr_input_rows(X));
        o->fold_ids = F;
    }
    if (st == RRR_OK)
        warn_no_out(ctx, out);
    if (st == RRR_OK)
        st = rrr_cv_inputs(ctx, X, Y, o, &res, &m, &info);
    if (st == RRR_EINVAL && ids != NULL) /* the library's "--fold-ids: ..." names the file */
        name_ids_file(ctx, ids);
    if (st == RRR_OK) {
        info->x_source = xp;
        info->y_source = yp;
        st = write_fit(ctx, m, info, res, ids, report, out, NULL);
    }
    if (st == RRR_OK && rrr_ctx_rank(ctx) == 0) {
        printf("cv_choice rank %d lambda %.17g cv_mse %.17g\n", res->rank, res->lambda,
               res->cv_mse_choice);
        fflush(stdout);
    }
    free(rk);
    free(lam);
    rrr_cv_result_destroy(&res);
    rrr_fit_info_destroy(&info);
    rrr_model_destroy(&m);
    rrr_input_close(&X);
    rrr_input_close(&Y);
    rrr_block_destroy(&F);
    return st;
}

static rrr_status cmd_cv(rrr_ctx *ctx, int argc, char **argv)
{
    rrr_cv_opts o;
    rrr_cv_opts_default(&o);
    const char *xp = NULL, *yp = NULL, *ranks = NULL, *lambdas = NULL, *ids = NULL;
    const char *rule = "min", *out = NULL, *report = NULL, *method = "auto";
    solver_args sa = { "auto", "auto", "auto", "auto", 0, 0 };
    int help, quiet = 0, nfolds = -1; /* -1: not given (the parser takes no negatives) */
    opt_spec specs[32] = {
        { "--x", OPT_STR, &xp, 1, 0 },
        { "--y", OPT_STR, &yp, 1, 0 },
        { "--rank", OPT_STR, &ranks, 1, 0 },
        { "--lambda", OPT_STR, &lambdas, 1, 0 },
        { "--folds", OPT_INT, &nfolds, 0, 0 },
        { "--fold-ids", OPT_STR, &ids, 0, 0 },
        { "--fold-seed", OPT_U64, &o.fold_seed, 0, 0 },
        { "--rule", OPT_STR, &rule, 0, 0 },
        { "--out", OPT_STR, &out, 0, 0 },
        { "--report", OPT_STR, &report, 0, 0 },
        { "--quiet", OPT_FLAG, &quiet, 0, 0 },
        { "--checkpoint", OPT_STR, &o.fit.checkpoint, 0, 0 },
        { "--resume", OPT_FLAG, &o.fit.resume, 0, 0 },
        { "--cv-method", OPT_STR, &method, 0, 0 },
    };
    int nspecs = 14;
    solver_specs(specs, &nspecs, &sa, &o.fit);
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_cv);
        return st;
    }
    rrr_ctx_set_quiet(ctx, quiet);
    rrr_signals_install();
    st = solver_options(ctx, &sa, &o.fit);
    if (st != RRR_OK)
        return st;
    if (strcmp(rule, "min") == 0 || strcmp(rule, "1se") == 0)
        o.rule = rule[0] == '1' ? RRR_CV_1SE : RRR_CV_MIN;
    else
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--rule '%s': expected min or 1se", rule);
    if (strcmp(method, "auto") == 0 || strcmp(method, "statistics") == 0 ||
        strcmp(method, "gd") == 0)
        o.method = method[0] == 'a' ? RRR_CV_AUTO : method[0] == 's' ? RRR_CV_STATISTICS : RRR_CV_GD;
    else
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--cv-method '%s': expected auto, statistics or gd",
                        method);
    if (ids != NULL && nfolds >= 0)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--folds and --fold-ids exclude each other");
    if (ids != NULL && rrr_cli_given(specs, "--fold-seed"))
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--fold-seed and --fold-ids exclude each other "
                        "(the seed draws random folds; the ids are the folds)");
    if (nfolds >= 0)
        o.folds = nfolds; /* 0 and 1 are refused with the other checks of rrr_cv */

    return run_cv(ctx, &o, xp, yp, ranks, lambdas, ids, report, out);
}

/* rrr plan: the plan for a problem size, without data (for scaling studies and scripts,
 * which then need not re-derive rrr's rules). */
static rrr_status cmd_plan(rrr_ctx *ctx, int argc, char **argv)
{
    rrr_fit_opts o;
    rrr_fit_opts_default(&o);
    size_t n = 0, p = 0, q = 0, mem = 0;
    int help, ranks = 0, per_node = 0;
    solver_args sa = { "auto", "auto", "auto", "auto", 0, 0 };
    opt_spec specs[] = {
        { "--n", OPT_SIZE, &n, 1, 0 },          { "--p", OPT_SIZE, &p, 1, 0 },
        { "--q", OPT_SIZE, &q, 1, 0 },          { "--rank", OPT_INT, &o.d, 1, 0 },
        { "--ranks", OPT_INT, &ranks, 0, 0 },   { "--ranks-per-node", OPT_INT, &per_node, 0, 0 },
        { "--mem-per-rank", OPT_SIZE, &mem, 0, 0 },
        { "--solver", OPT_STR, &sa.solver, 0, 0 }, { "--gd-xty", OPT_STR, &sa.xty, 0, 0 },
        { "--grid-min-p", OPT_SIZE, &o.grid_min_p, 0, 0 },
        { "--eig-route", OPT_STR, &sa.route, 0, 0 },
        { "--no-certificate", OPT_FLAG, &sa.nocert, 0, 0 },
        { NULL, OPT_FLAG, NULL, 0, 0 },
    };
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_plan);
        return st;
    }
    st = solver_options(ctx, &sa, &o);
    if (st == RRR_OK)
        st = rrr_check_rank(&ctx->err, o.d, p, q);
    if (st == RRR_OK && n < 1)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "plan: --n must be at least 1");
    if (st != RRR_OK)
        return st;
    rrr_machine mach = rrr_machine_of(ctx);
    if (ranks > 0)
        mach.ranks = ranks;
    if (per_node > 0) { /* the node's memory shared by that many ranks */
        mach.mem_per_rank = ctx->mem_per_rank * ctx->node_ranks / per_node;
        mach.node_ranks = per_node;
    }
    if (mem > 0)
        mach.mem_per_rank = (double)mem;
    rrr_plan plan;
    rrr_plan_make(&mach, n, p, q, o.d, &o, &plan);
    if (rrr_ctx_rank(ctx) == 0) {
        rrr_json j;
        rrr_json_begin(&j, stdout);
        rrr_json_int(&j, "n", (long long)n);
        rrr_json_int(&j, "p", (long long)p);
        rrr_json_int(&j, "q", (long long)q);
        rrr_json_int(&j, "rank", o.d);
        rrr_plan_json(&j, "plan", &plan);
        if (plan.solver_why[0])
            rrr_json_str(&j, "solver_why", plan.solver_why);
        rrr_json_end(&j);
        fflush(stdout);
    }
    return RRR_OK;
}

/* Collective. Read X (and Y) for predict and check them against the model. */
static rrr_status read_predict_inputs(rrr_ctx *ctx, const rrr_model *m, const char *xp,
                                      const char *yp, rrr_block **X, rrr_block **Y)
{
    rrr_status st = rrr_block_read(ctx, xp, X);
    if (st == RRR_OK && (*X)->ncols != m->p) /* the file's name in the message */
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s has %zu columns but the model has p = %zu", xp,
                      (*X)->ncols, m->p);
    if (st == RRR_OK && yp != NULL) {
        st = rrr_block_read(ctx, yp, Y);
        if (st == RRR_OK && ((*Y)->n != (*X)->n || (*Y)->ncols != m->q))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s is %zu x %zu; expected %zu x %zu", yp,
                          (*Y)->n, (*Y)->ncols, (*X)->n, m->q);
    }
    return st; /* replicated facts: the same on every rank */
}


/* Local (rank 0 says it). predict --out FILE.h5:/dset writes a new FILE holding only that
 * dataset (atomically, by rename): an existing FILE's other datasets go with it. */
static void warn_h5_replaced(rrr_ctx *ctx, const char *out)
{
    char file[PATH_MAX];
    const char *dset;
    if (rrr_path_h5(out, file, sizeof file, &dset) == 1 && access(file, F_OK) == 0)
        rrr_warn(ctx, "--out %s: %s exists and is replaced by a file that holds only %s (rrr "
                 "does not add datasets to an existing file)", out, file, dset);
}
static rrr_status cmd_predict(rrr_ctx *ctx, int argc, char **argv)
{
    const char *model = NULL, *xp = NULL, *out = NULL, *yp = NULL, *scores = NULL;
    int help, quiet = 0;
    opt_spec specs[] = {
        { "--model", OPT_STR, &model, 1, 0 },   { "--x", OPT_STR, &xp, 1, 0 },
        { "--out", OPT_STR, &out, 0, 0 },       { "--y", OPT_STR, &yp, 0, 0 },
        { "--scores", OPT_STR, &scores, 0, 0 }, { "--quiet", OPT_FLAG, &quiet, 0, 0 },
        { NULL, OPT_FLAG, NULL, 0, 0 },
    };
    rrr_status st = rrr_cli_parse(argc, argv, 2, specs, &help, &ctx->err);
    if (st != RRR_OK || help) {
        if (help)
            print_usage(ctx, usage_predict);
        return st;
    }
    rrr_ctx_set_quiet(ctx, quiet);
    rrr_signals_install(); /* a signal removes the temporaries: exit 5 */
    if (scores != NULL && yp == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "--scores needs --y Y.npy to score against");
    if (out == NULL && yp == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "predict needs --out YHAT.npy (the predictions), "
                        "--y Y.npy (their scores), or both");
    rrr_model *m = NULL;
    rrr_block *X = NULL, *Y = NULL, *Yhat = NULL;
    rrr_scores *sc = NULL;
    rrr_outset o;
    rrr_outset_init(&o);
    /* the inputs: X, Y and the model's files (predict reads them all) */
    static const char *const names[] = { "U.npy", "V.npy", "x_mean.npy", "y_mean.npy",
                                         "model.json" };
    char mf[5][PATH_MAX];
    const char *inputs[7] = { xp, yp };
    for (int k = 0; k < 5; k++)
        inputs[2 + k] = snprintf(mf[k], PATH_MAX, "%s/%s", model, names[k]) < PATH_MAX ? mf[k]
                                                                                   : NULL;
    const char *outs[1] = { out };
    if (out != NULL)
        st = rrr_output_file_check(ctx, out, "--out");
    if (st == RRR_OK && out != NULL)
        st = rrr_output_not_input(ctx, out, "--out", inputs, 7);
    if (st == RRR_OK && out != NULL)
        warn_h5_replaced(ctx, out);
    if (st == RRR_OK && scores != NULL)
        st = rrr_output_check(ctx, scores, 0, "--scores");
    if (st == RRR_OK && scores != NULL)
        st = rrr_output_not_input(ctx, scores, "--scores", inputs, 7);
    if (st == RRR_OK && scores != NULL && out != NULL)
        st = rrr_output_not_output(ctx, scores, "--scores", outs, 1, "the --out file");
    if (st == RRR_OK)
        st = rrr_model_read(ctx, model, &m);
    if (st == RRR_OK)
        st = read_predict_inputs(ctx, m, xp, yp, &X, &Y);
    if (st == RRR_OK)
        st = rrr_predict(ctx, m, X, &Yhat);
    if (st == RRR_OK && Y != NULL) /* before writing: a failure leaves no YHAT behind */
        st = rrr_scores_new(ctx, Y, Yhat, &sc);
    if (st == RRR_OK && out != NULL)
        st = rrr_block_stage(ctx, &o, Yhat, out);
    if (st == RRR_OK && scores != NULL) {
        const char *src[3] = { model, xp, yp };
        st = rrr_scores_write(ctx, sc, src, scores, &o);
    }
    if (st == RRR_OK) /* written under temporary names: a signal until now leaves nothing */
        st = stop_check(ctx, "during predict");
    st = rrr_outset_finish(ctx, &o, st); /* YHAT and the scores: both, or neither */
    if (st == RRR_OK && sc != NULL && rrr_ctx_rank(ctx) == 0) {
        printf("mse %.17g\nr2 %.17g\nr2_mean %.17g\n", sc->mse, sc->r2, sc->r2_mean);
        fflush(stdout);
    }
    rrr_scores_destroy(&sc);
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

/* Local. "rrr 0.9.0" and what this build reads. */
static void print_version(const rrr_ctx *ctx)
{
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpi, &len);
    mpi[strcspn(mpi, ",\n")] = '\0'; /* "Open MPI v4.1.4" */
    if (rrr_ctx_rank(ctx) != 0)
        return;
    printf("rrr %s\n", rrr_version());
    if (rrr_h5_version() != NULL)
        printf("HDF5 %s (parallel: FILE.h5:/dataset inputs and outputs)\n", rrr_h5_version());
    else
        printf("HDF5 none: built without it (install libhdf5-openmpi-dev and rebuild)\n");
    printf("%s; BLAS %s\n", mpi, rrr_blas_corename());
    fflush(stdout);
}

static rrr_status run(rrr_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(ctx, usage_main);
        return argc < 2 ? RRR_FAIL(&ctx->err, RRR_EINVAL, "no command given") : RRR_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        print_version(ctx);
        return RRR_OK;
    }
    if (strcmp(argv[1], "gen") == 0)
        return cmd_gen(ctx, argc, argv);
    if (strcmp(argv[1], "fit") == 0)
        return cmd_fit(ctx, argc, argv);
    if (strcmp(argv[1], "predict") == 0)
        return cmd_predict(ctx, argc, argv);
    if (strcmp(argv[1], "gradcheck") == 0)
        return cmd_gradcheck(ctx, argc, argv);
    if (strcmp(argv[1], "cv") == 0)
        return cmd_cv(ctx, argc, argv);
    if (strcmp(argv[1], "plan") == 0)
        return cmd_plan(ctx, argc, argv);
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "unknown command '%s' (see rrr --help)", argv[1]);
}

/* Local. What rank 0 printed on stdout (scores, the choice, the gap) reached it: a full disk
 * or /dev/full behind stdout is a failed command, as for any Unix tool. */
static rrr_status stdout_written(rrr_ctx *ctx)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return RRR_OK;
    return RRR_FAIL(&ctx->err, RRR_EIO, "standard output: %s: the results printed there are "
                    "lost", strerror(errno));
}

int main(int argc, char **argv)
{
    rrr_blas_pick_kernel(argv); /* may re-exec once, before MPI exists */
    rrr_mpi_pick_transport();
    int provided; /* a reader thread (direct.c) may run beside the thread that calls MPI */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    rrr_ctx *ctx = NULL;
    rrr_status st = rrr_ctx_create(MPI_COMM_WORLD, &ctx);
    if (st == RRR_OK) {
        st = rrr_blas_configure(ctx);
        if (st == RRR_OK)
            st = rrr_agree(ctx, run(ctx, argc, argv));
        if (st == RRR_OK)
            st = rrr_agree(ctx, stdout_written(ctx));
        if (st != RRR_OK && rrr_ctx_rank(ctx) == 0)
            rrr_say("rrr: error: ", rrr_ctx_errmsg(ctx));
    } else {
        rrr_say("rrr: error: ", rrr_strerror(st));
    }
    rrr_ctx_destroy(&ctx);
    MPI_Finalize();
    return rrr_exit_code(st);
}
