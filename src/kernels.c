/* src/kernels.c: the passes over my rows that gd iterations make (residual form: pass G and
 * pass B; cross-product form: the Gram pass), the one-off X^T Y, the cross form's C^T U and
 * C V, and the choice of kernel for the Gram pass (OpenBLAS, or the fused sweep of
 * kernel_avx512.c / kernel_avx2.c). Rows are taken in panels so that each panel of X and Y
 * is read from memory once and reused from cache by all the skinny products on it. The
 * BLAS path is BLAS-3 on panels of NB rows (16-64 rows measured ~2x faster than whole-block
 * calls or 128+ rows with OpenBLAS 0.3.21); nothing n-sized is formed except the residual
 * form's A = X U (nloc x d). */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "linalg.h"

/* rows per panel of the BLAS passes: RRR_NB overrides the default 64 (for measurements) */
static int nb_env(void)
{
    static int nb = -1;
    if (nb < 0) {
        const char *e = getenv("RRR_NB");
        nb = e ? atoi(e) : 0;
        if (nb < 1)
            nb = 0;
    }
    return nb;
}
#define NB ((size_t)(nb_env() > 0 ? nb_env() : 64))
/* rows per panel of the one-off cross product X^T Y: a plain GEMM, so larger panels */
enum { CROSS_NB = 256 };

/* ---- the choice of kernel --------------------------------------------------------- */

int rrr_kernel_supported(rrr_kernel k)
{
    if (k == RRR_KERNEL_BLAS)
        return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (k == RRR_KERNEL_AVX2)
        return rrr_sweep_avx2_built() && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    if (k == RRR_KERNEL_AVX512)
        return rrr_sweep_avx512_built() && __builtin_cpu_supports("avx512f") &&
               rrr_kernel_supported(RRR_KERNEL_AVX2);
#endif
    return 0;
}

const char *rrr_kernel_name(rrr_kernel k)
{
    return k == RRR_KERNEL_AVX512 ? "avx512" : k == RRR_KERNEL_AVX2 ? "avx2" : "blas";
}

static int kernel_now = -1;

rrr_kernel rrr_kernel_set(rrr_kernel k)
{
    while (k > RRR_KERNEL_BLAS && !rrr_kernel_supported(k))
        k = (rrr_kernel)(k - 1);
    kernel_now = (int)k;
    return k;
}

rrr_kernel rrr_kernel_default(void)
{
    /* The measured rule (README "Performance", gd at the bench shapes, 2 ranks, OpenBLAS
     * SkylakeX): the AVX-512 sweep beat the BLAS path at both shapes; the AVX2 sweep did
     * not (slower than BLAS on the tall problem), so without AVX-512 the BLAS path runs. */
    return rrr_kernel_supported(RRR_KERNEL_AVX512) ? RRR_KERNEL_AVX512 : RRR_KERNEL_BLAS;
}

rrr_kernel rrr_kernel_get(void)
{
    if (kernel_now < 0) {
        const char *e = getenv("RRR_KERNEL");
        rrr_kernel want = rrr_kernel_default();
        if (e != NULL && strcmp(e, "blas") == 0)
            want = RRR_KERNEL_BLAS;
        else if (e != NULL && strcmp(e, "avx2") == 0)
            want = RRR_KERNEL_AVX2;
        else if (e != NULL && strcmp(e, "avx512") == 0)
            want = RRR_KERNEL_AVX512;
        rrr_kernel_set(want);
    }
    return (rrr_kernel)kernel_now;
}

/* the fused kernel's tuning knobs (rrr_gram_knobs_set; 0 = the default) */
static rrr_gram_knobs knobs;

void rrr_gram_knobs_set(const rrr_gram_knobs *k)
{
    knobs = *k;
}

/* Fused kernel: rows per panel. Phase 2 works on one panel from cache while phase 1
 * streams the next in. Measured (AVX-512 sweep, 2 ranks at once, per-rank shapes of the
 * bench problems; README "Performance"): at p = 500, k = 10 panels of 16-32 rows took
 * 66-75 ms per pass, 64 and 128 rows 80-83 ms, 256 rows 119 ms; at p = 4000, k = 20, 16 rows
 * 112 ms, 8 rows 116 ms, 32-64 rows 147 ms. So 16 rows at every p (the results do not
 * depend on it). */
enum { FUSED_NB = 16, FUSED_CROSS_NB = 32 };

