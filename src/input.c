/* src/input.c: the one place that chooses a reader or a writer by path: a .npy file (the
 * default, and the fastest) or an HDF5 dataset named FILE.h5:/path; and the check of the
 * values that every reader applies. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm.h"
#include "h5.h"
#include "input.h"
#include "npy.h"
#include "output.h"
#include "scan.h"

/* The extensions that make "FILE.EXT:NAME" a dataset NAME inside an HDF5 file FILE. */
static const char *const h5_ext[] = { ".h5", ".hdf5", ".he5" };

/* Local, pure. s[0, len) ends in an HDF5 extension, after at least one character. */
static int ends_h5(const char *s, size_t len)
{
    for (size_t k = 0; k < sizeof h5_ext / sizeof h5_ext[0]; k++) {
        size_t el = strlen(h5_ext[k]);
        if (len > el && strncasecmp(s + len - el, h5_ext[k], el) == 0)
            return 1;
    }
    return 0;
}

int rrr_path_h5(const char *path, char *file, size_t cap, const char **dset)
{
    *dset = NULL;
    /* the first ':' after an HDF5 extension: dataset names may hold ':', files rarely */
    for (const char *c = strchr(path, ':'); c != NULL; c = strchr(c + 1, ':')) {
        size_t len = (size_t)(c - path);
        if (!ends_h5(path, len))
            continue;
        if (c[1] == '\0' || len >= cap)
            return -1;
        memcpy(file, path, len);
        file[len] = '\0';
        *dset = c + 1;
        return 1;
    }
    return ends_h5(path, strlen(path)) ? -1 : 0;
}

rrr_status rrr_check_finite(rrr_err *e, const char *name, const double *a, size_t nloc,
                            size_t cols, size_t r0)
{
    double amax = 0;
    const size_t k = rrr_scan(a, nloc, cols, NULL, NULL, &amax);
    if (k < nloc * cols)
        return RRR_FAIL(e, RRR_EINVAL, "%s: non-finite value %g at row %zu, column %zu",
                        name, a[k], r0 + k / cols, k % cols);
    return RRR_OK;
}

rrr_status rrr_input_no_dataset(rrr_ctx *ctx, const char *path)
{
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: name the dataset inside the HDF5 file as "
                    "FILE.h5:/path/to/dataset (h5ls -r FILE.h5 lists them)", path);
}

/* Local. The file at path begins with the .npy magic string. */
static int holds_npy(const char *path)
{
    rrr_err e = { .st = RRR_OK };
    unsigned long long size = 0;
    unsigned char magic[6] = { 0 };
    FILE *f = rrr_input_open(&e, path, &size);
    if (f == NULL)
        return 0;
    int npy = fread(magic, 1, sizeof magic, f) == sizeof magic &&
              memcmp(magic, "\x93NUMPY", sizeof magic) == 0;
    fclose(f);
    return npy;
}

rrr_status rrr_input_unnamed(rrr_ctx *ctx, const char *path)
{
    int npy = ctx->rank == 0 ? holds_npy(path) : 0;
    MPI_Bcast(&npy, 1, MPI_INT, 0, ctx->comm);
    if (npy) /* the name says HDF5, the bytes say .npy: without this, each error sends to the other */
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: a .npy file under an HDF5 name: rename it to "
                        "end in .npy (rrr reads FILE.h5 names as HDF5 files)", path);
    return rrr_input_no_dataset(ctx, path);
}

