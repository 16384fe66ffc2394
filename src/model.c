/* src/model.c: the model: its memory, its directory (U.npy, V.npy, model.json, means),
 * written atomically and read back with a JSON parser. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "blas_env.h"
#include "comm.h"
#include "fnv.h"
#include "linalg.h"
#include "model.h"
#include "npy.h"
#include "output.h"
#include "scan.h"

/* ---- memory ------------------------------------------------------------------------ */

rrr_status rrr_model_new(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, double lambda,
                         int intercept, rrr_model **out)
{
    rrr_model *m = calloc(1, sizeof *m);
    if (m != NULL) {
        *m = (rrr_model){ .n = n, .p = p, .q = q, .d = d, .lambda = lambda,
                          .intercept = intercept };
        m->U = rrr_calloc(p * (size_t)d, sizeof(double));
        m->V = rrr_calloc(q * (size_t)d, sizeof(double));
    }
    rrr_status st = RRR_OK;
    if (m == NULL || m->U == NULL || m->V == NULL) {
        rrr_model_destroy(&m);
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory for the model");
    }
    *out = m;
    return rrr_agree(ctx, st);
}

void rrr_model_destroy(rrr_model **m)
{
    if (m == NULL || *m == NULL)
        return;
    free((*m)->U);
    free((*m)->V);
    free((*m)->x_mean);
    free((*m)->y_mean);
    free(*m);
    *m = NULL;
}

rrr_status rrr_fit_info_new(rrr_ctx *ctx, const rrr_plan *plan, double yy, rrr_fit_info **out)
{
    rrr_fit_info *info = calloc(1, sizeof *info);
    struct rrr_plan *pl = malloc(sizeof *pl);
    rrr_status st = RRR_OK;
    if (info == NULL || pl == NULL) {
        free(info);
        free(pl);
        info = NULL;
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory for the fit record");
    } else {
        *pl = *plan;
        info->plan = pl;
        info->solver = plan->solver;
        info->solver_requested = plan->requested;
        if (plan->requested == RRR_SOLVER_AUTO)
            snprintf(info->solver_why, sizeof info->solver_why, "%s", plan->solver_why);
        info->fstar = NAN;
        info->fstar_error = NAN;
        info->gradient_ratio = NAN; /* set by the iterative solvers */
        info->yy = yy;
        info->ranks = plan->mach.ranks;
    }
    *out = info;
    return rrr_agree(ctx, st);
}

void rrr_fit_info_destroy(rrr_fit_info **info)
{
    if (info == NULL || *info == NULL)
        return;
    free((*info)->history);
    free((*info)->plan);
    free(*info);
    *info = NULL;
}

/* ---- model.json -------------------------------------------------------------------- */

/* the gap's scale: f*, or eps ||Yc||^2 when f* is at the rounding level of the data */
static double gap_scale(const rrr_fit_info *info)
{
    return fmax(info->fstar, DBL_EPSILON * info->yy);
}

double rrr_fit_info_gap(const rrr_fit_info *info)
{
    if (info == NULL || isnan(info->fstar))
        return NAN;
    const double diff = info->objective - info->fstar, scale = gap_scale(info);
    if (scale == 0) /* Y = 0 (after centring): f* = 0, and f = 0 is the optimum exactly */
        return diff == 0 ? 0.0 : diff > 0 ? (double)INFINITY : -(double)INFINITY;
    return diff / scale;
}

double rrr_fit_info_fstar_error(const rrr_fit_info *info)
{
    if (info == NULL || isnan(info->fstar))
        return NAN;
    /* a record without the bound (yy - sum mu): RRR_GAP_ABS_EPS eps ||Yc||^2 */
    return isnan(info->fstar_error) ? RRR_GAP_ABS_EPS * DBL_EPSILON * info->yy
                                    : info->fstar_error;
}

double rrr_fit_info_gap_tolerance(const rrr_fit_info *info)
{
    if (info == NULL || isnan(info->fstar))
        return NAN;
    if (gap_scale(info) == 0)
        return RRR_GAP_THRESHOLD;
    /* a fit at f* to rounding must not FAIL because f* itself is tiny */
    return RRR_GAP_THRESHOLD + rrr_fit_info_fstar_error(info) / gap_scale(info);
}

int rrr_fit_info_passed(const rrr_fit_info *info)
{
    double gap = rrr_fit_info_gap(info);
    return isnan(gap) ? -1 : gap <= rrr_fit_info_gap_tolerance(info);
}

