/* src/alloc.c: the one allocator, with fault injection so tests reach every failure path. */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE (Linux) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"

/* Buffers from this size on (panels, X^T Y, whole row blocks) are placed on 2 MB boundaries
 * and offered to the kernel for transparent huge pages: a first touch then costs one fault
 * per 2 MB instead of one per 4 KB (a 32 MB X^T Y took 8192 faults; on q = 20000 outputs
 * the faults were a tenth of an exact fit). Where THP is off, madvise changes nothing. */
#define HUGE_FROM ((size_t)8 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

static void *big_alloc(size_t bytes)
{
    void *a = NULL;
    if (posix_memalign(&a, HUGE_ALIGN, bytes) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(a, bytes, MADV_HUGEPAGE); /* advice: failure is harmless */
#endif
    return a;
}

static long fail_countdown; /* 0: never fail; k > 0: the k-th call from now fails */

void rrr_alloc_fail_after(long k) { fail_countdown = k > 0 ? k : 0; }

static int injected_failure(void)
{
    return fail_countdown > 0 && --fail_countdown == 0;
}

void *rrr_malloc(size_t count, size_t size)
{
    if (injected_failure() || (size != 0 && count > SIZE_MAX / size))
        return NULL;
    size_t bytes = count * size;
    if (bytes >= HUGE_FROM)
        return big_alloc(bytes);
    return malloc(bytes > 0 ? bytes : 1);
}

void *rrr_calloc(size_t count, size_t size)
{
    if (injected_failure())
        return NULL;
    if (count == 0 || size == 0)
        return calloc(1, 1);
    if (count <= SIZE_MAX / size && count * size >= HUGE_FROM) {
        void *a = big_alloc(count * size);
        if (a != NULL)
            memset(a, 0, count * size);
        return a;
    }
    return calloc(count, size);
}

int rrr_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}
