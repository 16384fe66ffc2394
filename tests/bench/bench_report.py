#!/usr/bin/python3
"""tests/bench/bench_report.py: turns the raw logs of scripts/bench.sh into figures, ratios,
tests/bench/results/bench.{json,csv} and the summary table.

Usage:
  bench_report.py line REPORT.json KIND REP REV      one key=value line for an rrr fit
  bench_report.py summarize --raw DIR --out DIR [--elapsed S]
Raw layout (written by scripts/bench.sh): DIR/meta.json; DIR/probe_<name>.json;
DIR/rrr/<prob>__<kernel>__<kind>__<rep>.{json,err} with kind gd0 (gd --max-iter 0), gdM
(gd --tol 0 --max-iter M), exact, gd, als (default tol, no certificate), gdcert, alscert;
DIR/peer/<prob>__numpy.out, <prob>__mpi4py.{out,err}.
Every figure is the median over repeats with min and max (for rates: min = worst run).
The floor of a gd iteration: max(its bytes / the best read-only sum rate of NP
ranks, its flops / the NP-rank square-DGEMM rate), both measured in the same run.
Flop counts: gd iteration n (6pd + 8qd + 4d^2) in the residual form, n 4pd (1 + 1/50) in the
cross-product form (X^T Y kept: one Gram pass, src/kernels.c); statistics pass
n p (p + 1) + 2 n p q (dsyrk + dgemm); bytes of "stream X twice and Y once" 8 n (2p + q).
"""
import glob
import json
import math
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import model  # noqa: E402  scripts/model.py

NAN = float("nan")


def load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def net(r):
    """A fit's solver time without its one-off setup (gd: reading its rows, X^T Y, the
    preconditioner), which both runs of an (M - 0) difference make but whose reads from a
    page cache that a VM may drop vary by seconds."""
    return r["time_solve"] - r["time_setup"]


def stat(vals):
    v = [x for x in vals if x is not None and x == x]
    if not v:
        return {"median": NAN, "min": NAN, "max": NAN, "n": 0}
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def gd_keeps_xty(p, q, d=1, n=None, ranks=2):
    """rrr's --gd-xty auto, as `rrr plan` decides it (src/plan.c) on this machine."""
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        mem = 1 << 50
    return model.rrr_plan(n or 1 << 40, p, q, d, ranks, ranks, mem / ranks)["gd_keeps_xty"]


def gd_flops_row(p, q, d, n, ranks):
    if gd_keeps_xty(p, q, d, n, ranks):  # one Gram pass (X D, X^T E); W refreshed every 50 iterations
        return 4 * p * d * (1 + 1 / 50)
    return 6 * p * d + 8 * q * d + 4 * d * d


def cmd_line(argv):
    path, kind, rep, rev = argv
    r = load(path)
    if r is None:
        print(f"run=rrr kind={kind} rep={rep} error=no_report")
        return
    n, p, q, d = r["n"], r["p"], r["q"], r["rank"]
    it = r.get("iterations") or 0
    ts = r.get("time_solve", NAN)
    if r["solver"] == "exact":
        fl = n * p * (p + 1) + 2 * n * p * q
    else:
        fl = it * n * gd_flops_row(p, q, d, n, r["ranks"])
    gf = fl / ts / 1e9 if ts and ts > 0 and fl > 0 else 0.0
    t_iter = r.get("time_per_iteration")
    print(f"run=rrr np={r['ranks']} n={n} p={p} q={q} d={d} lambda={r['lambda']:g} "
          f"solver={r['solver']} kind={kind} rep={rep} threads={r['threads_per_rank']} "
          f"core={r['blas_core']} rev={rev} iters={it} t_read={r['time_max']['read']:.4f} "
          f"t_solve={ts:.4f} t_total={r['time_total']:.4f} "
          f"t_iter={(t_iter if t_iter is not None else NAN):.5f} gflops={gf:.2f}")


