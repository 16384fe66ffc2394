/* src/h5_io.c: HDF5 datasets over MPI-IO: each rank reads or writes its hyperslab of rows
 * with one collective call (the MPI-IO file driver, collective metadata). Built without
 * HDF5 (make HDF5=0, or no hdf5-openmpi found), every entry point says how to get it. */
#include "h5.h"

#ifdef RRR_HAVE_HDF5

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "comm.h"
#include "input.h"
#include "stream.h"

/* Every handle of one dataset access; negative means not open. Closed by h5_close. */
typedef struct {
    hid_t fapl, file, dset, type, fspace, mspace, dxpl, lcpl;
    int independent;   /* reads in independent mode (a dataset with chunks never written) */
    H5E_auto2_t efunc; /* HDF5's error printer, off while rrr is in HDF5 (one message) */
    void *edata;
} h5_handles;

static void h5_begin(h5_handles *h)
{
    h->fapl = h->file = h->dset = h->type = h->fspace = h->mspace = h->dxpl = h->lcpl = -1;
    h->independent = 0;
    H5Eget_auto2(H5E_DEFAULT, &h->efunc, &h->edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Collective (H5Fclose). Close everything; the file last, since the MPI-IO driver closes
 * a file only once nothing in it is open. Returns -1 if the file did not close cleanly. */
static int h5_close(h5_handles *h)
{
    int rc = 0;
    if (h->dxpl >= 0) H5Pclose(h->dxpl);
    if (h->lcpl >= 0) H5Pclose(h->lcpl);
    if (h->mspace >= 0) H5Sclose(h->mspace);
    if (h->fspace >= 0) H5Sclose(h->fspace);
    if (h->type >= 0) H5Tclose(h->type);
    if (h->dset >= 0) H5Dclose(h->dset);
    if (h->file >= 0 && H5Fclose(h->file) < 0)
        rc = -1;
    if (h->fapl >= 0) H5Pclose(h->fapl);
    H5Eset_auto2(H5E_DEFAULT, h->efunc, h->edata);
    return rc;
}

/* Local. File access through MPI-IO on the context's communicator; metadata is read by one
 * rank and broadcast, and written collectively (what scales to thousands of ranks). */
static hid_t mpio_fapl(const rrr_ctx *ctx)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && (H5Pset_fapl_mpio(fapl, ctx->comm, rrr_mpiio_info()) < 0 ||
                      H5Pset_all_coll_metadata_ops(fapl, 1) < 0 ||
                      H5Pset_coll_metadata_write(fapl, 1) < 0)) {
        H5Pclose(fapl);
        fapl = -1;
    }
    return fapl;
}

/* Local (rank 0). As for .npy: a missing or unreadable file is RRR_EIO; a file that is
 * not HDF5 is RRR_EINVAL. */
static rrr_status check_file(rrr_ctx *ctx, const char *file)
{
    struct stat sb;
    if (stat(file, &sb) != 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot open: %s", file, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: not a regular file", file);
#if H5_VERSION_GE(1, 12, 0)
    htri_t ok = H5Fis_accessible(file, H5P_DEFAULT);
#else
    htri_t ok = H5Fis_hdf5(file);
#endif
    if (ok < 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot read", file);
    if (ok == 0)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: not an HDF5 file (name a .npy file by its "
                        "path alone, ending in .npy)", file);
    return RRR_OK;
}

/* Local. Append s to out (cap bytes), cut if it does not fit. */
static void append(char *out, size_t cap, const char *s)
{
    size_t len = strlen(out);
    if (len + 1 < cap)
        snprintf(out + len, cap - len, "%s", s);
}

/* Collective (metadata). "a, b, c" for the first few members of group gname, or "". */
static void list_members(hid_t file, const char *gname, char *out, size_t cap)
{
    enum { SHOWN = 8 };
    H5G_info_t gi;
    out[0] = '\0';
    hid_t g = H5Gopen2(file, gname, H5P_DEFAULT);
    if (g < 0)
        return;
    if (H5Gget_info(g, &gi) >= 0) {
        for (hsize_t k = 0; k < gi.nlinks && k < SHOWN; k++) {
            char nm[64];
            if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, nm, sizeof nm,
                                   H5P_DEFAULT) < 0)
                break;
            if (k > 0)
                append(out, cap, ", ");
            append(out, cap, nm);
        }
        if (gi.nlinks > SHOWN)
            append(out, cap, ", ...");
    }
    H5Gclose(g);
}