void rrr_file_stamp_of(int fd, const char *path, rrr_file_stamp *s)
{
    struct stat sb;
    *s = (rrr_file_stamp){ 0, 0 };
    if (fd >= 0 ? fstat(fd, &sb) == 0 : stat(path, &sb) == 0)
        *s = (rrr_file_stamp){ (unsigned long long)sb.st_ino,
                               (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec };
}

rrr_status rrr_input_same(rrr_err *e, int fd, const char *path, const rrr_file_stamp *s,
                          const char *name)
{
    rrr_file_stamp now;
    if (s->ino == 0 && s->mtime_ns == 0)
        return RRR_OK;
    rrr_file_stamp_of(fd, path, &now);
    if ((now.ino == 0 && now.mtime_ns == 0) || (now.ino == s->ino && now.mtime_ns == s->mtime_ns))
        return RRR_OK;
    return RRR_FAIL(e, RRR_EIO, "%s: %s since rrr first opened it (its rows would not all be "
                    "that file's); rerun on a file that stays put while rrr reads it", name, now.ino != s->ino ? "another file was put at its name"
                                                         : "the file was rewritten");
}

rrr_status rrr_input_regular(rrr_ctx *ctx, const char *file, rrr_file_stamp *stamp)
{
    rrr_status st = RRR_OK;
    rrr_file_stamp s = { 0, 0 };
    if (ctx->rank == 0) {
        unsigned long long size = 0;
        FILE *f = rrr_input_open(&ctx->err, file, &size);
        if (f == NULL) {
            st = RRR_EIO;
        } else {
            rrr_file_stamp_of(fileno(f), file, &s);
            fclose(f);
        }
    }
    st = rrr_agree(ctx, st);
    if (stamp != NULL && st == RRR_OK) {
        MPI_Bcast(&s, (int)sizeof s, MPI_BYTE, 0, ctx->comm);
        *stamp = s;
    }
    return st;
}

/* Collective. My rows of an HDF5 dataset. */
static rrr_status h5_read(rrr_ctx *ctx, const char *file, const char *dset, const char *path,
                          int ids, rrr_block **out)
{
    rrr_status st = rrr_input_regular(ctx, file, NULL);
    return st == RRR_OK ? rrr_h5_read_rows(ctx, file, dset, path, ids, out) : st;
}

rrr_status rrr_input_path_fits(rrr_ctx *ctx, const char *path)
{
    size_t len = strlen(path);
    if (len < PATH_MAX) /* a FILE.h5 part is shorter still */
        return RRR_OK;
    return RRR_FAIL(&ctx->err, RRR_EIO, "%.64s...: path too long (%zu bytes, at most %d)", path,
                    len, PATH_MAX - 1);
}

rrr_status rrr_block_read(rrr_ctx *ctx, const char *path, rrr_block **out)
{
    char file[PATH_MAX];
    const char *dset;
    if (ctx == NULL || out == NULL)
        return RRR_EINVAL;
    *out = NULL;
    ctx->err = (rrr_err){ .st = RRR_OK }; /* a new call: rrr_ctx_errmsg reports its failure */
    if (path == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_block_read: no path");
    if (rrr_input_path_fits(ctx, path) != RRR_OK)
        return RRR_EIO;
    int kind = rrr_path_h5(path, file, sizeof file, &dset);
    if (kind < 0)
        return rrr_input_unnamed(ctx, path);
    return kind ? h5_read(ctx, file, dset, path, 0, out) : rrr_npy_read_rows(ctx, path, NULL, 0, out);
}

rrr_status rrr_block_read_ids(rrr_ctx *ctx, const char *path, rrr_block **out)
{
    char file[PATH_MAX];
    const char *dset;
    *out = NULL;
    if (rrr_input_path_fits(ctx, path) != RRR_OK)
        return RRR_EIO;
    int kind = rrr_path_h5(path, file, sizeof file, &dset);
    if (kind < 0)
        return rrr_input_unnamed(ctx, path);
    if (kind == 0)
        return rrr_npy_read_rows(ctx, path, NULL, 1, out);
    rrr_status st = h5_read(ctx, file, dset, path, 1, out);
    if (st == RRR_OK && (*out)->ncols != 1) { /* the shape is replicated */
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu; fold ids are one column (n x 1)",
                      path, (*out)->n, (*out)->ncols);
        rrr_block_destroy(out);
    }
    return st;
}

rrr_status rrr_block_stage(rrr_ctx *ctx, rrr_outset *o, const rrr_block *B, const char *path)
{
    char file[PATH_MAX];
    const char *dset;
    int slot = -1, kind = rrr_path_h5(path, file, sizeof file, &dset);
    if (kind < 0)
        return rrr_input_no_dataset(ctx, path);
    /* a new file under an exclusive temporary name, renamed over the final one when the
     * set commits: an HDF5 FILE is replaced, not updated, so a reader never sees it
     * half-written */
    rrr_status st = rrr_outset_add(ctx, o, kind ? file : path, &slot);
    if (st != RRR_OK)
        return st;
    if (kind == 0)
        return rrr_npy_write_rows(ctx, o, slot, B->n, B->ncols, B->r0, B->nloc, B->a);
    if (ctx->rank == 0) /* the data and a generous 16 KiB for HDF5's own metadata */
        st = rrr_outset_room(ctx, o, slot, (unsigned long long)B->n * B->ncols * 8 + (16u << 10));
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_h5_write_rows(ctx, rrr_outset_tmp(o, slot), dset, path, B);
    if (st == RRR_OK) /* HDF5 opened it by name: still the file rank 0 created? */
        st = rrr_agree(ctx, rrr_outset_verify(ctx, o, slot));
    return st;
}

rrr_status rrr_block_write(rrr_ctx *ctx, const rrr_block *B, const char *path)
{
    if (ctx == NULL)
        return RRR_EINVAL;
    ctx->err = (rrr_err){ .st = RRR_OK };
    if (B == NULL || path == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_block_write: no block or no path");
    rrr_outset o;
    rrr_outset_init(&o);
    return rrr_outset_finish(ctx, &o, rrr_block_stage(ctx, &o, B, path));
}

rrr_status rrr_output_file_check(rrr_ctx *ctx, const char *path, const char *what)
{
    char file[PATH_MAX];
    const char *dset;
    int kind = rrr_path_h5(path, file, sizeof file, &dset);
    if (kind < 0)
        return rrr_input_no_dataset(ctx, path);
    /* a dataset needs a name: "/" (the root group), "/g/" and "/a//b" are not ones */
    size_t len = kind ? strlen(dset) : 1;
    if (kind && (len == 0 || dset[len - 1] == '/' || strstr(dset, "//") != NULL))
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s %s: cannot create this dataset (a name such "
                        "as FILE.h5:/Yhat or FILE.h5:/group/Yhat)", what, path);
    return rrr_output_check(ctx, kind ? file : path, 0, what);
}

/* Local. The file at name exists and is file id's. */
static int is_file(const char *name, const struct stat *id)
{
    struct stat sb;
    return stat(name, &sb) == 0 && sb.st_dev == id->st_dev && sb.st_ino == id->st_ino;
}

rrr_status rrr_input_holds(rrr_err *e, int fd, long long need, const char *name)
{
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || (long long)sb.st_size >= need)
        return RRR_OK;
    return RRR_FAIL(e, RRR_EIO, "%s: the file changed size while it was being read (now %lld "
                    "bytes, %lld needed); rerun on a file that stays put while rrr reads it",
                    name, (long long)sb.st_size, need);
}

/* Local. One of the external raw-data files of dataset dset of file (its values, kept
 * outside the HDF5 file: predict --out raw.bin had overwritten the X it read from there) is
 * file id's; a relative name is tried from here and from the directory of holder, the file
 * that holds the dataset. */
static int external_is(const char *file, const char *dset, const char *holder,
                       const struct stat *id)
{
    char ext[PATH_MAX], beside[PATH_MAX];
    const char *slash = strrchr(holder, '/');
    for (int k = 0; rrr_h5_external(file, dset, k, ext, sizeof ext); k++) {
        if (is_file(ext, id))
            return 1;
        if (ext[0] != '/' && slash != NULL &&
            snprintf(beside, sizeof beside, "%.*s/%s", (int)(slash - holder), holder, ext) <
                (int)sizeof beside &&
            is_file(beside, id))
            return 1;
    }
    return 0;
}

/* Local. The file a path names (FILE for FILE.h5:/dataset, the file an external link there
 * leads to, and the dataset's external raw-data files) exists and is file id's. */
static int same_file(const char *path, const struct stat *id)
{
    char file[PATH_MAX], src[PATH_MAX];
    const char *dset;
    int kind = rrr_path_h5(path, file, sizeof file, &dset);
    if (kind < 0)
        return 0;
    return is_file(kind ? file : path, id) ||
           (kind == 1 && rrr_h5_source(file, dset, src, sizeof src) &&
            (is_file(src, id) || external_is(file, dset, src, id)));
}

/* Local. s without trailing slashes (the root "/" stays). */
static void trim_slashes(char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* Local. path made absolute and resolved as far as it exists, the rest (parts this
 * command creates, such as --out DIR) appended as written without "." and empty parts:
 * "./m//", "m" and "m/." agree before m exists. */
static void resolve_far(const char *path, char out[PATH_MAX])
{
    char cur[PATH_MAX], next[PATH_MAX], part[PATH_MAX];
    int real = 1; /* cur exists (resolved); once a part does not, the rest is lexical */
    if (path[0] == '/' ? realpath("/", cur) == NULL : getcwd(cur, sizeof cur) == NULL) {
        snprintf(out, PATH_MAX, "%s", path);
        return;
    }
    for (const char *s = path; *s != '\0';) {
        size_t n = strcspn(s, "/");
        snprintf(part, sizeof part, "%.*s", (int)n, s);
        s += n + (s[n] == '/');
        if (n == 0 || strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0 && !real) { /* up from a part that does not exist */
            char *sl = strrchr(cur, '/');
            sl[sl == cur] = '\0';
            continue;
        }
        if (snprintf(next, sizeof next, "%s/%s", strcmp(cur, "/") == 0 ? "" : cur, part) >=
            (int)sizeof next)
            break;
        if (!real || realpath(next, cur) == NULL) {
            real = 0;
            memcpy(cur, next, sizeof cur);
        }
    }
    memcpy(out, cur, PATH_MAX);
}

/* Local. path (the file part of FILE.h5:/dataset) as its parent directory, resolved as
 * far as it exists (resolve_far), and its last component (into base). */
static void split_resolved(const char *path, char dir[PATH_MAX], char base[PATH_MAX])
{
    char file[PATH_MAX], parent[PATH_MAX];
    const char *dset;
    if (rrr_path_h5(path, file, sizeof file, &dset) <= 0)
        snprintf(file, sizeof file, "%s", path);
    trim_slashes(file);
    const char *slash = strrchr(file, '/');
    snprintf(base, PATH_MAX, "%s", slash != NULL ? slash + 1 : file);
    if (slash == NULL)
        strcpy(parent, ".");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash == file ? 1 : slash - file), file);
    resolve_far(parent, dir);
}

