/* src/lapack.h: the LAPACK symbols of the serial modules (no MPI here; src/fortran.h adds
 * BLACS and ScaLAPACK). CHARACTER arguments carry gfortran's hidden size_t length. */
#ifndef RRR_LAPACK_H
#define RRR_LAPACK_H

#include <stddef.h>

typedef size_t fstrlen; /* gfortran >= 8 hidden CHARACTER length */

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, fstrlen);
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             fstrlen, fstrlen, fstrlen);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             fstrlen, fstrlen);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, fstrlen, fstrlen);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
             const double *tau, double *work, const int *lwork, int *info);
void dtpqrt_(const int *m, const int *n, const int *l, const int *nb, double *a, const int *lda,
             double *b, const int *ldb, double *t, const int *ldt, double *work, int *info);
void dtpmqrt_(const char *side, const char *trans, const int *m, const int *n, const int *k,
              const int *l, const int *nb, const double *v, const int *ldv, const double *t,
              const int *ldt, double *a, const int *lda, double *b, const int *ldb, double *work,
              int *info, fstrlen, fstrlen);
void dtrcon_(const char *norm, const char *uplo, const char *diag, const int *n, const double *a,
             const int *lda, double *rcond, double *work, int *iwork, int *info, fstrlen,
             fstrlen, fstrlen);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *iwork, int *info, fstrlen);
void dgesvj_(const char *joba, const char *jobu, const char *jobv, const int *m, const int *n,
             double *a, const int *lda, double *sva, const int *mv, double *v, const int *ldv,
             double *work, const int *lwork, int *info, fstrlen, fstrlen, fstrlen);

#endif
