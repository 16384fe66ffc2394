#!/usr/bin/env python3
"""tests/mpi/check.py: independent NumPy references for the rrr tests.

  check.py mkdata --out DIR --n N --p P --q Q --rank D [--corr R] [--noise S] [--seed S]
                  [--nan-row I] [--f4] [--offset M] [--latent K [--xnoise E]] [--scales S]
      X (n x p) with columns of correlation R (0: independent), Y = X B + noise (B rank D);
      --offset adds M to every column mean (tests --intercept); --nan-row puts a NaN there.
      --latent K: X = F L^T + E Z instead, K latent factors (F n x K, L p x K standard
      normal) plus small independent noise (E = --xnoise, default 1e-3): the columns of
      genotypes, spectra, neighbouring voxels. --scales S: column j of X is multiplied by
      10^(S (u_j - 1/2)), u_j uniform, so column scales span S decades (raw units). Both
      draw from a second generator, so data without them is unchanged.
  check.py cond --x X --lambda L [--intercept]
      prints cond(X^T X + lambda I) (NumPy, dense: small p only).
  check.py verify --x X --y Y --model DIR --lambda L --rank D [--intercept] [--gap G]
                  [--btol T] [--solver NAME]
      f at (U, V) recomputed directly must equal model.json's objective (1e-10 relative);
      f - f* <= G f* for the closed-form optimum f* (B_R W W^T), ||B - B*|| <= T ||B*||.
  check.py compare DIR1 DIR2 --tol T        B = U V^T of two fits agree to T relative.
  check.py predict --x X --model DIR --yhat YHAT [--y Y --printed FILE]
      YHAT = X U V^T (+ intercept) to 1e-12; with --y the printed mse/r2 match to 1e-10.
  check.py cv --x X --y Y --dir DIR [--fold-ids F] [--intercept] [--rule min|1se] [--tol T]
      every SSE_k(lambda, d) of DIR/cv.json against a refit of each fold by the closed form on
      its training rows (their own means with --intercept), cv_mse, cv_se and the choice
      (folds from F, else DIR/fold_ids.npy); relative tolerance T (1e-8).
Exit 0 when every check holds; each failed check prints one line."""
import argparse
import json
import sys

import numpy as np


def optimum(X, Y, lam, d, intercept):
    if intercept:
        X = X - X.mean(axis=0)
        Y = Y - Y.mean(axis=0)
    # by an SVD of X, not the normal equations: accurate where X^T X is singular or nearly
    # (p > n with a tiny lambda); directions of X null to working precision are left out
    Ux, s, Vt = np.linalg.svd(X, full_matrices=False)
    keep = s > max(X.shape) * np.finfo(float).eps * (s[0] if s.size else 0)
    filt = np.where(keep, s / np.where(keep, s * s + lam, 1.0), 0.0)
    UtY = Ux.T @ Y
    BR = Vt.T @ (filt[:, None] * UtY)
    M = UtY.T @ ((s * filt)[:, None] * UtY)
    M = (M + M.T) / 2
    w, W = np.linalg.eigh(M)
    W = W[:, ::-1][:, :d]
    B = BR @ W @ W.T
    return B, objective(X, Y, B, lam)


def objective(X, Y, B, lam):
    R = Y - X @ B
    return float(np.sum(R * R) + lam * np.sum(B * B))


def load_model(d):
    U = np.load(d + "/U.npy")
    V = np.load(d + "/V.npy")
    with open(d + "/model.json") as f:
        js = json.load(f)
    return U, V, js


def latent_scaled(a, Z):
    """--latent K: K factors + xnoise independent noise; --scales S: columns 10^S apart."""
    rng = np.random.default_rng([a.seed, 14])
    if a.latent > 0:
        F = rng.standard_normal((a.n, a.latent))
        L = rng.standard_normal((a.p, a.latent))
        Z = F @ L.T + a.xnoise * Z
    if a.scales > 0:
        Z = Z * 10.0 ** (a.scales * (rng.uniform(size=a.p) - 0.5))
    return Z


def mkdata(a):
    rng = np.random.default_rng(a.seed)
    Z = rng.standard_normal((a.n, a.p))
    if a.corr > 0:  # equicorrelated columns: x = sqrt(1-r) z + sqrt(r) common
        Z = np.sqrt(1 - a.corr) * Z + np.sqrt(a.corr) * rng.standard_normal((a.n, 1))
    Z = latent_scaled(a, Z)
    X = Z + a.offset
    B = rng.standard_normal((a.p, a.rank)) @ rng.standard_normal((a.rank, a.q)) / np.sqrt(a.p)
    Y = (X - a.offset) @ B + a.noise * rng.standard_normal((a.n, a.q)) + 2 * a.offset
    if a.nan_row is not None:
        X[a.nan_row, 0] = np.nan
    dt = np.float32 if a.f4 else np.float64
    np.save(a.out + "/X.npy", X.astype(dt))
    np.save(a.out + "/Y.npy", Y.astype(dt))
    return 0


