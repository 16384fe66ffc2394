/* src/alloc.c: the one allocator, with fault injection so tests reach every failure path. */
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"

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
    return malloc(bytes > 0 ? bytes : 1);
}

void *rrr_calloc(size_t count, size_t size)
{
    if (injected_failure())
        return NULL;
    if (count == 0 || size == 0)
        return calloc(1, 1);
    return calloc(count, size);
}

int rrr_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}
