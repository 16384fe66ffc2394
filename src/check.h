/* src/check.h: argument checks shared by the library's entry points (check.c): one rule
 * each, one message each, the same on every rank (they look at replicated values only). */
#ifndef RRR_CHECK_H
#define RRR_CHECK_H

#include <stddef.h>

#include "err.h"

/* Local. 1 <= d <= min(p, q); RRR_EINVAL with a message otherwise. */
rrr_status rrr_check_rank(rrr_err *e, int d, size_t p, size_t q);
/* Local. lambda finite and >= 0, and > 0 when n < p (X^T X is then singular). */
rrr_status rrr_check_lambda(rrr_err *e, double lambda, size_t n, size_t p);
/* Local. p d, q d and a 64-row panel of Y fit LP64 BLAS and MPI int counts. */
rrr_status rrr_check_int_sizes(rrr_err *e, size_t p, size_t q, int d);

#endif
