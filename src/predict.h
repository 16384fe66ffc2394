/* src/predict.h: the scores of predictions as `rrr predict` reports them (predict.c). */
#ifndef RRR_PREDICT_H
#define RRR_PREDICT_H

#include "output.h"

/* Overall and per-output scores of predictions of n x q outputs (rrr.h, rrr_score and
 * rrr_score_outputs, for the definitions). */
typedef struct {
    size_t n, q;
    double mse, r2, r2_mean;
    double *mse_j, *r2_j; /* q each */
} rrr_scores;

/* Collective. The scores of Yhat against Y, with one pass for the means and one for the
 * sums; *out is new (rrr_scores_destroy). */
rrr_status rrr_scores_new(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat,
                          rrr_scores **out);
/* Local. NULL-safe; sets *sc = NULL. */
void rrr_scores_destroy(rrr_scores **sc);

/* Collective. Rank 0 writes the scores as JSON (src: the model directory, X and Y paths)
 * to path's temporary name in the output set o; rrr_outset_finish renames it. */
rrr_status rrr_scores_write(rrr_ctx *ctx, const rrr_scores *sc, const char *const src[3],
                            const char *path, rrr_outset *o);

#endif
