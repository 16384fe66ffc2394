"""tests/mpi/py_interrupt.py: Ctrl-C (SIGINT to rank 0's process, 0.5 s in) stops a long gd
fit at an iteration boundary: rank 0 raises KeyboardInterrupt, the other ranks StoppedError
(status 5), within a second; the next fit in the same process runs (the request was
withdrawn). Prints PASS/FAIL lines (rank 0)."""
import os
import signal
import threading
import time

import numpy as np
from mpi4py import MPI

import rrr

comm = MPI.COMM_WORLD
me = comm.Get_rank()
rng = np.random.default_rng(me)
X = rng.standard_normal((4000, 100))
Y = X[:, :20] @ rng.standard_normal((20, 50)) + rng.standard_normal((4000, 50))
if me == 0:
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
t0, got = time.time(), None
try:
    rrr.fit(X, Y, rank=5, lam=1.0, solver="gd", tol=0, max_iter=10**7, certificate="off",
            comm=comm)
    got = "returned"
except KeyboardInterrupt:
    got = "KeyboardInterrupt"
except rrr.RRRError as e:
    got = f"{type(e).__name__} {e.status}"
took = time.time() - t0
want = "KeyboardInterrupt" if me == 0 else "StoppedError 5"
seen = comm.gather((got, took), root=0)
if me == 0:
    ok = all(g == ("KeyboardInterrupt" if r == 0 else "StoppedError 5") and t < 1.5 + 0.5
             for r, (g, t) in enumerate(seen))
    print(("PASS" if ok else "FAIL") + f": Ctrl-C stops a gd fit: {seen}", flush=True)
m = rrr.fit(X, Y, rank=5, lam=1.0, solver="gd", max_iter=5, comm=comm)
ok = comm.allreduce(m.info["iterations"] == 5, op=MPI.LAND)
if me == 0:
    print(("PASS" if ok else "FAIL") + ": the next fit runs after a Ctrl-C", flush=True)
