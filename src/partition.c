/* src/partition.c: SPEC.md's row partition, the one place that defines who owns which rows. */
#include "core.h"

rrr_part rrr_partition(size_t n, int nranks, int rank)
{
    rrr_part pt;
    size_t k = (size_t)nranks, r = (size_t)rank;
    pt.n = n;
    pt.b = (n + k - 1) / k; /* ceil(n/K): ScaLAPACK's block size on a 1 x K grid */
    size_t lo = r * pt.b, hi = lo + pt.b;
    if (lo > n) lo = n;
    if (hi > n) hi = n;
    pt.r0 = lo;
    pt.nloc = hi - lo;
    return pt;
}
