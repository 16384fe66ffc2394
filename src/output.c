/* src/output.c: outputs appear whole or not at all, and never through a planted link:
 * exclusive temporaries with random names, agreement, an all-or-nothing commit; checked
 * output locations; inputs opened without blocking. */
#define _GNU_SOURCE /* fallocate */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm.h"
#include "output.h"

/* ---- names ------------------------------------------------------------------------- */

/* Local. 16 hex digits from getrandom() (or /dev/urandom): a temporary's name must not be
 * predictable, or a link planted at it in advance would redirect the write. */
static int random_hex(char out[17])
{
    unsigned char b[8];
    ssize_t got = getrandom(b, sizeof b, 0);
    if (got != (ssize_t)sizeof b) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        got = fd >= 0 ? read(fd, b, sizeof b) : -1;
        if (fd >= 0)
            close(fd);
        if (got != (ssize_t)sizeof b)
            return 0;
    }
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 1;
}

/* Local. The directory holding path ("." for a bare name); 0 if it does not fit. */
static int parent_of(const char *path, char out[PATH_MAX])
{
    size_t n = strlen(path);
    if (n == 0 || n >= PATH_MAX)
        return 0;
    memcpy(out, path, n + 1);
    while (n > 1 && out[n - 1] == '/') /* "dir/" names dir */
        out[--n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        strcpy(out, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
    return 1;
}

/* Local. The backup name of a replaced file: its temporary's name + ".old" (random too). */
static int backup_name(const rrr_outfile *f, char out[PATH_MAX])
{
    int len = snprintf(out, PATH_MAX, "%s.old", f->tmp);
    return len > 0 && len < PATH_MAX;
}

/* ---- staging ----------------------------------------------------------------------- */

void rrr_outset_init(rrr_outset *o)
{
    o->count = 0;
    o->ndirs = 0;
    o->host[0] = '\0';
}

rrr_status rrr_outset_mkdir(rrr_ctx *ctx, rrr_outset *o, const char *dir, const char *what)
{
    rrr_status st = RRR_OK;
    if (ctx->rank == 0) {
        struct stat sb;
        if (stat(dir, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode))
                st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: exists and is not a directory", what, dir);
        } else if (mkdir(dir, 0777) == 0) {
            if (o->ndirs < RRR_MAX_OUTDIRS && strlen(dir) < PATH_MAX)
                strcpy(o->dirs[o->ndirs++], dir);
        } else if (errno != EEXIST) {
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: cannot create directory: %s", what, dir,
                          strerror(errno));
        }
    }
    return rrr_agree(ctx, st);
}

/* Local (rank 0). Create f's temporary exclusively: O_EXCL never opens an existing name,
 * link or not; a collision with another run's name (2^-64) just draws again. */
static rrr_status create_tmp(rrr_ctx *ctx, rrr_outfile *f, const char *dst)
{
    int fd = -1;
    for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
        char hex[17];
        if (!random_hex(hex))
            return RRR_FAIL(&ctx->err, RRR_EIO, "%s: no random numbers for a temporary name",
                            f->dst);
        snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%s", dst, hex);
        fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot create a temporary file: %s",
                            f->dst, strerror(errno));
    }
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) {
            close(fd);
            unlink(f->tmp);
        }
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot create a temporary file", f->dst);
    }
    f->fd = fd;
    f->dev = (unsigned long long)sb.st_dev;
    f->ino = (unsigned long long)sb.st_ino;
    return RRR_OK;
}

/* Local, pure. name is base + ".tmp." + 16 hex digits, optionally + ".old". */
static int is_leftover(const char *name, const char *base)
{
    size_t b = strlen(base);
    if (strncmp(name, base, b) != 0 || strncmp(name + b, ".tmp.", 5) != 0)
        return 0;
    const char *h = name + b + 5;
    for (int k = 0; k < 16; k++)
        if (!((h[k] >= '0' && h[k] <= '9') || (h[k] >= 'a' && h[k] <= 'f')))
            return 0;
    return h[16] == '\0' || strcmp(h + 16, ".old") == 0;
}