/* Local. gd's preconditioner (README "Preconditioning"): which one ran, the request, why,
 * l, and the condition numbers; exact and als have none. */
static void precond_fields(rrr_json *j, const rrr_fit_info *info)
{
    const int gd = info->solver == RRR_SOLVER_GD;
    rrr_json_str(j, "precond", rrr_precond_name(gd ? info->precond : RRR_PRECOND_NONE));
    if (gd && info->plan != NULL)
        rrr_json_str(j, "precond_requested", rrr_precond_name(info->plan->precond));
    if (gd && info->precond_why[0])
        rrr_json_str(j, "precond_why", info->precond_why);
    rrr_json_int(j, "precond_rank", gd ? info->precond_rank : 0);
    rrr_json_num(j, "condition_before", gd ? info->condition_before : (double)NAN);
    rrr_json_num(j, "condition_after", gd ? info->condition_after : (double)NAN);
}

/* Local. The options the fit ran with (provenance: what to pass to rerun it). */
static void options_json(rrr_json *j, const rrr_fit_opts *o)
{
    rrr_json_obj_begin(j, "options");
    rrr_json_str(j, "solver", rrr_solver_name(o->solver));
    rrr_json_int(j, "max_iter", o->max_iter);
    rrr_json_num(j, "tol", o->tol);
    if (o->seed <= (uint64_t)LLONG_MAX) {
        rrr_json_int(j, "seed", (long long)o->seed);
    } else { /* beyond a JSON reader's int64: keep every digit */
        char s[24];
        snprintf(s, sizeof s, "%llu", (unsigned long long)o->seed);
        rrr_json_str(j, "seed", s);
    }
    rrr_json_bool(j, "intercept", o->intercept);
    rrr_json_str(j, "gd_xty", o->gd_xty < 0 ? "auto" : o->gd_xty ? "on" : "off");
    rrr_json_int(j, "grid_min_p", (long long)o->grid_min_p);
    rrr_json_str(j, "certificate", o->certificate == RRR_CERT_OFF  ? "off"
                                   : o->certificate == RRR_CERT_ON ? "on"
                                                                   : "auto");
    rrr_json_str(j, "eig_route", o->eig_route < 0 ? "auto" : o->eig_route ? "p" : "q");
    rrr_json_str(j, "precond", rrr_precond_name(o->precond));
    rrr_json_int(j, "precond_rank", o->precond_rank);
    rrr_json_int(j, "checkpoint_every", o->checkpoint_every);
    rrr_json_bool(j, "resume", o->resume);
    rrr_json_obj_end(j);
}

/* Local. Where X and Y came from (null: the caller's memory) and their shapes. */
static void inputs_json(rrr_json *j, const rrr_model *m, const rrr_fit_info *info)
{
    const char *src[2] = { info->x_source, info->y_source }, *key[2] = { "x", "y" };
    size_t cols[2] = { m->p, m->q };
    rrr_json_obj_begin(j, "inputs");
    for (int k = 0; k < 2; k++) {
        rrr_json_obj_begin(j, key[k]);
        if (src[k] != NULL)
            rrr_json_str(j, "path", src[k]);
        else
            rrr_json_null(j, "path");
        rrr_json_int(j, "rows", (long long)m->n);
        rrr_json_int(j, "cols", (long long)cols[k]);
        rrr_json_obj_end(j);
    }
    rrr_json_obj_end(j);
}