def verify(a):
    X = np.load(a.x).astype(np.float64)
    Y = np.load(a.y).astype(np.float64)
    U, V, js = load_model(a.model)
    bad = 0

    def need(ok, msg):
        nonlocal bad
        if not ok:
            print("check.py: FAIL", msg)
            bad += 1

    for k in ["rank", "lambda", "solver", "objective", "gradient_norm", "gradient_norm_initial",
              "iterations", "converged", "stop_reason", "n", "p", "q", "intercept", "ranks"]:
        need(k in js, "model.json lacks " + k)
    if bad:
        return 1
    need(U.shape == (X.shape[1], a.rank) and V.shape == (Y.shape[1], a.rank),
         f"shapes U {U.shape} V {V.shape}")
    need(js["rank"] == a.rank and js["lambda"] == a.lam and js["intercept"] == a.intercept,
         "model.json rank/lambda/intercept")
    need(js["converged"] is True, f"converged is {js['converged']} ({js['stop_reason']})")
    if a.solver:
        need(js["solver"] == a.solver, f"solver {js['solver']} != {a.solver}")
    Xc, Yc = X, Y
    if a.intercept:
        Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
        xm = np.load(a.model + "/x_mean.npy")
        ym = np.load(a.model + "/y_mean.npy")
        need(np.allclose(xm.ravel(), X.mean(axis=0), rtol=1e-12, atol=1e-12), "x_mean")
        need(np.allclose(ym.ravel(), Y.mean(axis=0), rtol=1e-12, atol=1e-12), "y_mean")
    B = U @ V.T
    f = objective(Xc, Yc, B, a.lam)
    # f* below eps ||Yc||^2 is at the rounding level of the data: measure against that scale
    scale = np.finfo(float).eps * float(np.sum(Yc * Yc))
    need(abs(js["objective"] - f) <= 1e-10 * f + 1e-6 * scale,
         f"model.json objective {js['objective']!r} vs recomputed {f!r}")
    Bs, fs = optimum(X, Y, a.lam, a.rank, a.intercept)
    gap = (f - fs) / max(fs, scale)
    need(gap <= a.gap, f"gap (f - f*)/f* = {gap:.3e} > {a.gap:g} (f={f!r} f*={fs!r})")
    if a.btol is not None:
        e = np.linalg.norm(B - Bs) / np.linalg.norm(Bs)
        need(e <= a.btol, f"||B - B*||/||B*|| = {e:.3e} > {a.btol:g}")
    print(f"check.py: gap {gap:.3e} f {f!r} f* {fs!r} iterations {js['iterations']}")
    return 1 if bad else 0


def cond(a):
    X = np.load(a.x).astype(np.float64)
    if a.intercept:
        X = X - X.mean(axis=0)
    w = np.linalg.eigvalsh(X.T @ X + a.lam * np.eye(X.shape[1]))
    print(f"{w[-1] / w[0]:.3e}")
    return 0


def compare(a):
    U1, V1, _ = load_model(a.dir1)
    U2, V2, _ = load_model(a.dir2)
    B1, B2 = U1 @ V1.T, U2 @ V2.T
    e = np.linalg.norm(B1 - B2) / np.linalg.norm(B1)
    print(f"check.py: ||B1 - B2||/||B1|| = {e:.3e}")
    return 0 if e <= a.tol else 1


def predict(a):
    X = np.load(a.x).astype(np.float64)
    U, V, js = load_model(a.model)
    Yh = X @ U @ V.T
    if js["intercept"]:
        xm = np.load(a.model + "/x_mean.npy").ravel()
        ym = np.load(a.model + "/y_mean.npy").ravel()
        Yh = (X - xm) @ U @ V.T + ym
    got = np.load(a.yhat)
    e = np.max(np.abs(got - Yh)) / max(np.max(np.abs(Yh)), 1e-300)
    bad = 0
    if got.shape != Yh.shape or e > 1e-12:
        print(f"check.py: FAIL yhat differs: {e:.3e}")
        bad = 1
    if a.y:
        Y = np.load(a.y).astype(np.float64)
        sse = np.sum((Y - Yh) ** 2)
        mse = sse / Y.size
        r2 = 1 - sse / np.sum((Y - Y.mean(axis=0)) ** 2)
        vals = dict(line.split() for line in open(a.printed) if line.strip())
        for k, v in (("mse", mse), ("r2", r2)):
            if k not in vals or abs(float(vals[k]) - v) > 1e-10 * abs(v):
                print(f"check.py: FAIL printed {k} {vals.get(k)} vs {v!r}")
                bad = 1
    return bad


