/* tests/mpi/api_args.c: every public function of include/rrr.h given a NULL, an out-of-range
 * or an inconsistent argument returns RRR_EINVAL (never a crash, an abort or a write): the
 * cases an adversarial sweep of the library found crashing (NULL models, blocks, outputs
 * and contexts; an eig_route of 5 that corrupted the heap; nloc * ncols overflowing;
 * models the readers would refuse being written). Built against the installed library by
 * tests/mpi/test_install.sh and run at 1 and 2 ranks; prints one line per failed case and
 * exits 1 if there was one. Argument: a scratch directory. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rrr.h>

static int failed, cases;

static void expect(const char *what, rrr_status got, rrr_status want)
{
    cases++;
    if (got != want) {
        failed++;
        printf("FAIL %s: status %d, want %d\n", what, (int)got, (int)want);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096];
    rrr_ctx *ctx = NULL, *none = NULL;
    if (rrr_ctx_create(MPI_COMM_WORLD, &ctx) != RRR_OK)
        return 1;
    rrr_ctx_set_quiet(ctx, 1);
    const int K = rrr_ctx_size(ctx);
    const size_t n = 20, p = 4, q = 3;
    size_t r0 = 0, nloc = 0;
    rrr_partition(n, K, rrr_ctx_rank(ctx), &r0, &nloc);
    double *x = malloc(n * p * sizeof *x), *y = malloc(n * q * sizeof *y);
    for (size_t i = 0; i < n * p; i++)
        x[i] = sin((double)(i + r0 * p) * 1.3 + 0.2);
    for (size_t i = 0; i < n * q; i++)
        y[i] = cos((double)(i + r0 * q) * 0.7);
    rrr_block *X = NULL, *Y = NULL, *B = NULL;
    rrr_block_wrap(ctx, n, p, nloc, x, &X);
    rrr_block_wrap(ctx, n, q, nloc, y, &Y);
    rrr_fit_opts o;
    rrr_fit_opts_default(&o);
    o.d = 2;
    o.lambda = 0.1;
    rrr_model *m = NULL, *m2 = NULL;
    rrr_fit_info *info = NULL, *i2 = NULL;
    expect("a good fit", rrr_fit(ctx, X, Y, &o, &m, &info), RRR_OK);
    if (m == NULL)
        return 1;

    /* contexts */
    expect("rrr_ctx_create(comm, NULL)", rrr_ctx_create(MPI_COMM_WORLD, NULL), RRR_EINVAL);
    expect("rrr_ctx_create(MPI_COMM_NULL)", rrr_ctx_create(MPI_COMM_NULL, &none), RRR_EINVAL);
    cases++;
    if (rrr_ctx_errmsg(NULL) == NULL || rrr_ctx_rank(NULL) != -1 || rrr_ctx_size(NULL) != 0)
        failed++, printf("FAIL rrr_ctx_errmsg/rank/size(NULL)\n");
    rrr_ctx_set_quiet(NULL, 1);
    size_t a0, a1;
    expect("rrr_partition(NULL outputs)", rrr_partition(10, 2, 0, NULL, NULL), RRR_EINVAL);
    expect("rrr_partition(K = 0)", rrr_partition(10, 0, 0, &a0, &a1), RRR_EINVAL);
    /* blocks */
    expect("rrr_block_wrap(ncols SIZE_MAX)", rrr_block_wrap(ctx, n, SIZE_MAX, nloc, x, &B),
           nloc > 0 ? RRR_EINVAL : RRR_OK);
    rrr_block_destroy(&B);
    size_t big = (size_t)1 << 40, mine = 0;
    rrr_partition(big, K, rrr_ctx_rank(ctx), &a0, &mine);
    expect("rrr_block_wrap(nloc * ncols overflows)", rrr_block_wrap(ctx, big, big, mine, x, &B),
           RRR_EINVAL);
    expect("rrr_block_wrap_at(rows beyond n)", rrr_block_wrap_at(ctx, n, p, n, 1, x, &B),
           RRR_EINVAL);
    expect("rrr_block_wrap_at(r0 + nloc wraps around)",
           rrr_block_wrap_at(ctx, n, p, 2, SIZE_MAX, x, &B), RRR_EINVAL);
    expect("rrr_block_read(NULL path)", rrr_block_read(ctx, NULL, &B), RRR_EINVAL);
    expect("rrr_block_write(NULL block)", rrr_block_write(ctx, NULL, dir), RRR_EINVAL);
    /* fit options a C caller can set out of range */
    rrr_fit_opts bad = o;
    bad.eig_route = 5;
    expect("rrr_fit(eig_route 5)", rrr_fit(ctx, X, Y, &bad, &m2, &i2), RRR_EINVAL);
    bad = o;
    bad.gd_xty = 5;
    bad.solver = RRR_SOLVER_GD;
    expect("rrr_fit(gd_xty 5)", rrr_fit(ctx, X, Y, &bad, &m2, &i2), RRR_EINVAL);
    bad = o;
    bad.precond = (rrr_precond)99;
    expect("rrr_fit(precond 99)", rrr_fit(ctx, X, Y, &bad, &m2, &i2), RRR_EINVAL);
    bad = o;
    bad.U0 = m->U;
    expect("rrr_fit(U0 without V0)", rrr_fit(ctx, X, Y, &bad, &m2, &i2), RRR_EINVAL);
    bad = o;
    bad.lambda = 1e308;
    expect("rrr_fit(lambda 1e308)", rrr_fit(ctx, X, Y, &bad, &m2, &i2), RRR_EINVAL);
    /* options that differ between ranks: refused on every rank (they gave two models, or a
     * hang when one rank judged its own alone) */
    if (K > 1) {
        bad = o;
        bad.lambda = 0.1 + rrr_ctx_rank(ctx);
        expect("rrr_fit(lambda differs between ranks)", rrr_fit(ctx, X, Y, &bad, &m2, &i2),
               RRR_EINVAL);
        bad = o;
        bad.solver = rrr_ctx_rank(ctx) == 0 ? RRR_SOLVER_GD : (rrr_solver)99;
        expect("rrr_fit(a solver valid on one rank only)", rrr_fit(ctx, X, Y, &bad, &m2, &i2),
               RRR_EINVAL);
        rrr_cv_opts cd;
        rrr_cv_opts_default(&cd);
        int rks[2] = { 1, 2 };
        double lms[2] = { 0.1, 1.0 };
        cd.ranks = rks;
        cd.nranks = rrr_ctx_rank(ctx) == 0 ? 2 : 1;
        cd.lambdas = lms;
        cd.nlambdas = 2;
        rrr_cv_result *rd = NULL;
        expect("rrr_cv(ranks differ between ranks)", rrr_cv(ctx, X, Y, &cd, &rd, &m2, &i2),
               RRR_EINVAL);
        /* splits of the rows: any one in rank order, each row once, the same for X and Y */
        cd.nranks = 2;
        const int me = rrr_ctx_rank(ctx);
        rrr_block *Xs = NULL, *Ys = NULL;
        rrr_block_wrap_at(ctx, n, p, me == 0 ? 0 : n, me == 0 ? n : 0, x, &Xs);
        rrr_block_wrap_at(ctx, n, q, me == 0 ? 0 : n, me == 0 ? n : 0, y, &Ys);
        expect("rrr_fit(rank 0 holds all rows)", rrr_fit(ctx, Xs, Ys, &o, &m2, &i2), RRR_OK);
        rrr_model_destroy(&m2);
        rrr_fit_info_destroy(&i2);
        expect("rrr_cv(rank 0 holds all rows)", rrr_cv(ctx, Xs, Ys, &cd, &rd, &m2, &i2), RRR_OK);
        rrr_model_destroy(&m2);
        rrr_fit_info_destroy(&i2);
        rrr_cv_result_destroy(&rd);
        expect("rrr_fit(X split otherwise than Y)", rrr_fit(ctx, Xs, Y, &o, &m2, &i2), RRR_EINVAL);
        double gerr = 0;
        expect("rrr_gradcheck(X split otherwise than Y)",
               rrr_gradcheck(ctx, Xs, Y, 1, 0.1, 1, &gerr), RRR_EINVAL);
        expect("rrr_gradcheck(rank 0 holds all rows)", rrr_gradcheck(ctx, Xs, Ys, 1, 0.1, 1, &gerr),
               RRR_OK);
        expect("rrr_cv(X split otherwise than Y)", rrr_cv(ctx, X, Ys, &cd, &rd, &m2, &i2),
               RRR_EINVAL);
        rrr_block_destroy(&Xs);
        rrr_block_destroy(&Ys);
        /* every rank the first rows: n rows in all, but row 0 K times and the last never */
        rrr_block_wrap_at(ctx, n, p, 0, nloc, x, &Xs);
        rrr_block_wrap_at(ctx, n, q, 0, nloc, y, &Ys);
        expect("rrr_fit(rows not in rank order)", rrr_fit(ctx, Xs, Ys, &o, &m2, &i2), RRR_EINVAL);
        expect("rrr_cv(rows not in rank order)", rrr_cv(ctx, Xs, Ys, &cd, &rd, &m2, &i2),
               RRR_EINVAL);
        rrr_block_destroy(&Xs);
        rrr_block_destroy(&Ys);
    }
    /* models: predict and write check what they are given */
    rrr_block *Yh = NULL;
    rrr_model mm = *m;
    expect("rrr_predict(NULL model)", rrr_predict(ctx, NULL, X, &Yh), RRR_EINVAL);
    expect("rrr_predict(NULL X)", rrr_predict(ctx, m, NULL, &Yh), RRR_EINVAL);
    expect("rrr_predict(NULL output)", rrr_predict(ctx, m, X, NULL), RRR_EINVAL);
    mm.U = NULL;
    expect("rrr_predict(model without U)", rrr_predict(ctx, &mm, X, &Yh), RRR_EINVAL);
    mm = *m;
    mm.d = 0;
    expect("rrr_predict(model of rank 0)", rrr_predict(ctx, &mm, X, &Yh), RRR_EINVAL);
    if (K > 1) { /* one rank's U differs in one entry: two fits, refused on every rank */
        size_t nu = m->p * (size_t)m->d;
        double *u2 = malloc(nu * sizeof *u2);
        memcpy(u2, m->U, nu * sizeof *u2);
        if (rrr_ctx_rank(ctx) == K - 1)
            u2[nu - 1] = nextafter(u2[nu - 1], INFINITY);
        mm = *m;
        mm.U = u2;
        expect("rrr_predict(models differ between ranks)", rrr_predict(ctx, &mm, X, &Yh),
               RRR_EINVAL);
        free(u2);
    }
    mm = *m;
    mm.intercept = 1;
    expect("rrr_predict(intercept without means)", rrr_predict(ctx, &mm, X, &Yh), RRR_EINVAL);
    snprintf(path, sizeof path, "%s/api-model", dir);
    expect("rrr_model_write(NULL model)", rrr_model_write(ctx, NULL, NULL, path), RRR_EINVAL);
    expect("rrr_model_write(NULL dir)", rrr_model_write(ctx, m, NULL, NULL), RRR_EINVAL);
    expect("rrr_model_write(intercept without means)", rrr_model_write(ctx, &mm, NULL, path),
           RRR_EINVAL);
    mm = *m;
    mm.lambda = -1;
    expect("rrr_model_write(lambda -1)", rrr_model_write(ctx, &mm, NULL, path), RRR_EINVAL);
    double u[8];
    for (int k = 0; k < 8; k++)
        u[k] = NAN;
    mm = *m;
    mm.U = u;
    expect("rrr_model_write(NaN in U)", rrr_model_write(ctx, &mm, NULL, path), RRR_EINVAL);
    expect("rrr_model_write_record(not JSON)",
           rrr_model_write_record(ctx, m, "{\"solver\": gd}", path), RRR_EINVAL);
    expect("rrr_model_write_record(an array, not an object)",
           rrr_model_write_record(ctx, m, "[1]", path), RRR_EINVAL);
    expect("rrr_model_write_record(not UTF-8)",
           rrr_model_write_record(ctx, m, "{\"a\": \"\xc3\x28\"}", path), RRR_EINVAL);
    expect("rrr_model_write_record(NaN in U)", rrr_model_write_record(ctx, &mm, "{}", path),
           RRR_EINVAL);
    char *text = NULL;
    expect("rrr_fit_info_json(NULL output)", rrr_fit_info_json(ctx, m, NULL, NULL), RRR_EINVAL);
    expect("rrr_fit_info_json(NULL model)", rrr_fit_info_json(ctx, NULL, NULL, &text),
           RRR_EINVAL);
    expect("rrr_model_read(NULL dir)", rrr_model_read(ctx, NULL, &m2), RRR_EINVAL);
    expect("rrr_model_read(NULL output)", rrr_model_read(ctx, path, NULL), RRR_EINVAL);
    /* scores, cv, gradcheck */
    double mse, r2, err;
    expect("rrr_score(NULL Y)", rrr_score(ctx, NULL, Y, &mse, &r2), RRR_EINVAL);
    expect("rrr_score(NULL mse)", rrr_score(ctx, Y, Y, NULL, &r2), RRR_EINVAL);
    rrr_cv_opts co;
    rrr_cv_opts_default(&co);
    rrr_cv_result *res = NULL;
    expect("rrr_cv(NULL options)", rrr_cv(ctx, X, Y, NULL, &res, &m2, &i2), RRR_EINVAL);
    expect("rrr_cv(NULL result)", rrr_cv(ctx, X, Y, &co, NULL, &m2, &i2), RRR_EINVAL);
    expect("rrr_cv(NULL X)", rrr_cv(ctx, NULL, Y, &co, &res, &m2, &i2), RRR_EINVAL);
    expect("rrr_gradcheck(NULL output)", rrr_gradcheck(ctx, X, Y, 2, 0.1, 0, NULL), RRR_EINVAL);
    expect("rrr_gradcheck(NULL X)", rrr_gradcheck(ctx, NULL, Y, 2, 0.1, 0, &err), RRR_EINVAL);
    snprintf(path, sizeof path, "%s/api-model", dir);
    FILE *f = fopen(path, "r"); /* nothing above may have written the model */
    cases++;
    if (f != NULL)
        failed++, printf("FAIL a refused rrr_model_write left %s\n", path), fclose(f);
    if (rrr_ctx_rank(ctx) == 0)
        printf("%d of %d cases as expected\n", cases - failed, cases);
    rrr_model_destroy(&m);
    rrr_fit_info_destroy(&info);
    rrr_block_destroy(&X);
    rrr_block_destroy(&Y);
    rrr_ctx_destroy(&ctx);
    free(x);
    free(y);
    MPI_Finalize();
    return failed > 0;
}