void rrr_model_json_fields(rrr_json *j, const rrr_model *m, const rrr_fit_info *info)
{
    rrr_json_int(j, "rank", m->d);
    rrr_json_num(j, "lambda", m->lambda);
    if (info != NULL) {
        rrr_json_str(j, "solver", rrr_solver_name(info->solver));
        rrr_json_str(j, "solver_requested", rrr_solver_name(info->solver_requested));
        if (info->solver_why[0])
            rrr_json_str(j, "solver_why", info->solver_why);
        rrr_json_num(j, "objective", info->objective);
        rrr_json_num(j, "gradient_norm", info->gradient_norm);
        rrr_json_num(j, "gradient_norm_initial", info->gradient_norm_initial);
        rrr_json_num(j, "gradient_ratio", info->gradient_ratio);
        rrr_json_int(j, "iterations", info->iterations);
        rrr_json_bool(j, "converged", info->converged);
        rrr_json_str(j, "stop_reason", info->stop_reason);
        rrr_json_num(j, "optimal_objective", info->fstar); /* null when not computed */
        rrr_json_num(j, "optimality_gap", rrr_fit_info_gap(info));
        rrr_json_num(j, "optimality_gap_tolerance", rrr_fit_info_gap_tolerance(info));
        if (rrr_fit_info_passed(info) >= 0)
            rrr_json_str(j, "certificate", rrr_fit_info_passed(info) ? "PASSED" : "FAILED");
        else
            rrr_json_null(j, "certificate"); /* skipped */
        precond_fields(j, info);
        if (info->selected_by[0])
            rrr_json_str(j, "selected_by", info->selected_by);
    }
    rrr_json_int(j, "n", (long long)m->n);
    rrr_json_int(j, "p", (long long)m->p);
    rrr_json_int(j, "q", (long long)m->q);
    rrr_json_bool(j, "intercept", m->intercept);
    if (info != NULL)
        rrr_json_int(j, "ranks", info->ranks);
    rrr_json_int(j, "threads_per_rank", rrr_blas_threads());
    rrr_json_str(j, "blas_core", rrr_blas_corename());
    rrr_json_str(j, "rrr_version", RRR_VERSION_STRING);
    if (info != NULL) {
        options_json(j, &info->opts);
        inputs_json(j, m, info);
    }
}

/* The files of a model directory besides model.json, in the order they are committed;
 * the means only with an intercept. model.json, renamed last, is the commit point: it
 * records the FNV-1a 64 of each, and a reader that finds another file under a name knows
 * it did not read one model (rrr_model_read). */
static const char *const array_names[4] = { "U.npy", "V.npy", "x_mean.npy", "y_mean.npy" };

/* The members of model.json that are the model's own (rrr_model_write_record writes these
 * from the model, whatever a record says). */
static const char *const own_keys[] = { "format", "files", "rank", "lambda",
                                        "n",      "p",     "q",    "intercept" };

/* Local. Copy a record's member into the JSON being written (rrr_json_members), unless it
 * is one of the model's own. */
static void splice_member(const char *key, size_t klen, const char *start, const char *end,
                          void *arg)
{
    char name[16];
    const rrr_jval v = { RRR_JSTR, 0, 0, key, klen };
    if (rrr_json_string(&v, name, sizeof name))
        for (size_t k = 0; k < sizeof own_keys / sizeof own_keys[0]; k++)
            if (strcmp(name, own_keys[k]) == 0)
                return;
    rrr_json_raw(arg, start, (size_t)(end - start));
}

/* Local. The model's own members, then the record's others (record: validated JSON). */
static void record_fields(rrr_json *j, const rrr_model *m, const char *record)
{
    rrr_err e = { .st = RRR_OK };
    rrr_json_int(j, "rank", m->d);
    rrr_json_num(j, "lambda", m->lambda);
    rrr_json_int(j, "n", (long long)m->n);
    rrr_json_int(j, "p", (long long)m->p);
    rrr_json_int(j, "q", (long long)m->q);
    rrr_json_bool(j, "intercept", m->intercept);
    rrr_json_members(record, strlen(record), splice_member, j, "record", &e);
}

/* Local (rank 0). model.json: the model's fields (and the record's: record, or info),
 * then "files": the checksums. */
static rrr_status write_json_file(rrr_ctx *ctx, rrr_outset *o, int slot, const rrr_model *m,
                                  const rrr_fit_info *info, const char *record,
                                  const uint64_t hash[], int narrays)
{
    FILE *f = rrr_outset_stream(ctx, o, slot);
    if (f == NULL)
        return RRR_EIO;
    rrr_json j;
    rrr_json_begin(&j, f);
    rrr_json_str(&j, "format", "rrr-model-1");
    if (record != NULL)
        record_fields(&j, m, record);
    else
        rrr_model_json_fields(&j, m, info);
    rrr_json_obj_begin(&j, "files");
    for (int k = 0; k < narrays; k++) {
        char sum[32];
        snprintf(sum, sizeof sum, "fnv1a64:%016llx", (unsigned long long)hash[k]);
        rrr_json_str(&j, array_names[k], sum);
    }
    rrr_json_obj_end(&j);
    rrr_json_end(&j);
    return rrr_outset_close_stream(ctx, o, slot, f);
}