int rrr_outset_sweep(const char *dst)
{
    char dir[PATH_MAX], path[PATH_MAX];
    const char *slash = strrchr(dst, '/'), *base = slash ? slash + 1 : dst;
    int len = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - dst), dst)
                    : snprintf(dir, sizeof dir, ".");
    if (len <= 0 || (size_t)len >= sizeof dir)
        return 0;
    if (dir[0] == '\0')
        snprintf(dir, sizeof dir, "/");
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        struct stat sb;
        if (!is_leftover(e->d_name, base))
            continue;
        len = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len > 0 && (size_t)len < sizeof path && lstat(path, &sb) == 0 &&
            (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) && unlink(path) == 0)
            removed++;
    }
    closedir(dh);
    return removed;
}

rrr_status rrr_outset_add(rrr_ctx *ctx, rrr_outset *o, const char *dst, int *slot)
{
    rrr_status st = RRR_OK;
    int k = o->count;
    *slot = -1;
    /* room for ".tmp." + 16 digits + ".old" */
    if (k >= RRR_MAX_OUTPUTS || strlen(dst) + 26 >= PATH_MAX)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: path too long", dst);
    if (st != RRR_OK)
        return rrr_agree(ctx, st); /* depends on dst and the set only: the same everywhere */
    rrr_outfile *f = &o->f[k];
    memset(f, 0, sizeof *f);
    strcpy(f->dst, dst);
    f->fd = -1;
    if (ctx->rank == 0) {
        st = create_tmp(ctx, f, dst);
        if (gethostname(o->host, sizeof o->host) != 0)
            o->host[0] = '\0';
        o->host[sizeof o->host - 1] = '\0';
    }
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st; /* only rank 0 acts above, and it made nothing when it failed */
    MPI_Bcast(f->tmp, (int)sizeof f->tmp, MPI_CHAR, 0, ctx->comm);
    MPI_Bcast(&f->dev, 1, MPI_UNSIGNED_LONG_LONG, 0, ctx->comm);
    MPI_Bcast(&f->ino, 1, MPI_UNSIGNED_LONG_LONG, 0, ctx->comm);
    MPI_Bcast(o->host, (int)sizeof o->host, MPI_CHAR, 0, ctx->comm);
    o->count++;
    *slot = k;
    return RRR_OK;
}

rrr_status rrr_outset_remove(rrr_ctx *ctx, rrr_outset *o, const char *dst)
{
    if (o->count >= RRR_MAX_OUTPUTS || strlen(dst) >= PATH_MAX)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: path too long", dst);
    rrr_outfile *f = &o->f[o->count++];
    memset(f, 0, sizeof *f);
    strcpy(f->dst, dst);
    f->fd = -1;
    f->remove = 1;
    return RRR_OK;
}

const char *rrr_outset_tmp(const rrr_outset *o, int slot) { return o->f[slot].tmp; }
const char *rrr_outset_dst(const rrr_outset *o, int slot) { return o->f[slot].dst; }

FILE *rrr_outset_stream(rrr_ctx *ctx, rrr_outset *o, int slot)
{
    rrr_outfile *f = &o->f[slot];
    FILE *s = f->fd >= 0 ? fdopen(f->fd, "wb") : NULL;
    if (s == NULL)
        RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot write the temporary file: %s", f->dst,
                 strerror(errno));
    else
        f->fd = -1; /* the stream owns it now */
    return s;
}

rrr_status rrr_outset_close_stream(rrr_ctx *ctx, const rrr_outset *o, int slot, FILE *s)
{
    if (s == NULL)
        return RRR_OK;
    int ok = !ferror(s), err = ok ? 0 : errno;
    if (ok && fflush(s) != 0)
        ok = 0, err = errno;
    /* data on disk before the rename, so that after a crash the name holds complete data */
    if (ok && fsync(fileno(s)) != 0)
        ok = 0, err = errno;
    if (fclose(s) != 0 && ok)
        ok = 0, err = errno;
    if (!ok)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: write failed: %s", o->f[slot].dst,
                        err ? strerror(err) : "I/O error");
    return RRR_OK;
}

rrr_status rrr_outset_reserve(rrr_ctx *ctx, rrr_outset *o, int slot, unsigned long long bytes)
{
    rrr_outfile *f = &o->f[slot];
    if (f->fd < 0 || bytes == 0 || fallocate(f->fd, 0, 0, (off_t)bytes) == 0)
        return RRR_OK;
    if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
        return RRR_OK; /* a filesystem without it: the writes and the read-back still check */
    return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot reserve %llu bytes: %s", f->dst, bytes,
                    strerror(errno));
}

