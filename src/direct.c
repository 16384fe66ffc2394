/* src/direct.c: a reader thread with O_DIRECT (direct.h). Why: for rows bigger than memory
 * the page cache only costs (its copy to the caller, its reclaim), on the very cores that
 * compute; O_DIRECT reads go from the disk's DMA into page-aligned buffers. The thread reads
 * my panels in order into a ring of RRR_DIRECT_DEPTH buffers, as far ahead as the ring has
 * room: the disk's pace and the arithmetic's vary from panel to panel, and a deeper queue
 * absorbs it. Each panel is one pread of the aligned byte range that covers its rows
 * (O_DIRECT needs offset, length and address aligned: 4096 bytes serves every device), the
 * rows starting lead bytes in. */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "direct.h"

enum { ALIGN = 4096 };

typedef struct {
    unsigned char *buf;   /* ALIGN-aligned                                    */
    void *base;           /* ... as allocated                                 */
    size_t lead, need;    /* my rows' first byte in it; bytes the rows need   */
    size_t got;           /* bytes read                                       */
    int err;              /* errno of a failed read, or 0                     */
} slot_t;

struct rrr_direct {
    int fd;
    size_t off, row_bytes, nloc, rows; /* my rows' first byte, a row, my rows, a panel's */
    size_t npanels;
    slot_t s[RRR_DIRECT_DEPTH];
    size_t read, used;    /* panels read by the thread; panels handed out     */
    int quit;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* The thread's part: panel k into slot t, the aligned range read to its end or the file's. */
static void read_panel(const rrr_direct *d, size_t k, slot_t *t)
{
    const size_t i = k * d->rows, m = d->nloc - i < d->rows ? d->nloc - i : d->rows;
    const size_t a = d->off + i * d->row_bytes, b = a + m * d->row_bytes;
    const size_t a0 = a / ALIGN * ALIGN, len = (b + ALIGN - 1) / ALIGN * ALIGN - a0;
    size_t got = 0;
    int err = 0;
    while (got < len) {
        ssize_t r = pread(d->fd, t->buf + got, len - got, (off_t)(a0 + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = errno;
            break;
        }
        got += (size_t)r;
        if (r == 0 || (size_t)r % ALIGN != 0) /* the file's end */
            break;
    }
    t->lead = a - a0;
    t->need = b - a0;
    t->got = got;
    t->err = err;
}

static void *reader(void *arg)
{
    rrr_direct *d = arg;
    pthread_mutex_lock(&d->mu);
    while (d->read < d->npanels) {
        /* panel k goes where panel k - DEPTH was: free once the one after it is handed out
         * (the caller is done with a panel when it asks for the next) */
        while (!d->quit && d->read >= d->used + RRR_DIRECT_DEPTH - 1)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->quit)
            break;
        const size_t k = d->read;
        pthread_mutex_unlock(&d->mu);
        read_panel(d, k, &d->s[k % RRR_DIRECT_DEPTH]);
        pthread_mutex_lock(&d->mu);
        d->read++;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void free_slots(rrr_direct *d)
{
    for (int k = 0; k < RRR_DIRECT_DEPTH; k++)
        free(d->s[k].base);
}

int rrr_direct_open(const char *path, size_t off, size_t row_bytes, size_t nloc,
                    size_t panel_rows, rrr_direct **out, rrr_err *e)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0)
        return 0; /* EINVAL: no O_DIRECT on this file system */
    rrr_direct *d = rrr_calloc(1, sizeof *d);
    const size_t cap = (panel_rows * row_bytes + 2 * ALIGN + ALIGN - 1) / ALIGN * ALIGN;
    int fine = d != NULL;
    for (int k = 0; fine && k < RRR_DIRECT_DEPTH; k++) {
        d->s[k].base = rrr_malloc(cap + ALIGN, 1);
        uintptr_t a = (uintptr_t)d->s[k].base;
        d->s[k].buf = (unsigned char *)(a + (ALIGN - a % ALIGN) % ALIGN);
        fine = d->s[k].base != NULL;
    }
    if (!fine) {
        RRR_FAIL(e, RRR_EINTERNAL, "%s: out of memory for %d panels of %zu bytes", path,
                 RRR_DIRECT_DEPTH, cap);
        goto fail;
    }
    d->fd = fd;
    d->off = off;
    d->row_bytes = row_bytes;
    d->nloc = nloc;
    d->rows = panel_rows;
    d->npanels = (nloc + panel_rows - 1) / panel_rows;
    /* a file system may take O_DIRECT at the open and refuse it at the read */
    if (pread(fd, d->s[0].buf, ALIGN, (off_t)(off / ALIGN * ALIGN)) < 0) {
        free_slots(d);
        free(d);
        close(fd);
        return 0;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    sigset_t all, before; /* signals are the main thread's (signals.c) */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    int rc = pthread_create(&d->th, NULL, reader, d);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        RRR_FAIL(e, RRR_EINTERNAL, "%s: cannot start a reader thread: %s", path, strerror(rc));
        goto fail;
    }
    *out = d;
    return 1;
fail:
    if (d != NULL)
        free_slots(d);
    free(d);
    close(fd);
    return -1;
}

rrr_status rrr_direct_next(rrr_direct *d, double **rows, rrr_err *e, const char *name)
{
    pthread_mutex_lock(&d->mu);
    const size_t k = d->used++; /* and the panel before it is free */
    pthread_cond_broadcast(&d->cv);
    while (d->read <= k && k < d->npanels)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    if (k >= d->npanels)
        return RRR_FAIL(e, RRR_EINTERNAL, "%s: panel %zu of %zu asked for", name, k, d->npanels);
    const slot_t *t = &d->s[k % RRR_DIRECT_DEPTH];
    *rows = (double *)(void *)(t->buf + t->lead);
    if (t->err != 0)
        return RRR_FAIL(e, RRR_EIO, "%s: cannot read my rows: %s", name, strerror(t->err));
    if (t->got < t->need)
        return RRR_FAIL(e, RRR_EIO, "%s: the file changed size while it was being read (it "
                        "ended %zu bytes before my rows did); rerun on a file that stays put "
                        "while rrr reads it", name, t->need - t->got);
    return RRR_OK;
}

int rrr_direct_fd(const rrr_direct *d) { return d->fd; }

void rrr_direct_close(rrr_direct **dp)
{
    rrr_direct *d = *dp;
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    d->quit = 1; /* the thread ends the read in flight first */
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    close(d->fd);
    free_slots(d);
    free(d);
    *dp = NULL;
}