/* Local. Column-major rows x cols -> row-major (the C order of .npy). */
static double *to_row_major(const double *a, size_t rows, size_t cols)
{
    double *t = rrr_malloc(rows * cols, sizeof *t);
    if (t != NULL)
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                t[i * cols + j] = a[IDX(i, j, rows)];
    return t;
}

/* Local. dir/name into path; 0 if it does not fit. */
static int join(char path[PATH_MAX], const char *dir, const char *name)
{
    int len = snprintf(path, PATH_MAX, "%s/%s", dir, name);
    return len > 0 && len < PATH_MAX;
}

/* Collective. Add DIR's files to o: the arrays, model.json last, and the removal of
 * means an earlier fit with --intercept left (they must not be applied to this one). */
static rrr_status add_files(rrr_ctx *ctx, rrr_outset *o, const char *dir, int narrays,
                            int slot[5])
{
    char path[PATH_MAX];
    rrr_status st = RRR_OK;
    for (int k = 0; k <= narrays && st == RRR_OK; k++) {
        const char *name = k < narrays ? array_names[k] : "model.json";
        st = join(path, dir, name) ? rrr_outset_add(ctx, o, path, &slot[k])
                                   : RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
    }
    for (int k = narrays; k < 4 && st == RRR_OK; k++)
        st = join(path, dir, array_names[k]) ? rrr_outset_remove(ctx, o, path)
                                             : RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
    return st; /* every failure above depends on dir only, or is agreed */
}

/* Collective. rrr_model_stage, with model.json's record from info or record text. */
static rrr_status stage(rrr_ctx *ctx, rrr_outset *o, const rrr_model *m,
                        const rrr_fit_info *info, const char *record, const char *dir)
{
    int narrays = m->intercept ? 4 : 2, slot[5];
    uint64_t hash[4] = { 0, 0, 0, 0 };
    double *Ur = to_row_major(m->U, m->p, (size_t)m->d);
    double *Vr = to_row_major(m->V, m->q, (size_t)m->d);
    rrr_status st = (Ur && Vr) ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_outset_mkdir(ctx, o, dir, "--out");
    if (st == RRR_OK)
        st = add_files(ctx, o, dir, narrays, slot);
    const double *data[4] = { Ur, Vr, m->x_mean, m->y_mean };
    const size_t rows[4] = { m->p, m->q, 1, 1 }, cols[4] = { (size_t)m->d, (size_t)m->d, m->p, m->q };
    for (int k = 0; k < narrays && st == RRR_OK; k++)
        st = rrr_npy_write_small(ctx, o, slot[k], rows[k], cols[k], data[k], &hash[k]);
    if (st == RRR_OK) { /* st is agreed here: every rank enters the agreement below */
        rrr_status jst = RRR_OK;
        if (ctx->rank == 0)
            jst = write_json_file(ctx, o, slot[narrays], m, info, record, hash, narrays);
        st = rrr_agree(ctx, jst);
    }
    free(Ur);
    free(Vr);
    return st;
}

rrr_status rrr_model_stage(rrr_ctx *ctx, rrr_outset *o, const rrr_model *m,
                           const rrr_fit_info *info, const char *dir)
{
    return stage(ctx, o, m, info, NULL, dir);
}

/* Local. The n values a are finite (the readers' scan). */
static int finite_all(const double *a, size_t n)
{
    double amax = 0;
    return rrr_scan(a, 1, n, NULL, NULL, &amax) == n;
}

rrr_status rrr_model_check(rrr_err *e, const rrr_model *m, const char *what)
{
    if (m == NULL)
        return RRR_FAIL(e, RRR_EINVAL, "%s: no model (NULL)", what);
    const size_t mn = m->p < m->q ? m->p : m->q;
    if (m->d < 1 || (size_t)m->d > mn)
        return RRR_FAIL(e, RRR_EINVAL, "%s: rank %d out of range for p = %zu, q = %zu", what,
                        m->d, m->p, m->q);
    if (m->U == NULL || m->V == NULL)
        return RRR_FAIL(e, RRR_EINVAL, "%s: the model has no U or no V", what);
    if (!(m->lambda >= 0) || !isfinite(m->lambda))
        return RRR_FAIL(e, RRR_EINVAL, "%s: lambda %g: must be a finite number >= 0", what,
                        m->lambda);
    if (m->intercept && (m->x_mean == NULL || m->y_mean == NULL))
        return RRR_FAIL(e, RRR_EINVAL, "%s: an intercept model needs x_mean and y_mean", what);
    if (!finite_all(m->U, m->p * (size_t)m->d) || !finite_all(m->V, m->q * (size_t)m->d) ||
        (m->intercept && (!finite_all(m->x_mean, m->p) || !finite_all(m->y_mean, m->q))))
        return RRR_FAIL(e, RRR_EINVAL, "%s: the model holds a non-finite value", what);
    return RRR_OK;
}

