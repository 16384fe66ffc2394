/* src/folds.h: cross-validation folds (folds.c; serial). */
#ifndef RRR_FOLDS_H
#define RRR_FOLDS_H

#include <stdint.h>

/* Local, pure. The fold (0 .. K-1) of global row i of n: pi(i) mod K, where pi is a
 * bijection of [0, n) drawn from seed. Fold sizes therefore differ by at most one (fold k
 * has ceil((n - k) / K) rows), and the assignment needs no communication and is the same
 * at any rank count. */
int rrr_fold_of(uint64_t i, uint64_t n, int K, uint64_t seed);

#endif