int rrr_pass_gram_rows(rrr_kernel kn, size_t p, int k)
{
    (void)k;
    (void)p;
    if (nb_env() > 0)
        return nb_env() < 4096 ? nb_env() : 4096;
    if (kn == RRR_KERNEL_BLAS)
        return 64;
    if (knobs.nb > 0)
        return knobs.nb;
    return FUSED_NB;
}

/* The fused kernel keeps its p x k operands (M, and out while it accumulates) 64-byte
 * aligned with a leading dimension rounded up to 8 doubles: its loads of them then never
 * straddle cache lines (unaligned ones measured 10-25 % slower). */
static size_t ld_pad(size_t p)
{
    return (p + 7) / 8 * 8;
}

static double *align64(double *w)
{
    return w + ((64 - ((uintptr_t)w & 63)) & 63) / sizeof *w;
}

/* Mp (ld_pad(p) x k, aligned in work) = M (p x k); the padding is zero */
static double *pack(size_t p, int k, const double *M, double *Mp)
{
    const size_t pp = ld_pad(p);
    for (int j = 0; j < k; j++) {
        memcpy(Mp + (size_t)j * pp, M + (size_t)j * p, p * sizeof *Mp);
        memset(Mp + (size_t)j * pp + p, 0, (pp - p) * sizeof *Mp);
    }
    return Mp;
}

/* out (p x k) = Op (ld_pad(p) x k) */
static void unpack(size_t p, int k, const double *Op, double *out)
{
    for (int j = 0; j < k; j++)
        memcpy(out + (size_t)j * p, Op + (size_t)j * ld_pad(p), p * sizeof *out);
}

/* The shapes a tuner tries, the untuned default first (rows per panel, doubles per chunk;
 * README "gd's iteration against its floor" has the measurements that picked them) */
static const struct {
    int nb;
    size_t kc;
} gram_shapes[RRR_GRAM_SHAPES] = { { FUSED_NB, 256 }, { 16, 512 }, { 32, 256 },
                                   { 32, 512 },       { 48, 512 }, { 16, 1024 } };
enum { GRAM_SHAPES_NB_MAX = 48 };

/* doubles of workspace of the fused Gram pass of width k: Mp, Op, E twice, the partial
 * sums, mx, sE, and the alignment slack (for the largest panel a tuner tries, too) */
static size_t fused_gram_work(size_t p, int k)
{
    size_t nb = GRAM_SHAPES_NB_MAX;
    for (int kn = RRR_KERNEL_AVX2; kn <= RRR_KERNEL_AVX512; kn++) {
        size_t r = (size_t)rrr_pass_gram_rows((rrr_kernel)kn, p, k);
        nb = r > nb ? r : nb;
    }
    return 2 * ld_pad(p) * (size_t)k + nb * (size_t)k * (2 + 8) + 2 * (size_t)k + 8;
}

static void (*sweep_fn(rrr_kernel kn))(const rrr_sweep *)
{
    return kn == RRR_KERNEL_AVX512 ? rrr_sweep_avx512 : rrr_sweep_avx2;
}

size_t rrr_pass_g_len(const rrr_problem *pb)
{
    size_t d = (size_t)pb->d;
    return pb->p * d + pb->q * d + d * d + 1;
}

size_t rrr_pass_b_len(const rrr_problem *pb)
{
    size_t d = (size_t)pb->d;
    return 2 * d * d + pb->q * d;
}

size_t rrr_pass_work(const rrr_problem *pb)
{
    size_t d = (size_t)pb->d;
    size_t cross = (pb->p + pb->q) * CROSS_NB;
    size_t pass = pb->q * NB + 2 * d * NB + 4 * d + pb->p * d;
    size_t gram = rrr_pass_gram_work(pb, pb->d), cp = rrr_cross_products_work(pb->p, pb->q, pb->d);
    size_t w = cross > pass ? cross : pass;
    w = w > gram ? w : gram;
    return w > cp ? w : cp;
}

/* s[k] += sum over the nb columns of the k-th row of M (k x nb, ld k) */
static void row_sums(int k, int nb, const double *M, double *s)
{
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < k; i++)
            s[i] += M[IDX(i, j, k)];
}

/* out (m x d, ld m) -= a b^T: the rank-one centring correction, applied once per pass */
static void minus_outer(int m, int d, const double *a, const double *b, double *out)
{
    cblas_dger(CblasColMajor, m, d, -1.0, a, 1, b, 1, out, m);
}