/* Local, pure. s is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points
 * above U+10FFFF), as a JSON text must be for its readers (Python's json among them). */
static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s++, n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2
                                            : (c >> 3) == 30 ? 3 : 4;
        if (n == 4)
            return 0;
        unsigned u = n == 0 ? c : c & (0x3fu >> n);
        for (unsigned k = 0; k < n; k++, s++) {
            if ((*s & 0xc0) != 0x80)
                return 0;
            u = u << 6 | (*s & 0x3fu);
        }
        if ((n == 1 && u < 0x80) || (n == 2 && (u < 0x800 || (u >= 0xd800 && u < 0xe000))) ||
            (n == 3 && (u < 0x10000 || u > 0x10ffff)))
            return 0;
    }
    return 1;
}

/* The longest record rrr_model_write_record takes: rrr_model_read reads model.json files
 * of up to 64 KiB, the arrays' members and checksums included. */
#define RECORD_MAX 60000

/* Collective. rrr_model_write and rrr_model_write_record: the arguments, then the files. */
static rrr_status write_model(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                              const char *record, const char *dir, const char *fn)
{
    if (ctx == NULL)
        return RRR_EINVAL;
    ctx->err = (rrr_err){ .st = RRR_OK };
    rrr_jval v;
    rrr_status st = dir != NULL ? rrr_model_check(&ctx->err, m, fn)
                                : RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: no directory", fn);
    if (st == RRR_OK && record != NULL && strlen(record) > RECORD_MAX)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: the record is %zu bytes, more than model.json "
                      "holds (%d)", fn, strlen(record), RECORD_MAX);
    if (st == RRR_OK && record != NULL && !utf8_ok((const unsigned char *)record))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: the record is not UTF-8", fn);
    if (st == RRR_OK && record != NULL)
        st = rrr_json_lookup(record, strlen(record), "", &v, fn, &ctx->err);
    st = rrr_agree(ctx, st); /* the record is rank 0's: another rank's may differ */
    /* rank 0 writes: a directory named differently elsewhere would be silently not written */
    if (st == RRR_OK)
        st = rrr_same_everywhere(ctx, rrr_fnv1a(RRR_FNV_INIT, dir, strlen(dir)),
                                 "model directories");
    if (st != RRR_OK)
        return st;
    rrr_outset o;
    rrr_outset_init(&o);
    return rrr_outset_finish(ctx, &o, stage(ctx, &o, m, info, record, dir));
}

rrr_status rrr_model_write(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                           const char *dir)
{
    return write_model(ctx, m, info, NULL, dir, "rrr_model_write");
}

rrr_status rrr_model_write_record(rrr_ctx *ctx, const rrr_model *m, const char *record,
                                  const char *dir)
{
    return write_model(ctx, m, NULL, record, dir, "rrr_model_write_record");
}

rrr_status rrr_fit_info_json(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                             char **text)
{
    if (ctx == NULL)
        return RRR_EINVAL;
    ctx->err = (rrr_err){ .st = RRR_OK };
    if (text == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_fit_info_json: no output pointer");
    *text = NULL;
    rrr_status st = rrr_model_check(&ctx->err, m, "rrr_fit_info_json");
    if (st != RRR_OK)
        return st;
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (f == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "rrr_fit_info_json: out of memory");
    rrr_json j;
    rrr_json_begin(&j, f);
    rrr_model_json_fields(&j, m, info);
    rrr_json_end(&j);
    if (fclose(f) != 0 || *text == NULL) {
        free(*text);
        *text = NULL;
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "rrr_fit_info_json: out of memory");
    }
    return RRR_OK;
}

void rrr_free(void *p)
{
    free(p);
}

/* ---- reading a model directory ----------------------------------------------------- */

