/* src/scan.h: the values' check that every reader and every pass applies (scan.c). */
#ifndef RRR_SCAN_H
#define RRR_SCAN_H

#include <stddef.h>

/* Local, pure. The first non-finite entry of the m x c row-major values a (its index, or
 * m c when all are finite) and the largest magnitude of the finite ones (*amax raised to
 * it). With sum and sq (c each, or both NULL): sum += a's rows and sq += their squares,
 * in the same pass. One branch-free vector pass when all are finite. */
size_t rrr_scan(const double *a, size_t m, size_t c, double *sum, double *sq, double *amax);

#endif
