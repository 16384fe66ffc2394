#!/usr/bin/python3
"""tests/bench/peer_mpi4py_gd.py: distributed gradient descent for reduced-rank ridge
regression in mpi4py + NumPy, written the straightforward way a user would, to compare
`rrr fit --solver gd` against.

Usage:
    mpirun -np K /usr/bin/python3 tests/bench/peer_mpi4py_gd.py --x X.npy --y Y.npy \
        --rank D --lambda L [--max-iter 500] [--tol 1e-6] [--seed 0] [--out DIR] [--quiet]
(Use /usr/bin/python3: the Debian numpy/mpi4py live there. Set OPENBLAS_NUM_THREADS=1 when
K ranks fill the cores.)

Objective (docs/cli.md): f(U,V) = ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2.
Rows split as rrr_partition does: b = ceil(n/K), rank r owns [r b, min((r+1) b, n)), read with
np.load(mmap_mode='r'). Per iteration, with A_i = X_i U and R_i = A_i V^T - Y_i:
    grad_U = sum_i 2 X_i^T (R_i V)  + 2 lambda U (V^T V)
    grad_V = sum_i 2 R_i^T A_i      + 2 lambda V (U^T U)
(one MPI_Allreduce of both partial gradients, packed), then a joint step
(U, V) -= t (grad_U, grad_V) with Armijo backtracking: accept when
f_new <= f - 1e-4 t ||grad||^2, else halve t (at most 60 times); after an accepted step the
next trial starts from 2t. Each trial costs one pass over X_i and one Allreduce of the loss.
||U V^T||_F^2 = trace((U^T U)(V^T V)) needs no p x q matrix.
Init: U, V standard normal scaled by 1/sqrt(p), 1/sqrt(q), from --seed, on rank 0, broadcast.
Stops after --max-iter iterations or when (f_prev - f)/f < --tol.
Output: per-iteration lines on stderr from rank 0 (iteration, f, |grad|, step, trials,
time), unless --quiet; then one line on stdout
    peer=mpi4py_gd np= n= p= q= d= lambda= threads= iters= t_iter= t_iter_median= t_total=
    t_load= t_allreduce= objective= grad_norm= stop=
t_iter is the mean wall time per iteration (max over ranks), t_total the whole loop.
With --out DIR, rank 0 writes DIR/U.npy and DIR/V.npy.
grad_norm is ||(grad_U, grad_V)||_F at the returned U, V (computed after the timed loop).
Exit codes: 0 ok (also when --max-iter is reached or the line search finds no decrease,
stop= says which), 2 bad arguments, 3 file errors, 4 non-finite objective.
"""
import argparse
import math
import os
import sys

import numpy as np
from mpi4py import MPI

ARMIJO_C = 1e-4   # sufficient-decrease constant (Nocedal & Wright's usual choice)
MAX_HALVINGS = 60