/* What model.json says about the arrays (the fields rrr_model_read checks). */
typedef struct {
    int intercept;
    long long rank, p, q; /* -1 when absent (older files) */
    long long n;          /* the rows it was fitted on (-1: absent)                     */
    double lambda;        /* its penalty (NaN: absent)                                  */
    int have_sums;        /* "files" present (older files have none: nothing to verify) */
    uint64_t sum[4];      /* FNV-1a 64 of U.npy, V.npy, x_mean.npy, y_mean.npy */
    int retry;            /* a vanished array is a torn read (first reading only)       */
} model_meta;

/* Local. An integer member, or -1 when absent; RRR_EINVAL if it is not an integer. */
static rrr_status json_int(rrr_err *e, const char *buf, size_t len, const char *path,
                           const char *key, long long *out)
{
    rrr_jval v;
    rrr_status st = rrr_json_lookup(buf, len, key, &v, path, e);
    *out = -1;
    if (st != RRR_OK || v.kind == RRR_JNONE)
        return st;
    if (v.kind != RRR_JNUM || !(v.num >= 0) || v.num != floor(v.num) || v.num > 1e15)
        return RRR_FAIL(e, RRR_EINVAL, "%s: \"%s\" is not a non-negative integer", path, key);
    *out = (long long)v.num;
    return RRR_OK;
}

/* Local. The checksum "files": {"NAME": "fnv1a64:<16 hex digits>"} of one array file. */
static rrr_status json_sum(rrr_err *e, const char *buf, size_t len, const char *path,
                           const char *name, uint64_t *out)
{
    char key[32], s[32];
    rrr_jval v;
    snprintf(key, sizeof key, "files.%s", name);
    rrr_status st = rrr_json_lookup(buf, len, key, &v, path, e);
    if (st != RRR_OK)
        return st;
    if (!rrr_json_string(&v, s, sizeof s) || strncmp(s, "fnv1a64:", 8) != 0 || strlen(s) != 24 ||
        strspn(s + 8, "0123456789abcdef") != 16)
        return RRR_FAIL(e, RRR_EINVAL, "%s: \"files\" has no checksum \"fnv1a64:<16 hex "
                        "digits>\" for %s", path, name);
    *out = (uint64_t)strtoull(s + 8, NULL, 16);
    return RRR_OK;
}

/* Local (rank 0). Parse model.json: the format tag, intercept, the shapes it records and
 * the checksums of the arrays. */
static rrr_status read_meta(rrr_ctx *ctx, const char *path, model_meta *mm, char **text)
{
    char buf[1 << 16];
    unsigned long long size = 0;
    FILE *f = rrr_input_open(&ctx->err, path, &size);
    if (f == NULL)
        return RRR_EIO;
    size_t len = fread(buf, 1, sizeof buf, f);
    int big = len == sizeof buf && fgetc(f) != EOF;
    fclose(f);
    if (big)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: larger than %zu bytes: not an rrr model "
                        "file", path, sizeof buf);
    rrr_jval v;
    char fmt[32];
    rrr_status st = rrr_json_lookup(buf, len, "format", &v, path, &ctx->err);
    if (st == RRR_OK && !(rrr_json_string(&v, fmt, sizeof fmt) && strcmp(fmt, "rrr-model-1") == 0))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: not an rrr model file (no \"format\": "
                      "\"rrr-model-1\")", path);
    if (st == RRR_OK)
        st = rrr_json_lookup(buf, len, "intercept", &v, path, &ctx->err);
    if (st == RRR_OK && v.kind != RRR_JBOOL)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: \"intercept\" must be true or false", path);
    mm->intercept = v.b;
    if (st == RRR_OK)
        st = json_int(&ctx->err, buf, len, path, "rank", &mm->rank);
    if (st == RRR_OK)
        st = json_int(&ctx->err, buf, len, path, "p", &mm->p);
    if (st == RRR_OK)
        st = json_int(&ctx->err, buf, len, path, "q", &mm->q);
    if (st == RRR_OK)
        st = json_int(&ctx->err, buf, len, path, "n", &mm->n);
    mm->lambda = NAN;
    if (st == RRR_OK)
        st = rrr_json_lookup(buf, len, "lambda", &v, path, &ctx->err);
    if (st == RRR_OK && v.kind == RRR_JNUM && v.num >= 0 && isfinite(v.num))
        mm->lambda = v.num;
    else if (st == RRR_OK && v.kind != RRR_JNONE)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: \"lambda\" is not a finite number >= 0", path);
    if (st == RRR_OK)
        st = rrr_json_lookup(buf, len, "files", &v, path, &ctx->err);
    mm->have_sums = st == RRR_OK && v.kind != RRR_JNONE;
    for (int k = 0; k < (mm->intercept ? 4 : 2) && st == RRR_OK && mm->have_sums; k++)
        st = json_sum(&ctx->err, buf, len, path, array_names[k], &mm->sum[k]);
    if (st == RRR_OK && text != NULL && (*text = strndup(buf, len)) == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    for (int k = 2; k < 4 && st == RRR_OK && mm->have_sums && !mm->intercept; k++) {
        /* a fit writes the means only with an intercept: a record that says both was edited */
        char key[32];
        snprintf(key, sizeof key, "files.%s", array_names[k]);
        st = rrr_json_lookup(buf, len, key, &v, path, &ctx->err);
        if (st == RRR_OK && v.kind != RRR_JNONE)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: \"intercept\" is false but \"files\" lists "
                          "%s: the record contradicts itself (edited by hand?); refit, or set "
                          "\"intercept\" back to true", path, array_names[k]);
    }
    return st;
}

