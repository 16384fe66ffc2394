/* src/alloc.h: the one allocator (with fault injection) and checked size arithmetic. */
#ifndef RRR_ALLOC_H
#define RRR_ALLOC_H

#include <stddef.h>

/* Local. malloc/calloc of count*size bytes (at least one byte, since a rank may own zero
 * rows), with overflow check; NULL on failure. rrr_alloc_fail_after(k) makes the k-th call
 * from now fail (k >= 1; 0 disables), so tests can exercise every failure path. */
void *rrr_malloc(size_t count, size_t size);
void *rrr_calloc(size_t count, size_t size);
void rrr_alloc_fail_after(long k);

/* Local. *out = a * b; returns 0 (and leaves *out unset) if the product overflows size_t. */
int rrr_size_mul(size_t a, size_t b, size_t *out);

#endif