class Report:
    def __init__(self, raw, out, elapsed):
        self.raw, self.out = raw, out
        self.meta = load(os.path.join(raw, "meta.json")) or {}
        self.meta["elapsed_s"] = elapsed
        self.np = int(self.meta.get("np", 2))
        self.rows = []     # figures
        self.ratios = []
        self.probes = {}
        for f in sorted(glob.glob(os.path.join(raw, "probe_*.json"))):
            self.probes[os.path.basename(f)[6:-5]] = load(f)
        self.problems = {p[0]: tuple(int(x) for x in p[1:]) for p in self.meta.get("problems", [])}
        self.kmain = self.meta.get("kernel_main", "unset")
        self.kalt = self.meta.get("kernel_alt", "SkylakeX")
        self.cores_seen = {}

    def add(self, section, problem, kernel, name, unit, st, note=""):
        row = {"section": section, "problem": problem, "kernel": kernel, "figure": name,
               "unit": unit, **st, "note": note}
        self.rows.append(row)
        return row

    def ratio(self, problem, kernel, name, value, note, lo=NAN, hi=NAN):
        self.ratios.append({"section": "ratio", "problem": problem, "kernel": kernel,
                            "figure": name, "unit": "x", "median": value, "min": lo, "max": hi,
                            "n": 1, "note": note})

    # ---- probe ----
    def prec(self, probe, name):
        j = self.probes.get(probe)
        if not j:
            return None
        return j["results"].get(name)

    def rate_stat(self, rec, unit):
        """median/min/max of a probe rate: min = worst run, max = best run."""
        if rec is None:
            return stat([])
        return {"median": rec[f"{unit}_median"], "min": rec[f"{unit}_worst"],
                "max": rec[f"{unit}_best"], "n": rec["reps"]}

    def machine(self):
        np_ = self.np
        pn = f"np{np_}"
        core_main = (self.probes.get(pn) or {}).get("corename", "?")
        self.cores_seen[self.kmain] = core_main
        for probe, tag, nr in (("np1_tall", "tall", 1), (pn, None, np_)):
            for nm, label in (("triad", "triad a=b+s*c"), ("sum", "read-only sum"),
                              ("sum_avx512", "read-only sum, AVX-512 loads"),
                              ("sum_avx2", "read-only sum, AVX2 loads")):
                key = nm + (f"_{tag}" if tag else "")
                rec = self.prec(probe, key)
                if rec is None and nm != "sum" and nm != "triad":
                    continue  # a CPU without those vector loads
                self.add("machine", "-", self.kmain, f"{label}, {nr} rank(s)", "GB/s",
                         self.rate_stat(rec, "gbps"),
                         f"{rec['n_per_rank']} doubles/array/rank" if rec else "missing")
        ov = self.prec(pn, "overlap")
        if ov is not None:  # what the floor's max(read, flops) assumes: complete overlap
            self.add("machine", "-", self.kmain,
                     f"best-case streamed kernel at {ov['flop_per_byte']:g} flop/byte / "
                     f"max(read alone, its flops in cache), {np_} rank(s)", "x",
                     {"median": ov["stream_over_max"], "min": NAN, "max": NAN, "n": ov["reps"]},
                     "registers only, prefetch 8 KB ahead (probe.c ovl_run): the overlap one "
                     "core reaches at best")
        j = self.probes.get(pn) or {"results": {}}
        for name, rec in j["results"].items():
            if name.startswith("allreduce_") and name[10:].isdigit():
                self.add("machine", "-", self.kmain, f"MPI_Allreduce {int(rec['bytes'])} B, {np_} ranks",
                         "us", {"median": rec["us_median"], "min": rec["us_min"],
                                "max": rec["t_max"] * 1e6, "n": rec["reps"]})
        fit = j["results"].get("allreduce_fit")
        if fit:
            self.add("machine", "-", self.kmain, "allreduce fit alpha", "us",
                     {"median": fit["alpha_us"], "min": NAN, "max": NAN, "n": 1},
                     f"t = alpha + beta*bytes, max misfit {fit['fit_max_rel_err'] * 100:.0f}%")
            self.add("machine", "-", self.kmain, "allreduce fit 1/beta", "GB/s",
                     {"median": fit["gbps_asymptotic"], "min": NAN, "max": NAN, "n": 1})
        for kl in (self.kmain, self.kalt):
            for prob in self.problems:
                pj = self.probes.get(f"{pn}_{prob}_{kl}")
                if not pj:
                    continue
                self.cores_seen.setdefault(kl, pj.get("corename"))
                for base, label in (("gemm_square", "DGEMM square"),
                                    ("gemm_ts_xu", "DGEMM X*U (tall-skinny)"),
                                    ("gemm_ts_xtr", "DGEMM X^T*R (= X^T Y shape)"),
                                    ("gemm_panel", "DGEMM rank-64 panel update"),
                                    ("syrk", "DSYRK X^T X"),
                                    ("pass", "gd pass panel, in cache"),
                                    ("gram", "gd Gram pass panel, in cache"),
                                    ("gemm_gram", "DGEMM U^T U (d x d)")):
                    rec = pj["results"].get(f"{base}_{prob}")
                    if rec is None:
                        continue
                    shape = (f"p={rec['p']} q={rec['q']} d={rec['d']} nb={rec['nb']}"
                             if base in ("pass", "gram") else
                             f"n={rec['n']} p={rec['p']}" if base == "syrk" else
                             f"m={rec['m']} n={rec['n']} k={rec['k']}")
                    self.add("machine", prob, kl, f"{label}, {np_} ranks", "GFLOP/s",
                             self.rate_stat(rec, "gflops"), f"{shape} core={pj['corename']}")

    # ---- rrr ----
    def runs(self, prob, kl, kind):
        out = {}
        for f in glob.glob(os.path.join(self.raw, "rrr", f"{prob}__{kl}__{kind}__*.json")):
            rep = f.rsplit("__", 1)[1][:-5]
            if rep == "warm":
                continue
            r = load(f)
            if r is not None:
                err = f[:-5] + ".err"
                try:
                    r["_err"] = open(err).read()
                except OSError:
                    r["_err"] = ""
                out[rep] = r
        return out

    @staticmethod
    def logtime(err, pattern):
        m = re.search(pattern, err)
        return float(m.group(1)) if m else None

    def rrr(self):
        M = int(self.meta.get("iters", 10))
        res = {}
        for prob, (n, p, q, d) in self.problems.items():
            for kl in (self.kmain, self.kalt):
                g0, gM = self.runs(prob, kl, "gd0"), self.runs(prob, kl, "gdM")
                reps = sorted(set(g0) & set(gM))
                if not reps:
                    continue
                cores = {gM[r]["blas_core"] for r in reps}
                core = ",".join(sorted(cores))
                self.cores_seen.setdefault(kl, core)
                it = {}
                for key, f in (("total", net),
                               ("compute", lambda r: r["time_max"]["compute"]),
                               ("allreduce", lambda r: r["time_max"]["allreduce"]),
                               ("solve", lambda r: r["time_max"]["solve"])):
                    it[key] = stat([(f(gM[r]) - f(g0[r])) / M for r in reps])
                    self.add("rrr", prob, kl, f"gd iteration: {key}", "ms",
                             {k: (v * 1e3 if k != "n" else v) for k, v in it[key].items()},
                             f"(M={M} iterations - M=0)/M, time_max; core={core}")
                self.precond(prob, kl, M, it["total"], core)
                ex = self.runs(prob, kl, "exact")
                st_ = stat([self.logtime(r["_err"], r"stats: one pass over \d+ rows in ([0-9.]+) s")
                            for r in ex.values()])
                chol = [self.logtime(r["_err"], r"Cholesky of X\^T X \+ lambda I \(p = \d+\) in ([0-9.]+) s")
                        for r in ex.values()]
                cf = [self.logtime(r["_err"], r"exact: closed form(?: \([^)]*\))? in ([0-9.]+) s") for r in ex.values()]
                sol = stat([a + b for a, b in zip(chol, cf) if a is not None and b is not None])
                self.add("rrr", prob, kl, "statistics pass (X^T X, X^T Y, allreduce)", "s", st_,
                         f"{n * p * (p + 1) + 2 * n * p * q:.3g} flops; core={core}")
                self.add("rrr", prob, kl, "exact solve (Cholesky + closed form)", "s", sol)
                res[(prob, kl)] = {"iter": it, "stats": st_, "solve": sol,
                                   "gram_kernel": ",".join(sorted({str(gM[r].get("gram_kernel")) for r in reps}))}
                b0, bM = self.runs(prob, kl, "gd0blas"), self.runs(prob, kl, "gdMblas")
                breps = sorted(set(b0) & set(bM))
                if breps:
                    res[(prob, kl)]["iter_blas"] = stat([(net(bM[r]) - net(b0[r])) / M
                                                         for r in breps])
                    self.add("rrr", prob, kl, "gd iteration: total, RRR_KERNEL=blas", "ms",
                             {k: (v * 1e3 if k != "n" else v) for k, v in res[(prob, kl)]["iter_blas"].items()},
                             f"the OpenBLAS Gram pass instead of the fused kernel ({res[(prob, kl)]['gram_kernel']})")
                if kl == self.kmain:
                    for solver in ("gd", "als", "exact"):
                        rr = self.runs(prob, kl, solver)
                        self.add("rrr", prob, kl, f"end-to-end fit {solver} (time_total)", "s",
                                 stat([r["time_total"] for r in rr.values()]),
                                 "read + solve + closing evaluation; "
                                 + ("" if solver == "exact" else "no certificate; ")
                                 + "iterations " + ",".join(sorted({str(r['iterations']) for r in rr.values()})))
                        self.add("rrr", prob, kl, f"{solver}: solver time (time_solve)", "s",
                                 stat([r["time_solve"] for r in rr.values()]))
                    self.add("rrr", prob, kl, "read X and Y (time_max.read, exact runs)", "s",
                             stat([r["time_max"]["read"] for r in ex.values()]))
                    for solver in ("gd", "als"):
                        c = self.runs(prob, kl, solver + "cert").get("1")
                        k = self.gap_iters(c)
                        res[(prob, kl)][solver + "_k"] = k
                        res[(prob, kl)]["fstar"] = c["optimal_objective"] if c else NAN
                        self.add("rrr", prob, kl, f"{solver}: iterations to 1e-6 relative gap",
                                 "iter", {"median": k if k is not None else NAN, "min": NAN,
                                          "max": NAN, "n": 1},
                                 f"converged after {c['iterations']} (final gap "
                                 f"{self.num(c.get('optimality_gap')):.2e})" if c else "missing")
        return res

    def precond(self, prob, kl, M, plain, core):
        """gd with --precond nystrom against plain gd (auto = none on the bench problems): the
        per-iteration time and the setup (time_setup: the probe, the sketch, P) in plain
        iterations."""
        p0, pM = self.runs(prob, kl, "gd0p"), self.runs(prob, kl, "gdMp")
        reps = sorted(set(p0) & set(pM))
        if not reps:
            return
        per = stat([(net(pM[r]) - net(p0[r])) / M for r in reps])
        setup = stat([pM[r]["time_setup"] for r in reps])
        ell = ",".join(sorted({str(pM[r].get("precond_rank")) for r in reps}))
        self.add("rrr", prob, kl, "gd iteration with --precond nystrom: total", "ms",
                 {k: (v * 1e3 if k != "n" else v) for k, v in per.items()},
                 f"(M={M} - M=0)/M; sketch of {ell} columns; core={core}")
        self.add("rrr", prob, kl, "gd --precond nystrom: setup (time_setup)", "s", setup)
        if plain["median"] > 0:
            self.ratio(prob, kl, "gd iteration, nystrom / none", per["median"] / plain["median"],
                       "goal: at most 1.1")
            self.ratio(prob, kl, "gd nystrom setup, in plain iterations",
                       setup["median"] / plain["median"], "the preconditioner's one-off cost")

    @staticmethod
    def num(x):
        """x as a float; NaN for a null in the report (e.g. no certificate gap)."""
        return float(x) if isinstance(x, (int, float)) else NAN

    @staticmethod
    def gap_iters(c, tol=1e-6):
        if not c:
            return None
        fs = c.get("optimal_objective")
        if fs is None or fs != fs:
            return None
        for k, f in enumerate(c.get("objective_history") or []):
            if (f - fs) / fs <= tol:
                return k
        return None

    # ---- peers ----
    def peers(self, res):
        out = {}
        for prob, (n, p, q, d) in self.problems.items():
            kv = self.kv(os.path.join(self.raw, "peer", f"{prob}__numpy.out"), "peer=numpy_exact")
            if kv:
                self.add("peer", prob, self.kmain, "numpy closed form: fit (no load)", "s",
                         {"median": float(kv["t_total_median"]), "min": float(kv["t_total"]),
                          "max": float(kv.get("t_total_max", "nan")), "n": int(kv["reps"])},
                         f"gram {float(kv['t_gram']):.3f} s; threads={kv['threads']} core={kv['core']}")
                self.add("peer", prob, self.kmain, "numpy closed form: np.load", "s",
                         {"median": float(kv["t_load"]), "min": NAN, "max": NAN, "n": 1})
            f = os.path.join(self.raw, "peer", f"{prob}__mpi4py.out")
            kg = self.kv(f, "peer=mpi4py_gd")
            iters, fs = [], res.get((prob, self.kmain), {}).get("fstar", NAN)
            try:
                for line in open(f[:-4] + ".err"):
                    m = re.match(r"iter\s+(\d+) f (\S+) .* time (\S+)", line)
                    if m:
                        iters.append((int(m.group(1)), float(m.group(2)), float(m.group(3))))
            except OSError:
                pass
            pk = None
            if kg:
                self.add("peer", prob, self.kmain, "mpi4py gd: iteration", "ms",
                         {k: (v * 1e3 if k != "n" else v) for k, v in stat([t for _, _, t in iters]).items()},
                         f"np={kg['np']}; Armijo backtracking, {kg['iters']} iterations")
                for k, fv, _ in iters:
                    if fs == fs and (fv - fs) / fs <= 1e-6:
                        pk = k
                        break
                gap = (float(kg["objective"]) - fs) / fs if fs == fs else NAN
                self.add("peer", prob, self.kmain, "mpi4py gd: iterations to 1e-6 relative gap",
                         "iter", {"median": pk if pk is not None else NAN, "min": NAN, "max": NAN,
                                  "n": 1},
                         "reached" if pk is not None else
                         f"not reached in {kg['iters']} iterations (gap {gap:.2e} after them)")
            out[prob] = {"numpy": kv, "mpi4py": kg, "mpi4py_iters": iters, "mpi4py_k": pk}
        return out

    @staticmethod
    def kv(path, prefix):
        try:
            for line in open(path):
                if line.startswith(prefix + " "):
                    return dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
        except OSError:
            pass
        return None

    # ---- ratios ----
    def find(self, section, prob, kl, name):
        for r in self.rows:
            if (r["section"], r["problem"], r["kernel"], r["figure"]) == (section, prob, kl, name):
                return r
        return None

    def compute_ratios(self, res, peers):
        np_ = self.np
        bw = self.find("machine", "-", self.kmain, f"read-only sum, {np_} rank(s)")
        bw_sum = bw["median"] * 1e9 if bw else NAN
        files = [os.path.join(self.raw, f"probe_{k}.json") for k in self.probes
                 if k.startswith("np1") or k == f"np{np_}" or k.endswith("_" + self.kmain)]
        try:
            mach = model.Machine(files)
        except SystemExit:
            mach = None
        for prob, (n, p, q, d) in self.problems.items():
            for kl in (self.kmain, self.kalt):
                r = res.get((prob, kl))
                if not r:
                    continue
                t_it = r["iter"]["total"]
                byt = 8.0 * n * (2 * p + q)
                t_stream = byt / bw_sum
                self.ratio(prob, kl, "gd iteration / stream X twice + Y once", t_it["median"] / t_stream,
                           f"{t_it['median'] * 1e3:.1f} ms vs {t_stream * 1e3:.1f} ms = "
                           f"{byt / 1e9:.2f} GB at {bw_sum / 1e9:.1f} GB/s (read-only sum, {np_} ranks)",
                           t_it["min"] / t_stream, t_it["max"] / t_stream)
                xty = gd_keeps_xty(p, q, d, n, np_)
                if xty:
                    byt2, what = 8.0 * n * p * (1 + 1 / 50), "X once (X^T Y kept; + a W refresh per 50)"
                else:
                    byt2, what = 8.0 * n * (2 * p + 2 * q + 2 * d), "X, Y twice and A = XU"
                self.ratio(prob, kl, "gd iteration / stream the bytes it moves", t_it["median"] / (byt2 / bw_sum),
                           f"{what}: {byt2 / 1e9:.2f} GB")
                # the floor: one read of the iteration's bytes at the best read-only rate of
                # NP ranks, or its flops at the NP-rank square-DGEMM rate, whichever is longer;
                # both measured in this run
                fl = n * gd_flops_row(p, q, d, n, np_)
                sq = self.find("machine", prob, kl, f"DGEMM square, {np_} ranks")
                rd = [self.find("machine", "-", self.kmain, f"{lb}, {np_} rank(s)")
                      for lb in ("read-only sum", "read-only sum, AVX-512 loads",
                                 "read-only sum, AVX2 loads")]
                rd = [x for x in rd if x and x["median"] == x["median"]]
                if rd and sq:
                    bwr = max(rd, key=lambda x: x["median"])
                    t_rd, t_fl = byt2 / (bwr["median"] * 1e9), fl / (sq["median"] * 1e9)
                    floor = max(t_rd, t_fl)
                    gk = r.get("gram_kernel", "?")
                    self.ratio(prob, kl, "gd iteration / floor max(read, flops)", t_it["median"] / floor,
                               f"{t_it['median'] * 1e3:.1f} ms ({gk} kernel) vs max(read {t_rd * 1e3:.1f}, "
                               f"flops {t_fl * 1e3:.1f}) ms: {byt2 / 1e9:.3f} GB at {bwr['median']:.1f} GB/s "
                               f"({bwr['figure']}), {fl / 1e9:.2f} GFLOP at {sq['median']:.0f} GFLOP/s "
                               f"(square DGEMM, {np_} ranks)",
                               t_it["min"] / floor, t_it["max"] / floor)
                    if "iter_blas" in r:
                        tb = r["iter_blas"]
                        self.ratio(prob, kl, "gd iteration (RRR_KERNEL=blas) / floor", tb["median"] / floor,
                                   f"{tb['median'] * 1e3:.1f} ms; fused/blas time ratio "
                                   f"{t_it['median'] / tb['median']:.2f}", tb["min"] / floor, tb["max"] / floor)
                comp = r["iter"]["compute"]
                fl = n * gd_flops_row(p, q, d, n, np_)
                panel = "gd Gram pass panel" if xty else "gd pass panel"
                pr = self.find("machine", prob, kl, f"{panel}, in cache, {np_} ranks")
                if pr and comp["median"] == comp["median"]:
                    rate = fl / comp["median"] / 1e9
                    self.ratio(prob, kl, "gd compute rate / in-cache pass rate", rate / pr["median"],
                               f"{rate:.1f} vs {pr['median']:.1f} GFLOP/s")
                st = r["stats"]
                sy = self.find("machine", prob, kl, f"DSYRK X^T X, {np_} ranks")
                xt = self.find("machine", prob, kl, f"DGEMM X^T*R (= X^T Y shape), {np_} ranks")
                sq = self.find("machine", prob, kl, f"DGEMM square, {np_} ranks")
                if sy and xt and st["median"] == st["median"]:
                    t_ref = n * p * (p + 1) / (sy["median"] * 1e9) + 2 * n * p * q / (xt["median"] * 1e9)
                    fl_s = n * p * (p + 1) + 2 * n * p * q
                    self.ratio(prob, kl, "statistics pass rate / DSYRK+DGEMM rate", t_ref / st["median"],
                               f"{fl_s / st['median'] / 1e9:.1f} GFLOP/s vs {fl_s / t_ref / 1e9:.1f} "
                               f"(DSYRK {sy['median']:.1f}, DGEMM {xt['median']:.1f} at these shapes)",
                               t_ref / st["max"], t_ref / st["min"])
                    if sq:
                        self.ratio(prob, kl, "statistics pass rate / square DGEMM rate",
                                   fl_s / st["median"] / 1e9 / sq["median"],
                                   f"square DGEMM {sq['median']:.1f} GFLOP/s")
                if kl == self.kmain:
                    if mach is not None:
                        pm = mach.gd_iter(n, p, q, d, np_)
                        self.ratio(prob, kl, "gd iteration measured / model", t_it["median"] / pm["t_iter"],
                                   f"model {pm['t_iter'] * 1e3:.1f} ms ({pm['bound']}-bound: flops "
                                   f"{pm['t_flop'] * 1e3:.1f}, memory {pm['t_mem'] * 1e3:.1f}, allreduce "
                                   f"{pm['t_allreduce'] * 1e3:.2f}, replicated {pm['t_rep'] * 1e3:.2f} ms)",
                                   t_it["min"] / pm["t_iter"], t_it["max"] / pm["t_iter"])
                        ex = mach.exact(n, p, q, d, np_)
                        if st["median"] == st["median"]:
                            self.ratio(prob, kl, "statistics pass measured / model", st["median"] / ex["t_stats"],
                                       f"model {ex['t_stats']:.3f} s")
                    for s in ("gd", "als"):
                        k = r.get(s + "_k")
                        self.ratio(prob, kl, f"{s}: iterations to 1e-6 relative gap",
                                   k if k is not None else NAN, "from objective_history and the certificate f*")
                    pe = peers.get(prob, {})
                    nk = pe.get("numpy")
                    ex_ts = self.find("rrr", prob, kl, "exact: solver time (time_solve)")
                    ex_tt = self.find("rrr", prob, kl, "end-to-end fit exact (time_total)")
                    if nk and ex_ts:
                        pt = float(nk["t_total_median"])
                        self.ratio(prob, kl, "rrr exact / numpy closed form (fit, no I/O)", ex_ts["median"] / pt,
                                   f"{ex_ts['median']:.3f} s vs {pt:.3f} s (numpy: 1 process, "
                                   f"{nk['threads']} threads)")
                        pa = float(nk["t_load"]) + pt
                        self.ratio(prob, kl, "rrr exact / numpy closed form (with reading)", ex_tt["median"] / pa,
                                   f"{ex_tt['median']:.3f} s vs {pa:.3f} s")
                    mg = pe.get("mpi4py")
                    if mg and pe.get("mpi4py_iters"):
                        pt = statistics.median(t for _, _, t in pe["mpi4py_iters"])
                        self.ratio(prob, kl, "rrr gd iteration / mpi4py gd iteration", t_it["median"] / pt,
                                   f"{t_it['median'] * 1e3:.1f} ms vs {pt * 1e3:.1f} ms")
                        kg = r.get("gd_k")
                        pk = pe.get("mpi4py_k")
                        if kg is not None:
                            if pk is not None:
                                self.ratio(prob, kl, "rrr gd / mpi4py gd, time to 1e-6 gap",
                                           kg * t_it["median"] / (pk * pt), f"{kg} vs {pk} iterations")
                            else:
                                self.ratio(prob, kl, "rrr gd / mpi4py gd, time to 1e-6 gap (upper bound)",
                                           kg * t_it["median"] / (len(pe["mpi4py_iters"]) * pt),
                                           f"rrr {kg} iterations; the peer had not reached it after "
                                           f"{len(pe['mpi4py_iters'])}")
            # kernel comparison
            a, b = res.get((prob, self.kmain)), res.get((prob, self.kalt))
            if a and b:
                self.ratio(prob, f"{self.kalt}/{self.kmain}", "gd iteration, kernel ratio",
                           b["iter"]["total"]["median"] / a["iter"]["total"]["median"],
                           f"{self.cores_seen.get(self.kalt)} vs {self.cores_seen.get(self.kmain)}")
                self.ratio(prob, f"{self.kalt}/{self.kmain}", "statistics pass, kernel ratio",
                           b["stats"]["median"] / a["stats"]["median"], "time ratio (< 1: second kernel faster)")

    # ---- output ----
    def write(self):
        allrows = self.rows + self.ratios
        os.makedirs(self.out, exist_ok=True)
        doc = {"meta": self.meta, "kernels": self.cores_seen, "figures": self.rows,
               "ratios": self.ratios,
               "probe": {k: {"corename": v.get("corename"), "np": v.get("np"),
                             "OPENBLAS_CORETYPE": v.get("OPENBLAS_CORETYPE"),
                             "mpi_wtick": v.get("mpi_wtick"), "results": v.get("results")}
                         for k, v in self.probes.items() if v}}
        tmp = os.path.join(self.out, ".bench.json.tmp")
        with open(tmp, "w") as fh:
            json.dump(doc, fh, indent=1, allow_nan=True)
        os.replace(tmp, os.path.join(self.out, "bench.json"))
        keys = ["section", "problem", "kernel", "figure", "unit", "median", "min", "max", "n", "note"]
        tmp = os.path.join(self.out, ".bench.csv.tmp")
        with open(tmp, "w") as fh:
            fh.write(",".join(keys) + "\n")
            for r in allrows:
                vals = []
                for k in keys:
                    v = r.get(k, "")
                    if isinstance(v, float):
                        v = f"{v:.6g}"
                    v = str(v)
                    if any(c in v for c in ',"'):
                        v = '"' + v.replace('"', '""') + '"'
                    vals.append(v)
                fh.write(",".join(vals) + "\n")
        os.replace(tmp, os.path.join(self.out, "bench.csv"))

    def table(self):
        m = self.meta
        km, ka = self.kmain, self.kalt
        cm = self.cores_seen.get(km, "?")
        ca = self.cores_seen.get(ka, "?")
        wt = next((v.get("mpi_wtick") for v in self.probes.values() if v), NAN)
        print()
        print(f"== rrr benchmark summary: {m.get('host')} ({m.get('cpu')}), {m.get('cores')} cores, "
              f"np={self.np}, rev {m.get('rev')}, {m.get('date')}")
        print(f"   OpenBLAS kernel: OPENBLAS_CORETYPE={km} -> {cm}; comparison {ka} -> {ca}; "
              f"default here {m.get('kernel_default')}; MPI_Wtick {wt:.3g} s")
        print(f"   each figure: median [min - max] of {m.get('repeats')} runs "
              f"({m.get('repeats_kernel')} for the second kernel); for rates min = worst run")

        def fmt(r):
            if r is None:
                return "-"
            v = r["median"]
            if v != v:
                return "-"
            s = f"{v:.4g}"
            if r.get("n", 0) > 1 and r["min"] == r["min"]:
                s += f" [{r['min']:.3g} - {r['max']:.3g}]"
            return s

        def section(title, sec, probs):
            print(f"\n-- {title}")
            print(f"   {'figure':<52} {'unit':<8} {km + ' (' + str(cm) + ')':<32} {ka + ' (' + str(ca) + ')'}")
            for prob in probs:
                names = []
                for r in self.rows:
                    if r["section"] == sec and r["problem"] == prob and r["figure"] not in names:
                        names.append(r["figure"])
                if not names:
                    continue
                if prob != "-":
                    n, p, q, d = self.problems[prob]
                    print(f"   [{prob}: n={n} p={p} q={q} d={d}]")
                for nm in names:
                    a = self.find(sec, prob, km, nm)
                    b = self.find(sec, prob, ka, nm)
                    unit = (a or b)["unit"]
                    print(f"   {nm:<52} {unit:<8} {fmt(a):<32} {fmt(b)}")

        section("machine limits (tests/bench/probe.c)", "machine", ["-"] + list(self.problems))
        section("rrr", "rrr", list(self.problems))
        section("peers (same data, same run)", "peer", list(self.problems))
        print("\n-- ratios")
        for prob in self.problems:
            print(f"   [{prob}]")
            for r in self.ratios:
                if r["problem"] != prob:
                    continue
                v = r["median"]
                vs = "-" if v != v else (f"{v:.3g}" if r["figure"].find("iterations") < 0 else f"{v:.0f}")
                rng = f" [{r['min']:.3g} - {r['max']:.3g}]" if r["min"] == r["min"] else ""
                print(f"   {r['figure']:<52} {r['kernel']:<18} {vs:>7}{rng}  {r['note']}")
        print(f"\nbench: figures written to {self.out}/bench.json and bench.csv; "
              f"elapsed {m.get('elapsed_s')} s")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "line":
        cmd_line(sys.argv[2:6])
        return
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["summarize"])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--elapsed", type=float, default=NAN)
    a = ap.parse_args()
    rep = Report(a.raw, a.out, a.elapsed)
    rep.machine()
    res = rep.rrr()
    peers = rep.peers(res)
    rep.compute_ratios(res, peers)
    rep.write()
    rep.table()
    cv_table(a.out)


