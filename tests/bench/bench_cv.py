#!/usr/bin/env python3
"""tests/bench/bench_cv.py: the benchmarks of `rrr cv` and of the many-outputs closed form
(run by scripts/bench.sh; also standalone). All times are wall times of whole commands
(mpirun start-up, reading the files and writing the outputs included: "end to end"),
median of --repeats runs after one warm-up, min and max kept.

  cv tall   n=200000 p=500 q=200: 5 folds x 20 lambdas x ranks 1:10  vs  rrr fit --solver exact
  cv wide   n=20000 p=4000 q=1000: 5 folds x 20 lambdas x ranks 1:20 vs  rrr fit --solver exact
  naive     n=20000 p=200 q=100: the same search as 100 exact fits (one per fold and lambda,
            each at the largest rank: a naive search of the full grid would need 10 times
            more) with their predictions on the held-out fold, vs rrr cv
  outputs   n=5000 p=200 q=20000: rrr fit --solver exact vs the NumPy closed form by the
            p x p route (peer_numpy.py --route p), loading included
Prints one key=value line per measurement, writes OUT/bench_cv.json.
usage: bench_cv.py --rrr bin/rrr --mpirun "mpirun -np 2 ..." --data DIR --out DIR
       [--repeats 3] [--tall D] [--wide D] [--only tall,wide,naive,outputs]"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"bench_cv: failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return t, r.stdout


def timed(cmd, repeats):
    run(cmd)  # warm-up (and the page cache)
    ts = [run(cmd)[0] for _ in range(repeats)]
    return {"median": statistics.median(ts), "min": min(ts), "max": max(ts), "n": len(ts)}


def gen(a, name, n, p, q, d):
    path = os.path.join(a.data, f"{name}-n{n}-p{p}-q{q}-d{d}")
    if not os.path.exists(os.path.join(path, ".complete")):
        os.makedirs(path, exist_ok=True)
        run(a.mpirun + [a.rrr, "gen", "--n", str(n), "--p", str(p), "--q", str(q), "--rank", str(d),
                        "--out", path])
        open(os.path.join(path, ".complete"), "w").close()
    return path


def cv_vs_exact(a, res, name, path, d, ranks, ratio_max):
    out = tempfile.mkdtemp(prefix="rrr-bench-cv.")
    x, y = os.path.join(path, "X.npy"), os.path.join(path, "Y.npy")
    ex = timed(a.mpirun + [a.rrr, "fit", "--x", x, "--y", y, "--rank", str(d), "--lambda", "1",
                           "--solver", "exact", "--quiet", "--out", out + "/fit"], a.repeats)
    cv = timed(a.mpirun + [a.rrr, "cv", "--x", x, "--y", y, "--rank", ranks, "--lambda",
                           "0.01:100:20", "--folds", "5", "--quiet", "--out", out + "/cv"],
               a.repeats)
    js = json.load(open(out + "/cv/cv.json"))
    r = cv["median"] / ex["median"]
    print(f"bench=cv problem={name} ranks={ranks} lambdas=20 folds=5 t_cv={cv['median']:.3f} "
          f"t_exact={ex['median']:.3f} ratio={r:.2f} target={ratio_max} "
          f"algebra_gflop_per_rank={js['algebra_flops_per_rank'] / 1e9:.1f} "
          f"choice_rank={js['rank']} choice_lambda={js['lambda']:.4g}")
    res[f"cv_{name}"] = {"cv": cv, "exact": ex, "ratio": r, "target": ratio_max,
                         "algebra_flops_per_rank": js["algebra_flops_per_rank"],
                         "choice": [js["rank"], js["lambda"]]}


def naive(a, res):
    """100 exact fits and predictions, one per (fold, lambda), on the folds rrr cv used."""
    n, p, q, d = 20000, 200, 100, 10
    path = gen(a, "naive", n, p, q, d)
    w = tempfile.mkdtemp(prefix="rrr-bench-naive.")
    x, y = os.path.join(path, "X.npy"), os.path.join(path, "Y.npy")
    lams = "0.01:100:20"
    t_cv = timed(a.mpirun + [a.rrr, "cv", "--x", x, "--y", y, "--rank", f"1:{d}", "--lambda",
                             lams, "--folds", "5", "--quiet", "--out", w + "/cv"], a.repeats)
    ids = np.load(w + "/cv/fold_ids.npy").ravel().astype(int)
    X, Y = np.load(x), np.load(y)
    for k in range(5):  # the splits written once, outside the timing
        np.save(f"{w}/Xt{k}.npy", X[ids != k])
        np.save(f"{w}/Yt{k}.npy", Y[ids != k])
        np.save(f"{w}/Xv{k}.npy", X[ids == k])
        np.save(f"{w}/Yv{k}.npy", Y[ids == k])
    lam = json.load(open(w + "/cv/cv.json"))["lambdas"]
    t0 = time.perf_counter()
    for k in range(5):
        for L in lam:
            run(a.mpirun + [a.rrr, "fit", "--x", f"{w}/Xt{k}.npy", "--y", f"{w}/Yt{k}.npy", "--rank",
                            str(d), "--lambda", repr(L), "--solver", "exact", "--quiet", "--out",
                            f"{w}/m"])
            run(a.mpirun + [a.rrr, "predict", "--model", f"{w}/m", "--x", f"{w}/Xv{k}.npy", "--y",
                            f"{w}/Yv{k}.npy", "--out", f"{w}/yh.npy"])
    t_naive = time.perf_counter() - t0
    r = t_naive / t_cv["median"]
    print(f"bench=cv_naive n={n} p={p} q={q} folds=5 lambdas=20 ranks=1:{d} t_cv={t_cv['median']:.3f} "
          f"t_naive={t_naive:.3f} fits=100 speedup={r:.1f} target=20")
    res["cv_naive"] = {"cv": t_cv, "naive": t_naive, "fits": 100, "speedup": r, "target": 20}


def outputs(a, res):
    n, p, q, d = 5000, 200, 20000, 10
    path = gen(a, "outputs", n, p, q, d)
    x, y = os.path.join(path, "X.npy"), os.path.join(path, "Y.npy")
    w = tempfile.mkdtemp(prefix="rrr-bench-out.")
    rr = timed(a.mpirun + [a.rrr, "fit", "--x", x, "--y", y, "--rank", str(d), "--lambda", "1",
                           "--solver", "exact", "--quiet", "--out", w + "/m"], a.repeats)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads))
    cmd = [sys.executable, os.path.join(HERE, "peer_numpy.py"), "--x", x, "--y", y, "--rank",
           str(d), "--lambda", "1", "--repeats", "1", "--route", "p"]
    run(cmd, env)
    ts = [run(cmd, env)[0] for _ in range(a.repeats)]
    pe = {"median": statistics.median(ts), "min": min(ts), "max": max(ts), "n": len(ts)}
    r = rr["median"] / pe["median"]
    print(f"bench=many_outputs n={n} p={p} q={q} d={d} t_rrr_exact={rr['median']:.3f} "
          f"t_numpy_pp={pe['median']:.3f} ratio={r:.2f} target=0.5")
    res["many_outputs"] = {"rrr_exact": rr, "numpy_pp": pe, "ratio": r, "target": 0.5,
                           "shape": [n, p, q, d]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rrr", default="bin/rrr")
    ap.add_argument("--mpirun", default="mpirun -np 2")
    ap.add_argument("--data", default="/tmp/rrr-bench-data")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tall")
    ap.add_argument("--wide")
    ap.add_argument("--only", default="tall,wide,naive,outputs")
    a = ap.parse_args()
    a.mpirun = shlex.split(a.mpirun)
    only = set(a.only.split(","))
    res = {}
    if "tall" in only:
        cv_vs_exact(a, res, "tall", a.tall or gen(a, "tall", 200000, 500, 200, 10), 10, "1:10", 2)
    if "wide" in only:
        cv_vs_exact(a, res, "wide", a.wide or gen(a, "wide", 20000, 4000, 1000, 20), 20, "1:20", 10)
    if "naive" in only:
        naive(a, res)
    if "outputs" in only:
        outputs(a, res)
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, "bench_cv.json.tmp")
    json.dump(res, open(tmp, "w"), indent=1)
    os.replace(tmp, os.path.join(a.out, "bench_cv.json"))


if __name__ == "__main__":
    main()
