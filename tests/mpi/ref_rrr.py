#!/usr/bin/env python3
"""tests/mpi/ref_rrr.py: independent reference for `rrr fit` (numpy only).

  ref_rrr.py prep DIR         from DIR/X.npy, DIR/Y.npy write
                              Xs.npy, Ys.npy  columns shifted by large means (intercept tests)
                              Xc.npy, Yc.npy  Xs, Ys explicitly centred
                              Xdup.npy        X with column 1 := column 0 (singular X^T X)
  ref_rrr.py check MANIFEST   one check per line, '|'-separated:
      fit|NAME|X|Y|D|LAMBDA|INTERCEPT(0/1)|OUTDIR|TOL
          U V^T from OUTDIR against B* = B_R W W^T (B_R = (Xc^T Xc + lambda I)^-1 Xc^T Yc,
          W = top-d eigenvectors of Yc^T Xc B_R); model.json objective against
          f* = ||Yc - Xc B*||^2 + lambda ||B*||^2 computed from the residual;
          optimal_objective (if present) against f*; with INTERCEPT the means files.
      cmp|NAME|OUTDIR1|OUTDIR2|TOLF|TOLB
          two fits agree: objective to TOLF and U V^T to TOLB (relative).
      svd|NAME|X|Y|D|LAMBDA|INTERCEPT|OUTDIR|TOL
          for ill-conditioned X: the optimum from an SVD of the column-scaled [Xc; sqrt(l) I]
          (no normal equations), f at OUTDIR's U, V in long double; the fit's true gap, its
          reported objective and optimal_objective within TOL, certificate PASSED, converged.
  ref_rrr.py ill DIR          write DIR/lX.npy, lY.npy (n = 3000, p = 120, 4 latent factors,
                              columns over 6 decades: cond 2e7 after column scaling) and
                              DIR/cX.npy, cY.npy (n = 300, p = 8 near-collinear columns over
                              9 decades, relative noise 1e-8)
  Prints PASS: NAME / FAIL: NAME (reason) per check; exit 0 iff all pass.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import optimum  # noqa: E402


def prep(d):
    X = np.load(os.path.join(d, "X.npy"))
    Y = np.load(os.path.join(d, "Y.npy"))
    rng = np.random.default_rng(12345)
    Xs = X + 1e3 * rng.standard_normal(X.shape[1])  # |mean| >> spread: X^T X - n m m^T fails
    Ys = Y + 1e3 * rng.standard_normal(Y.shape[1])
    np.save(os.path.join(d, "Xs.npy"), Xs)
    np.save(os.path.join(d, "Ys.npy"), Ys)
    np.save(os.path.join(d, "Xc.npy"), Xs - Xs.mean(axis=0))
    np.save(os.path.join(d, "Yc.npy"), Ys - Ys.mean(axis=0))
    Xd = X.copy()
    Xd[:, 1] = Xd[:, 0]
    np.save(os.path.join(d, "Xdup.npy"), Xd)


def ill(d):
    rng = np.random.default_rng(47)
    n, p, q, k = 3000, 120, 6, 4
    F = rng.standard_normal((n, k))
    X = (F @ rng.standard_normal((k, p)) + 1e-6 * rng.standard_normal((n, p))) \
        * 10 ** rng.uniform(-3, 3, p)
    Y = F @ rng.standard_normal((k, q)) + 0.5 * rng.standard_normal((n, q))
    np.save(os.path.join(d, "lX.npy"), X)
    np.save(os.path.join(d, "lY.npy"), Y)
    rng = np.random.default_rng(0)
    n, p, q = 300, 8, 5
    F = rng.standard_normal((n, 2))
    sc = np.logspace(-3, 6, p)
    X = (F @ rng.standard_normal((2, p)) + 1e-8 * rng.standard_normal((n, p))) * sc
    Y = X @ (rng.standard_normal((p, 2)) @ rng.standard_normal((2, q)) / sc[:, None]) \
        + 0.1 * rng.standard_normal((n, q))
    np.save(os.path.join(d, "cX.npy"), X)
    np.save(os.path.join(d, "cY.npy"), Y)


def centred(X, Y, intercept):
    return (X - X.mean(axis=0), Y - Y.mean(axis=0)) if intercept else (X, Y)


def optimum_svd(X, Y, d, lam, intercept):
    """B* from the SVD of the column-scaled augmented [Xc; sqrt(lam) I]: accurate where
    X^T X has lost its digits."""
    Xc, Yc = centred(X, Y, intercept)
    p, q = Xc.shape[1], Yc.shape[1]
    D = np.sqrt((Xc ** 2).sum(axis=0) + lam)
    D[D == 0] = 1.0
    Xt, Yt = Xc / D, Yc
    if lam > 0:
        Xt = np.vstack([Xt, np.diag(np.sqrt(lam) / D)])
        Yt = np.vstack([Yc, np.zeros((p, q))])
    P, s, Qt = np.linalg.svd(Xt, full_matrices=False)
    PY = P.T @ Yt
    W = np.linalg.svd(PY, full_matrices=False)[2][:d].T
    return (Qt.T @ (PY / s[:, None]) @ W @ W.T) / D[:, None]


def f_long(X, Y, B, lam, intercept):
    """f(B) in long double (the residual itself)."""
    L = np.longdouble
    Xc, Yc = centred(X.astype(L), Y.astype(L), intercept)
    B = B.astype(L)
    R = Xc @ B - Yc
    return float((R * R).sum() + L(lam) * (B * B).sum())


def check_svd(f):
    name, xp, yp, d, lam, icpt, out, tol = f
    d, lam, icpt, tol = int(d), float(lam), int(icpt), float(tol)
    X, Y = np.load(xp), np.load(yp)
    fs = f_long(X, Y, optimum_svd(X, Y, d, lam, icpt), lam, icpt)
    B, m = load_fit(out)
    fb = f_long(X, Y, B, lam, icpt)
    gap, er, eo = (fb - fs) / fs, abs(m["objective"] - fb) / fb, \
        abs(m["optimal_objective"] - fs) / fs
    errs = [w for ok, w in ((gap <= tol, "true gap %.3g" % gap),
                            (er <= tol, "reported objective off by %.3g" % er),
                            (eo <= tol, "optimal_objective off by %.3g" % eo),
                            (m["certificate"] == "PASSED", "certificate %s" % m["certificate"]),
                            (m["converged"], "not converged")) if not ok]
    return errs, "gap %.1e objective %.1e f* %.1e" % (gap, er, eo)


_cache = {}


def reference(xpath, ypath, d, lam, intercept):
    key = (xpath, ypath, d, lam, intercept)
    if key in _cache:
        return _cache[key]
    X = np.load(xpath).astype(np.float64)
    Y = np.load(ypath).astype(np.float64)
    xm, ym = X.mean(axis=0), Y.mean(axis=0)
    B, f = optimum(X, Y, lam, d, intercept)  # the one NumPy closed form (check.py)
    _cache[key] = (B, f, xm, ym)
    return _cache[key]


def load_fit(out):
    U = np.load(os.path.join(out, "U.npy"))
    V = np.load(os.path.join(out, "V.npy"))
    with open(os.path.join(out, "model.json")) as fh:
        m = json.load(fh)
    return U @ V.T, m


def rel(a, b):
    den = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / (den if den > 0 else 1.0))


def check_fit(f):
    name, xp, yp, d, lam, icpt, out, tol = f
    d, lam, icpt, tol = int(d), float(lam), int(icpt), float(tol)
    Bs, fs, xm, ym = reference(xp, yp, d, lam, icpt)
    B, m = load_fit(out)
    errs = []
    eb = rel(B, Bs)
    ef = abs(m["objective"] - fs) / fs
    if not eb <= tol:
        errs.append("|B-B*|/|B*| = %.3g" % eb)
    if not ef <= tol:
        errs.append("objective rel err %.3g (%.17g vs %.17g)" % (ef, m["objective"], fs))
    fo = m.get("optimal_objective")
    if fo is not None and not abs(fo - fs) / fs <= tol:
        errs.append("optimal_objective rel err %.3g" % (abs(fo - fs) / fs))
    if m.get("rank") != d or bool(m.get("intercept")) != bool(icpt):
        errs.append("model.json rank/intercept mismatch")
    if icpt:
        xmf = np.load(os.path.join(out, "x_mean.npy")).ravel()
        ymf = np.load(os.path.join(out, "y_mean.npy")).ravel()
        if rel(xmf, xm) > 1e-14 or rel(ymf, ym) > 1e-14:
            errs.append("means differ")
    return errs, "B %.1e f %.1e" % (eb, ef)


def check_cmp(f):
    name, o1, o2, tolf, tolb = f
    B1, m1 = load_fit(o1)
    B2, m2 = load_fit(o2)
    ef = abs(m1["objective"] - m2["objective"]) / abs(m2["objective"])
    eb = rel(B1, B2)
    errs = []
    if not ef <= float(tolf):
        errs.append("objectives differ by %.3g" % ef)
    if not eb <= float(tolb):
        errs.append("U V^T differ by %.3g" % eb)
    return errs, "B %.1e f %.1e" % (eb, ef)


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("prep", "ill"):
        (prep if sys.argv[1] == "prep" else ill)(sys.argv[2])
        return 0
    if len(sys.argv) != 3 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    bad = 0
    with open(sys.argv[2]) as fh:
        for line in fh:
            f = line.strip().split("|")
            if len(f) < 2:
                continue
            kind, name = f[0], f[1]
            try:
                errs, info = {"fit": check_fit, "svd": check_svd}.get(kind, check_cmp)(f[1:])
            except Exception as e:  # missing file, bad JSON: a failure, not a crash
                errs, info = ["%s: %s" % (type(e).__name__, e)], ""
            if errs:
                bad += 1
                print("FAIL: %s (%s)" % (name, "; ".join(errs)))
            else:
                print("PASS: %s (%s)" % (name, info))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
