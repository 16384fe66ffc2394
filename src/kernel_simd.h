/* src/kernel_simd.h: the fused sweep (kernels.h rrr_sweep) written once for any vector
 * instruction set. Included only by kernel_avx512.c and kernel_avx2.c, which first define
 *   VL            doubles per vector          VT            the vector type
 *   VZERO()       0                            VBCAST(x)     x in every lane
 *   VLOAD(p)      p[0 .. VL)                   VLOADN(p, n)  p[0 .. n), zeros above (no fault)
 *   VSTORE(p, v)  p[0 .. VL) = v               VSTOREN(p, v, n)  only the first n lanes
 *   VFMA(a, b, c) a b + c (fused)              VHSUM(v)      the lanes' sum, in a fixed order
 *   KFN           the target attribute of every function here
 *   SWEEP         the name of the entry point
 *   P1_R, P1_J    phase 1's register tile: rows x columns of A1 (P1_R <= 4, P1_J <= 6)
 *   P2_I, P2_J    phase 2's register tile: vectors of out's rows (1, 2 or 4) x columns (<= 6)
 *
 * Arithmetic order, the same whatever the tiles, the chunk length or the caller's panel
 * heights (so results do not depend on any tuning knob, only on VL):
 *   phase 1: lane l of A1[r, j]'s accumulator sums X1[i, r] M[i, j] over i = l (mod VL) in
 *            increasing i (one fused multiply-add each), then VHSUM;
 *   phase 2: out[i, j] += X2[i, r] B2[r, j] for r = 0, 1, ... in turn, one fused
 *            multiply-add each, continuing from the value out held. */
#ifndef KFN
#error "kernel_simd.h is included by kernel_avx512.c and kernel_avx2.c only"
#endif

enum { TILE_J = 6, P1_RMAX = 4, P2_IMAX = 4 };
/* the loops over a tile's rows and columns are unrolled whole, so that the accumulators are
 * registers, not memory (R, J, I below are compile-time constants in every instance) */
#define UNROLL _Pragma("GCC unroll 8")

/* Phase 1 on rows r0 .. r0+R of X1 and columns j0 .. j0+J of M, over the nv whole vectors
 * from i0 and then, with TAIL, a partial one of `tail` lanes: part (VL-lane partial sums,
 * k per row, row-major) += X1^T M on that range; first = 1 starts them at 0. */
