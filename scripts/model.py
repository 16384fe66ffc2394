#!/usr/bin/python3
"""scripts/model.py: performance model of rrr, calibrated by tests/bench/probe.c.

Predicts the time of one gd iteration (and of the exact solver's statistics pass and dense
algebra) for K ranks and problem sizes far beyond the machine it was calibrated on, and the
parallel efficiency of strong scaling (fixed n) and weak scaling (fixed rows per rank).

Usage:
  scripts/model.py --probe P1.json [--probe P2.json ...]             # the prediction tables
  scripts/model.py --probe ... --predict N,P,Q,D,K                   # one key=value line
  scripts/model.py --probe ... --csv OUT.csv [--problem N,P,Q,D ...] [--ranks 1,2,4,...]
Options: --cores-per-node C (default: the probe's cores_online), --node-mem-gb G (default:
this machine's MemTotal), --net-alpha-us A [2.0] and --net-gbps B [10.0] (the interconnect:
latency per message and bandwidth per link; never measured here, see ASSUMPTIONS),
--overlap sum|max [sum], --rates median|best [median], --weak N0,P,Q,D (rows per rank),
--json OUT (everything), --quiet (no tables).
Probe files: run the probe at np = 1 and at np = cores (the ranks that fill a node), e.g.
  OPENBLAS_NUM_THREADS=1 mpirun -np 1 build/probe --only stream,pass --pass 500,200,10 --json p1.json
  OPENBLAS_NUM_THREADS=1 mpirun -np 2 --bind-to core build/probe --pass 500,200,10 --json p2.json
Records used (per-rank figures are the aggregate rate / np of the file they come from):
  sum              read-only bandwidth (np=1 and np=c)          -> bw(r), GB/s per node
  pass[_tag]       in-cache rate of one row panel of gd's two passes, GFLOP/s per core
  gram[_tag]       the same for the Gram pass of the cross-product form (else pass's)
  gemm_gram[_tag]  U^T U-shaped dgemm (d x d from p), the replicated algebra, per rank
  allreduce_fit    t = alpha + beta * bytes at np=c (intra-node MPI_Allreduce)
  syrk, gemm_ts_xtr, gemm_square  (exact solver) per rank
For a shape without a record the nearest measured shape (in log p, log q, log d) is used.

MODEL (one gd iteration, K ranks, c ranks per node, r = min(K, c), N = ceil(K / c) nodes,
nloc = ceil(n / K) rows per rank):
  residual form (--gd-xty off): pass G + pass B of src/kernels.c, all BLAS-3,
  flops per row  F = 6pd + 8qd + 4d^2,  bytes per row  B = 8 (2p + 2q + 2d)  (X and Y read
                 in both passes, A = XU written once and read once), rate R = R_pass
  cross-product form (X^T Y kept; --gd-xty auto when p q doubles fit in 1/16 of a rank's
  memory): one Gram pass, F = 4pd (1 + 1/50), B = 8p (1 + 1/50) (X read once; W refreshed
                 every 50 iterations), rate R = R_gram_pass (record "gram"), 6pqd / K of
                 C V and C^T U (each rank a share of C's columns)
  t_comp = nloc * (F / R + B / (bw(r) / r))               no overlap of flops and memory
                                                           (--overlap max: the roofline);
                                                           rates from np=1 when measured
  t_rep  = (10 p d^2 + 8 q d^2 + 2 d^3 / 3) / R_gram       replicated d x d algebra (every
                                                           rank repeats it: Amdahl's term;
                                                           20 p d^2 + 6 pqd / K for the cross form)
  t_ar   = AR(m1) + AR(m2),  m1 = 8 ((p + q) d + d^2 + 2), m2 = 8 (2 d^2 + q d)
           (cross form: AR(8 ((p + q) d + 2)) + AR(8 ((p + q) d + 1)), p d more every 50)
  AR(m)  = [K > 1] (alpha_c + beta_c m)                      intra-node (measured)
         + [N > 1] (2 ceil(log2 N) alpha_net + 2 (N - 1)/N m / bw_net)   inter-node ring/
                                                           recursive-doubling (Rabenseifner)
  t_iter = t_comp + t_rep + t_ar
  strong efficiency E(K) = t_iter(1) / (K t_iter(K));  weak E(K) = t_iter(1, n0) / t_iter(K, K n0)
Exact solver: t_stats = nloc p (p + 1) / R_syrk + 2 nloc p q / R_xtr + AR(8 (p (p + 1)/2 + p q));
  dense = (p^3/3 + 2 p^2 q + 2 q^2 p + 9 q^3) / R_square, replicated on every rank (p < 4096),
  divided by K on the 2-D grid (p >= 4096; redistribution not modelled: optimistic).
Why no overlap: single-threaded BLAS on 64-row panels does not hide the memory stream behind
the arithmetic; on this machine the sum was within 1.1-1.4x of measured iterations at every
shape tried, the roofline max 1.4-2.2x optimistic (README "Performance").
ASSUMPTIONS: nodes like the calibration machine (same cores, bandwidth, BLAS rates); one
BLAS thread per rank; perfect load balance (rows split evenly); the interconnect figures are
inputs, not measurements; reading the data and starting MPI are not modelled. The model's
error on this machine is stated by tests/mpi/test_model.sh (within 2x of measured runs).
Exit codes: 0 ok, 2 bad arguments or unusable probe files.
"""
import argparse
import json
import subprocess
import math
import os
import sys

