/* src/plan.c: the decisions of a fit, from the problem's shape and the memory per rank.
 *
 *   regime       replicated when p < P and 8 (p^2 + 3pq + 2m^2) bytes (m = min(p, q)) fit in 1/4 of
 *                the memory per rank (P = --grid-min-p, default 4096); else the 2-D grid
 *   memory       exact and als stream their rows: the statistics and two panels of X and Y
 *                per rank (four for rows bigger than memory), whatever n is; gd holds its rows (8 ceil(n/K)(p + q) bytes, unless
 *                they are in memory already) and its working set, and fits when that is at
 *                most 3/4 of the memory per rank
 *   gd's X^T Y   kept when 8 p q bytes fit in 1/16 of the memory per rank and what the
 *                cross form adds per iteration, 6 p q d / K flops of C V and C^T U (each
 *                rank its share of C's columns) and 10 p d^2 of replicated d x d algebra,
 *                is at most 2 (n/K)(2pd + 8qd), twice what the Gram pass saves over the
 *                residual form (the 2 stands for the residual form's extra memory traffic)
 *   auto         gd when exact's statistics do not fit in half the memory per rank; exact
 *                when gd's rows do not fit (it streams them); else exact = n (p^2 + 2pq) / K + (p^3/3 + 2 p^2 q + 2 q^2 p + 9 q^3) (/K on the
 *                grid) against gd = 100 iterations of (n 4pd + 6pqd) / K after 2npq/K (X^T Y
 *                kept) or of n (6pd + 8qd) / K, + n p (2 + 4 l0) / K for the preconditioner's
 *                first pass and sketch block (l0 = 8); exact wins ties, and is ruled out when
 *                its statistics need more than half the memory per rank
 *   route        the closed form's eigenproblem, of order min(p, q): p x p when p <= q
 *   certificate  f* needs the statistics: skipped above half the memory per rank, and
 *                for gd also when it would cost more flops than the fit it certifies
 *                (decided after the iterations, which are then known; --certificate
 *                forces it)
 *   precond      gd's sketch: RANK0 columns first (or --precond-rank), at most
 *                min(RANK_MAX, max(RANK0, p/4), rank bound) with 32 p l bytes in 1/16 of
 *                the memory per rank; rank bound min(p, n - intercept) (README
 *                "Preconditioning"; the run itself decides, precond.c)
 * Why 4096: there the replicated G is 128 MB per rank and its O(p^3) factorisation ~1 s
 * on every rank, duplicated K times; the grid splits both K ways. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "direct.h"
#include "json.h"
#include "plan.h"
#include "stream.h"

rrr_machine rrr_machine_of(const rrr_ctx *ctx)
{
    return (rrr_machine){ ctx->size, ctx->node_ranks_max, ctx->mem_per_rank, 0 };
}

/* Bytes per rank of the statistics and the closed form: replicated 8 (p^2 + 3pq + 2m^2)
 * (G, C, the pilot's C2, one more p x q at a time: the pass's C^T, the transposed T or the
 * final evaluation's product; the order-m eigenproblem and its workspace, m = min(p, q)),
 * or 8 (p^2 + 2pq + 2m^2) over K on the grid. */
static double stats_bytes(double p, double q, double K, int grid)
{
    double m = p < q ? p : q;
    return grid ? 8.0 * (p * p + 2 * p * q + 2 * m * m) / K
                : 8.0 * (p * p + 3 * p * q + 2 * m * m);
}

/* The memory each solver needs per rank (README "Memory per rank"), and whether gd's rows
 * fit. The pass's panels: two of X and Y (double buffering), or RRR_DIRECT_DEPTH for rows
 * bigger than half my memory (what the reader thread holds, stream.c), a block of RB <= 512
 * rows shifted, and on the grid a shifted copy and this rank's share of the 2-D panel. */
static void memory(rrr_plan *pl)
{
    const double p = (double)pl->p, q = (double)pl->q, d = pl->d, K = pl->mach.ranks;
    const double rows = ceil((double)pl->n / K), panel = (double)pl->panel_rows;
    const double m = p < q ? p : q;
    pl->data_bytes = 8.0 * rows * (p + q);
    const double held = pl->data_bytes > pl->mach.mem_per_rank / 2 ? RRR_DIRECT_DEPTH : 2;
    pl->stream_bytes = 8.0 * (p + q) * (held * fmin(panel, rows) + 512 + (pl->grid ? 2 * panel : 0));
    double gd_work = 8.0 * (rows * d + 256 * (p + q) + 64 * (q + 2 * d) + 20 * (p + q) * d +
                            (pl->gd_xty ? p * q : 0) +
                            (pl->precond != RRR_PRECOND_NONE ? 4 * p * pl->precond_rank_max : 0));
    pl->gd_bytes = (pl->mach.resident ? 0 : pl->data_bytes) + gd_work;
    pl->gd_fits = pl->gd_bytes <= RRR_PLAN_DATA_FRACTION * pl->mach.mem_per_rank;
    pl->exact_bytes = pl->stats_bytes + pl->stream_bytes;
    pl->als_bytes = (pl->grid ? 8.0 * (p * p + p * q) / K : 8.0 * (p * p + 4 * p * q)) +
                    8.0 * 10 * (p + q) * d + 8.0 * (m * m + p * q) + pl->stream_bytes;
}