/* Collective (metadata). Why dset could not be opened: a group, or no such name (with
 * what its parent group holds, so that a typo shows). */
static rrr_status open_failed(rrr_ctx *ctx, hid_t file, const char *dset, const char *name)
{
    char parent[256] = "/", members[256];
    hid_t g = H5Gopen2(file, dset, H5P_DEFAULT);
    if (g >= 0) {
        H5Gclose(g);
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: a group, not a dataset: name one of its "
                        "datasets (h5ls -r lists them)", name);
    }
    if (H5Lexists(file, dset, H5P_DEFAULT) > 0) /* the link is there; what it names is not */
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: a link to nothing (an external link to a file "
                        "that cannot be opened, or a soft link to a missing object)", name);
    const char *slash = strrchr(dset, '/');
    if (slash != NULL && slash > dset && (size_t)(slash - dset) < sizeof parent)
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - dset), dset);
    list_members(file, parent, members, sizeof members);
    if (members[0] == '\0')
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: no such dataset", name);
    return RRR_FAIL(&ctx->err, RRR_EIO, "%s: no such dataset (%s holds: %s)", name, parent,
                    members);
}

/* Local, pure. A datatype class as a user knows it. */
static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floats of another size";
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "compound records";
    case H5T_ENUM: return "enums";
    case H5T_ARRAY: return "arrays";
    default: return "a non-numeric type";
    }
}

/* Local (the same metadata on every rank). The dataset is 2-D float64 or float32 (or, for
 * fold ids, integers of up to 8 bytes); its shape into n, p. The messages carry the fix,
 * as the .npy reader's do. */
static rrr_status check_dataset(rrr_ctx *ctx, h5_handles *h, const char *name, int ids,
                                size_t *n, size_t *p, size_t *itemsize)
{
    hsize_t dims[H5S_MAX_RANK];
    H5T_class_t cls = H5Tget_class(h->type);
    size_t size = H5Tget_size(h->type);
    if (ids && cls == H5T_INTEGER && size <= 8)
        ; /* H5Dread converts them to double exactly (fold ids are far below 2^53) */
    else if (cls != H5T_FLOAT || (size != 4 && size != 8))
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: dataset of %s (need float64 or float32): "
                        "write arr.astype('f8') instead", name, class_name(cls));
    int nd = H5Sget_simple_extent_ndims(h->fspace);
    if (nd < 0 || H5Sget_simple_extent_dims(h->fspace, dims, NULL) < 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot read the dataset's shape", name);
    if (nd != 2) {
        char shape[128] = "(";
        for (int k = 0; k < nd; k++) {
            char v[32];
            snprintf(v, sizeof v, k == 0 ? "%llu" : ", %llu", (unsigned long long)dims[k]);
            append(shape, sizeof shape, v);
        }
        append(shape, sizeof shape, nd == 1 ? ",)" : ")");
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: expected a 2-D dataset, got shape %s%s",
                        name, shape, nd == 1 ? ": for one column write arr.reshape(-1, 1)" : "");
    }
    *n = (size_t)dims[0];
    *p = (size_t)dims[1];
    *itemsize = size;
    return RRR_OK;
}

/* Local. Select my rows [r0, r0 + nloc) of the n x cols file space, and a memory space of
 * the same nloc x cols; a rank with no rows selects nothing and still takes part. */
static rrr_status select_rows(h5_handles *h, size_t cols, size_t r0, size_t nloc)
{
    hsize_t start[2] = { r0, 0 }, count[2] = { nloc, cols };
    hsize_t mdims[2] = { nloc > 0 ? nloc : 1, cols > 0 ? cols : 1 };
    h->mspace = H5Screate_simple(2, mdims, NULL);
    if (h->mspace < 0)
        return RRR_EINTERNAL;
    herr_t rc = nloc > 0 && cols > 0
                    ? H5Sselect_hyperslab(h->fspace, H5S_SELECT_SET, start, NULL, count, NULL)
                    : H5Sselect_none(h->fspace);
    if (rc >= 0 && !(nloc > 0 && cols > 0))
        rc = H5Sselect_none(h->mspace);
    h->dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (rc < 0 || h->dxpl < 0 ||
        H5Pset_dxpl_mpio(h->dxpl, h->independent ? H5FD_MPIO_INDEPENDENT : H5FD_MPIO_COLLECTIVE) < 0)
        return RRR_EINTERNAL;
    return RRR_OK;
}

