#!/usr/bin/python3
"""tests/bench/gen_peer_data.py: small synthetic RRR problem for testing the peers without bin/rrr.

Usage: /usr/bin/python3 tests/bench/gen_peer_data.py --n 20000 --p 200 --q 50 --rank 5 \
           [--noise 1] [--seed 0] --out DIR
Writes DIR/X.npy (n x p, standard normal), DIR/Y.npy = X U_t V_t^T + noise E (U_t p x d,
V_t q x d, E n x q, all standard normal), DIR/U_true.npy, DIR/V_true.npy, all <f8 C order.
(Not byte-compatible with `rrr gen`; for real benchmarks use `rrr gen`.)
"""
import argparse
import os

import numpy as np

ap = argparse.ArgumentParser()
for k in ("n", "p", "q", "rank"):
    ap.add_argument("--" + k, type=int, required=True)
ap.add_argument("--noise", type=float, default=1.0)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--out", required=True)
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
X = rng.standard_normal((a.n, a.p))
Ut = rng.standard_normal((a.p, a.rank))
Vt = rng.standard_normal((a.q, a.rank))
Y = X @ Ut @ Vt.T + a.noise * rng.standard_normal((a.n, a.q))
os.makedirs(a.out, exist_ok=True)
for name, arr in (("X", X), ("Y", Y), ("U_true", Ut), ("V_true", Vt)):
    np.save(os.path.join(a.out, name + ".npy"), np.ascontiguousarray(arr))
print(f"wrote {a.out}/X.npy {X.shape}, Y.npy {Y.shape}, U_true.npy, V_true.npy")