static int use_grid(const rrr_plan *pl, const rrr_fit_opts *o)
{
    size_t pmin = o->grid_min_p > 0 ? o->grid_min_p : RRR_PLAN_GRID_MIN_P;
    double p = (double)pl->p, q = (double)pl->q;
    return pl->p >= pmin ||
           stats_bytes(p, q, 1, 0) > RRR_PLAN_REPLICATED_FRACTION * pl->mach.mem_per_rank;
}

static int keeps_xty(const rrr_plan *pl, const rrr_fit_opts *o)
{
    const double p = (double)pl->p, q = (double)pl->q, d = pl->d;
    const double rows = ceil((double)pl->n / pl->mach.ranks);
    if (o->gd_xty >= 0)
        return o->gd_xty;
    const double K = pl->mach.ranks; /* each rank does its share of C V and C^T U */
    return 8.0 * p * q <= pl->mach.mem_per_rank * RRR_PLAN_XTY_FRACTION &&
           6 * p * q * d / K + 10 * p * d * d <= 2 * rows * (2 * p * d + 8 * q * d);
}

/* The closed form's dense algebra after the statistics, in flops: Cholesky p^3/3, T =
 * R^-T C 2 p^2 q (counted as in the first cost model), the Gram matrix of T of order
 * m = min(p, q) 2 p q m, and its eigenproblem 9 m^3 (a generous count for dsyevr / pdsyev). */
static double dense_flops(double p, double q)
{
    double m = p < q ? p : q;
    return p * p * p / 3 + 2 * p * p * q + 2 * p * q * m + 9 * m * m * m;
}

/* gd's flops per rank for a given number of iterations (the model of README "auto"). */
static double gd_flops(const rrr_plan *pl, double iterations)
{
    double n = (double)pl->n, p = (double)pl->p, q = (double)pl->q, d = pl->d, K = pl->mach.ranks;
    double f = pl->gd_xty ? 2 * n * p * q / K + iterations * (n * 4 * p * d + 6 * p * q * d) / K
                          : iterations * n * (6 * p * d + 8 * q * d) / K;
    if (pl->precond != RRR_PRECOND_NONE) /* its diagonal pass and first sketch block */
        f += n * p * (2 + 4.0 * pl->precond_rank0) / K;
    return f;
}

/* The cost model in flops per rank; fills the costs and the reason. */
static rrr_solver choose(rrr_plan *pl)
{
    double n = (double)pl->n, p = (double)pl->p, q = (double)pl->q;
    double K = pl->mach.ranks, avail = pl->mach.mem_per_rank, dense = dense_flops(p, q);
    pl->cost_exact = n * (p * p + 2 * p * q) / K + (pl->grid ? dense / K : dense);
    pl->cost_gd = gd_flops(pl, RRR_PLAN_GD_ITERATIONS);
    if (pl->stats_bytes > RRR_PLAN_STATS_FRACTION * avail) {
        snprintf(pl->solver_why, sizeof pl->solver_why, "the statistics need %.3g GB per rank, "
                 "more than half of the %.3g GB available: gd", pl->stats_bytes / 1e9,
                 avail / 1e9);
        return RRR_SOLVER_GD;
    }
    if (!pl->gd_fits) {
        snprintf(pl->solver_why, sizeof pl->solver_why, "gd would hold %.3g GB per rank, the "
                 "rows do not fit in the %.3g GB available: exact streams them (%.3g GB)",
                 pl->gd_bytes / 1e9, avail / 1e9, pl->exact_bytes / 1e9);
        return RRR_SOLVER_EXACT;
    }
    snprintf(pl->solver_why, sizeof pl->solver_why, "cost model: exact %.3g flops/rank (%s) vs "
             "gd %.3g (100 iterations assumed)", pl->cost_exact,
             pl->grid ? "2-D grid" : "replicated", pl->cost_gd);
    return pl->cost_exact <= pl->cost_gd ? RRR_SOLVER_EXACT : RRR_SOLVER_GD;
}