/* Local. a and b name the same output: by device and inode of the names themselves when
 * both exist (follow = 0, lstat: two symlinks to one file are two outputs, each replaced
 * by its own rename) or of the files they lead to (follow = 1, stat), else by the resolved
 * parent directory and the last component (so "m/U.npy" and "m/./U.npy" match before
 * either is written). */
static int same_output(const char *a, const char *b, int follow)
{
    char fa[PATH_MAX], fb[PATH_MAX], da[PATH_MAX], db[PATH_MAX], ba[PATH_MAX], bb[PATH_MAX];
    const char *dset;
    struct stat sa, sb;
    if (rrr_path_h5(a, fa, sizeof fa, &dset) <= 0)
        snprintf(fa, sizeof fa, "%s", a);
    if (rrr_path_h5(b, fb, sizeof fb, &dset) <= 0)
        snprintf(fb, sizeof fb, "%s", b);
    if ((follow ? stat(fa, &sa) == 0 && stat(fb, &sb) == 0
                : lstat(fa, &sa) == 0 && lstat(fb, &sb) == 0))
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    split_resolved(a, da, ba);
    split_resolved(b, db, bb);
    return strcmp(da, db) == 0 && strcmp(ba, bb) == 0;
}

int rrr_path_in_dir(const char *path, const char *dir)
{
    char pd[PATH_MAX], pb[PATH_MAX], d[PATH_MAX];
    if (strchr(path, '/') == NULL)
        return 0;
    split_resolved(path, pd, pb);
    resolve_far(dir, d);
    return strcmp(pd, d) == 0;
}

