/* src/topk.c: the top-k eigenpairs of T^T T or T T^T, whichever is smaller.
 *
 * Reduced-rank regression needs the top-d eigenvectors W of M = C^T (G + lambda I)^{-1} C,
 * with G + lambda I = R^T R and T = R^{-T} C: M = T^T T (q x q). Its nonzero eigenvalues
 * are those of N = T T^T (p x p), and its eigenvectors are T^T u / sigma for those u of N.
 * The rank-d optimum B* = R^{-1} T W W^T = R^{-1} u u^T T needs no sigma at all, so the
 * p route returns A = u, Bv = T^T u and never divides by a singular value. Cost: forming
 * the Gram matrix, n m (q + 1) flops (m = min(p, q), n = max), plus the eigenproblem of
 * order m (tridiagonal reduction 4/3 m^3, then k eigenvectors); memory m^2 + the m x k
 * eigenvectors. When q >> p the q x q route would cost q^3 and q^2 memory: the reason
 * this file exists. */
#include <cblas.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lapack.h"
#include "linalg.h"
#include "topk.h"

rrr_status rrr_top_eig(int n, int k, double *S, double *Z, double *w, rrr_err *e)
{
    double *wall = rrr_malloc((size_t)n, sizeof *wall), wq = 0, vl = 0, vu = 0, abstol = 0;
    int *isuppz = rrr_malloc(2 * (size_t)k, sizeof *isuppz);
    int il = n - k + 1, iu = n, iwq = 0, lwork = -1, liwork = -1, info = 0, nfound = 0;
    double *work = NULL;
    int *iwork = NULL;
    rrr_status st = RRR_OK;
    if (wall == NULL || isuppz == NULL) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "out of memory (eigenproblem of order %d)", n);
        goto done;
    }
    dsyevr_("V", "I", "U", &n, S, &n, &vl, &vu, &il, &iu, &abstol, &nfound, wall, Z, &n, isuppz,
            &wq, &lwork, &iwq, &liwork, &info, 1, 1, 1);
    lwork = (int)wq;
    liwork = iwq;
    work = rrr_malloc((size_t)lwork, sizeof *work);
    iwork = rrr_malloc((size_t)liwork, sizeof *iwork);
    if (info != 0 || work == NULL || iwork == NULL) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "dsyevr workspace (info=%d)", info);
        goto done;
    }
    dsyevr_("V", "I", "U", &n, S, &n, &vl, &vu, &il, &iu, &abstol, &nfound, wall, Z, &n, isuppz,
            work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || nfound != k) {
        st = RRR_FAIL(e, RRR_ENUMERIC, "dsyevr failed (info=%d, %d of %d found)", info, nfound, k);
        goto done;
    }
    rrr_reverse_columns((size_t)n, k, Z);
    for (int j = 0; j < k; j++)
        w[j] = wall[k - 1 - j];
done:
    free(wall);
    free(isuppz);
    free(work);
    free(iwork);
    return st;
}

/* The Gram route's eigenvalues carry an absolute error of ~ m eps mu_1, so mu_k keeps few
 * digits when mu_1 / mu_k is large: on uncentred data with raw offsets (mu_1 ~ n offset^2,
 * no --intercept) the top-d subspace came out wrong (f 35 % above f* at offsets 1e8, and
 * the certificate, evaluated at the same closed form, passed it). The SVD of T itself
 * gives sigma_k to eps sigma_1, mu_k to eps sqrt(mu_1 mu_k): used when the Gram's error
 * bound exceeds 1e-8 mu_k (mu_1 / mu_k > ~1e-8 / (m eps), 4.5e4 at m = 1000), at a few times
 * the Gram route's cost. */
static int gram_inaccurate(int k, const double *mu, size_t m)
{
    return !(1e-8 * mu[k - 1] > (double)m * DBL_EPSILON * mu[0]);
}

/* Local. The top k singular triplets of M (rows x cols, ld rows; not modified) by dgesdd:
 * the left vectors into L (rows x k) or the right ones into R (cols x k), whichever is not
 * NULL, and sigma^2 into mu (descending). */
