/* src/output.h: files that appear whole or not at all and are never written through a
 * planted link, checked output locations, and inputs opened without blocking (output.c).
 *
 * A set of outputs is staged and committed together:
 *   rrr_outset_init; rrr_outset_mkdir (a directory to create, removed again on failure);
 *   rrr_outset_add per file (rank 0 creates an exclusive temporary with a random name);
 *   write it (rank 0: rrr_outset_stream + rrr_outset_close_stream; every rank: MPI-IO on
 *   rrr_outset_tmp without MPI_MODE_CREATE, then rrr_outset_verify);
 *   rrr_outset_finish: every rank agrees, then rank 0 renames the temporaries into place in
 *   the order they were added, keeping each replaced file under a backup link until all
 *   renames succeeded; a failed rename puts every earlier file back. */
#ifndef RRR_OUTPUT_H
#define RRR_OUTPUT_H

#include <limits.h>
#include <stdio.h>

#include "ctx.h"

#define RRR_MAX_OUTPUTS 12
#define RRR_MAX_OUTDIRS 4

typedef struct {
    char dst[PATH_MAX];
    char tmp[PATH_MAX];          /* dst.tmp.<16 random hex digits>; its backup adds ".old" */
    unsigned long long dev, ino; /* the temporary rank 0 created (broadcast)                */
    int fd;                      /* rank 0: the temporary, open, until a stream takes it    */
    int remove;                  /* remove dst at the commit instead (no temporary)          */
    int renamed;                 /* rank 0, during the commit: renamed into place            */
} rrr_outfile;

typedef struct rrr_outset {
    int count, ndirs;
    rrr_outfile f[RRR_MAX_OUTPUTS];
    char dirs[RRR_MAX_OUTDIRS][PATH_MAX]; /* directories this set created (rank 0) */
    char host[64];                        /* rank 0's host: st_dev is compared there only */
} rrr_outset;

/* Local. An empty set. */
void rrr_outset_init(rrr_outset *o);
/* Collective. Create directory dir if missing (its parent must exist: else RRR_EIO); one
 * this set created is removed again if the set fails. what names the option. */
rrr_status rrr_outset_mkdir(rrr_ctx *ctx, rrr_outset *o, const char *dir, const char *what);
/* Collective. Rank 0 creates dst's temporary with O_CREAT|O_EXCL|O_NOFOLLOW under a name
 * drawn from getrandom(), so no link can be planted at it; every rank learns the name and
 * the file's identity. *slot is its index. RRR_EIO on failure (agreed). */
rrr_status rrr_outset_add(rrr_ctx *ctx, rrr_outset *o, const char *dst, int *slot);
/* Local (replicated: call on every rank). dst is removed when the set commits (a stale
 * file of an earlier run); a missing dst is fine. */
rrr_status rrr_outset_remove(rrr_ctx *ctx, rrr_outset *o, const char *dst);
/* Local. The temporary's name (for MPI_File_open) and the final name (for messages). */
const char *rrr_outset_tmp(const rrr_outset *o, int slot);
const char *rrr_outset_dst(const rrr_outset *o, int slot);
/* Local (rank 0). The temporary as a stdio stream on the descriptor rank 0 created (the
 * name is not looked up again). NULL with a message in ctx->err. */
FILE *rrr_outset_stream(rrr_ctx *ctx, rrr_outset *o, int slot);
/* Local (rank 0). fflush, fsync, fclose f, every result checked (a full disk shows up
 * here): RRR_EIO naming the final file. Closes f in every case; f may be NULL (then
 * returns RRR_OK: the failure to open was already recorded). */
rrr_status rrr_outset_close_stream(rrr_ctx *ctx, const rrr_outset *o, int slot, FILE *f);
/* Local (rank 0). Reserve the blocks of a temporary that MPI-IO will fill (fallocate):
 * a full disk is found before the write, with its errno. RRR_OK where the filesystem
 * cannot reserve (the writes are checked anyway). */
rrr_status rrr_outset_reserve(rrr_ctx *ctx, rrr_outset *o, int slot, unsigned long long bytes);
/* Local (rank 0). Find that bytes fit where the temporary is, for a writer that truncates
 * the file it creates (HDF5): reserve them as rrr_outset_reserve, then release them. HDF5
 * cannot recover from a full disk mid-write (its file stays half-closed and crashes the
 * process at MPI_Finalize), so the space is proved before it starts. */
rrr_status rrr_outset_room(rrr_ctx *ctx, rrr_outset *o, int slot, unsigned long long bytes);
/* Local. After MPI_File_open of the temporary: the file at its name is the one rank 0
 * created (not a link or a file put in its place). */
rrr_status rrr_outset_verify(rrr_ctx *ctx, const rrr_outset *o, int slot);
/* Collective. Agree on st; if OK, rank 0 commits the whole set or nothing (RRR_EIO on
 * failure, earlier renames undone); temporaries and backups are removed either way.
 * Returns the agreed status. */
rrr_status rrr_outset_finish(rrr_ctx *ctx, rrr_outset *o, rrr_status st);

/* Local (rank 0). Remove what killed writers of dst left: the regular files next to it
 * named dst.tmp.<16 hex digits>, with or without ".old" (a SIGKILL cannot be caught, so
 * only the next writer can clean up). For files that have one writer at a time, such as
 * a checkpoint; links are removed as links, never followed. Returns how many. */
int rrr_outset_sweep(const char *dst);

/* Collective. Before any work, an output location is usable: for a file (is_dir 0) its
 * directory exists, is a directory and is writable, and path is not a directory; for a
 * directory (is_dir 1) path is a writable directory, or does not exist and its parent is
 * a writable directory. Writable means an exclusive probe file could be created and
 * removed there. what names the option in the message. RRR_EIO, agreed. */
rrr_status rrr_output_check(rrr_ctx *ctx, const char *path, int is_dir, const char *what);
/* Collective. The files rrr will write into directory dir (names, count): none is a
 * directory, a device, a FIFO or a socket, or a link to one (what rename would replace
 * or cannot), checked before any work. RRR_EIO, agreed. */
rrr_status rrr_output_names_check(rrr_ctx *ctx, const char *dir, const char *const *names,
                                  int count, const char *what);
/* Collective. The same test for one file's name (path): RRR_EIO, agreed. */
rrr_status rrr_output_replaceable(rrr_ctx *ctx, const char *path, const char *what);

/* Local. Open an input for reading without blocking on a FIFO or device: O_NONBLOCK,
 * fstat, then only a regular file is read (blocking again). *size: its size. NULL with
 * RRR_EIO and a message "PATH: ..." in e. */
FILE *rrr_input_open(rrr_err *e, const char *path, unsigned long long *size);

#endif