void rrr_pass_g(const rrr_problem *pb, const double *U, const double *V, double *At,
                double *out, double *work)
{
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    double *gU = out, *YtA = gU + (size_t)p * d, *AtA = YtA + (size_t)q * d;
    double *rss = AtA + (size_t)d * d;
    double *Rt = work, *Pt = Rt + (size_t)q * NB; /* R^T panel q x nb, (R V)^T panel d x nb */
    double *ux = Pt + (size_t)d * NB, *sP = ux + d, *sA = sP + d, *Ut = sA + d;
    memset(out, 0, rrr_pass_g_len(pb) * sizeof *out);
    rrr_transpose((size_t)p, (size_t)d, U, Ut); /* NN GEMMs below: ~20% faster than TN here */
    memset(ux, 0, 3 * (size_t)d * sizeof *ux);
    if (pb->xm != NULL) /* ux = U^T xm: A_c = X U - 1 (U^T xm)^T */
        cblas_dgemv(CblasColMajor, CblasTrans, p, d, 1.0, U, p, pb->xm, 1, 0.0, ux, 1);

    for (size_t i0 = 0; i0 < pb->nloc; i0 += NB) {
        const int nb = (int)(pb->nloc - i0 < NB ? pb->nloc - i0 : NB);
        const double *Xb = pb->Xt + i0 * (size_t)p, *Yb = pb->Yt + i0 * (size_t)q;
        double *Ab = At + i0 * (size_t)d;
        /* A^T = U^T X^T - ux 1^T */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, Ut, d, Xb, p, 0.0,
                    Ab, d);
        if (pb->xm != NULL)
            for (int j = 0; j < nb; j++)
                cblas_daxpy(d, -1.0, ux, 1, Ab + (size_t)j * d, 1);
        /* R^T = V A^T - Yc^T, Yc^T = Y^T - ym 1^T */
        memcpy(Rt, Yb, (size_t)q * nb * sizeof *Rt);
        if (pb->ym != NULL)
            for (int j = 0; j < nb; j++)
                cblas_daxpy(q, -1.0, pb->ym, 1, Rt + (size_t)j * q, 1);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, nb, d, 1.0, V, q, Ab, d, -1.0,
                    Rt, q);
        *rss += cblas_ddot(q * nb, Rt, 1, Rt, 1);
        /* (R V)^T = V^T R^T;  X^T (R V) += X_b^T-panel times (R V)_b */
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, nb, q, 1.0, V, q, Rt, q, 0.0, Pt,
                    d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, d, nb, 1.0, Xb, p, Pt, d, 1.0, gU,
                    p);
        /* Y^T A and A^T A (upper) */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, d, nb, 1.0, Yb, q, Ab, d, 1.0, YtA,
                    q);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, nb, 1.0, Ab, d, 1.0, AtA, d);
        if (pb->xm != NULL)
            row_sums(d, nb, Pt, sP);
        if (pb->ym != NULL)
            row_sums(d, nb, Ab, sA);
    }
    for (int j = 0; j < d; j++) /* mirror the upper triangle */
        for (int i = j + 1; i < d; i++)
            AtA[IDX(i, j, d)] = AtA[IDX(j, i, d)];
    if (pb->xm != NULL) /* Xc^T P = X^T P - xm (1^T P) */
        minus_outer(p, d, pb->xm, sP, gU);
    if (pb->ym != NULL) /* Yc^T A = Y^T A - ym (1^T A) */
        minus_outer(q, d, pb->ym, sA, YtA);
}

void rrr_pass_b(const rrr_problem *pb, const double *D, const double *At, double *out,
                double *work)
{
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    double *EtE = out, *AtE = EtE + (size_t)d * d, *YtE = AtE + (size_t)d * d;
    double *Et = work, *dx = Et + (size_t)d * NB, *sE = dx + d, *Dt = sE + d;
    memset(out, 0, rrr_pass_b_len(pb) * sizeof *out);
    rrr_transpose((size_t)p, (size_t)d, D, Dt);
    memset(dx, 0, 2 * (size_t)d * sizeof *dx);
    if (pb->xm != NULL)
        cblas_dgemv(CblasColMajor, CblasTrans, p, d, 1.0, D, p, pb->xm, 1, 0.0, dx, 1);

    for (size_t i0 = 0; i0 < pb->nloc; i0 += NB) {
        const int nb = (int)(pb->nloc - i0 < NB ? pb->nloc - i0 : NB);
        const double *Xb = pb->Xt + i0 * (size_t)p;
        const double *Yb = pb->Yt + i0 * (size_t)q;
        const double *Ab = At + i0 * (size_t)d;
        /* E^T = D^T X^T - dx 1^T */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, Dt, d, Xb, p, 0.0, Et,
                    d);
        if (pb->xm != NULL)
            for (int j = 0; j < nb; j++)
                cblas_daxpy(d, -1.0, dx, 1, Et + (size_t)j * d, 1);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, nb, 1.0, Et, d, 1.0, EtE, d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, d, d, nb, 1.0, Ab, d, Et, d, 1.0, AtE,
                    d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, d, nb, 1.0, Yb, q, Et, d, 1.0, YtE,
                    q);
        if (pb->ym != NULL)
            row_sums(d, nb, Et, sE);
    }
    for (int j = 0; j < d; j++)
        for (int i = j + 1; i < d; i++)
            EtE[IDX(i, j, d)] = EtE[IDX(j, i, d)];
    if (pb->ym != NULL)
        minus_outer(q, d, pb->ym, sE, YtE);
}