def main():
    comm = MPI.COMM_WORLD
    rank, K = comm.Get_rank(), comm.Get_size()

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--lambda", dest="lam", type=float, required=True)
    ap.add_argument("--max-iter", type=int, default=500)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    lam = a.lam

    def fail(code, msg):
        if rank == 0:
            print(f"peer_mpi4py_gd: {msg}", file=sys.stderr)
        comm.Barrier()
        sys.exit(code)

    # --- load my row block -------------------------------------------------------------
    comm.Barrier()
    t0 = MPI.Wtime()
    err = ""
    try:
        Xm = np.load(a.x, mmap_mode="r")
        Ym = np.load(a.y, mmap_mode="r")
        n, p = Xm.shape
        q = Ym.shape[1]
        if Ym.shape[0] != n:
            err = f"X has {n} rows, Y has {Ym.shape[0]}"
        b = -(-n // K)
        lo, hi = min(rank * b, n), min((rank + 1) * b, n)
        Xi = np.array(Xm[lo:hi], dtype=np.float64)
        Yi = np.array(Ym[lo:hi], dtype=np.float64)
        del Xm, Ym
    except (OSError, ValueError) as e:
        err = f"cannot load input: {e}"
    errs = comm.allgather(err)
    if any(errs):
        fail(3, next(e for e in errs if e))
    t_load = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
    d = a.rank
    if not 1 <= d <= min(p, q) or lam < 0 or a.max_iter < 0 or a.tol < 0:
        fail(2, "need 1 <= rank <= min(p,q), lambda >= 0, max-iter >= 0, tol >= 0")

    # --- init -----------------------------------------------------------------------------
    if rank == 0:
        rng = np.random.default_rng(a.seed)
        U = rng.standard_normal((p, d)) / math.sqrt(p)
        V = rng.standard_normal((q, d)) / math.sqrt(q)
    else:
        U = np.empty((p, d))
        V = np.empty((q, d))
    comm.Bcast(U, root=0)
    comm.Bcast(V, root=0)

    t_ar = 0.0

    def allreduce(buf):
        nonlocal t_ar
        t = MPI.Wtime()
        out = np.empty_like(buf)
        comm.Allreduce(buf, out, op=MPI.SUM)
        t_ar += MPI.Wtime() - t
        return out

    def residual(U_, V_):
        """A_i = X_i U, R_i = A_i V^T - Y_i and the global f."""
        A = Xi @ U_
        R = A @ V_.T - Yi
        loss = allreduce(np.array([np.sum(R * R)]))[0]
        f = loss + lam * np.sum((U_.T @ U_) * (V_.T @ V_))
        return A, R, float(f)

    def gradient(U_, V_, A, R):
        gU = Xi.T @ (R @ V_)                  # p x d
        gV = R.T @ A                          # q x d
        g = allreduce(np.concatenate([gU.ravel(), gV.ravel()]))
        gU = 2.0 * g[: p * d].reshape(p, d) + 2.0 * lam * U_ @ (V_.T @ V_)
        gV = 2.0 * g[p * d:].reshape(q, d) + 2.0 * lam * V_ @ (U_.T @ U_)
        return gU, gV

    # --- gradient descent with Armijo backtracking ---------------------------------------
    comm.Barrier()
    t_start = MPI.Wtime()
    A, R, f = residual(U, V)
    f0 = f
    step = 1.0
    it = 0
    stop = "max_iter"
    times = []
    gnorm = float("nan")
    while it < a.max_iter:
        ti = MPI.Wtime()
        gU, gV = gradient(U, V, A, R)
        g2 = float(np.sum(gU * gU) + np.sum(gV * gV))
        gnorm = math.sqrt(g2)
        if g2 == 0.0:
            stop = "zero_gradient"
            break
        trials = 0
        while True:
            trials += 1
            Un, Vn = U - step * gU, V - step * gV
            An, Rn, fn = residual(Un, Vn)
            if math.isfinite(fn) and fn <= f - ARMIJO_C * step * g2:
                break
            if trials > MAX_HALVINGS:
                stop = "line_search_failed"
                break
            step *= 0.5
        if stop == "line_search_failed":
            break
        f_prev = f
        U, V, A, R, f = Un, Vn, An, Rn, fn
        it += 1
        dt = comm.allreduce(MPI.Wtime() - ti, op=MPI.MAX)
        times.append(dt)
        if rank == 0 and not a.quiet:
            print(f"iter {it:5d} f {f:.12e} |grad| {gnorm:.3e} step {step:.3e} "
                  f"trials {trials} time {dt:.6f}", file=sys.stderr)
        step *= 2.0
        if (f_prev - f) / f < a.tol:
            stop = "tol"
            break
    t_total = comm.allreduce(MPI.Wtime() - t_start, op=MPI.MAX)
    t_ar = comm.allreduce(t_ar, op=MPI.MAX)
    # gradient norm at the returned (U, V), outside the timed loop
    gU, gV = gradient(U, V, A, R)
    gnorm = math.sqrt(float(np.sum(gU * gU) + np.sum(gV * gV)))

    if a.out and rank == 0:
        os.makedirs(a.out, exist_ok=True)
        for name, arr in (("U", U), ("V", V)):
            tmp = os.path.join(a.out, f".{name}.npy.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
            os.replace(tmp, os.path.join(a.out, f"{name}.npy"))

    if rank == 0:
        t_iter = float(np.mean(times)) if times else 0.0
        t_med = float(np.median(times)) if times else 0.0
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        print(f"peer=mpi4py_gd np={K} n={n} p={p} q={q} d={d} lambda={lam:.17g} "
              f"threads={threads} iters={it} t_iter={t_iter:.6f} t_iter_median={t_med:.6f} "
              f"t_total={t_total:.6f} t_load={t_load:.6f} t_allreduce={t_ar:.6f} "
              f"objective_initial={f0:.17g} objective={f:.17g} grad_norm={gnorm:.6e} "
              f"stop={stop}")
        sys.stdout.flush()
    if not math.isfinite(f):
        fail(4, "non-finite objective")
    if stop == "line_search_failed" and rank == 0:
        print("peer_mpi4py_gd: warning: line search found no decrease; stopping",
              file=sys.stderr)


if __name__ == "__main__":
    main()
