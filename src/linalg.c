/* src/linalg.c: small replicated dense algebra on d x d and (p|q) x d matrices (LAPACK). */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lapack.h"
#include "linalg.h"

/* Local. Eigen-decomposition of the symmetric d x d matrix in A (overwritten by the
 * eigenvectors, ascending eigenvalues in w). */
static rrr_status sym_eig(int d, double *A, double *w, rrr_err *e)
{
    int info = 0, lwork = -1;
    double wq;
    dsyev_("V", "U", &d, A, &d, w, &wq, &lwork, &info, 1, 1);
    lwork = (int)wq;
    double *work = rrr_malloc((size_t)lwork, sizeof *work);
    if (work == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory (dsyev workspace)");
    dsyev_("V", "U", &d, A, &d, w, work, &lwork, &info, 1, 1);
    free(work);
    if (info != 0)
        return RRR_FAIL(e, RRR_ENUMERIC, "dsyev failed: info=%d", info);
    return RRR_OK;
}

rrr_status rrr_solve_right_psd(int d, const double *H, size_t m, double *B, rrr_err *e)
{
    size_t dd = (size_t)d * (size_t)d;
    double *L = rrr_malloc(dd, sizeof *L), *T = NULL, *w = NULL;
    rrr_status st = RRR_OK;
    int info = 0;
    if (L == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
    memcpy(L, H, dd * sizeof *L);
    dpotrf_("L", &d, L, &d, &info, 1);
    if (info == 0) { /* B H^-1 = ((H^-1 B^T))^T: two triangular solves from the right */
        cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)m, d,
                    1.0, L, d, B, (int)m);
        cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)m, d,
                    1.0, L, d, B, (int)m);
        goto done;
    }
    /* Singular H (a factor of lower rank than d): B H^+ with eigenvalues below
     * d * eps * max eigenvalue treated as zero, the usual pseudo-inverse cut-off. */
    w = rrr_malloc((size_t)d, sizeof *w);
    T = rrr_malloc(m * (size_t)d, sizeof *T);
    if (w == NULL || T == NULL) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
        goto done;
    }
    memcpy(L, H, dd * sizeof *L);
    st = sym_eig(d, L, w, e);
    if (st != RRR_OK)
        goto done;
    double cut = (double)d * DBL_EPSILON * fabs(w[d - 1]);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)m, d, d, 1.0, B, (int)m, L, d,
                0.0, T, (int)m); /* T = B Q */
    for (int k = 0; k < d; k++)
        cblas_dscal((int)m, w[k] > cut ? 1.0 / w[k] : 0.0, T + (size_t)k * m, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)m, d, d, 1.0, T, (int)m, L, d, 0.0,
                B, (int)m); /* B = T Q^T */
done:
    free(L);
    free(T);
    free(w);
    return st;
}

rrr_status rrr_orthonormalize(size_t q, int d, double *V, rrr_err *e)
{
    int m = (int)q, info = 0, lwork = -1;
    double wq, *tau = rrr_malloc((size_t)d, sizeof *tau), *work = NULL;
    if (tau == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
    dgeqrf_(&m, &d, V, &m, tau, &wq, &lwork, &info);
    lwork = (int)wq > d ? (int)wq : d;
    work = rrr_malloc((size_t)lwork, sizeof *work);
    rrr_status st = RRR_OK;
    if (work == NULL) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
    } else {
        dgeqrf_(&m, &d, V, &m, tau, work, &lwork, &info);
        if (info == 0)
            dorgqr_(&m, &d, &d, V, &m, tau, work, &lwork, &info);
        if (info != 0)
            st = RRR_FAIL(e, RRR_ENUMERIC, "QR failed: info=%d", info);
    }
    free(tau);
    free(work);
    return st;
}