void rrr_cross(const rrr_problem *pb, double *C, double *work)
{
    const int p = (int)pb->p, q = (int)pb->q;
    double *Xc = work, *Yc = work + pb->p * CROSS_NB;
    memset(C, 0, pb->p * pb->q * sizeof *C);
    for (size_t i0 = 0; i0 < pb->nloc; i0 += CROSS_NB) {
        const int nb = (int)(pb->nloc - i0 < CROSS_NB ? pb->nloc - i0 : CROSS_NB);
        const double *Xb = pb->Xt + i0 * (size_t)p, *Yb = pb->Yt + i0 * (size_t)q;
        if (pb->xm != NULL) { /* centre the panel: X^T Y - n xm ym^T would cancel */
            memcpy(Xc, Xb, (size_t)p * nb * sizeof *Xc);
            memcpy(Yc, Yb, (size_t)q * nb * sizeof *Yc);
            for (int j = 0; j < nb; j++) {
                cblas_daxpy(p, -1.0, pb->xm, 1, Xc + (size_t)j * p, 1);
                cblas_daxpy(q, -1.0, pb->ym, 1, Yc + (size_t)j * q, 1);
            }
            Xb = Xc;
            Yb = Yc;
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, q, nb, 1.0, Xb, p, Yb, q, 1.0, C,
                    p);
    }
}

size_t rrr_pass_gram_work(const rrr_problem *pb, int k)
{
    size_t blas = (size_t)k * NB + 2 * (size_t)k + pb->p * (size_t)k;
    size_t fused = fused_gram_work(pb->p, k);
    return blas > fused ? blas : fused;
}

/* The Gram pass with OpenBLAS: two GEMMs per panel of NB rows. */
static void gram_blas(const rrr_problem *pb, const double *M, int k, double *out, double *work)
{
    const int p = (int)pb->p;
    double *Et = work, *mx = Et + (size_t)k * NB, *sE = mx + k, *Mt = sE + k;
    memset(out, 0, (size_t)p * k * sizeof *out);
    memset(mx, 0, 2 * (size_t)k * sizeof *mx);
    rrr_transpose((size_t)p, (size_t)k, M, Mt);
    if (pb->xm != NULL)
        cblas_dgemv(CblasColMajor, CblasTrans, p, k, 1.0, M, p, pb->xm, 1, 0.0, mx, 1);
    for (size_t i0 = 0; i0 < pb->nloc; i0 += NB) {
        const int nb = (int)(pb->nloc - i0 < NB ? pb->nloc - i0 : NB);
        const double *Xb = pb->Xt + i0 * (size_t)p;
        /* E^T = M^T X^T - mx 1^T on this panel, then Xc^T E += panel^T E while the panel
         * is still in cache: X is read from memory once */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, k, nb, p, 1.0, Mt, k, Xb, p, 0.0,
                    Et, k);
        if (pb->xm != NULL) {
            for (int j = 0; j < nb; j++)
                cblas_daxpy(k, -1.0, mx, 1, Et + (size_t)j * k, 1);
            row_sums(k, nb, Et, sE);
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, k, nb, 1.0, Xb, p, Et, k, 1.0, out,
                    p);
    }
    if (pb->xm != NULL) /* Xc^T Ec = X^T Ec - xm (1^T Ec) */
        minus_outer(p, k, pb->xm, sE, out);
}

/* The Gram pass with the fused kernel: sweep b runs phase 1 (E = X_b M) on panel b, whose
 * rows stream in from memory, and phase 2 (out += X^T E) on panel b - 1, still in cache
 * from the sweep before, with E centred in between. X is read from memory once. */
