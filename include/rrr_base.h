/* include/rrr_base.h: the MPI-free part of the public API: status codes, the context
 * handle, the row block and the row partition. Serial modules include only this. */
#ifndef RRR_BASE_H
#define RRR_BASE_H

#include <stddef.h>

/* Status codes. Each value is the process exit code of the command-line contract, so
 * "largest wins" when ranks agree (rrr_agree) also picks the most specific failure. */
typedef enum {
    RRR_OK = 0,        /* success                                                  */
    RRR_EINTERNAL = 1, /* out of memory, MPI or library failure                    */
    RRR_EINVAL = 2,    /* bad arguments or invalid input data                      */
    RRR_EIO = 3,       /* missing/unreadable file, output not writable             */
    RRR_ENUMERIC = 4,  /* divergence, non-finite values, matrix not pos. definite  */
    RRR_ESTOPPED = 5   /* stopped by a signal (after writing a checkpoint, if any) */
} rrr_status;

/* Short description of a status ("invalid input", ...). Local. */
const char *rrr_strerror(rrr_status st);

/* Process exit code for a status (README "Exit codes"). Local. */
int rrr_exit_code(rrr_status st);

/* A communicator and everything rrr keeps per run (opaque; rrr_ctx_create in rrr.h). */
typedef struct rrr_ctx rrr_ctx;

/* My row block of a distributed n x ncols matrix: rows [r0, r0 + nloc) of n, stored
 * row-major (the bytes of the .npy file), which is the column-major ncols x nloc matrix
 * with leading dimension ncols. owns: whether rrr_block_destroy frees a (0 for blocks
 * that wrap the caller's memory, rrr_block_wrap). */
typedef struct {
    size_t n, ncols, r0, nloc;
    double *a;
    int owns;
} rrr_block;

/* The row partition: with b = ceil(n/K), rank r of K owns rows [r b, min((r+1) b, n))
 * (trailing ranks may own fewer rows or none). Local. RRR_EINVAL if K < 1 or r is not in
 * [0, K); then *r0 = *nloc = 0. */
rrr_status rrr_partition(size_t n, int K, int r, size_t *r0, size_t *nloc);

#endif