static rrr_status svd_topk(size_t rows, size_t cols, int k, const double *M, double *L,
                           double *R, double *mu, rrr_err *e)
{
    const int m = (int)rows, n = (int)cols, mn = m < n ? m : n;
    int lwork = -1, info = 0;
    double wq = 0;
    double *a = rrr_malloc(rows * cols, sizeof *a), *sv = rrr_malloc((size_t)mn, sizeof *sv);
    double *u = rrr_malloc(rows * (size_t)mn, sizeof *u), *vt = rrr_malloc((size_t)mn * cols, sizeof *vt);
    int *iwork = rrr_malloc(8 * (size_t)mn, sizeof *iwork);
    double *work = NULL;
    rrr_status st = RRR_OK;
    if (a == NULL || sv == NULL || u == NULL || vt == NULL || iwork == NULL) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "out of memory (SVD of %zu x %zu)", rows, cols);
        goto done;
    }
    memcpy(a, M, rows * cols * sizeof *a);
    dgesdd_("S", &m, &n, a, &m, sv, u, &m, vt, &mn, &wq, &lwork, iwork, &info, 1);
    lwork = (int)wq;
    work = rrr_malloc((size_t)(lwork > 1 ? lwork : 1), sizeof *work);
    if (info != 0 || work == NULL) {
        st = RRR_FAIL(e, RRR_EINTERNAL, "dgesdd workspace (info=%d)", info);
        goto done;
    }
    dgesdd_("S", &m, &n, a, &m, sv, u, &m, vt, &mn, work, &lwork, iwork, &info, 1);
    if (info != 0) {
        st = RRR_FAIL(e, RRR_ENUMERIC, "dgesdd failed (info=%d)", info);
        goto done;
    }
    for (int j = 0; j < k; j++) {
        mu[j] = sv[j] * sv[j];
        if (L != NULL)
            memcpy(L + (size_t)j * rows, u + (size_t)j * rows, rows * sizeof *L);
        if (R != NULL)
            cblas_dcopy(n, vt + j, mn, R + (size_t)j * cols, 1);
    }
done:
    free(a);
    free(sv);
    free(u);
    free(vt);
    free(iwork);
    free(work);
    return st;
}

rrr_status rrr_topk(rrr_route route, size_t p, size_t q, int k, const double *T, double *A,
                    double *Bv, double *mu, rrr_err *e)
{
    const int pi = (int)p, qi = (int)q;
    size_t m = route == RRR_ROUTE_P ? p : q;
    double *S = rrr_malloc(m * m, sizeof *S);
    if (S == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory for a %zu x %zu eigenproblem", m, m);
    rrr_status st;
    if (route == RRR_ROUTE_Q) { /* M = T^T T; Bv = W; A = T W */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, qi, pi, 1.0, T, pi, 0.0, S, qi);
        st = rrr_top_eig(qi, k, S, Bv, mu, e);
        if (st == RRR_OK && gram_inaccurate(k, mu, m))
            st = svd_topk(p, q, k, T, NULL, Bv, mu, e);
        if (st == RRR_OK)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, k, qi, 1.0, T, pi, Bv, qi,
                        0.0, A, pi);
    } else { /* N = T T^T; A = u; Bv = T^T u */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, pi, qi, 1.0, T, pi, 0.0, S, pi);
        st = rrr_top_eig(pi, k, S, A, mu, e);
        if (st == RRR_OK && gram_inaccurate(k, mu, m))
            st = svd_topk(p, q, k, T, A, NULL, mu, e);
        if (st == RRR_OK)
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, qi, k, pi, 1.0, T, pi, A, pi, 0.0,
                        Bv, qi);
    }
    free(S);
    return st;
}

rrr_status rrr_topk_pt(size_t p, size_t q, int k, const double *Tt, double *A, double *Bv,
                       double *mu, rrr_err *e)
{
    const int pi = (int)p, qi = (int)q;
    double *S = rrr_malloc(p * p, sizeof *S);
    if (S == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory for a %zu x %zu eigenproblem", p, p);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, pi, qi, 1.0, Tt, qi, 0.0, S, pi);
    rrr_status st = rrr_top_eig(pi, k, S, A, mu, e);
    if (st == RRR_OK && gram_inaccurate(k, mu, p)) /* Tt = Q S P^T: A = P_k, T's left vectors */
        st = svd_topk(q, p, k, Tt, NULL, A, mu, e);
    if (st == RRR_OK)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, qi, k, pi, 1.0, Tt, qi, A, pi, 0.0,
                    Bv, qi);
    free(S);
    return st;
}

int rrr_topk_rank(int k, const double *mu, size_t n)
{
    int r = 0;
    while (r < k && mu[r] > (double)n * DBL_EPSILON * mu[0])
        r++;
    return r;
}