rrr_status rrr_canonicalize(size_t p, size_t q, int d, double *U, double *V, rrr_err *e)
{
    size_t dd = (size_t)d * (size_t)d;
    double *R = rrr_calloc(dd, sizeof *R), *Q = rrr_malloc(q * (size_t)d, sizeof *Q);
    double *T = rrr_malloc(p * (size_t)d, sizeof *T), *w = rrr_malloc((size_t)d, sizeof *w);
    rrr_status st = RRR_OK;
    if (!R || !Q || !T || !w) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
        goto done;
    }
    /* V = Q R  =>  U V^T = (U R^T) Q^T. R = Q^T V after orthonormalising a copy. */
    memcpy(Q, V, q * (size_t)d * sizeof *Q);
    st = rrr_orthonormalize(q, d, Q, e);
    if (st != RRR_OK)
        goto done;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, (int)q, 1.0, Q, (int)q, V, (int)q,
                0.0, R, d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)p, d, d, 1.0, U, (int)p, R, d, 0.0,
                T, (int)p);
    /* (U R^T)^T (U R^T) = W diag(s^2) W^T; U <- U R^T W, V <- Q W, largest first. */
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, d, (int)p, 1.0, T, (int)p, 0.0, R, d);
    st = sym_eig(d, R, w, e);
    if (st != RRR_OK)
        goto done;
    for (int k = 0; k < d / 2; k++) /* ascending -> descending */
        cblas_dswap(d, R + (size_t)k * d, 1, R + (size_t)(d - 1 - k) * d, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)p, d, d, 1.0, T, (int)p, R, d,
                0.0, U, (int)p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)q, d, d, 1.0, Q, (int)q, R, d,
                0.0, V, (int)q);
    for (int k = 0; k < d; k++) { /* sign: largest |entry| of V's column k positive */
        double *v = V + (size_t)k * q;
        size_t imax = (size_t)cblas_idamax((int)q, v, 1);
        if (v[imax] < 0) {
            cblas_dscal((int)q, -1.0, v, 1);
            cblas_dscal((int)p, -1.0, U + (size_t)k * p, 1);
        }
    }
done:
    free(R);
    free(Q);
    free(T);
    free(w);
    return st;
}

/* Local. F(A) for symmetric positive definite A (d x d): Q diag(f(w)) Q^T, with f = w^e.
 * Returns 1, or 0 if A is not positive definite to working precision (or dsyev failed),
 * or -1 when out of memory (recorded in err: that one is not the same on every rank). */
static int spd_power(int d, const double *A, double e, double *out, double *Q, double *w,
                     double *T, rrr_err *err)
{
    rrr_err quiet = { RRR_OK, "" };
    memcpy(Q, A, (size_t)d * d * sizeof *Q);
    rrr_status st = sym_eig(d, Q, w, &quiet);
    if (st == RRR_EINTERNAL) {
        RRR_FAIL(err, st, "%s", quiet.msg);
        return -1;
    }
    if (st != RRR_OK || !(w[0] > (double)d * DBL_EPSILON * w[d - 1]))
        return 0;
    for (int k = 0; k < d; k++)
        for (int i = 0; i < d; i++)
            T[IDX(i, k, d)] = Q[IDX(i, k, d)] * pow(w[k], e);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, T, d, Q, d, 0.0, out, d);
    return 1;
}

rrr_status rrr_balance(size_t p, size_t q, int d, const double *U, const double *V, double *S,
                       double *Sinv, int *balanced, rrr_err *e)
{
    size_t dd = (size_t)d * d;
    double *w = rrr_malloc(8 * dd + (size_t)d, sizeof *w);
    *balanced = 0;
    if (w == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory (balancing)");
    double *Gu = w + d, *Gv = Gu + dd, *Gh = Gv + dd, *Gmh = Gh + dd, *M = Gmh + dd,
           *Q = M + dd, *T = Q + dd, *P = T + dd;
    int ok;
    /* Balanced factors satisfy S^T Gu S = S^-1 Gv S^-T with P = S S^T the geometric mean
     * P = Gu^-1/2 (Gu^1/2 Gv Gu^1/2)^1/2 Gu^-1/2 (then both Gram matrices equal P Gu P). */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, (int)p, 1.0, U, (int)p, U, (int)p,
                0.0, Gu, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, (int)q, 1.0, V, (int)q, V, (int)q,
                0.0, Gv, d);
    ok = spd_power(d, Gu, 0.5, Gh, Q, w, T, e);
    if (ok > 0)
        ok = spd_power(d, Gu, -0.5, Gmh, Q, w, T, e);
    if (ok > 0) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, Gh, d, Gv, d, 0.0, T, d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, T, d, Gh, d, 0.0, M, d);
        ok = spd_power(d, M, 0.5, P, Q, w, T, e);
    }
    if (ok > 0) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, Gmh, d, P, d, 0.0, T, d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, T, d, Gmh, d, 0.0, P, d);
        ok = spd_power(d, P, 0.5, S, Q, w, T, e);
        if (ok > 0)
            ok = spd_power(d, P, -0.5, Sinv, Q, w, T, e);
    }
    free(w);
    if (ok < 0)
        return RRR_EINTERNAL;
    *balanced = ok;
    return RRR_OK;
}