KFN __attribute__((always_inline)) static inline void
p1_tile(const rrr_sweep *s, int r0, int j0, size_t i0, size_t nv, size_t tail, int first,
        const int R, const int J, const int TAIL)
{
    const size_t ldx = s->ldx1, ldm = s->ldm, k = (size_t)s->k;
    const double *X = s->X1 + (size_t)r0 * ldx + i0, *M = s->M + (size_t)j0 * ldm + i0;
    double *part = s->part + ((size_t)r0 * k + j0) * VL;
    VT acc[P1_RMAX][TILE_J];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < J; j++)
            acc[r][j] = first ? VZERO() : VLOAD(part + ((size_t)r * k + j) * VL);
    for (size_t v = 0; v < nv; v++, X += VL, M += VL) {
        VT m[TILE_J];
        UNROLL
        for (int j = 0; j < J; j++)
            m[j] = VLOAD(M + (size_t)j * ldm);
        UNROLL
        for (int r = 0; r < R; r++) {
            const VT x = VLOAD(X + (size_t)r * ldx);
            UNROLL
            for (int j = 0; j < J; j++)
                acc[r][j] = VFMA(x, m[j], acc[r][j]);
        }
    }
    if (TAIL) {
        VT m[TILE_J];
        UNROLL
        for (int j = 0; j < J; j++)
            m[j] = VLOADN(M + (size_t)j * ldm, tail);
        UNROLL
        for (int r = 0; r < R; r++) {
            const VT x = VLOADN(X + (size_t)r * ldx, tail);
            UNROLL
            for (int j = 0; j < J; j++)
                acc[r][j] = VFMA(x, m[j], acc[r][j]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < J; j++)
            VSTORE(part + ((size_t)r * k + j) * VL, acc[r][j]);
}

/* One row r of phase 2: acc[v][j] += X2[i + v VL, r] B2[r, j0 + j] (x: that row of X2 at i,
 * b: that row of B2 at j0); with PF, also prefetch into L2 the cache lines of xp that the
 * bits of pfm select (one per vector). */
#define P2_ROW_BODY(PF)                                                                       \
    do {                                                                                      \
        VT x[P2_IMAX];                                                                        \
        if (PF) {                                                                             \
            UNROLL                                                                            \
            for (int v = 0; v < I; v++)                                                       \
                if (pfm >> v & 1u)                                                            \
                    __builtin_prefetch(xp + v * VL, 0, 2);                                    \
        }                                                                                     \
        UNROLL                                                                                \
        for (int v = 0; v < I; v++)                                                           \
            x[v] = (TAIL && v == I - 1) ? VLOADN(xr + v * VL, tail) : VLOAD(xr + v * VL);     \
        UNROLL                                                                                \
        for (int j = 0; j < J; j++) {                                                         \
            const VT b = VBCAST(br[j]);                                                       \
            UNROLL                                                                            \
            for (int v = 0; v < I; v++)                                                       \
                acc[v][j] = VFMA(x[v], b, acc[v][j]);                                         \
        }                                                                                     \
    } while (0)

/* What phase 2 prefetches while it works: mpf rows of xp (leading dimension ld), the
 * vectors of each tile that the bits of mask select. */
typedef struct {
    const double *xp;
    size_t ld;
    int mpf;
    unsigned mask;
} pf_plan;

/* Phase 2 on out's rows i .. i + I VL (with TAIL the last vector only `tail` lanes) and
 * columns j0 .. j0+J: out += X2 B2 over all m2 rows of the panel. Its first f.mpf rows
 * also prefetch the lines that phase 1 will read next, so that the memory stream runs under
 * this arithmetic. */
KFN __attribute__((always_inline)) static inline void
p2_tile(const rrr_sweep *s, size_t i, int j0, size_t tail, pf_plan f, const int I, const int J,
        const int TAIL)
{
    const size_t ldx = s->ldx2, brs = s->brs, ldo = s->ldo, ldpf = f.ld;
    const int m2 = s->m2, mpf = f.mpf < m2 ? f.mpf : m2;
    const unsigned pfm = f.mask;
    double *out = s->out + (size_t)j0 * ldo + i;
    const double *xr = s->X2 + i, *br = s->B2 + j0, *xp = f.xp;
    VT acc[P2_IMAX][TILE_J];
    UNROLL
    for (int j = 0; j < J; j++)
        UNROLL
        for (int v = 0; v < I; v++)
            acc[v][j] = (TAIL && v == I - 1) ? VLOADN(out + (size_t)j * ldo + v * VL, tail)
                                             : VLOAD(out + (size_t)j * ldo + v * VL);
    int r = 0;
    for (; r < mpf; r++, xr += ldx, br += brs, xp += ldpf)
        P2_ROW_BODY(1);
    for (; r < m2; r++, xr += ldx, br += brs)
        P2_ROW_BODY(0);
    UNROLL
    for (int j = 0; j < J; j++)
        UNROLL
        for (int v = 0; v < I; v++) {
            if (TAIL && v == I - 1)
                VSTOREN(out + (size_t)j * ldo + v * VL, acc[v][j], tail);
            else
                VSTORE(out + (size_t)j * ldo + v * VL, acc[v][j]);
        }
}

/* The tile shapes as compile-time constants: one small function per instance (so that
 * each is register-allocated on its own and keeps its accumulators in registers), chosen
 * by a switch. */
#define P1_FN(R, J, T)                                                                        \
    KFN __attribute__((noinline)) static void p1_##R##_##J##_##T(                             \
        const rrr_sweep *s, int r0, int j0, size_t i0, size_t nv, size_t tail, int first)     \
    {                                                                                         \
        p1_tile(s, r0, j0, i0, nv, tail, first, R, J, T);                                    \
    }
#define P1_FNS(R, J) P1_FN(R, J, 0) P1_FN(R, J, 1)
#define P1_FNS_R(R) P1_FNS(R, 1) P1_FNS(R, 2) P1_FNS(R, 3) P1_FNS(R, 4) P1_FNS(R, 5) P1_FNS(R, 6)
#define P1_CASE(R, J)                                                                         \
    case (R) * 8 + (J):                                                                       \
        (tail > 0 ? p1_##R##_##J##_1 : p1_##R##_##J##_0)(s, r0, j0, i0, nv, tail, first);     \
        break;
#define P1_ROWS(R) P1_CASE(R, 1) P1_CASE(R, 2) P1_CASE(R, 3) P1_CASE(R, 4) P1_CASE(R, 5) P1_CASE(R, 6)

P1_FNS_R(1)
#if P1_R >= 2
P1_FNS_R(2)
#endif
#if P1_R >= 3
P1_FNS_R(3)
#endif
#if P1_R >= 4
P1_FNS_R(4)
#endif

KFN static void p1_any(const rrr_sweep *s, int r0, int R, int j0, int J, size_t i0, size_t nv,
                       size_t tail, int first)
{
    switch (R * 8 + J) {
        P1_ROWS(1)
#if P1_R >= 2
        P1_ROWS(2)
#endif
#if P1_R >= 3
        P1_ROWS(3)
#endif
#if P1_R >= 4
        P1_ROWS(4)
#endif
    default:
        __builtin_trap(); /* a tile shape the sweep never asks for */
    }
}

#define P2_FN(I, J, T)                                                                        \
    KFN __attribute__((noinline)) static void p2_##I##_##J##_##T(                             \
        const rrr_sweep *s, size_t i, int j0, size_t tail, pf_plan f)                         \
    {                                                                                         \
        p2_tile(s, i, j0, tail, f, I, J, T);                                                  \
    }
