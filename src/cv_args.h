/* src/cv_args.h: parsing the rank and lambda grids of `rrr cv` (cv_args.c; serial). */
#ifndef RRR_CV_ARGS_H
#define RRR_CV_ARGS_H

#include <stddef.h>

#include "err.h"

/* Local. "D", "D1,D2,..." or "A:B" (every integer from A to B), each in [1, maxrank];
 * *out (new, *n values) ascending without repeats. RRR_EINVAL with a message otherwise. */
rrr_status rrr_cv_parse_ranks(const char *s, size_t maxrank, int **out, int *n, rrr_err *e);

/* Local. "L", "L1,L2,..." (each >= 0) or "LO:HI:N" (N >= 2 values evenly spaced in log from
 * LO to HI, 0 < LO < HI, both ends exact); *out (new) ascending without repeats. */
rrr_status rrr_cv_parse_lambdas(const char *s, double **out, int *n, rrr_err *e);

#endif
