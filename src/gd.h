/* src/gd.h: the gd solver's workspace and its two forms (solve_gd.c, gradient.c). */
#ifndef RRR_GD_H
#define RRR_GD_H

#include "iterate.h"
#include "kernels.h"
#include "precond.h"

typedef struct rrr_gd_form rrr_gd_form;

/* Every buffer of a gd run, each with one meaning, allocated once (rrr_gd_ws_create). */
typedef struct {
    rrr_ctx *ctx;
    const rrr_problem *pb;
    const rrr_fit_opts *o;
    int cross;              /* X^T Y is kept: the cross-product form is available       */
    double handover;        /* f <= handover: the residual form takes over              */
    /* the replicated state a checkpoint holds (U, V borrowed from the model)          */
    double *U, *V;          /* p x d, q x d                                             */
    double *D;              /* p x d  CG direction                                      */
    double *gprev;          /* p x d  previous U-gradient (Polak-Ribiere)               */
    double *W;              /* p x d  Xc^T Xc U, carried by the cross form              */
    int w_valid;            /* W is Xc^T Xc U of the current U                          */
    double zg_prev;         /* <Z, gU> of the previous iteration                        */
    double fprev, fprev2;   /* f at the two previous iterates (form choice)             */
    double v0_norm;         /* ||V_0||_F of a cold start (0: a warm start)              */
    /* the current iterate (from the evaluation)                                       */
    const rrr_gd_form *form;/* the form it was evaluated in                             */
    double f, step;
    double *gU, *gV;        /* p x d, q x d  gradients                                  */
    double *UtU, *VtV;      /* d x d                                                    */
    double *AtA;            /* d x d  A^T A of the iterate, then of the stepped U       */
    double *CtU;            /* q x d  Yc^T A (= C^T U in the cross form)                */
    /* data-sized and pass buffers                                                     */
    double *C;              /* p x q  Xc^T Yc (cross form only)                         */
    size_t j0, j1;          /* my share of C's columns, for C^T U and C V (cross form)  */
    double *At;             /* d x nloc  A = Xc U (residual form)                       */
    double *sg;             /* sums of the pass at (U, V) + flags                       */
    double *sb;             /* sums of the pass along D + flags                         */
    double *work;           /* panel workspace of the passes                            */
    rrr_gram_tuner tune;    /* the Gram pass's measured panel shape (kernels.h)         */
    double *Z;              /* p x d  preconditioned gradient                           */
    double *DtD;            /* d x d                                                    */
    double *EtE;            /* d x d  D^T H (cross form)                                */
    const double *ete;      /* E^T E of the pass along D (in sb, or EtE)                */
    double *H;              /* d x d  V update's Hessian, balancing's S | S^-1 (2 d x d),
                                      the gradient norm's eigenvectors                  */
    double *tmp;            /* max(p, q) x d  copies for the gauge change               */
    rrr_pc pc;              /* the U-block preconditioner P (precond.c)                 */
} rrr_gd_ws;

/* One form of gd's data products: how the gradient, the pass along D and the update of
 * A^T A, Y^T A after the step are obtained. */
struct rrr_gd_form {
    const char *name;
    /* Collective. f, gU, gV, UtU, VtV (and AtA, CtU in the cross form) at (U, V), from
     * the pass (fresh = 1 forces fresh sums) and one allreduce that carries the flags. */
    rrr_status (*gradient)(rrr_gd_ws *w, int fresh, rrr_status *lst, rrr_flags *fl,
                           int *was_fresh);
    /* Collective. The pass along D and its allreduce (flags in it); then w->EtE. */
    rrr_status (*along)(rrr_gd_ws *w, rrr_status *lst, rrr_flags *fl);
    /* Local. A'^T A' into w->AtA and Y^T A' into w->CtU after U' = U + a D. */
    void (*update)(rrr_gd_ws *w, double a);
};

extern const rrr_gd_form rrr_gd_residual, rrr_gd_cross;

/* Iterations of the cross-product form between recomputations of W = Xc^T Xc U: the
 * recurrence W += a H then drifts by at most ~W_REFRESH roundings of one Gram pass, for
 * 1/W_REFRESH more passes. */
enum { RRR_GD_W_REFRESH = 50 };

#endif