static void gram_fused(const rrr_problem *pb, const double *M, int k, double *out,
                       double *work, rrr_kernel kn, size_t nb, size_t kc)
{
    const size_t p = pb->p, pp = ld_pad(p);
    const size_t npan = (pb->nloc + nb - 1) / nb;
    double *Mp = align64(work), *Op = Mp + pp * k, *E[2] = { Op + pp * k, Op + pp * k + nb * k };
    double *part = E[1] + nb * k, *mx = part + nb * k * 8, *sE = mx + k;
    void (*sweep)(const rrr_sweep *) = sweep_fn(kn);
    pack(p, k, M, Mp);
    memset(Op, 0, pp * (size_t)k * sizeof *Op);
    memset(mx, 0, 2 * (size_t)k * sizeof *mx);
    if (pb->xm != NULL)
        cblas_dgemv(CblasColMajor, CblasTrans, (int)p, k, 1.0, M, (int)p, pb->xm, 1, 0.0, mx, 1);
    rrr_sweep s = { .p = p, .kc = kc, .k = k, .M = Mp, .ldm = pp, .out = Op, .ldo = pp,
                    .ldx1 = p, .ars = (size_t)k, .acs = 1, .ldx2 = p, .brs = (size_t)k,
                    .ldxn = p, .pf_same = knobs.prefetch == 1, .pf_off = knobs.prefetch < 0,
                    .part = part };
    for (size_t b = 0; b <= npan; b++) {
        s.m1 = 0;
        s.m2 = 0;
        if (b < npan) { /* phase 1 on panel b */
            s.m1 = (int)(pb->nloc - b * nb < nb ? pb->nloc - b * nb : nb);
            s.X1 = pb->Xt + b * nb * p;
            s.A1 = E[b % 2];
        }
        s.Xn = NULL;
        s.mn = 0;
        if (b + 1 < npan) { /* phase 1 of the next sweep (prefetched by this one) */
            s.mn = (int)(pb->nloc - (b + 1) * nb < nb ? pb->nloc - (b + 1) * nb : nb);
            s.Xn = pb->Xt + (b + 1) * nb * p;
        }
        if (b > 0) { /* phase 2 on panel b - 1 */
            s.m2 = (int)(pb->nloc - (b - 1) * nb < nb ? pb->nloc - (b - 1) * nb : nb);
            s.X2 = pb->Xt + (b - 1) * nb * p;
            s.B2 = E[(b - 1) % 2];
        }
        sweep(&s);
        if (s.m1 > 0 && pb->xm != NULL) /* Ec = E - 1 mx^T; sE += 1^T Ec */
            for (int r = 0; r < s.m1; r++)
                for (int j = 0; j < k; j++) {
                    double *e = s.A1 + (size_t)r * k + j;
                    *e -= mx[j];
                    sE[j] += *e;
                }
    }
    unpack(p, k, Op, out);
    if (pb->xm != NULL) /* Xc^T Ec = X^T Ec - xm (1^T Ec) */
        minus_outer((int)p, k, pb->xm, sE, out);
}

void rrr_pass_gram_k(const rrr_problem *pb, const double *M, int k, double *out, double *work)
{
    const rrr_kernel kn = rrr_kernel_get();
    if (kn == RRR_KERNEL_BLAS)
        gram_blas(pb, M, k, out, work);
    else
        gram_fused(pb, M, k, out, work, kn, (size_t)rrr_pass_gram_rows(kn, pb->p, k), knobs.kc);
}

enum { GRAM_TUNING_CALLS = RRR_GRAM_SHAPES * RRR_GRAM_ROUNDS };

void rrr_gram_tuner_shape(const rrr_gram_tuner *t, int *nb, size_t *kc)
{
    const int i = t->tried < GRAM_TUNING_CALLS ? t->tried % RRR_GRAM_SHAPES : t->best;
    *nb = gram_shapes[i].nb;
    *kc = gram_shapes[i].kc;
}

/* what the last tuned pass ran (rrr_gram_tuned_last): a record for the report */
static int tuned_nb;
static size_t tuned_kc;