/* exact and als have the statistics anyway; gd computes them once more for f*, when they
 * fit: replicated 8 (p^2 + 2pq + 2m^2) bytes, or that over K plus the grid's panels. */
static int certificate(rrr_plan *pl, const rrr_fit_opts *o)
{
    double need = stats_bytes((double)pl->p, (double)pl->q, pl->mach.ranks, pl->grid);
    if (pl->grid)
        need += RRR_PLAN_GRID_PANEL_BYTES;
    if (o->certificate == RRR_CERT_OFF) {
        snprintf(pl->certificate_why, sizeof pl->certificate_why, "--no-certificate");
        return 0;
    }
    if (pl->solver == RRR_SOLVER_GD && need > RRR_PLAN_STATS_FRACTION * pl->mach.mem_per_rank) {
        snprintf(pl->certificate_why, sizeof pl->certificate_why, "the closed form needs %.3g "
                 "GB per rank, %.3g GB available", need / 1e9, pl->mach.mem_per_rank / 1e9);
        return 0;
    }
    pl->certificate_forced = o->certificate == RRR_CERT_ON;
    return 1;
}

int rrr_plan_certificate_after(rrr_plan *pl, long iterations)
{
    if (!pl->certificate || pl->certificate_forced || pl->solver != RRR_SOLVER_GD)
        return pl->certificate;
    /* f* costs gd a statistics pass and the closed form; the fit cost its iterations */
    double n = (double)pl->n, p = (double)pl->p, q = (double)pl->q, K = pl->mach.ranks;
    double dense = dense_flops(p, q), cert = n * (p * p + 2 * p * q) / K +
                                            (pl->grid ? dense / K : dense);
    double fit = gd_flops(pl, (double)iterations);
    if (cert <= fit)
        return 1;
    snprintf(pl->certificate_why, sizeof pl->certificate_why, "it would cost %.3g flops per "
             "rank, %.1f times the fit it certifies; --certificate computes it anyway", cert,
             cert / fit);
    return pl->certificate = 0;
}

/* The sketch's sizes: its first block and the most columns it may grow to (>= 1). */
static void precond_sizes(rrr_plan *pl, const rrr_fit_opts *o)
{
    const size_t n = pl->n, p = pl->p, nc = o->intercept ? 1 : 0;
    const double mem = RRR_PLAN_PRECOND_FRACTION * pl->mach.mem_per_rank / (32.0 * (double)p);
    size_t lmax = p / 4 > RRR_PLAN_PRECOND_RANK0 ? p / 4 : RRR_PLAN_PRECOND_RANK0;
    pl->rank_bound = n > nc && n - nc < p ? n - nc : p;
    if (lmax > RRR_PLAN_PRECOND_RANK_MAX)
        lmax = RRR_PLAN_PRECOND_RANK_MAX;
    if (lmax > pl->rank_bound)
        lmax = pl->rank_bound;
    if ((double)lmax > mem)
        lmax = (size_t)mem;
    if (lmax > p)
        lmax = p;
    if (lmax < 1)
        lmax = 1;
    pl->precond = o->precond;
    pl->precond_rank_max = (int)lmax;
    pl->precond_rank0 = o->precond_rank > 0 ? o->precond_rank
                        : RRR_PLAN_PRECOND_RANK0 < (int)lmax ? RRR_PLAN_PRECOND_RANK0
                                                             : (int)lmax;
}

void rrr_plan_make(const rrr_machine *mach, size_t n, size_t p, size_t q, int d,
                   const rrr_fit_opts *o, rrr_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->mach = *mach;
    pl->n = n;
    pl->p = p;
    pl->q = q;
    pl->d = d;
    pl->requested = pl->solver = o->solver;
    pl->grid = use_grid(pl, o);
    pl->stats_bytes = stats_bytes((double)p, (double)q, mach->ranks, pl->grid);
    pl->gd_xty = keeps_xty(pl, o);
    /* the closed form's eigenproblem has order min(p, q): p x p when p <= q (topk.h) */
    pl->route = o->eig_route >= 0 ? (rrr_route)o->eig_route : p <= q ? RRR_ROUTE_P : RRR_ROUTE_Q;
    precond_sizes(pl, o);
    pl->panel_rows = rrr_stream_panel_rows(p, q);
    memory(pl);
    if (o->solver == RRR_SOLVER_AUTO)
        pl->solver = choose(pl);
    pl->certificate = certificate(pl, o);
}