rrr_status rrr_outset_room(rrr_ctx *ctx, rrr_outset *o, int slot, unsigned long long bytes)
{
    rrr_status st = rrr_outset_reserve(ctx, o, slot, bytes);
    if (st == RRR_OK && o->f[slot].fd >= 0 && ftruncate(o->f[slot].fd, 0) != 0)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot truncate its temporary: %s",
                      o->f[slot].dst, strerror(errno));
    return st;
}

/* Local. Is the file now at f's temporary name the one rank 0 created? lstat: a link put
 * in its place is not followed. st_dev is only comparable on rank 0's host. */
static int is_ours(const rrr_outset *o, const rrr_outfile *f)
{
    struct stat sb;
    char host[sizeof o->host];
    if (lstat(f->tmp, &sb) != 0 || !S_ISREG(sb.st_mode) || (unsigned long long)sb.st_ino != f->ino)
        return 0;
    if (gethostname(host, sizeof host) != 0)
        return 1;
    host[sizeof host - 1] = '\0';
    return strcmp(host, o->host) != 0 || (unsigned long long)sb.st_dev == f->dev;
}

rrr_status rrr_outset_verify(rrr_ctx *ctx, const rrr_outset *o, int slot)
{
    const rrr_outfile *f = &o->f[slot];
    if (!is_ours(o, f))
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: its temporary file %s was replaced (by a link?): "
                        "refusing to write", f->dst, f->tmp);
    return RRR_OK;
}

/* ---- the commit -------------------------------------------------------------------- */

/* Local (rank 0). Keep the file that dst names (if any) under f's backup name before it
 * is replaced: a hard link, so dst never goes missing for a reader; where hard links are
 * not allowed, the file is moved aside instead (a reader may then miss it for a moment,
 * never see a mix). */
static rrr_status keep_previous(rrr_ctx *ctx, rrr_outfile *f, int *backed)
{
    struct stat sb;
    char bak[PATH_MAX];
    *backed = 0;
    if (lstat(f->dst, &sb) != 0)
        return errno == ENOENT ? RRR_OK
                               : RRR_FAIL(&ctx->err, RRR_EIO, "%s: %s", f->dst, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: is a directory: cannot replace it", f->dst);
    if (!backup_name(f, bak))
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: path too long", f->dst);
    if (link(f->dst, bak) != 0 && rename(f->dst, bak) != 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot keep the previous file while replacing "
                        "it: %s", f->dst, strerror(errno));
    *backed = 1;
    return RRR_OK;
}

/* Local (rank 0). Put back what entries 0 .. last had before the commit. rename(bak, dst)
 * restores a moved file; when bak and dst are links to one file it does nothing (POSIX),
 * and the unlink drops the spare link. */
static void roll_back(rrr_outset *o, int last, const int backed[])
{
    for (int k = last; k >= 0; k--) {
        rrr_outfile *f = &o->f[k];
        char bak[PATH_MAX];
        if (f->remove || !backup_name(f, bak))
            continue;
        if (backed[k]) {
            rename(bak, f->dst);
            unlink(bak);
        } else if (f->renamed) { /* renamed into place where nothing was before */
            unlink(f->dst);
        }
    }
}

/* Local (rank 0). Make the renames durable: fsync each directory that received a file. */
static void sync_dirs(const rrr_outset *o)
{
    char dir[PATH_MAX], last[PATH_MAX] = "";
    for (int k = 0; k < o->count; k++) {
        if (!parent_of(o->f[k].dst, dir) || strcmp(dir, last) == 0)
            continue;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd); /* best effort: some filesystems refuse fsync on directories */
            close(fd);
        }
        strcpy(last, dir);
    }
}

/* Local (rank 0). Rename every temporary into place, in order, or none. */
static rrr_status commit(rrr_ctx *ctx, rrr_outset *o)
{
    int backed[RRR_MAX_OUTPUTS] = { 0 };
    rrr_status st = RRR_OK;
    int k;
    for (k = 0; k < o->count; k++) {
        rrr_outfile *f = &o->f[k];
        if (f->remove)
            continue;
        if (!is_ours(o, f))
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: its temporary file %s was replaced: not "
                          "committing", f->dst, f->tmp);
        if (st == RRR_OK)
            st = keep_previous(ctx, f, &backed[k]);
        if (st == RRR_OK && rename(f->tmp, f->dst) != 0)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot rename into place: %s", f->dst,
                          strerror(errno));
        if (st != RRR_OK)
            break;
        f->renamed = 1;
    }
    if (st != RRR_OK) {
        roll_back(o, k, backed);
        return st;
    }
    for (k = 0; k < o->count; k++) {
        char bak[PATH_MAX];
        if (o->f[k].remove)
            unlink(o->f[k].dst); /* after the commit point: a stale file is harmless */
        else if (backed[k] && backup_name(&o->f[k], bak))
            unlink(bak);
    }
    sync_dirs(o);
    return RRR_OK;
}