/* Local (the file's metadata: the same on every rank). Every filter the dataset's chunks
 * went through is one this HDF5 can undo: h5py's compression="lzf" (a plugin filter) read
 * as "cannot read rows" otherwise. */
static rrr_status check_filters(rrr_ctx *ctx, hid_t dset, const char *name)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    int nf = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
    rrr_status st = RRR_OK;
    for (int i = 0; i < nf && st == RRR_OK; i++) {
        unsigned flags = 0, config = 0;
        size_t nelem = 0;
        char fname[64] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nelem, NULL, sizeof fname,
                                         fname, &config);
        if (id >= 0 && H5Zfilter_avail(id) <= 0)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: its chunks are encoded with HDF5 filter %d "
                          "(%s), which this HDF5 library does not have: rewrite the dataset "
                          "uncompressed or with gzip (h5py: compression=\"gzip\")", name, (int)id,
                          fname[0] ? fname : "unnamed");
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

/* Local (the file's metadata: the same on every rank). How the dataset is stored: a
 * virtual dataset (h5py's create_virtual_dataset) is one parallel HDF5 does not read
 * ("cannot read rows" otherwise); a chunked one whose chunks were only partly written
 * (created with a shape and filled in part, or resized past its rows) is read in
 * independent mode, as the fill value where nothing was written, as h5py reads it: the
 * collective read failed on the ranks whose rows touched an unwritten chunk and left the
 * others waiting inside it (a hang at 2 ranks and more). */
static rrr_status check_storage(rrr_ctx *ctx, h5_handles *h, const char *name)
{
    hid_t dcpl = H5Dget_create_plist(h->dset);
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    H5D_space_status_t space = H5D_SPACE_STATUS_ERROR;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (layout == H5D_VIRTUAL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: a virtual dataset, which parallel HDF5 "
                        "cannot read: copy it into an ordinary one (h5py: f['X2'] = "
                        "f['X'][...]) and name that", name);
    if (H5Dget_space_status(h->dset, &space) < 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot read how the dataset is stored", name);
    h->independent = layout == H5D_CHUNKED && space == H5D_SPACE_STATUS_PART_ALLOCATED;
    return RRR_OK;
}

/* Collective. Open file and dataset dset and check what it holds. */
static rrr_status open_dataset(rrr_ctx *ctx, h5_handles *h, const char *file,
                               const char *dset, const char *name, int ids, size_t *n,
                               size_t *p, size_t *itemsize)
{
    /* every rank: a path that some rank cannot see would hang the collective open below */
    rrr_status st = rrr_agree(ctx, check_file(ctx, file));
    if (st == RRR_OK)
        st = rrr_mpiio_headroom(ctx, name);
    if (st != RRR_OK)
        return st;
    h->fapl = mpio_fapl(ctx);
    if (h->fapl >= 0)
        h->file = H5Fopen(file, H5F_ACC_RDONLY, h->fapl);
    /* check_file read its signature: a file that no driver opens is damaged (truncated?);
     * one that only the sequential driver opens meets a file system without MPI-IO */
    int failed = h->file < 0;
    MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, ctx->comm);
    if (failed && ctx->rank == 0) { /* rank 0's verdict, the only failure agreed below */
        hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0)
            H5Fclose(f);
        st = f < 0 ? RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: an HDF5 file that HDF5 cannot open "
                              "(truncated or damaged?)", file)
                   : RRR_FAIL(&ctx->err, RRR_EIO, "%s: HDF5's sequential driver opens it, its "
                              "MPI-IO driver does not on every rank (a file system without "
                              "MPI-IO support?)", file);
    }
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    h->dset = H5Dopen2(h->file, dset, H5P_DEFAULT);
    if (h->dset < 0)
        return rrr_agree(ctx, open_failed(ctx, h->file, dset, name)); /* same on all ranks */
    st = rrr_agree(ctx, check_filters(ctx, h->dset, name));
    if (st == RRR_OK)
        st = rrr_agree(ctx, check_storage(ctx, h, name));
    if (st != RRR_OK)
        return st;
    h->type = H5Dget_type(h->dset);
    h->fspace = H5Dget_space(h->dset);
    if (h->type < 0 || h->fspace < 0)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot read the dataset's type", name);
    else
        st = check_dataset(ctx, h, name, ids, n, p, itemsize);
    return rrr_agree(ctx, st);
}