void rrr_gram_tuned_last(int *nb, size_t *kc)
{
    *nb = tuned_nb;
    *kc = tuned_kc;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rrr_pass_gram_tuned(const rrr_problem *pb, const double *M, double *out, double *work,
                         rrr_gram_tuner *t)
{
    const rrr_kernel kn = rrr_kernel_get();
    /* a shape set by hand (RRR_NB, the probe's knobs) is kept: those are measurements */
    if (kn == RRR_KERNEL_BLAS || t == NULL || nb_env() > 0 || knobs.nb > 0 || knobs.kc > 0) {
        tuned_nb = 0;
        tuned_kc = 0;
        rrr_pass_gram(pb, M, out, work);
        return;
    }
    rrr_gram_tuner_shape(t, &tuned_nb, &tuned_kc);
    const int timing = t->tried < GRAM_TUNING_CALLS;
    const double t0 = timing ? seconds_now() : 0.0;
    gram_fused(pb, M, pb->d, out, work, kn, (size_t)tuned_nb, tuned_kc);
    if (!timing)
        return;
    const int i = t->tried % RRR_GRAM_SHAPES;
    const double dt = seconds_now() - t0;
    if (t->tried < RRR_GRAM_SHAPES || dt < t->seconds[i])
        t->seconds[i] = dt;
    if (++t->tried == GRAM_TUNING_CALLS)
        for (int c = 1; c < RRR_GRAM_SHAPES; c++)
            if (t->seconds[c] < t->seconds[t->best])
                t->best = c;
}

size_t rrr_cross_products_work(size_t p, size_t q, int d)
{
    return (2 * ld_pad(p) + q + (size_t)FUSED_CROSS_NB * 8) * (size_t)d + 8;
}

void rrr_cross_products(size_t p, size_t q, size_t j0, size_t j1, int d, const double *C,
                        const double *U, const double *V, double *CtU, double *CV, double *work)
{
    const rrr_kernel kn = rrr_kernel_get();
    const double *Cs = C + j0 * p; /* the column slice: p x (j1 - j0), ld p */
    const int mi = (int)(j1 - j0), pi = (int)p, qi = (int)q;
    if (kn == RRR_KERNEL_BLAS) {
        if (CtU != NULL)
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, mi, d, pi, 1.0, Cs, pi, U, pi,
                        0.0, CtU + j0, qi);
        if (CV != NULL) /* k = 0 (an empty slice) gives CV = 0 */
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, d, mi, 1.0, Cs, pi,
                        V + j0, qi, 0.0, CV, pi);
        return;
    }
    /* column panels of C: phase 1 gives those rows of C^T U, phase 2 adds C_b V_b to C V */
    void (*sweep)(const rrr_sweep *) = sweep_fn(kn);
    const size_t pp = ld_pad(p), m = j1 - j0;
    double *Up = pack(p, d, U, align64(work)), *CVp = Up + pp * d, *Vt = CVp + pp * d;
    memset(CVp, 0, pp * (size_t)d * sizeof *CVp);
    if (CV != NULL) /* Vt = the slice of V transposed: each row contiguous, for phase 2 */
        for (int j = 0; j < d; j++)
            cblas_dcopy(mi, V + (size_t)j * q + j0, 1, Vt + j, d);
    rrr_sweep s = { .p = p, .kc = knobs.kc, .k = d, .M = Up, .ldm = pp, .out = CVp, .ldo = pp,
                    .ldx1 = p, .ars = 1, .acs = q, .ldx2 = p, .brs = (size_t)d, .ldxn = p,
                    .pf_off = knobs.prefetch < 0,
                    .part = Vt + m * d };
    for (size_t jb = 0; jb < m; jb += FUSED_CROSS_NB) {
        const int nb = (int)(m - jb < FUSED_CROSS_NB ? m - jb : FUSED_CROSS_NB);
        s.X1 = s.X2 = Cs + jb * p;
        s.m1 = CtU != NULL ? nb : 0;
        s.A1 = CtU != NULL ? CtU + j0 + jb : NULL;
        s.m2 = CV != NULL ? nb : 0;
        s.B2 = Vt + jb * d;
        /* phase 2 prefetches the next panel in its last chunk */
        const size_t jn = jb + FUSED_CROSS_NB;
        s.mn = jn < m ? (int)(m - jn < FUSED_CROSS_NB ? m - jn : FUSED_CROSS_NB) : 0;
        s.Xn = s.mn > 0 ? Cs + jn * p : NULL;
        sweep(&s);
    }
    if (CV != NULL)
        unpack(p, d, CVp, CV);
}

void rrr_pass_gram(const rrr_problem *pb, const double *M, double *out, double *work)
{
    rrr_pass_gram_k(pb, M, pb->d, out, work);
}
