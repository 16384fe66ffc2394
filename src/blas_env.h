/* src/blas_env.h: choosing OpenBLAS's kernel and thread count for the ranks of a node. */
#ifndef RRR_BLAS_ENV_H
#define RRR_BLAS_ENV_H

#include "ctx.h"

/* Local, before MPI_Init. OpenBLAS 0.3.21 falls back to its generic "Prescott" kernel on
 * AVX-512 CPUs it does not recognise (~4x slower DGEMM). If OPENBLAS_CORETYPE is unset and
 * RRR_NO_COREFIX is unset, set it for this CPU and re-exec once (OpenBLAS reads it in a
 * library constructor, before main). A value the user set is respected. */
void rrr_blas_pick_kernel(char **argv);

/* Collective (the ranks per node were measured at rrr_ctx_create). If neither
 * OPENBLAS_NUM_THREADS nor OMP_NUM_THREADS is set, give each rank cores/ranks-on-this-node
 * BLAS threads (at least 1); warn when ranks x threads exceed the cores of a node, or when
 * a generic kernel runs on a CPU with AVX2/AVX-512. Then one small level-3 call maps the
 * BLAS work buffers before any data is read, and the memory per rank is measured again.
 * RRR_EINTERNAL (agreed, with a message) when the address space has no room for them. */
rrr_status rrr_blas_configure(rrr_ctx *ctx);

/* Local. The kernel OpenBLAS uses ("SkylakeX", "Prescott", ...; "unknown" elsewhere). */
const char *rrr_blas_corename(void);
/* Local. BLAS threads per rank. */
int rrr_blas_threads(void);

#endif