enum { WATCH_MAX = 9 }; /* files a reader watches: the HDF5 file and 8 external raw files */

/* An open dataset for reads of row panels (stream.c): one collective H5Dread of a
 * hyperslab of rows per panel (blocking: HDF5 has no nonblocking read without the async
 * VOL connector). */
struct rrr_h5_reader {
    h5_handles h;
    const char *name; /* borrowed, for messages */
    size_t n, cols, itemsize;
    double chunk_bytes; /* of a filtered chunk (rrr_h5_reader_filtered_chunk), or 0 */
    int nwatch;         /* files watched for shrinking below their size at the open:  */
    int fd[WATCH_MAX];  /* the file that holds the dataset, its external raw files    */
    off_t size[WATCH_MAX];
};

/* Local. The k-th external raw-data file of a dataset's creation properties dcpl: its name
 * (as stored) into out (cap bytes), its offset and size there; 0 if there is none. */
static int external_at(hid_t dcpl, int k, char *out, size_t cap, off_t *offset, hsize_t *size)
{
    if (k < 0 || k >= H5Pget_external_count(dcpl) || cap < 2)
        return 0;
    out[cap - 1] = '\0';
    return H5Pget_external(dcpl, (unsigned)k, cap - 1, out, offset, size) >= 0 && out[0] != '\0';
}

/* Local. Start watching path (if it opens), at its present size; RRR_EIO if it is shorter
 * than need bytes. */
static rrr_status watch(rrr_ctx *ctx, rrr_h5_reader *rd, const char *path, double need)
{
    struct stat sb;
    int fd = rd->nwatch < WATCH_MAX ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0 && fstat(fd, &sb) == 0) {
        rd->fd[rd->nwatch] = fd;
        rd->size[rd->nwatch++] = sb.st_size;
        if ((double)sb.st_size < need)
            return RRR_FAIL(&ctx->err, RRR_EIO, "%s: its external raw-data file %s holds %lld "
                            "bytes, the dataset needs %.0f there: it was truncated, or is not "
                            "this dataset's", rd->name, path, (long long)sb.st_size, need);
    } else if (fd >= 0) {
        close(fd);
    }
    return RRR_OK;
}

/* Local. Watch the file that holds rd's dataset (an external link's target, say) and its
 * external raw-data files (H5Pset_external; a relative name from the working directory,
 * where HDF5 1.10 looks for it), and refuse raw files shorter than the dataset's part in
 * them: a file truncated before the read or during it reads as zeros past its end, with no
 * error from H5Dread (a different fit, exit 0). */
static rrr_status watch_files(rrr_ctx *ctx, rrr_h5_reader *rd)
{
    char path[PATH_MAX], ext[PATH_MAX];
    hid_t src = H5Iget_file_id(rd->h.dset);
    ssize_t len = src >= 0 ? H5Fget_name(src, path, sizeof path) : -1;
    rrr_status st = RRR_OK;
    if (src >= 0)
        H5Fclose(src);
    if (len <= 0 || (size_t)len >= sizeof path)
        return RRR_OK;
    (void)watch(ctx, rd, path, 0);
    hid_t dcpl = H5Dget_create_plist(rd->h.dset);
    double left = (double)rd->n * (double)rd->cols * (double)rd->itemsize; /* to be found */
    off_t offset = 0;
    hsize_t size = 0;
    for (int k = 0; dcpl >= 0 && st == RRR_OK &&
                    external_at(dcpl, k, ext, sizeof ext, &offset, &size); k++) {
        double here = size == H5F_UNLIMITED || (double)size > left ? left : (double)size;
        left -= here;
        if (access(ext, R_OK) == 0) /* else H5Dread says it cannot open it */
            st = watch(ctx, rd, ext, (double)offset + here);
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

/* HDF5's error-stack walker: the innermost record (n = 0, where the failure began) into
 * data, a char[256]: its description and its minor message ("filter returned failure
 * during read: read failed"). */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    char minor[128] = "";
    if (n == 0) {
        if (H5Eget_msg(e->min_num, NULL, minor, sizeof minor) < 0)
            minor[0] = '\0';
        snprintf((char *)data, 256, "%s%s%s", e->desc ? e->desc : "",
                 e->desc && e->desc[0] && minor[0] ? ": " : "", minor);
    }
    return 0;
}

/* Local. Why the HDF5 call that just failed failed, from the default error stack (printing
 * is off: h5_begin), into cause (256 chars; "" when HDF5 recorded nothing). */
static void h5_cause(char *cause)
{
    cause[0] = '\0';
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, cause);
}