def cv(a):
    X = np.load(a.x).astype(np.float64)
    Y = np.load(a.y).astype(np.float64)
    js = json.load(open(a.dir + "/cv.json"))
    ids = np.load(a.fold_ids if a.fold_ids else a.dir + "/fold_ids.npy").ravel().astype(int)
    K, n, q = js["folds"], X.shape[0], Y.shape[1]
    lams, ranks = js["lambdas"], js["ranks"]
    sse = np.zeros((K, len(ranks), len(lams)))
    for k in range(K):
        tr, va = ids != k, ids == k
        Xt, Yt, Xv, Yv = X[tr], Y[tr], X[va], Y[va]
        if a.intercept:
            xm, ym = Xt.mean(axis=0), Yt.mean(axis=0)
            Xt, Yt, Xv, Yv = Xt - xm, Yt - ym, Xv - xm, Yv - ym
        for r, d in enumerate(ranks):
            for l, lam in enumerate(lams):
                B, _ = optimum(Xt, Yt, lam, d, False)
                sse[k, r, l] = np.sum((Yv - Xv @ B) ** 2)
    got = np.array(js["sse"])
    bad = 0
    e = np.max(np.abs(got - sse) / np.abs(sse))
    if got.shape != sse.shape or e > a.tol:
        print(f"check.py: FAIL sse differs from the refits: {e:.3e}")
        bad = 1
    sizes = np.array([np.sum(ids == k) for k in range(K)])
    mse = sse.sum(axis=0) / (n * q)
    per = sse / (sizes[:, None, None] * q)
    se = per.std(axis=0, ddof=1) / np.sqrt(K)
    for name, want in (("cv_mse", mse), ("cv_se", se)):
        e = np.max(np.abs(np.array(js[name]) - want) / np.abs(want))
        if e > a.tol:
            print(f"check.py: FAIL {name} differs: {e:.3e}")
            bad = 1
    if list(js["fold_sizes"]) != list(sizes):
        print("check.py: FAIL fold_sizes")
        bad = 1
    m = np.array(js["cv_mse"])
    cand = [(m[r, l], -lams[l], ranks[r], r, l) for r in range(len(ranks)) for l in range(len(lams))]
    _, _, _, br, bl = min(cand)
    if js["rule"] == "1se":
        thr = m[br, bl] + np.array(js["cv_se"])[br, bl]
        ok = [(ranks[r], -lams[l], r, l) for r in range(len(ranks)) for l in range(len(lams)) if m[r, l] <= thr]
        _, _, br, bl = min(ok)
    if js["rank"] != ranks[br] or js["lambda"] != lams[bl]:
        print(f"check.py: FAIL choice {js['rank']}, {js['lambda']} vs {ranks[br]}, {lams[bl]}")
        bad = 1
    print(f"check.py: cv {K} folds, {len(ranks)} ranks x {len(lams)} lambdas, max rel err vs refits "
          f"{np.max(np.abs(got - sse) / np.abs(sse)):.2e}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mkdata")
    for k in ("n", "p", "q", "rank"):
        m.add_argument("--" + k, type=int, required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--corr", type=float, default=0.0)
    m.add_argument("--noise", type=float, default=1.0)
    m.add_argument("--offset", type=float, default=0.0)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--nan-row", type=int)
    m.add_argument("--f4", action="store_true")
    m.add_argument("--latent", type=int, default=0)
    m.add_argument("--xnoise", type=float, default=1e-3)
    m.add_argument("--scales", type=float, default=0.0)
    k = sub.add_parser("cond")
    k.add_argument("--x", required=True)
    k.add_argument("--lambda", dest="lam", type=float, required=True)
    k.add_argument("--intercept", action="store_true")
    v = sub.add_parser("verify")
    v.add_argument("--x", required=True)
    v.add_argument("--y", required=True)
    v.add_argument("--model", required=True)
    v.add_argument("--lambda", dest="lam", type=float, required=True)
    v.add_argument("--rank", type=int, required=True)
    v.add_argument("--intercept", action="store_true")
    v.add_argument("--gap", type=float, default=1e-6)
    v.add_argument("--btol", type=float)
    v.add_argument("--solver")
    c = sub.add_parser("compare")
    c.add_argument("dir1")
    c.add_argument("dir2")
    c.add_argument("--tol", type=float, required=True)
    pr = sub.add_parser("predict")
    pr.add_argument("--x", required=True)
    pr.add_argument("--model", required=True)
    pr.add_argument("--yhat", required=True)
    pr.add_argument("--y")
    pr.add_argument("--printed")
    c = sub.add_parser("cv")
    c.add_argument("--x", required=True)
    c.add_argument("--y", required=True)
    c.add_argument("--dir", required=True)
    c.add_argument("--fold-ids")
    c.add_argument("--intercept", action="store_true")
    c.add_argument("--tol", type=float, default=1e-8)
    a = ap.parse_args()
    return {"mkdata": mkdata, "verify": verify, "compare": compare, "predict": predict,
            "cv": cv, "cond": cond}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
