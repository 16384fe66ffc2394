/* src/problem.h: the problem the solvers see: my rows and the global facts (serial). */
#ifndef RRR_PROBLEM_H
#define RRR_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

/* With an intercept, xm/ym hold the column means and the solvers work on X - 1 xm^T,
 * Y - 1 ym^T without forming them. */
typedef struct {
    size_t n, p, q, nloc;
    size_t r0;        /* the global index of my first row (rrr_input_share)           */
    int d;
    double lambda;
    const double *Xt; /* p x nloc, column-major (= my rows of X, row-major); borrowed */
    const double *Yt; /* q x nloc, column-major; borrowed                            */
    const double *xm; /* p column means or NULL                                      */
    const double *ym; /* q column means or NULL                                      */
    double yy;        /* ||Y - 1 ym^T||_F^2 over all rows (global)                   */
    int have_hash;    /* data_hash: the checkpoints' checksum of X and Y, computed by a
                         streamed pass (the rows Xt, Yt are then not in memory)        */
    uint64_t data_hash;
} rrr_problem;

#endif