/* Local. RRR_EIO if a watched file is now smaller than it was at the open. */
static rrr_status still_whole(rrr_ctx *ctx, const rrr_h5_reader *rd)
{
    rrr_status st = RRR_OK;
    for (int i = 0; i < rd->nwatch && st == RRR_OK; i++)
        st = rrr_input_holds(&ctx->err, rd->fd[i], (long long)rd->size[i], rd->name);
    return st;
}

/* Local. The bytes of one chunk of a filtered (compressed) chunked dataset, else 0. */
static double filtered_chunk_bytes(hid_t dset, size_t itemsize)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    hsize_t chunk[2] = { 0, 0 };
    double bytes = 0;
    if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_nfilters(dcpl) > 0 &&
        H5Pget_chunk(dcpl, 2, chunk) == 2)
        bytes = (double)chunk[0] * (double)chunk[1] * (double)itemsize;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return bytes;
}

double rrr_h5_reader_filtered_chunk(const rrr_h5_reader *rd) { return rd->chunk_bytes; }

rrr_status rrr_h5_reader_open(rrr_ctx *ctx, const char *file, const char *dset,
                              const char *name, int ids, rrr_h5_reader **out)
{
    rrr_h5_reader *rd = rrr_calloc(1, sizeof *rd);
    rrr_status st = rd ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory", name);
    *out = NULL;
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(rd);
        return st;
    }
    rd->name = name;
    rd->itemsize = 8;
    h5_begin(&rd->h);
    st = open_dataset(ctx, &rd->h, file, dset, name, ids, &rd->n, &rd->cols, &rd->itemsize);
    if (st != RRR_OK) {
        rrr_h5_reader_close(ctx, &rd);
        return st;
    }
    rd->chunk_bytes = filtered_chunk_bytes(rd->h.dset, rd->itemsize);
    st = rrr_agree(ctx, watch_files(ctx, rd)); /* the files' sizes: the same everywhere */
    if (st != RRR_OK) {
        rrr_h5_reader_close(ctx, &rd);
        return st;
    }
    *out = rd;
    return st;
}

void rrr_h5_reader_shape(const rrr_h5_reader *rd, size_t *n, size_t *cols, size_t *itemsize)
{
    *n = rd->n;
    *cols = rd->cols;
    *itemsize = rd->itemsize;
}

rrr_status rrr_h5_reader_read(rrr_ctx *ctx, rrr_h5_reader *rd, size_t row, size_t m,
                              double *buf)
{
    h5_handles *h = &rd->h;
    rrr_status st = RRR_OK;
    if (h->mspace >= 0) /* the previous panel's selection */
        H5Sclose(h->mspace);
    if (h->dxpl >= 0)
        H5Pclose(h->dxpl);
    h->mspace = h->dxpl = -1;
    if (select_rows(h, rd->cols, row, m) != RRR_OK)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: cannot select rows [%zu, %zu)", rd->name,
                      row, row + m);
    st = rrr_agree(ctx, st); /* everyone enters the collective read, or no one */
    /* an empty dataset (the shape is replicated): nothing to read, and a contiguous dataset
     * without storage refuses even an empty read */
    if (st == RRR_OK && rd->n * rd->cols > 0 &&
        H5Dread(h->dset, H5T_NATIVE_DOUBLE, h->mspace, h->fspace, h->dxpl, buf) < 0) {
        char cause[256];
        h5_cause(cause);
        st = still_whole(ctx, rd); /* a file that shrank: the cause HDF5 cannot name */
        if (st == RRR_OK)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot read rows [%zu, %zu)%s%s%s",
                          rd->name, row, row + m, cause[0] ? " (HDF5: " : "", cause,
                          cause[0] ? ")" : "");
    } else if (st == RRR_OK) {
        st = still_whole(ctx, rd);
    }
    ctx->bytes_read += m * rd->cols * rd->itemsize;
    return st;
}