/* Local (rank 0). Remove what was not committed: temporaries, and on failure the
 * directories this set created (rmdir: only if empty). */
static void discard(rrr_outset *o, int failed)
{
    for (int k = 0; k < o->count; k++) {
        rrr_outfile *f = &o->f[k];
        if (f->fd >= 0)
            close(f->fd);
        if (!f->remove && !f->renamed)
            unlink(f->tmp);
        f->fd = -1;
    }
    for (int k = o->ndirs - 1; failed && k >= 0; k--)
        rmdir(o->dirs[k]);
}

rrr_status rrr_outset_finish(rrr_ctx *ctx, rrr_outset *o, rrr_status st)
{
    st = rrr_agree(ctx, st);
    rrr_status cst = RRR_OK;
    if (ctx->rank == 0) {
        for (int k = 0; k < o->count; k++) /* writers are done: close before renaming */
            if (o->f[k].fd >= 0) {
                close(o->f[k].fd);
                o->f[k].fd = -1;
            }
        if (st == RRR_OK)
            cst = commit(ctx, o);
        discard(o, st != RRR_OK || cst != RRR_OK);
    }
    o->count = o->ndirs = 0;
    return st == RRR_OK ? rrr_agree(ctx, cst) : st;
}

/* ---- locations and inputs ---------------------------------------------------------- */

/* Local (rank 0). dir exists, is a directory, and a file can be created in it. */
static rrr_status probe_dir(rrr_ctx *ctx, const char *dir, const char *what, const char *path)
{
    struct stat sb;
    char probe[PATH_MAX], hex[17];
    if (stat(dir, &sb) != 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: directory %s: %s", what, path, dir,
                        strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: %s is not a directory", what, path, dir);
    int len = snprintf(probe, sizeof probe, "%s/.rrr-probe.%s", dir, random_hex(hex) ? hex : "x");
    if (len < 0 || (size_t)len >= sizeof probe)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: path too long", what, path);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: cannot write in %s: %s", what, path, dir,
                        strerror(errno));
    close(fd);
    unlink(probe);
    return RRR_OK;
}

/* Local (rank 0). What stands at a file's final name may be replaced by rename: nothing, a
 * regular file, or a symbolic link to one or to nothing (the link itself is replaced, never
 * written through). A device, FIFO or socket, or a link to one (/dev/null, /dev/stdout),
 * would be turned into a regular file (as root, /dev/null itself), and a loop of links
 * cannot be judged: refused before any work. */
static rrr_status replaceable(rrr_err *e, const char *path, const char *what)
{
    struct stat lb, sb;
    if (lstat(path, &lb) != 0)
        return RRR_OK; /* nothing there, or a parent that the directory's probe judges */
    const int link = S_ISLNK(lb.st_mode), target = stat(path, &sb) == 0;
    if (!target && errno == ELOOP)
        return RRR_FAIL(e, RRR_EIO, "%s %s: a loop of symbolic links", what, path);
    const struct stat *s = !link ? &lb : target ? &sb : NULL;
    if (s != NULL && !S_ISREG(s->st_mode) && !S_ISDIR(s->st_mode))
        return RRR_FAIL(e, RRR_EIO, "%s %s: %s a device, FIFO or socket, which rrr would replace "
                        "by a regular file (outputs are written under a temporary name and "
                        "renamed into place): give the name of a file", what, path,
                        link ? "links to" : "is");
    return RRR_OK;
}

/* Local (rank 0). A file may be written at path: no directory stands there (found before
 * the work, not at the commit), and what does stand there is replaceable. */
static rrr_status file_replaceable(rrr_err *e, const char *path, const char *what)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return RRR_FAIL(e, RRR_EIO, "%s %s: is a directory, where rrr writes a file", what, path);
    return replaceable(e, path, what);
}