/* Local. Row-major rows x cols -> column-major, in a new array (frees a). */
static double *to_col_major(double *a, size_t rows, size_t cols)
{
    double *t = rrr_malloc(rows * cols, sizeof *t);
    if (t != NULL)
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                t[IDX(i, j, rows)] = a[i * cols + j];
    free(a);
    return t;
}

/* Local. U (p x d) and V (q x d) agree with each other and with model.json. */
static rrr_status check_shapes(rrr_err *e, const char *dir, const model_meta *mm, size_t p,
                               size_t c, size_t q, size_t c2)
{
    if (c != c2 || c == 0 || c > (size_t)INT_MAX || p == 0 || q == 0)
        return RRR_FAIL(e, RRR_EINVAL, "%s: U.npy is %zu x %zu and V.npy %zu x %zu: not a model "
                        "(U p x d, V q x d, d >= 1)", dir, p, c, q, c2);
    if ((mm->rank >= 0 && (size_t)mm->rank != c) || (mm->p >= 0 && (size_t)mm->p != p) ||
        (mm->q >= 0 && (size_t)mm->q != q))
        return RRR_FAIL(e, RRR_EINVAL, "%s: U.npy (%zu x %zu) and V.npy (%zu x %zu) do not match "
                        "model.json (p %lld, q %lld, rank %lld)", dir, p, c, q, c2, mm->p, mm->q,
                        mm->rank);
    return RRR_OK;
}

/* Collective. Array k of the directory (array_names), and whether its bytes are the ones
 * model.json recorded (*torn names it when not; replicated: the sums are broadcast). */
static rrr_status read_array(rrr_ctx *ctx, const char *dir, const model_meta *mm, int k,
                             size_t *rows, size_t *cols, double **a, const char **torn)
{
    char path[PATH_MAX];
    uint64_t sum = 0;
    if (!join(path, dir, array_names[k]))
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EIO, "--model %s: path too long", dir));
    rrr_status st = rrr_npy_read_small(ctx, path, rows, cols, a, &sum);
    if (st == RRR_OK && mm->have_sums && sum != mm->sum[k] && *torn == NULL)
        *torn = array_names[k];
    if (st == RRR_EIO && mm->have_sums && *torn == NULL && mm->retry) {
        /* gone since model.json was read (a fit without --intercept just removed the
         * means): a torn read, not an error yet; agreed, so forgotten on every rank */
        *torn = array_names[k];
        ctx->err.st = RRR_OK;
        ctx->err.msg[0] = '\0';
        st = RRR_OK;
    }
    return st;
}

/* Collective. The means, with their shapes checked. */
static rrr_status read_means(rrr_ctx *ctx, const char *dir, const model_meta *mm, rrr_model *m,
                             const char **torn)
{
    size_t r, c;
    rrr_status st = read_array(ctx, dir, mm, 2, &r, &c, &m->x_mean, torn);
    if (st == RRR_OK && *torn == NULL && (r != 1 || c != m->p))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s/x_mean.npy: shape %zu x %zu, expected 1 x %zu",
                      dir, r, c, m->p);
    if (st != RRR_OK)
        return st; /* replicated facts: the same on every rank */
    st = read_array(ctx, dir, mm, 3, &r, &c, &m->y_mean, torn);
    if (st == RRR_OK && *torn == NULL && (r != 1 || c != m->q))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s/y_mean.npy: shape %zu x %zu, expected 1 x %zu",
                      dir, r, c, m->q);
    return st;
}