void rrr_plan_log(const rrr_ctx *ctx, const rrr_plan *pl)
{
    rrr_info(ctx, "plan: %s, statistics %s (%.3g GB per rank of %.3g), gd %s X^T Y, "
             "certificate %s", rrr_solver_name(pl->solver),
             pl->grid ? "on the 2-D grid" : "replicated", pl->stats_bytes / 1e9,
             pl->mach.mem_per_rank / 1e9, pl->gd_xty ? "keeps" : "does not keep",
             pl->certificate ? "on" : "off");
    rrr_info(ctx, "plan: memory per rank %.3g GB (%s), the rows %.3g GB; gd %.3g GB%s, exact "
             "%.3g GB, als %.3g GB (streamed, panels of %zu rows)",
             (pl->solver == RRR_SOLVER_GD ? pl->gd_bytes : pl->solver == RRR_SOLVER_ALS
                                                              ? pl->als_bytes : pl->exact_bytes) / 1e9,
             pl->solver == RRR_SOLVER_GD ? "the rows held in memory" : "the rows streamed",
             pl->data_bytes / 1e9, pl->gd_bytes / 1e9, pl->gd_fits ? "" : " (does not fit)",
             pl->exact_bytes / 1e9, pl->als_bytes / 1e9, pl->panel_rows);
    if (pl->solver == RRR_SOLVER_GD)
        rrr_info(ctx, "plan: gd preconditioner %s, sketch of %d columns growing to at most %d, "
                 "rank(Xc) <= %zu", rrr_precond_name(pl->precond), pl->precond_rank0,
                 pl->precond_rank_max, pl->rank_bound);
}

void rrr_plan_json(rrr_json *j, const char *key, const rrr_plan *pl)
{
    rrr_json_obj_begin(j, key);
    rrr_json_int(j, "ranks", pl->mach.ranks);
    rrr_json_int(j, "ranks_per_node", pl->mach.node_ranks);
    rrr_json_num(j, "memory_per_rank", pl->mach.mem_per_rank);
    rrr_json_str(j, "solver", rrr_solver_name(pl->solver));
    rrr_json_str(j, "solver_requested", rrr_solver_name(pl->requested));
    rrr_json_str(j, "statistics", pl->grid ? "grid" : "replicated");
    rrr_json_num(j, "statistics_bytes_per_rank", pl->stats_bytes);
    rrr_json_bool(j, "streamed", pl->solver != RRR_SOLVER_GD);
    rrr_json_int(j, "panel_rows", (long long)pl->panel_rows);
    rrr_json_num(j, "data_bytes_per_rank", pl->data_bytes);
    rrr_json_obj_begin(j, "memory_per_rank");
    rrr_json_num(j, "gd", pl->gd_bytes);
    rrr_json_num(j, "exact", pl->exact_bytes);
    rrr_json_num(j, "als", pl->als_bytes);
    rrr_json_obj_end(j);
    rrr_json_bool(j, "gd_fits", pl->gd_fits);
    rrr_json_bool(j, "gd_keeps_xty", pl->gd_xty);
    rrr_json_str(j, "eigen_route", pl->route == RRR_ROUTE_P ? "p x p" : "q x q");
    rrr_json_bool(j, "certificate", pl->certificate);
    rrr_json_str(j, "precond_requested", rrr_precond_name(pl->precond));
    rrr_json_int(j, "precond_rank_first", pl->precond_rank0);
    rrr_json_int(j, "precond_rank_max", pl->precond_rank_max);
    rrr_json_int(j, "rank_bound", (long long)pl->rank_bound);
    if (!pl->certificate)
        rrr_json_str(j, "certificate_why", pl->certificate_why);
    if (pl->requested == RRR_SOLVER_AUTO) {
        rrr_json_num(j, "cost_exact", pl->cost_exact);
        rrr_json_num(j, "cost_gd", pl->cost_gd);
    }
    rrr_json_obj_end(j);
}

int rrr_plan_cv_method(const rrr_plan *pl, int K, int requested, char *why, size_t len)
{
    const double p = (double)pl->p, q = (double)pl->q, m = p < q ? p : q;
    const double Kr = pl->mach.ranks, avail = RRR_PLAN_STATS_FRACTION * pl->mach.mem_per_rank;
    /* on the grid: K + 1 sets of G, C and one fold's algebra (5 p x p or p x q, 2 m x m) */
    double need = 8.0 * ((K + 1) * (p * p + p * q) + 3 * p * p + 3 * p * q + 2 * m * m) / Kr;
    why[0] = '\0';
    if (requested != RRR_CV_AUTO)
        return requested;
    if (!pl->grid)
        return RRR_CV_STATISTICS; /* replicated: folds in groups if they must */
    if (need <= avail)
        return RRR_CV_STATISTICS;
    snprintf(why, len, "the statistics of %d folds need %.3g GB per rank on the grid, more than "
             "half of the %.3g GB available: gd fits of each training set", K, need / 1e9,
             pl->mach.mem_per_rank / 1e9);
    return RRR_CV_GD;
}
