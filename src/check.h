/* src/check.h: argument checks shared by the library's entry points (check.c): one rule
 * each, one message each, the same on every rank (they look at replicated values only). */
#ifndef RRR_CHECK_H
#define RRR_CHECK_H

#include <stddef.h>

#include "err.h"

/* Local. 1 <= d <= min(p, q); RRR_EINVAL with a message otherwise. */
rrr_status rrr_check_rank(rrr_err *e, int d, size_t p, size_t q);
/* The largest lambda: above it 2 lambda (the gradient's ridge term) and the solvers'
 * products with lambda leave double's range (lambda = 1e308 gave a NaN gradient reported
 * as a zero one), and U V^T ~ X^T Y / lambda is 0 to working precision there anyway. */
#define RRR_LAMBDA_MAX 1e300
/* Local. lambda finite, 0 <= lambda <= RRR_LAMBDA_MAX, and > 0 when n < p (X^T X is then
 * singular). */
rrr_status rrr_check_lambda(rrr_err *e, double lambda, size_t n, size_t p);
/* Local. p d, q d and a 64-row panel of Y fit LP64 BLAS and MPI int counts. */
rrr_status rrr_check_int_sizes(rrr_err *e, size_t p, size_t q, int d);

#endif