rrr_status rrr_output_replaceable(rrr_ctx *ctx, const char *path, const char *what)
{
    return rrr_agree(ctx, ctx->rank == 0 ? file_replaceable(&ctx->err, path, what) : RRR_OK);
}

rrr_status rrr_output_names_check(rrr_ctx *ctx, const char *dir, const char *const *names,
                                  int count, const char *what)
{
    rrr_status st = RRR_OK;
    for (int k = 0; ctx->rank == 0 && k < count && st == RRR_OK; k++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[k]) >= (int)sizeof path)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: path too long", what, dir);
        else
            st = file_replaceable(&ctx->err, path, what);
    }
    return rrr_agree(ctx, st);
}

/* What the staging adds to an output's name (".tmp." + 16 hex digits + ".old"), and what an
 * output's name must leave free: Open MPI's shared-file-pointer component names a file of
 * its own after the temporary one ("_cid-1-1.sm" appended, in /tmp): past NAME_MAX it failed
 * and then aborted on a buffer overflow (a 224-byte name; 219 bytes worked), after the work. */
enum { TMP_SUFFIX_MAX = 25, NAME_RESERVE = TMP_SUFFIX_MAX + 30 };

/* Local. The longest file name in directory dir (NAME_MAX where pathconf cannot tell). */
static long name_max(const char *dir)
{
    long m = pathconf(dir[0] != '\0' ? dir : ".", _PC_NAME_MAX);
    return m > 0 ? m : NAME_MAX;
}

rrr_status rrr_output_check(rrr_ctx *ctx, const char *path, int is_dir, const char *what)
{
    rrr_status st = RRR_OK;
    if (ctx->rank == 0) {
        struct stat sb, lb;
        char dir[PATH_MAX], bare[PATH_MAX]; /* bare: without trailing slashes, which lstat
                                               would follow through a link */
        snprintf(bare, sizeof bare, "%s", path);
        for (size_t n = strlen(bare); n > 1 && bare[n - 1] == '/'; n--)
            bare[n - 1] = '\0';
        const int exists = stat(path, &sb) == 0, err = errno;
        const int dangling = !exists && lstat(bare, &lb) == 0 && S_ISLNK(lb.st_mode);
        const char *slash = strrchr(bare, '/'), *base = slash != NULL ? slash + 1 : bare;
        const int parent = parent_of(path, dir);
        const long nmax = parent ? name_max(dir) : NAME_MAX;
        if (!parent)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s '%s': not a usable path", what, path);
        else if (!exists && err == ENOTDIR) /* file/ or file/x: mkdir or open would fail late */
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: a part of this path is a file, not a "
                          "directory", what, path);
        else if (!is_dir && (long)strlen(base) + NAME_RESERVE > nmax)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: a name of %zu bytes; rrr writes it under a "
                          "temporary name %d bytes longer, and Open MPI derives longer ones "
                          "still, past this file system's limit of %ld bytes: use a name of at "
                          "most %ld bytes", what, path, strlen(base), TMP_SUFFIX_MAX, nmax,
                          nmax - NAME_RESERVE);
        else if (is_dir && dangling) /* mkdir would fail only after the work */
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: a symbolic link to %s: create the "
                          "directory it names, or remove the link", what, path,
                          err == ELOOP ? "itself (a loop)" : "nothing");
        else if (!is_dir)
            st = replaceable(&ctx->err, bare, what);
        if (st == RRR_OK && exists && is_dir && !S_ISDIR(sb.st_mode))
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: exists and is not a directory", what, path);
        else if (st == RRR_OK && exists && !is_dir && S_ISDIR(sb.st_mode))
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s %s: is a directory", what, path);
        else if (st == RRR_OK)
            st = probe_dir(ctx, exists && is_dir ? path : dir, what, path);
    }
    return rrr_agree(ctx, st);
}

FILE *rrr_input_open(rrr_err *e, const char *path, unsigned long long *size)
{
    struct stat sb;
    /* O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        RRR_FAIL(e, RRR_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        RRR_FAIL(e, RRR_EIO, "%s: not a regular file (a directory, FIFO or device): not read",
                 path);
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = (fl != -1 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0) ? fdopen(fd, "rb") : NULL;
    if (f == NULL) {
        RRR_FAIL(e, RRR_EIO, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    *size = (unsigned long long)sb.st_size;
    return f;
}
