/* src/precond.h: gd's preconditioner for the U-block (precond.c; README "Preconditioning").
 *
 * P approximates H = Xc^T Xc + lambda I, the p x p factor of the U-block Hessian
 * 2 H (x) V^T V, without ever forming a p x p matrix:
 *   jacobi    P = D,            D = diag(H)
 *   nystrom   P = B B^T + D,    B B^T the randomized Nystrom approximation of Xc^T Xc from
 *                               the sketch Xc^T Xc Omega (p x l), D the diagonal of the rest
 * held as P = D^1/2 (I + Q S^2 Q^T) D^1/2 with Q (p x l) orthonormal, so that
 *   P^-1 = D^-1/2 (I - Q diag(s^2 / (1 + s^2)) Q^T) D^-1/2
 * costs 4 p l d flops on a p x d block. gd uses Z = P^-1 grad_U (V^T V)^-1, the metric
 * P (x) V^T V (Mishra & Sepulchre 2016). */
#ifndef RRR_PRECOND_H
#define RRR_PRECOND_H

#include "comm.h"
#include "plan.h"
#include "problem.h"

/* The stream of the sketch's test matrix (rng.h lists the others): "pre". */
enum { RRR_STREAM_PRECOND = 0x707265 };

typedef struct {
    rrr_precond kind;      /* none, jacobi or nystrom (auto has chosen)                 */
    size_t p;
    int d, ell;            /* ell: columns of Q (0 for none and jacobi)                 */
    double *dh;            /* p       D^-1/2 (jacobi, nystrom)                          */
    double *Q;             /* p x ell orthonormal basis of D^-1/2 B                     */
    double *s2;            /* ell     the squared singular values of D^-1/2 B           */
    double *wq;            /* ell     s^2 / (1 + s^2)                                   */
    double *T;             /* ell x d, and p x d: scratch of apply and energy           */
    double *M;
    double cond_before;    /* lower-bound estimate of cond(H) (NaN: not estimated)      */
    double cond_range;     /* ... on the range of Xc^T, where the iterates of none live */
    double rq_min, rq_max; /* Rayleigh quotients of P^-1 H along the search directions  */
    double seconds;        /* setup time (this rank)                                    */
    int passes;            /* passes over X the setup made                              */
    char why[256];         /* the choice and its reason, for the log and model.json     */
} rrr_pc;

/* Collective. Build the preconditioner that o->precond asks for (auto: README
 * "Preconditioning" says how it chooses) from one pass for diag(Xc^T Xc) and one Gram pass
 * per block of the sketch, each followed by one allreduce of p (resp. p x block) numbers.
 * Deterministic: Omega comes from o->seed, so the same data, options and rank count give
 * the same P bitwise. RRR_EINVAL for bad options, RRR_EINTERNAL when out of memory, the
 * same on every rank; pc is then empty (kind none). */
rrr_status rrr_pc_build(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        const rrr_plan *plan, rrr_pc *pc);

/* Local. G (p x d, ld p) <- P^-1 G. */
void rrr_pc_apply(rrr_pc *pc, double *G);

/* Local. Record the Rayleigh quotient curv / <D, P D V^T V> of P^-1 H along a search
 * direction D (p x d) whose curvature <D, H D V^T V> is curv. */
void rrr_pc_observe(rrr_pc *pc, const double *D, const double *VtV, double curv);

/* Local. max / min of the recorded quotients: a lower bound on cond(P^-1 H) (NaN: none). */
double rrr_pc_cond_observed(const rrr_pc *pc);

/* Local. NULL-safe; leaves pc empty. */
void rrr_pc_free(rrr_pc *pc);

#endif