rrr_status rrr_h5_reader_close(rrr_ctx *ctx, rrr_h5_reader **rdp)
{
    rrr_h5_reader *rd = *rdp;
    rrr_status st = RRR_OK;
    if (rd == NULL)
        return st;
    if (h5_close(&rd->h) < 0)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: close failed", rd->name);
    for (int i = 0; i < rd->nwatch; i++)
        close(rd->fd[i]);
    free(rd);
    *rdp = NULL;
    return st;
}

rrr_status rrr_h5_read_rows(rrr_ctx *ctx, const char *file, const char *dset,
                            const char *name, int ids, rrr_block **out)
{
    double t0 = rrr_phase_begin();
    rrr_h5_reader *rd = NULL;
    rrr_block *B = NULL;
    size_t r0 = 0, nloc = 0;
    rrr_status st = rrr_h5_reader_open(ctx, file, dset, name, ids, &rd);
    if (st != RRR_OK)
        goto done;
    rrr_partition(rd->n, ctx->size, ctx->rank, &r0, &nloc);
    B = calloc(1, sizeof *B);
    double *a = rrr_malloc(nloc * rd->cols, sizeof(double));
    if (B == NULL || a == NULL) {
        free(a);
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for %zu x %zu rows", name,
                      nloc, rd->cols);
    } else {
        *B = (rrr_block){ .n = rd->n, .ncols = rd->cols, .r0 = r0, .nloc = nloc, .a = a,
                          .owns = 1 };
    }
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_h5_reader_read(ctx, rd, r0, nloc, B->a);
    if (st == RRR_OK)
        st = rrr_check_finite(&ctx->err, name, B->a, nloc, rd->cols, r0);
done:
    if (rrr_h5_reader_close(ctx, &rd) != RRR_OK && st == RRR_OK)
        st = RRR_EIO;
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        rrr_block_destroy(&B);
    *out = B;
    rrr_phase_end(ctx, RRR_T_READ, t0);
    return st;
}

/* Collective. Create file and the n x ncols float64 dataset dset in it. */
static rrr_status create_dataset(rrr_ctx *ctx, h5_handles *h, const char *file,
                                 const char *dset, const char *name, const rrr_block *B)
{
    rrr_status st = rrr_mpiio_headroom(ctx, name);
    if (st != RRR_OK)
        return st;
    h->fapl = mpio_fapl(ctx);
    /* file is the empty temporary rank 0 created exclusively (output.h); the caller checks
     * afterwards that it is still that file */
    if (h->fapl >= 0)
        h->file = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, h->fapl);
    if (h->file < 0)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot create with HDF5's MPI-IO driver", file);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    hsize_t dims[2] = { B->n, B->ncols };
    h->lcpl = H5Pcreate(H5P_LINK_CREATE);
    h->fspace = H5Screate_simple(2, dims, NULL);
    if (h->lcpl >= 0 && h->fspace >= 0 && H5Pset_create_intermediate_group(h->lcpl, 1) >= 0)
        h->dset = H5Dcreate2(h->file, dset, H5T_IEEE_F64LE, h->fspace, h->lcpl, H5P_DEFAULT,
                             H5P_DEFAULT);
    if (h->dset < 0)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: cannot create this dataset (a name such as "
                      "FILE.h5:/Yhat or FILE.h5:/group/Yhat)", name);
    return rrr_agree(ctx, st);
}

