/* src/report.h: what `rrr fit` tells the user: the summary, the certificate, R.json. */
#ifndef RRR_REPORT_H
#define RRR_REPORT_H

#include "internal.h"

/* Collective. Summary on stderr (rank 0, unless quiet), the certificate line
 * "optimality gap <v> PASSED|FAILED" on stdout, a warning if not converged. */
void rrr_fit_summary(rrr_ctx *ctx, const rrr_model *m);

/* Collective. Rank 0 writes the run report (objective history, phase times max/avg/min
 * over ranks, bytes read, ranks, threads, BLAS kernel) atomically to path. */
rrr_status rrr_report_write(rrr_ctx *ctx, const rrr_model *m, const char *path);

#endif
