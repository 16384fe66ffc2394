/* src/check.c: the argument checks of the library's entry points. */
#include <limits.h>
#include <math.h>

#include "check.h"

rrr_status rrr_check_rank(rrr_err *e, int d, size_t p, size_t q)
{
    size_t m = p < q ? p : q;
    if (d < 1 || (size_t)d > m)
        return RRR_FAIL(e, RRR_EINVAL, "rank %d out of range: need 1 <= rank <= min(p, q) = %zu "
                        "(--rank)", d, m);
    return RRR_OK;
}

rrr_status rrr_check_lambda(rrr_err *e, double lambda, size_t n, size_t p)
{
    if (!(lambda >= 0) || !isfinite(lambda))
        return RRR_FAIL(e, RRR_EINVAL, "lambda %g: must be a finite number >= 0 (--lambda)",
                        lambda);
    if (lambda > RRR_LAMBDA_MAX)
        return RRR_FAIL(e, RRR_EINVAL, "lambda %g: above %g the penalty's arithmetic leaves "
                        "double's range (U V^T ~ X^T Y / lambda is 0 to working precision): use a "
                        "smaller --lambda, or rescale Y", lambda, RRR_LAMBDA_MAX);
    if (lambda == 0 && n < p)
        return RRR_FAIL(e, RRR_EINVAL, "lambda 0 with n = %zu < p = %zu: X^T X is singular; "
                        "use --lambda > 0", n, p);
    return RRR_OK;
}

rrr_status rrr_check_int_sizes(rrr_err *e, size_t p, size_t q, int d)
{
    if (p > INT_MAX / 64 || q > INT_MAX / 64 || p * (size_t)d > INT_MAX ||
        q * (size_t)d > INT_MAX)
        return RRR_FAIL(e, RRR_EINVAL, "p = %zu, q = %zu, d = %d: too large for 32-bit BLAS/MPI "
                        "counts", p, q, d);
    return RRR_OK;
}