def cv_table(out):
    """The figures of tests/bench/bench_cv.py (bench_cv.json), against their targets."""
    try:
        r = json.load(open(os.path.join(out, "bench_cv.json")))
    except (OSError, ValueError):
        return
    print("\n## rrr cv and many outputs (wall time of whole commands, median)")
    for k in ("cv_tall", "cv_wide"):
        if k in r:
            c = r[k]
            print(f"  {k}: cv {c['cv']['median']:.2f} s [{c['cv']['min']:.2f} - {c['cv']['max']:.2f}], "
                  f"exact fit {c['exact']['median']:.2f} s: ratio {c['ratio']:.2f} (target <= {c['target']})")
    if "cv_naive" in r:
        c = r["cv_naive"]
        print(f"  cv vs the naive search (100 exact fits + predictions): {c['naive']:.1f} s vs "
              f"{c['cv']['median']:.2f} s: {c['speedup']:.0f}x (target >= {c['target']})")
    if "many_outputs" in r:
        c = r["many_outputs"]
        print(f"  q = 20000: rrr exact {c['rrr_exact']['median']:.2f} s vs NumPy p x p closed form "
              f"{c['numpy_pp']['median']:.2f} s: ratio {c['ratio']:.2f} (target <= {c['target']})")


if __name__ == "__main__":
    main()
