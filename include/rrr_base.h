/* include/rrr_base.h: status codes shared by every rrr module, MPI or not. */
#ifndef RRR_BASE_H
#define RRR_BASE_H

/* Status codes. Each value is the process exit code of SPEC.md, so "largest wins" when ranks
 * agree (rrr_agree) also picks the most specific failure. */
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

/* Process exit code for a status (SPEC.md "Exit codes"). Local. */
int rrr_exit_code(rrr_status st);

#endif
