/* src/direct.h: a reader thread that reads one rank's rows of a C-order .npy with O_DIRECT
 * (direct.c), panel after panel, into a ring of page-aligned buffers of its own: the disk's DMA
 * writes the rows where the arithmetic reads them, with no page-cache copy and no page-cache
 * bookkeeping on the cores that compute (stream.c uses it for rows bigger than memory). The
 * thread makes no MPI call. */
#ifndef RRR_DIRECT_H
#define RRR_DIRECT_H

#include <stddef.h>

#include "err.h"

/* Panels a reader holds: the one in use and those read ahead of it. */
#define RRR_DIRECT_DEPTH 4

typedef struct rrr_direct rrr_direct;

/* Local. A reader of my nloc rows of path, the bytes [off, off + nloc * row_bytes) (off: my
 * first row's byte in the file; row_bytes a multiple of 8), in panels of panel_rows rows
 * (the last one shorter), read ahead in order. 1: *out is open and its thread reading; 0:
 * the file cannot be read with O_DIRECT here (a tmpfs, say: the caller reads another way);
 * -1: no memory or no thread for it (RRR_EINTERNAL in e). */
int rrr_direct_open(const char *path, size_t off, size_t row_bytes, size_t nloc,
                    size_t panel_rows, rrr_direct **out, rrr_err *e);
/* Local. The next panel: *rows points at its rows, row-major doubles (writable, until the
 * next call); the panel before it is given back. RRR_EIO in e when the file ended early (it
 * shrank while it was read) or the read failed, with name in the message. */
rrr_status rrr_direct_next(rrr_direct *d, double **rows, rrr_err *e, const char *name);
/* Local. The file open for the reads (for checks of which file it is). */
int rrr_direct_fd(const rrr_direct *d);
/* Local. NULL-safe: stops the thread (after the read in flight), frees everything. */
void rrr_direct_close(rrr_direct **d);

#endif
