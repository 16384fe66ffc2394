/* src/fortran.h: prototypes for the BLACS and ScaLAPACK symbols rrr calls (ScaLAPACK ships
 * no C header; LAPACK's are in src/lapack.h). Every CHARACTER argument has its hidden
 * length (gfortran >= 8 passes it by value after the explicit arguments); callers pass 1.
 * Integers are LP64 (32-bit INTEGER). BLAS itself goes through cblas.h. */
#ifndef RRR_FORTRAN_H
#define RRR_FORTRAN_H

#include <mpi.h>
#include <stddef.h>

#include "lapack.h" /* LAPACK and fstrlen */

/* ---- BLACS (C interface of the MPI BLACS bundled with ScaLAPACK) ------------------- */

int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);

/* ---- ScaLAPACK tools --------------------------------------------------------------- */

int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
            const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja,
               const int *desca, double *b, const int *ib, const int *jb, const int *descb,
               const int *ictxt);

/* ---- PBLAS ------------------------------------------------------------------------ */

void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, const double *beta, double *c, const int *ic, const int *jc,
             const int *descc, fstrlen, fstrlen);
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, const double *b, const int *ib, const int *jb,
             const int *descb, const double *beta, double *c, const int *ic, const int *jc,
             const int *descc, fstrlen, fstrlen);
void pdsymm_(const char *side, const char *uplo, const int *m, const int *n,
             const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, const double *b, const int *ib, const int *jb,
             const int *descb, const double *beta, double *c, const int *ic, const int *jc,
             const int *descc, fstrlen, fstrlen);
void pdtrsm_(const char *side, const char *uplo, const char *transa, const char *diag,
             const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, double *b, const int *ib, const int *jb,
             const int *descb, fstrlen, fstrlen, fstrlen, fstrlen);
void pdtrmm_(const char *side, const char *uplo, const char *transa, const char *diag,
             const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, double *b, const int *ib, const int *jb,
             const int *descb, fstrlen, fstrlen, fstrlen, fstrlen);

/* ---- ScaLAPACK -------------------------------------------------------------------- */

void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, int *info, fstrlen);
void pdsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
             const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
             const int *descz, double *work, const int *lwork, int *info, fstrlen, fstrlen);

#endif