#define P2_FNS(I, J) P2_FN(I, J, 0) P2_FN(I, J, 1)
#define P2_FNS_I(I) P2_FNS(I, 1) P2_FNS(I, 2) P2_FNS(I, 3) P2_FNS(I, 4) P2_FNS(I, 5) P2_FNS(I, 6)
#define P2_CASE(I, J)                                                                         \
    case (I) * 8 + (J):                                                                       \
        (tail > 0 ? p2_##I##_##J##_1 : p2_##I##_##J##_0)(s, i, j0, tail, f);                  \
        break;
#define P2_ROWS(I) P2_CASE(I, 1) P2_CASE(I, 2) P2_CASE(I, 3) P2_CASE(I, 4) P2_CASE(I, 5) P2_CASE(I, 6)

P2_FNS_I(1)
#if P2_I >= 2
P2_FNS_I(2)
#endif
#if P2_I >= 4
P2_FNS_I(4)
#endif

KFN static void p2_any(const rrr_sweep *s, size_t i, int I, int j0, int J, size_t tail, pf_plan f)
{
    switch (I * 8 + J) {
        P2_ROWS(1)
#if P2_I >= 2
        P2_ROWS(2)
#endif
#if P2_I >= 4
        P2_ROWS(4)
#endif
    default:
        __builtin_trap();
    }
}

/* Column blocks of at most jmax, as even as possible: block b is [j0, j0 + J). */
static inline void jblock(int k, int jmax, int b, int *j0, int *J)
{
    const int nblk = (k + jmax - 1) / jmax, base = k / nblk, extra = k % nblk;
    *j0 = b * base + (b < extra ? b : extra);
    *J = base + (b < extra);
}

KFN void SWEEP(const rrr_sweep *s)
{
    /* chunks of about kc doubles, whole tiles of phase 2, as even as possible */
    const size_t p = s->p, step = (size_t)P2_I * VL, want = s->kc > 0 ? s->kc : 256;
    const size_t nch = (p + want - 1) / want, kc = ((p + nch - 1) / nch + step - 1) / step * step;
    const int k = s->k, nj1 = (k + P1_J - 1) / P1_J, nj2 = (k + P2_J - 1) / P2_J;
    for (size_t c0 = 0; c0 < p; c0 += kc) {
        const size_t c1 = c0 + kc < p ? c0 + kc : p;
        /* phase 1 reads next this panel's next chunk, or the next panel's first: phase 2
         * prefetches it, spread over its column blocks (s->pf_same: this chunk instead) */
        pf_plan f = { NULL, s->ldx1, 0, 0 };
        const double *pfb = NULL; /* the line of row 0 for column i is pfb + (i - c0) + dc */
        size_t dc = 0;
        if (s->m1 > 0 && (s->pf_same || c1 < p)) {
            pfb = s->X1;
            dc = s->pf_same ? c0 : c0 + kc;
            f.mpf = s->m1;
        } else if (s->Xn != NULL && !s->pf_same) {
            pfb = s->Xn;
            f.mpf = s->mn;
            f.ld = s->ldxn;
        }
        if (s->pf_off || pfb == NULL)
            f.mpf = 0;
        for (int b = 0; b < nj2 && s->m2 > 0; b++) { /* phase 2: out[c0 .. c1) += X2 B2 */
            int j0, J;
            jblock(k, P2_J, b, &j0, &J);
            f.mask = 0;
            for (int v = 0; v < P2_I; v++)
                f.mask |= (unsigned)((v % nj2) == (b % P2_I)) << v;
            if (nj2 > P2_I && b >= P2_I)
                f.mask = 0;
            size_t i = c0;
            for (; i + step <= c1; i += step) {
                f.xp = f.mpf > 0 ? pfb + (i - c0) + dc : NULL;
                p2_any(s, i, P2_I, j0, J, 0, f);
            }
            for (; i + VL <= c1; i += VL) {
                f.xp = f.mpf > 0 ? pfb + (i - c0) + dc : NULL;
                p2_any(s, i, 1, j0, J, 0, f);
            }
            if (i < c1) {
                f.xp = f.mpf > 0 ? pfb + (i - c0) + dc : NULL;
                p2_any(s, i, 1, j0, J, c1 - i, f);
            }
        }
        if (s->m1 > 0) { /* phase 1: the partial sums of X1^T M over [c0, c1) */
            const size_t nv = (c1 - c0) / VL, tail = (c1 - c0) % VL;
            for (int r0 = 0; r0 < s->m1; r0 += P1_R) {
                const int R = s->m1 - r0 < P1_R ? s->m1 - r0 : P1_R;
                for (int b = 0; b < nj1; b++) {
                    int j0, J;
                    jblock(k, P1_J, b, &j0, &J);
                    p1_any(s, r0, R, j0, J, c0, nv, tail, c0 == 0);
                }
            }
        }
    }
    for (int r = 0; r < s->m1; r++)
        for (int j = 0; j < k; j++)
            s->A1[(size_t)r * s->ars + (size_t)j * s->acs] =
                VHSUM(VLOAD(s->part + ((size_t)r * k + j) * VL));
}
