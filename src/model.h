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

/* Local (replicated values only). A model given through the library is one the readers
 * accept: U, V present, 1 <= d <= min(p, q), lambda finite and >= 0, the means with an
 * intercept, every value finite; what names the caller in the message. */
rrr_status rrr_model_check(rrr_err *e, const rrr_model *m, const char *what);

/* Local. (f - f*)/max(f*, eps ||Yc||^2); NaN without f*. */
double rrr_fit_info_gap(const rrr_fit_info *info);

/* The certificate (README "Certificate"): a fit PASSES when
 *     f - f* <= RRR_GAP_THRESHOLD max(f*, eps ||Yc||^2) + fstar_error,
 * the second term being f*'s own absolute error: RRR_GAP_ABS_EPS eps ||Yc||^2 when
 * f* = ||Yc||^2 - sum mu_i (which cancels; measured |f - f*| <= 3 eps ||Yc||^2 on fits at
 * the optimum), RRR_GAP_ABS_EPS eps (f + sqrt(f ||Yc||^2)), f = f* (+ f0 with the pilot),
 * when f* is evaluated at the closed form from an exact quadratic (rrr_gram_exact).
 * Relative to the gap's scale that is rrr_fit_info_gap_tolerance: RRR_GAP_THRESHOLD unless
 * f* is below ~1e6 times its error. NaN without f*. */
#define RRR_GAP_THRESHOLD 1e-6
#define RRR_GAP_ABS_EPS 64.0
double rrr_fit_info_gap_tolerance(const rrr_fit_info *info);
/* Local. The bound on f*'s absolute error that the tolerance allows for; NaN without f*. */
double rrr_fit_info_fstar_error(const rrr_fit_info *info);
/* Local. 1 PASSED, 0 FAILED, -1 no certificate. */
int rrr_fit_info_passed(const rrr_fit_info *info);

#endif
