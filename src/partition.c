/* src/partition.c: the row partition, the one place that defines who owns which rows. */
#include "rrr_base.h"

rrr_status rrr_partition(size_t n, int K, int r, size_t *r0, size_t *nloc)
{
    if (r0 == NULL || nloc == NULL)
        return RRR_EINVAL;
    *r0 = *nloc = 0;
    if (K < 1 || r < 0 || r >= K)
        return RRR_EINVAL;
    size_t k = (size_t)K, b = n / k + (n % k != 0); /* ceil(n/K): ScaLAPACK's block on 1 x K */
    size_t lo = (size_t)r * b, hi = lo + b;
    if (lo > n)
        lo = n;
    if (hi > n)
        hi = n;
    *r0 = lo;
    *nloc = hi - lo;
    return RRR_OK;
}