void rrr_gram_dd(size_t m, int d, const double *B, double *S)
{
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, d, (int)m, 1.0, B, (int)m, 0.0, S, d);
    for (int j = 0; j < d; j++)
        for (int i = j + 1; i < d; i++)
            S[IDX(i, j, d)] = S[IDX(j, i, d)];
}

double rrr_dot(size_t n, const double *a, const double *b)
{
    const size_t chunk = (size_t)1 << 30; /* BLAS counts are int */
    double s = 0.0;
    for (size_t k = 0; k < n; k += chunk)
        s += cblas_ddot((int)(n - k < chunk ? n - k : chunk), a + k, 1, b + k, 1);
    return s;
}

void rrr_transpose(size_t m, size_t n, const double *restrict A, double *restrict B)
{
    enum { TILE = 32 }; /* both tiles in L1: A read down its columns, B written down its */
    for (size_t j0 = 0; j0 < n; j0 += TILE) {
        const size_t je = j0 + TILE < n ? j0 + TILE : n;
        for (size_t i0 = 0; i0 < m; i0 += TILE) {
            const size_t ie = i0 + TILE < m ? i0 + TILE : m;
            for (size_t i = i0; i < ie; i++)
                for (size_t j = j0; j < je; j++)
                    B[i * n + j] = A[j * m + i];
        }
    }
}

double rrr_norm2(size_t n1, const double *a, size_t n2, const double *b)
{
    double m = 0.0, s = 0.0;
    for (size_t k = 0; k < n1; k++)
        m = fmax(m, fabs(a[k]));
    for (size_t k = 0; k < n2; k++)
        m = fmax(m, fabs(b[k]));
    if (!(m > 0) || !isfinite(m))
        return m == 0 ? 0.0 : (double)NAN;
    for (size_t k = 0; k < n1; k++)
        s += (a[k] / m) * (a[k] / m);
    for (size_t k = 0; k < n2; k++)
        s += (b[k] / m) * (b[k] / m);
    return m * sqrt(s);
}

void rrr_reverse_columns(size_t m, int k, double *A)
{
    for (int j = 0; j < k / 2; j++)
        cblas_dswap((int)m, A + (size_t)j * m, 1, A + (size_t)(k - 1 - j) * m, 1);
}

double rrr_scaled_condition(size_t p, double *R)
{
    const int n = (int)p;
    double *work = rrr_malloc(3 * p, sizeof *work), rcond = 0;
    int *iw = rrr_malloc(p, sizeof *iw), info = 0;
    if (work == NULL || iw == NULL) {
        free(work);
        free(iw);
        return 0;
    }
    for (size_t j = 0; j < p; j++) {
        double s = 0;
        for (size_t i = 0; i <= j; i++)
            s += R[IDX(i, j, p)] * R[IDX(i, j, p)];
        s = s > 0 ? 1 / sqrt(s) : 0;
        for (size_t i = 0; i < p; i++)
            R[IDX(i, j, p)] = i <= j ? R[IDX(i, j, p)] * s : 0;
    }
    dtrcon_("1", "U", "N", &n, R, &n, &rcond, work, iw, &info, 1, 1, 1);
    free(work);
    free(iw);
    return info == 0 && rcond > 0 ? 1 / rcond : HUGE_VAL;
}
