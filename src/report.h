/* src/report.h: what `rrr fit` tells the user (report.c): the summary, the certificate
 * line, and the run report R.json. */
#ifndef RRR_REPORT_H
#define RRR_REPORT_H

#include "rrr.h"

/* Collective. Summary on stderr (rank 0, unless quiet), the certificate line
 * "optimality gap <v> PASSED|FAILED" on stdout, a warning if not converged. */
void rrr_fit_summary(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info);

/* Collective. Rank 0 writes the run report (the model.json fields, the plan, the
 * objective history, phase times max/avg/min over ranks, bytes read) under a temporary
 * of o, committed by the caller (rrr_outset_finish) together with the model, so that a
 * report never outlives a failed --out. */
struct rrr_outset;
rrr_status rrr_report_stage(rrr_ctx *ctx, struct rrr_outset *o, const rrr_model *m,
                            const rrr_fit_info *info, const char *path);

#endif