int rrr_same_file(rrr_ctx *ctx, const char *a, const char *b)
{
    int same = ctx->rank == 0 && a != NULL && b != NULL && same_output(a, b, 1);
    MPI_Bcast(&same, 1, MPI_INT, 0, ctx->comm);
    return same;
}

rrr_status rrr_output_not_output(rrr_ctx *ctx, const char *out, const char *what,
                                 const char *const *others, int nothers, const char *whose)
{
    rrr_status st = RRR_OK;
    for (int k = 0; ctx->rank == 0 && k < nothers && st == RRR_OK; k++)
        if (others[k] != NULL && same_output(out, others[k], 0))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s %s is also %s, which the same command "
                          "writes: name another file", what, out, whose);
    return rrr_agree(ctx, st);
}

rrr_status rrr_output_not_input(rrr_ctx *ctx, const char *out, const char *what,
                                const char *const *inputs, int ninputs)
{
    char file[PATH_MAX];
    const char *dset;
    struct stat id;
    rrr_status st = RRR_OK;
    int kind = rrr_path_h5(out, file, sizeof file, &dset);
    if (ctx->rank == 0 && kind >= 0 && stat(kind ? file : out, &id) == 0)
        for (int k = 0; k < ninputs && st == RRR_OK; k++)
            if (inputs[k] != NULL && same_file(inputs[k], &id))
                st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s %s would replace the input %s%s", what,
                              out, inputs[k], kind ? " (an HDF5 output is a new file: name "
                              "another FILE.h5)" : "");
    return rrr_agree(ctx, st);
}
