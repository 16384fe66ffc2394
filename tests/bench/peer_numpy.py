#!/usr/bin/python3
"""tests/bench/peer_numpy.py: closed-form reduced-rank ridge regression in NumPy/SciPy, as a
user would write it, to compare `rrr fit --solver exact` against (one process, threaded BLAS).

Usage:
    /usr/bin/python3 tests/bench/peer_numpy.py --x X.npy --y Y.npy --rank D --lambda L \
        [--out DIR] [--repeats R]
(Use /usr/bin/python3: the Debian numpy/scipy live there, not in a pyenv python.)
OpenBLAS (NumPy's BLAS here) reads OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS at start-up.

Math (docs/cli.md), f(U,V) = ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2:
    B_R = (X^T X + lambda I)^{-1} X^T Y                  (Cholesky, cho_factor/cho_solve)
    M   = (X^T Y)^T B_R  (q x q, symmetric PSD)          W = top-d eigenvectors of M
    U   = B_R W,  V = W                                   (so U V^T = B_R W W^T)
Phases timed with time.perf_counter: t_load (np.load, reported apart), t_gram (X^T X, X^T Y),
t_chol, t_solve, t_eig (M and eigh), t_factors (U, V), t_objective (f computed directly).
t_total = t_gram + t_chol + t_solve + t_eig + t_factors (the fit, excluding load and the
objective); t_all = t_load + t_total + t_objective. With --repeats R > 1 the fit is run once
to warm up and R times timed; t_total_best / t_total_median are reported, phases from the
best run.
Output (stdout): phase lines, then one line
    peer=numpy_exact n= p= q= d= lambda= threads= core= reps= t_load= t_gram= t_chol=
    t_solve= t_eig= t_factors= t_total= t_total_median= t_total_max= t_objective= t_all=
    objective=
With --out DIR (created if missing): DIR/U.npy (p x d), DIR/V.npy (q x d).
Exit codes: 0 ok, 2 bad arguments / shapes, 3 file errors, 4 X^T X + lambda I not positive
definite (e.g. lambda = 0 with rank-deficient X).
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np
import scipy.linalg as sla


def openblas_core():
    """Kernel OpenBLAS chose (NumPy links libblas.so.3 -> openblas-pthread on Debian)."""
    for lib in ("libblas.so.3", "libopenblas.so.0"):
        try:
            f = ctypes.CDLL(lib).openblas_get_corename
            f.restype = ctypes.c_char_p
            return f().decode()
        except (OSError, AttributeError):
            continue
    return "unknown"


def fit_pp(X, Y, d, lam):
    """The closed form by the p x p route (q >> p): with G + lambda I = L L^T and T = L^-1 C,
    the top-d eigenvectors u of T T^T give B* = L^-T u u^T T; U = L^-T u, V = T^T u."""
    t = {}
    t0 = time.perf_counter()
    p = X.shape[1]
    G = X.T @ X
    C = X.T @ Y
    t1 = time.perf_counter()
    G[np.diag_indices(p)] += lam
    L = sla.cholesky(G, lower=True, overwrite_a=True, check_finite=False)
    t2 = time.perf_counter()
    T = sla.solve_triangular(L, C, lower=True, check_finite=False)
    t3 = time.perf_counter()
    _, u = sla.eigh(T @ T.T, subset_by_index=[p - d, p - 1], check_finite=False)
    u = u[:, ::-1]
    t4 = time.perf_counter()
    U = sla.solve_triangular(L, u, lower=True, trans="T", check_finite=False)
    V = np.ascontiguousarray(T.T @ u)
    t5 = time.perf_counter()
    t.update(gram=t1 - t0, chol=t2 - t1, solve=t3 - t2, eig=t4 - t3, factors=t5 - t4)
    t["total"] = t5 - t0
    return U, V, t


def fit(X, Y, d, lam):
    """Returns U, V and the phase times of one closed-form fit."""
    t = {}
    p, q = X.shape[1], Y.shape[1]
    t0 = time.perf_counter()
    XtX = X.T @ X                     # p x p
    XtY = X.T @ Y                     # p x q
    t1 = time.perf_counter()
    G = XtX
    G[np.diag_indices(p)] += lam      # X^T X + lambda I, in place
    c = sla.cho_factor(G, lower=False, overwrite_a=True, check_finite=False)
    t2 = time.perf_counter()
    BR = sla.cho_solve(c, XtY, check_finite=False)      # B_R, p x q
    t3 = time.perf_counter()
    M = XtY.T @ BR                    # Y^T X B_R, q x q
    M = 0.5 * (M + M.T)               # symmetric up to rounding
    _, W = sla.eigh(M, subset_by_index=[q - d, q - 1], check_finite=False)
    W = W[:, ::-1]                    # descending eigenvalues
    t4 = time.perf_counter()
    U = BR @ W
    V = np.ascontiguousarray(W)
    t5 = time.perf_counter()
    t.update(gram=t1 - t0, chol=t2 - t1, solve=t3 - t2, eig=t4 - t3, factors=t5 - t4)
    t["total"] = t5 - t0
    return U, V, t


def objective(X, Y, U, V, lam):
    """f = ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2, computed directly."""
    Z = U @ V.T
    R = Y - X @ Z
    return float(np.sum(R * R) + lam * np.sum(Z * Z))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--lambda", dest="lam", type=float, required=True)
    ap.add_argument("--out")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--route", choices=("q", "p"), default="q",
                    help="the eigenproblem: q x q (Y^T X B_R), or p x p (T T^T) for q >> p")
    a = ap.parse_args()

    t0 = time.perf_counter()
    try:
        X = np.load(a.x)
        Y = np.load(a.y)
    except (OSError, ValueError) as e:
        print(f"peer_numpy: cannot load input: {e}", file=sys.stderr)
        sys.exit(3)
    X = np.ascontiguousarray(X, dtype=np.float64)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    t_load = time.perf_counter() - t0

    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        print(f"peer_numpy: shapes X {X.shape}, Y {Y.shape} do not match", file=sys.stderr)
        sys.exit(2)
    n, p = X.shape
    q = Y.shape[1]
    d = a.rank
    if not 1 <= d <= min(p, q) or a.lam < 0 or a.repeats < 1:
        print("peer_numpy: need 1 <= rank <= min(p,q), lambda >= 0, repeats >= 1",
              file=sys.stderr)
        sys.exit(2)

    runs = []
    fitter = fit_pp if a.route == "p" else fit
    try:
        if a.repeats > 1:
            fitter(X, Y, d, a.lam)            # warm-up
        for _ in range(a.repeats):
            runs.append(fitter(X, Y, d, a.lam))
    except np.linalg.LinAlgError as e:
        print(f"peer_numpy: X^T X + lambda I is not positive definite ({e}); "
              "use lambda > 0", file=sys.stderr)
        sys.exit(4)
    totals = sorted(r[2]["total"] for r in runs)
    U, V, t = min(runs, key=lambda r: r[2]["total"])
    t_med = float(np.median(totals))
    t_max = totals[-1]

    t0 = time.perf_counter()
    f = objective(X, Y, U, V, a.lam)
    t_obj = time.perf_counter() - t0

    if a.out:
        os.makedirs(a.out, exist_ok=True)
        for name, arr in (("U", U), ("V", V)):
            tmp = os.path.join(a.out, f".{name}.npy.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
            os.replace(tmp, os.path.join(a.out, f"{name}.npy"))

    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    core = openblas_core()
    for k in ("gram", "chol", "solve", "eig", "factors"):
        print(f"phase {k:8s} {t[k]:.6f} s")
    print(f"load {t_load:.6f} s, fit {t['total']:.6f} s (median of {len(runs)}: {t_med:.6f}),"
          f" objective {t_obj:.6f} s")
    print(f"peer=numpy_exact n={n} p={p} q={q} d={d} lambda={a.lam:.17g} threads={threads} "
          f"core={core} reps={len(runs)} t_load={t_load:.6f} t_gram={t['gram']:.6f} "
          f"t_chol={t['chol']:.6f} t_solve={t['solve']:.6f} t_eig={t['eig']:.6f} "
          f"t_factors={t['factors']:.6f} t_total={t['total']:.6f} t_total_median={t_med:.6f} "
          f"t_total_max={t_max:.6f} "
          f"t_objective={t_obj:.6f} t_all={t_load + t['total'] + t_obj:.6f} "
          f"objective={f:.17g}")


if __name__ == "__main__":
    main()
