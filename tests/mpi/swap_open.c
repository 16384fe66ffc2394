/* tests/mpi/swap_open.c: a fault for test_inputs.sh, loaded with LD_PRELOAD. On the K-th
 * open() of the file SWAP_PATH in this process (SWAP_AT=K), the file SWAP_FROM is first
 * renamed over it: another file put at an input's name between two of rrr's opens of it,
 * at every point a command opens it, by running once per K. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int opened;

static void maybe_swap(const char *path)
{
    const char *at = getenv("SWAP_AT"), *target = getenv("SWAP_PATH"), *from = getenv("SWAP_FROM");
    if (at == NULL || target == NULL || from == NULL || strcmp(path, target) != 0)
        return;
    if (++opened == atoi(at))
        (void)rename(from, target);
}

static int forward(const char *name, const char *path, int flags, mode_t mode)
{
    int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
    maybe_swap(path);
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return forward("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return forward("open64", path, flags, mode);
}