/* Collective. Rank 0's text (NUL-terminated, or NULL) on every rank: new copies elsewhere. */
static rrr_status bcast_text(rrr_ctx *ctx, char **text)
{
    unsigned long len = ctx->rank == 0 && *text != NULL ? (unsigned long)strlen(*text) + 1 : 0;
    MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG, 0, ctx->comm);
    if (ctx->rank != 0 && len > 0)
        *text = malloc(len);
    rrr_status st = len == 0 || *text != NULL ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL,
                                                                   "out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && len > 0)
        MPI_Bcast(*text, (int)len, MPI_CHAR, 0, ctx->comm);
    return st;
}

/* Collective. One reading of the directory: model.json first, then the arrays, each
 * checked against the checksum model.json recorded. *torn names the first array that does
 * not match (then *out is NULL and the status OK: the caller decides). With text, model.json
 * as read (new; NULL unless the reading succeeded whole). */
static rrr_status read_once(rrr_ctx *ctx, const char *dir, int retry, rrr_model **out,
                            char **text, const char **torn)
{
    char path[PATH_MAX];
    size_t c = 0, c2 = 0;
    model_meta mm = { .rank = -1, .p = -1, .q = -1, .n = -1, .lambda = NAN };
    rrr_status st = RRR_OK;
    rrr_model *m = calloc(1, sizeof *m);
    *out = NULL;
    *torn = NULL;
    if (m == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    if (st == RRR_OK && ctx->rank == 0)
        st = join(path, dir, "model.json") ? read_meta(ctx, path, &mm, text)
                                           : RRR_FAIL(&ctx->err, RRR_EIO, "--model %s: path too long", dir);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    MPI_Bcast(&mm, (int)sizeof mm, MPI_BYTE, 0, ctx->comm);
    mm.retry = retry;
    if (text != NULL && (st = bcast_text(ctx, text)) != RRR_OK)
        goto done;
    st = read_array(ctx, dir, &mm, 0, &m->p, &c, &m->U, torn);
    if (st == RRR_OK)
        st = read_array(ctx, dir, &mm, 1, &m->q, &c2, &m->V, torn);
    if (st == RRR_OK && *torn == NULL)
        st = check_shapes(&ctx->err, dir, &mm, m->p, c, m->q, c2);
    if (st != RRR_OK || *torn != NULL)
        goto done; /* replicated facts: the same on every rank */
    m->d = (int)c;
    m->U = to_col_major(m->U, m->p, c);
    m->V = to_col_major(m->V, m->q, c);
    if (m->U == NULL || m->V == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    m->intercept = mm.intercept;
    m->lambda = mm.lambda; /* what predict does not need, but a saved copy must keep */
    m->n = mm.n >= 0 ? (size_t)mm.n : 0;
    st = rrr_agree(ctx, st); /* the collective reads below must be entered by all or none */
    if (st == RRR_OK && m->intercept)
        st = read_means(ctx, dir, &mm, m, torn);
done:
    st = rrr_agree(ctx, st);
    if (st != RRR_OK || *torn != NULL) {
        rrr_model_destroy(&m);
        if (text != NULL) {
            free(*text);
            *text = NULL;
        }
    }
    *out = m;
    return st;
}

rrr_status rrr_model_read(rrr_ctx *ctx, const char *dir, rrr_model **out)
{
    return rrr_model_read_record(ctx, dir, out, NULL);
}

rrr_status rrr_model_read_record(rrr_ctx *ctx, const char *dir, rrr_model **out, char **record)
{
    if (ctx == NULL || out == NULL)
        return RRR_EINVAL;
    *out = NULL;
    if (record != NULL)
        *record = NULL;
    if (dir == NULL || dir[0] == '\0')
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_model_read: no directory");
    const char *torn = NULL;
    rrr_status st = read_once(ctx, dir, 1, out, record, &torn);
    if (st == RRR_OK && torn != NULL) /* a fit may have committed between our reads: again */
        st = read_once(ctx, dir, 0, out, record, &torn);
    if (st == RRR_OK && torn != NULL) /* replicated: the sums were broadcast */
        st = rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "--model %s: %s does not match the "
                                     "checksum in model.json: the model is being rewritten, or "
                                     "an earlier write was interrupted; retry, or fit again",
                                     dir, torn));
    return st;
}