# src/solve_gd.c W_REFRESH: iterations between recomputations of W = X^T X U
REFRESH = 50

RANKS_DEFAULT = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
PROBLEMS_DEFAULT = [
    # (name, n, p, q, d)
    ("tall", 200000, 500, 200, 10),
    ("wide", 20000, 4000, 1000, 20),
    ("tall-1e8", 100_000_000, 500, 200, 10),
    ("big-1e7", 10_000_000, 2000, 1000, 20),
    ("wide-1e6", 1_000_000, 10000, 2000, 50),
]


RRR = os.environ.get("RRR_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "rrr"))
_plans = {}


def rrr_plan(n, p, q, d, ranks, per_node, mem_per_rank):
    """The plan rrr would make (`rrr plan`, src/plan.c): the one place the rules live."""
    key = (n, p, q, d, ranks, per_node, int(mem_per_rank))
    if key not in _plans:
        out = subprocess.run([RRR, "plan", "--n", str(n), "--p", str(p), "--q", str(q), "--rank",
                              str(d), "--ranks", str(ranks), "--ranks-per-node", str(per_node),
                              "--mem-per-rank", str(int(mem_per_rank))],
                             capture_output=True, text=True, check=True).stdout
        _plans[key] = json.loads(out)["plan"]
    return _plans[key]


def die(msg):
    print(f"model.py: {msg}", file=sys.stderr)
    sys.exit(2)


class Machine:
    """Figures from probe JSON files, per rank where it matters."""

    def __init__(self, files, rates="median", cores=None, node_mem_gb=None,
                 net_alpha_us=2.0, net_gbps=10.0, overlap="sum", form="auto"):
        self.key = "gflops_" + rates
        self.bkey = "gbps_" + rates
        self.tkey = "t_min" if rates == "best" else "t_median"
        self.recs = []  # (np, name, record)
        self.cores_online = None
        self.corename = None
        for f in files:
            try:
                with open(f) as fh:
                    j = json.load(fh)
            except (OSError, ValueError) as e:
                die(f"cannot read probe file {f}: {e}")
            np_ = int(j.get("np", 1))
            self.cores_online = self.cores_online or j.get("cores_online")
            self.corename = self.corename or j.get("corename")
            for name, r in j.get("results", {}).items():
                self.recs.append((np_, name, r))
        if not self.recs:
            die("no probe records")
        self.c = int(cores or self.cores_online or 1)
        self.node_mem = (node_mem_gb * 1e9) if node_mem_gb else self._memtotal()
        self.net_alpha = net_alpha_us * 1e-6
        self.net_bw = net_gbps * 1e9
        self.overlap = overlap
        self.form = form
        # bandwidth: read-only sum, aggregate GB/s at np=1 and at the largest np <= c
        sums = {}
        for np_, name, r in self.recs:
            if name.split("_")[0] == "sum" and np_ <= self.c:
                sums.setdefault(np_, []).append(r[self.bkey] * 1e9)
        if not sums:
            die("no 'sum' (stream) record in the probe files")
        self.bw = {k: max(v) if rates == "best" else sorted(v)[len(v) // 2]
                   for k, v in sums.items()}
        ar = [(np_, r) for np_, name, r in self.recs if name.startswith("allreduce_fit")]
        ar = [x for x in ar if x[0] > 1]
        if not ar:
            die("no allreduce_fit record at np > 1 in the probe files")
        np_ar, r = max(ar, key=lambda x: x[0])
        self.ar_alpha = max(r["alpha"], 0.0)
        self.ar_beta = max(r["beta"], 0.0)
        self.ar_np = np_ar

    @staticmethod
    def _memtotal():
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemTotal:"):
                        return float(line.split()[1]) * 1024
        except OSError:
            pass
        return 16e9

    def node_bw(self, r):
        """Aggregate read bandwidth of a node with r active ranks: measured at np=1 and
        np=c, linear in between, flat beyond the largest np measured."""
        ks = sorted(self.bw)
        if r in self.bw:
            return self.bw[r]
        if r > ks[-1]:
            return self.bw[ks[-1]]
        if r < ks[0]:
            return self.bw[ks[0]] * r / ks[0]
        for a, b in zip(ks, ks[1:]):
            if a <= r <= b:
                return self.bw[a] + (self.bw[b] - self.bw[a]) * (r - a) / (b - a)
        return self.bw[ks[-1]]

    def rate(self, prefix, r, shape=None, keys=("p", "q", "d"), required=True):
        """Per-rank GFLOP/s (as flop/s) of the record family `prefix` measured at the np
        closest to r, at the shape nearest to `shape` (dict)."""
        cands = [(np_, name, rec) for np_, name, rec in self.recs
                 if (name == prefix or name.startswith(prefix + "_")) and self.key in rec]
        if not cands:
            if not required:
                return None
            die(f"no '{prefix}' record in the probe files")

        def dist(c):
            np_, _, rec = c
            dd = abs(math.log(max(np_, 1)) - math.log(max(r, 1))) * 10
            if shape:
                for k in keys:
                    if k in rec and k in shape and shape[k] > 0:
                        dd += abs(math.log(rec[k]) - math.log(shape[k]))
            return dd

        np_, _, rec = min(cands, key=dist)
        return rec[self.key] * 1e9 / np_

    def allreduce(self, K, m):
        if K <= 1:
            return 0.0
        t = self.ar_alpha + self.ar_beta * m
        N = math.ceil(K / self.c)
        if N > 1:
            t += 2 * math.ceil(math.log2(N)) * self.net_alpha + 2 * (N - 1) / N * m / self.net_bw
        return t

    def layout(self, n, K):
        r = min(K, self.c)
        N = math.ceil(K / self.c)
        nloc = math.ceil(n / K)
        return r, N, nloc

    def gd_iter(self, n, p, q, d, K):
        r, N, nloc = self.layout(n, K)
        shape = {"p": p, "q": q, "d": d}
        # rrr's --gd-xty auto: what `rrr plan` says (src/plan.c decides; not re-derived here)
        xty = self.form == "xty" or (self.form == "auto" and
                                     rrr_plan(n, p, q, d, K, r, self.node_mem / r)["gd_keeps_xty"])
        # in-cache rates are per-core figures: taken at np=1 when measured there (a higher
        # per-rank figure at np=c is host noise, and would make the model superlinear)
        R_pass = self.rate("pass", 1, shape)
        if xty:  # one Gram pass (X D, X^T E), plus a refresh of W every REFRESH iterations
            F = 4 * p * d * (1 + 1 / REFRESH)
            B = 8 * p * (1 + 1 / REFRESH)
            R_pass = self.rate("gram", 1, shape, required=False) or R_pass
        else:
            F = 6 * p * d + 8 * q * d + 4 * d * d
            B = 8 * (2 * p + 2 * q + 2 * d)
        bw_rank = self.node_bw(r) / r
        t_flop = nloc * F / R_pass
        t_mem = nloc * B / bw_rank
        t_comp = max(t_flop, t_mem) if self.overlap == "max" else t_flop + t_mem
        R_gram = self.rate("gemm_gram", 1, {"k": p, "m": d}, keys=("k", "m"))
        # the cross form's C V and C^T U: each rank its share of C's columns (6pqd / K)
        t_rep = ((20 * p * d * d + 6 * p * q * d / K) if xty else 10 * p * d * d) + 8 * q * d * d + 2 * d ** 3 / 3
        t_rep /= R_gram
        if xty:  # C V, C^T U (and W every REFRESH iterations), then H = X^T X D and C^T D
            t_ar = (self.allreduce(K, 8 * ((p + q) * d + 2)) + self.allreduce(K, 8 * ((p + q) * d + 1))
                    + (self.allreduce(K, 8 * ((2 * p + q) * d + 2))
                       - self.allreduce(K, 8 * ((p + q) * d + 2))) / REFRESH)
        else:
            t_ar = (self.allreduce(K, 8 * ((p + q) * d + d * d + 2))
                    + self.allreduce(K, 8 * (2 * d * d + q * d)))
        mem = 8.0 * nloc * (p + q + d) + 8.0 * 64 * (p + q) + (8.0 * p * q if xty else 0)
        return {
            "n": n, "p": p, "q": q, "d": d, "K": K, "nodes": N, "ranks_per_node": r,
            "nloc": nloc, "t_flop": t_flop, "t_mem": t_mem, "t_comp": t_comp, "t_rep": t_rep,
            "t_allreduce": t_ar, "t_iter": t_comp + t_rep + t_ar,
            "bound": "memory" if t_mem >= t_flop else "flops",
            "mem_per_rank_gb": mem / 1e9, "fits": mem <= self.node_mem / r,
            "R_pass_gflops": R_pass / 1e9, "bw_rank_gbps": bw_rank / 1e9,
            "form": "xty" if xty else "residual",
        }

    def exact(self, n, p, q, d, K):
        r, N, nloc = self.layout(n, K)
        R_syrk = self.rate("syrk", r, {"p": p}, keys=("p",), required=False)
        R_xtr = self.rate("gemm_ts_xtr", r, {"m": p, "n": q}, keys=("m", "n"), required=False)
        R_sq = self.rate("gemm_square", r, required=False)
        if R_syrk is None or R_xtr is None or R_sq is None:  # probe run without gemm,syrk
            nan = float("nan")
            return {"t_stats": nan, "t_dense": nan, "t_exact": nan, "grid": p >= 4096}
        t_stats = nloc * p * (p + 1) / R_syrk + 2 * nloc * p * q / R_xtr
        grid = p >= 4096
        if not grid:
            t_stats += self.allreduce(K, 8 * (p * (p + 1) / 2 + p * q + 1))
        dense = (p ** 3 / 3 + 2 * p * p * q + 2 * q * q * p + 9 * q ** 3) / R_sq
        if grid:
            dense /= K
        return {"t_stats": t_stats, "t_dense": dense, "t_exact": t_stats + dense,
                "grid": grid}


def parse_tuple(s, n, what):
    try:
        v = [int(float(x)) for x in s.split(",")]
    except ValueError:
        die(f"{what} needs {n} comma-separated integers")
    if len(v) != n or min(v) < 1:
        die(f"{what} needs {n} comma-separated positive integers")
    return v


def fmt_t(t):
    if t >= 1:
        return f"{t:8.3f} s"
    if t >= 1e-3:
        return f"{t * 1e3:7.2f} ms"
    return f"{t * 1e6:7.1f} us"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--probe", action="append", required=True)
    ap.add_argument("--predict")
    ap.add_argument("--problem", action="append")
    ap.add_argument("--ranks")
    ap.add_argument("--weak")
    ap.add_argument("--cores-per-node", type=int)
    ap.add_argument("--node-mem-gb", type=float)
    ap.add_argument("--net-alpha-us", type=float, default=2.0)
    ap.add_argument("--net-gbps", type=float, default=10.0)
    ap.add_argument("--overlap", choices=("max", "sum"), default="sum")
    ap.add_argument("--gd-form", choices=("auto", "xty", "residual"), default="auto")
    ap.add_argument("--rates", choices=("median", "best"), default="median")
    ap.add_argument("--csv")
    ap.add_argument("--json")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    m = Machine(a.probe, a.rates, a.cores_per_node, a.node_mem_gb, a.net_alpha_us,
                a.net_gbps, a.overlap, a.gd_form)

    if a.predict:
        n, p, q, d, K = parse_tuple(a.predict, 5, "--predict")
        g = m.gd_iter(n, p, q, d, K)
        e = m.exact(n, p, q, d, K)
        print("model " + " ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in list(g.items()) + [("t_stats", e["t_stats"]), ("t_dense", e["t_dense"])]))
        return

    ranks = [int(x) for x in a.ranks.split(",")] if a.ranks else RANKS_DEFAULT
    if a.problem:
        probs = []
        for s in a.problem:
            n, p, q, d = parse_tuple(s, 4, "--problem")
            probs.append((f"n{n}p{p}q{q}d{d}", n, p, q, d))
    else:
        probs = PROBLEMS_DEFAULT
    weak = parse_tuple(a.weak, 4, "--weak") if a.weak else [100000, 500, 200, 10]

    rows = []
    out = {"machine": {"cores_per_node": m.c, "corename": m.corename,
                       "bw_node_gbps": {str(k): v / 1e9 for k, v in m.bw.items()},
                       "allreduce_alpha_s": m.ar_alpha, "allreduce_beta_s_per_byte": m.ar_beta,
                       "net_alpha_s": m.net_alpha, "net_gbps": m.net_bw / 1e9,
                       "overlap": m.overlap, "rates": a.rates,
                       "node_mem_gb": m.node_mem / 1e9},
           "strong": [], "weak": []}
    for name, n, p, q, d in probs:
        t1 = m.gd_iter(n, p, q, d, 1)["t_iter"]
        for K in ranks:
            if K > n:
                continue
            g = m.gd_iter(n, p, q, d, K)
            e = m.exact(n, p, q, d, K)
            g.update(problem=name, scaling="strong", speedup=t1 / g["t_iter"],
                     efficiency=t1 / (K * g["t_iter"]), t_exact=e["t_exact"],
                     t_stats=e["t_stats"])
            rows.append(g)
            out["strong"].append(g)
    n0, p, q, d = weak
    t1 = m.gd_iter(n0, p, q, d, 1)["t_iter"]
    for K in ranks:
        g = m.gd_iter(n0 * K, p, q, d, K)
        g.update(problem=f"weak-n0={n0}", scaling="weak", speedup=K * t1 / g["t_iter"],
                 efficiency=t1 / g["t_iter"], t_exact=float("nan"), t_stats=float("nan"))
        rows.append(g)
        out["weak"].append(g)

    if not a.quiet:
        mm = out["machine"]
        print(f"# rrr performance model (scripts/model.py), calibrated on {m.corename}, "
              f"{m.c} ranks/node, rates={a.rates}, overlap={m.overlap}")
        print("# node read bandwidth: " + ", ".join(
            f"{k} rank(s) {v:.1f} GB/s" for k, v in mm["bw_node_gbps"].items())
            + f"; intra-node allreduce {m.ar_alpha * 1e6:.2f} us + bytes / "
            f"{(1e-9 / m.ar_beta) if m.ar_beta else float('inf'):.2f} GB/s; "
            f"network (assumed) {m.net_alpha * 1e6:.1f} us, {m.net_bw / 1e9:.1f} GB/s")
        hdr = (f"{'problem':>14} {'K':>5} {'nodes':>5} {'rows/rank':>10} {'t_comp':>10} "
               f"{'t_rep':>10} {'t_allred':>10} {'t_iter':>10} {'bound':>6} {'speedup':>8} "
               f"{'eff':>5} {'GB/rank':>8} {'exact':>10}")
        for scaling in ("strong", "weak"):
            print(f"\n## gd iteration, {scaling} scaling")
            print(hdr)
            for g in rows:
                if g["scaling"] != scaling:
                    continue
                fit = "" if g["fits"] else " (OOM)"
                ex = fmt_t(g["t_exact"]) if g["t_exact"] == g["t_exact"] else "-"
                print(f"{g['problem']:>14} {g['K']:>5} {g['nodes']:>5} {g['nloc']:>10} "
                      f"{fmt_t(g['t_comp']):>10} {fmt_t(g['t_rep']):>10} "
                      f"{fmt_t(g['t_allreduce']):>10} {fmt_t(g['t_iter']):>10} "
                      f"{g['bound'][:6]:>6} {g['speedup']:8.1f} {g['efficiency']:5.2f} "
                      f"{g['mem_per_rank_gb']:8.2f}{fit} {ex:>10}")
    if a.csv:
        keys = ["scaling", "problem", "n", "p", "q", "d", "K", "nodes", "nloc", "t_flop",
                "t_mem", "t_comp", "t_rep", "t_allreduce", "t_iter", "bound", "speedup",
                "efficiency", "mem_per_rank_gb", "fits", "t_stats", "t_exact"]
        tmp = a.csv + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(",".join(keys) + "\n")
            for g in rows:
                fh.write(",".join(f"{g[k]:.6g}" if isinstance(g[k], float) else str(g[k])
                                  for k in keys) + "\n")
        os.replace(tmp, a.csv)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1, default=str)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    main()
