/* src/model.h: the model and the fit record inside the library (model.c). */
#ifndef RRR_MODEL_H
#define RRR_MODEL_H

#include "json.h"
#include "plan.h"

/* Collective. A new model with U (p x d) and V (q x d) zeroed, no means. */
rrr_status rrr_model_new(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, double lambda,
                         int intercept, rrr_model **out);
/* Collective. A new fit record with the plan's decisions, f* unknown (NaN). */
rrr_status rrr_fit_info_new(rrr_ctx *ctx, const rrr_plan *plan, double yy, rrr_fit_info **out);

/* Local. The fields of model.json (also the head of the --report file): the model's, then
 * the record's when info is not NULL. */
void rrr_model_json_fields(rrr_json *j, const rrr_model *m, const rrr_fit_info *info);

/* Collective. Write DIR's files (model.json last, the commit point; see model.c) under
 * temporaries of o, creating DIR if missing; the caller commits with rrr_outset_finish,
 * possibly together with other outputs (main.c: the --report file). */
struct rrr_outset;
rrr_status rrr_model_stage(rrr_ctx *ctx, struct rrr_outset *o, const rrr_model *m,
                           const rrr_fit_info *info, const char *dir);

/* Local. (f - f*)/max(f*, eps ||Yc||^2); NaN without f*. */
double rrr_fit_info_gap(const rrr_fit_info *info);

/* The certificate threshold: a fit PASSES when its relative optimality gap is below this. */
#define RRR_GAP_THRESHOLD 1e-6

#endif
