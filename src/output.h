/* src/output.h: outputs that appear whole or not at all (output.c). */
#ifndef RRR_OUTPUT_H
#define RRR_OUTPUT_H

#include <limits.h>

#include "ctx.h"

#define RRR_MAX_OUTPUTS 8

/* Files written under temporary names and renamed together once every rank agrees. */
typedef struct {
    int count;
    char tmp[RRR_MAX_OUTPUTS][PATH_MAX];
    char dst[RRR_MAX_OUTPUTS][PATH_MAX];
} rrr_outset;

/* Collective. Empty set; temporary names carry rank 0's pid (broadcast). */
void rrr_outset_init(rrr_ctx *ctx, rrr_outset *o);
/* Local. Register dst; returns its temporary name ("dst.tmp.PID"), or NULL if full/too long. */
const char *rrr_outset_add(rrr_outset *o, const char *dst);
/* Collective. Agree on st; if OK, rank 0 renames every file (RRR_EIO on failure); otherwise
 * (or then) temporary files are removed. Returns the agreed status. */
rrr_status rrr_outset_finish(rrr_ctx *ctx, rrr_outset *o, rrr_status st);
/* Collective. Create directory dir if missing (its parent must exist: else RRR_EIO). */
rrr_status rrr_mkdir(rrr_ctx *ctx, const char *dir, const char *what);

#endif