rrr_status rrr_h5_write_rows(rrr_ctx *ctx, const char *file, const char *dset,
                             const char *name, const rrr_block *B)
{
    double t0 = rrr_phase_begin();
    h5_handles h;
    h5_begin(&h);
    rrr_status st = create_dataset(ctx, &h, file, dset, name, B);
    if (st == RRR_OK && select_rows(&h, B->ncols, B->r0, B->nloc) != RRR_OK)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: cannot select my rows", name);
    st = rrr_agree(ctx, st); /* everyone enters the collective write, or no one */
    static const double none = 0; /* no rows here: HDF5 refuses a NULL buffer even then */
    if (st == RRR_OK && B->n * B->ncols > 0 && /* an empty dataset has nothing to write */
        H5Dwrite(h.dset, H5T_NATIVE_DOUBLE, h.mspace, h.fspace, h.dxpl,
                 B->a != NULL ? B->a : &none) < 0)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot write my rows", name);
    if (h5_close(&h) < 0 && st == RRR_OK)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: close failed (disk full?)", file);
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    return rrr_agree(ctx, st);
}

const char *rrr_h5_version(void)
{
    static char v[32];
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(v, sizeof v, "%u.%u.%u", maj, min, rel);
    return v;
}

int rrr_h5_source(const char *file, const char *dset, char *out, size_t cap)
{
    h5_handles h;
    h5_begin(&h);
    ssize_t len = -1;
    h.file = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (h.file >= 0)
        h.dset = H5Dopen2(h.file, dset, H5P_DEFAULT);
    hid_t src = h.dset >= 0 ? H5Iget_file_id(h.dset) : -1;
    if (src >= 0) {
        len = H5Fget_name(src, out, cap);
        H5Fclose(src);
    }
    (void)h5_close(&h);
    return len > 0 && (size_t)len < cap;
}

int rrr_h5_external(const char *file, const char *dset, int k, char *out, size_t cap)
{
    h5_handles h;
    h5_begin(&h);
    int ok = 0;
    h.file = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (h.file >= 0)
        h.dset = H5Dopen2(h.file, dset, H5P_DEFAULT);
    hid_t dcpl = h.dset >= 0 ? H5Dget_create_plist(h.dset) : -1;
    if (dcpl >= 0) {
        off_t offset = 0;
        hsize_t size = 0;
        ok = external_at(dcpl, k, out, cap, &offset, &size);
        H5Pclose(dcpl);
    }
    (void)h5_close(&h);
    return ok;
}

#else /* no HDF5 */

#include "comm.h"

static rrr_status no_hdf5(rrr_ctx *ctx, const char *name)
{
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: this rrr was built without HDF5: install "
                    "libhdf5-openmpi-dev and rebuild", name);
}

rrr_status rrr_h5_read_rows(rrr_ctx *ctx, const char *file, const char *dset,
                            const char *name, int ids, rrr_block **out)
{
    (void)file;
    (void)dset;
    (void)ids;
    *out = NULL;
    return no_hdf5(ctx, name);
}

rrr_status rrr_h5_write_rows(rrr_ctx *ctx, const char *file, const char *dset,
                             const char *name, const rrr_block *B)
{
    (void)file;
    (void)dset;
    (void)B;
    return no_hdf5(ctx, name);
}

rrr_status rrr_h5_reader_open(rrr_ctx *ctx, const char *file, const char *dset,
                              const char *name, int ids, rrr_h5_reader **out)
{
    (void)file;
    (void)dset;
    (void)ids;
    *out = NULL;
    return no_hdf5(ctx, name);
}

double rrr_h5_reader_filtered_chunk(const rrr_h5_reader *rd)
{
    (void)rd;
    return 0;
}

void rrr_h5_reader_shape(const rrr_h5_reader *rd, size_t *n, size_t *cols, size_t *itemsize)
{
    (void)rd;
    *n = *cols = 0;
    *itemsize = 8;
}

rrr_status rrr_h5_reader_read(rrr_ctx *ctx, rrr_h5_reader *rd, size_t row, size_t m,
                              double *buf)
{
    (void)rd;
    (void)row;
    (void)m;
    (void)buf;
    return no_hdf5(ctx, "HDF5");
}

rrr_status rrr_h5_reader_close(rrr_ctx *ctx, rrr_h5_reader **rd)
{
    (void)ctx;
    *rd = NULL;
    return RRR_OK;
}

int rrr_h5_source(const char *file, const char *dset, char *out, size_t cap)
{
    (void)file, (void)dset, (void)out, (void)cap;
    return 0;
}

int rrr_h5_external(const char *file, const char *dset, int k, char *out, size_t cap)
{
    (void)file, (void)dset, (void)k, (void)out, (void)cap;
    return 0;
}

const char *rrr_h5_version(void) { return NULL; }

#endif
