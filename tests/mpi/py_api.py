"""tests/mpi/py_api.py DIR NP: the Python API at NP ranks against the CLI's outputs in DIR
(gdNP, exNP: fits; yhatNP.npy, sNP.json: predict --scores). Prints PASS/FAIL lines (rank 0);
every rank runs every call (they are collective)."""
import json
import sys

import numpy as np
from mpi4py import MPI

import rrr

d, np_ = sys.argv[1], int(sys.argv[2])
comm = MPI.COMM_WORLD
me = comm.Get_rank()


def check(ok, what):
    ok = comm.allreduce(bool(ok), op=MPI.LAND)   # every rank's view
    if me == 0:
        print(("PASS: " if ok else "FAIL: ") + what, flush=True)


X, Y = np.load(f"{d}/X.npy"), np.load(f"{d}/Y.npy")
n = X.shape[0]
r0, nloc = rrr.partition(n, comm)
Xl, Yl = X[r0:r0 + nloc], Y[r0:r0 + nloc]
check(r0 == me * -(-n // np_) or nloc == 0, "partition: ceil(n/K) rows per rank")

# fit = CLI fit, bitwise (gd; exact with an intercept)
m = rrr.fit(Xl, Yl, rank=3, lam=0.7, comm=comm, solver="gd")
js = json.load(open(f"{d}/gd{np_}/model.json"))
check(np.array_equal(m.U, np.load(f"{d}/gd{np_}/U.npy")) and
      np.array_equal(m.V, np.load(f"{d}/gd{np_}/V.npy")), "fit (gd) = rrr fit, bitwise U, V")
check(m.info["objective"] == js["objective"] and m.info["iterations"] == js["iterations"]
      and m.info["converged"] == js["converged"], "fit's record = model.json's")
check(not m.fit_intercept and m.x_mean is None, "fit_intercept is off by default, as in the CLI")
mi = rrr.fit(Xl, Yl, rank=2, lam=0.3, comm=comm, solver="exact", fit_intercept=True)
check(np.array_equal(mi.U, np.load(f"{d}/ex{np_}/U.npy")) and
      np.array_equal(mi.V, np.load(f"{d}/ex{np_}/V.npy")) and
      np.array_equal(mi.y_mean, np.load(f"{d}/ex{np_}/y_mean.npy")[0]),
      "fit (exact, fit_intercept) = rrr fit --intercept, bitwise")
check(np.allclose(mi.coef_.T, mi.U @ mi.V.T) and
      np.allclose(Xl @ mi.coef_.T + mi.intercept_, mi.predict(Xl, comm)),
      "coef_ and intercept_ give the predictions")

# caller's memory is used in place; other layouts are converted
Xf = np.asfortranarray(Xl)
mf = rrr.fit(Xf, Yl, rank=3, lam=0.7, comm=comm, solver="gd")
check(np.array_equal(mf.U, m.U), "a Fortran-order copy of the rows fits the same")

# predict and score = CLI predict --scores
yh = rrr.predict(m, Xl, comm)
check(np.array_equal(yh, np.load(f"{d}/yhat{np_}.npy")[r0:r0 + nloc]), "predict = rrr predict, bitwise")
s = rrr.score(Yl, yh, comm)
sj = json.load(open(f"{d}/s{np_}.json"))
check(s["mse"] == sj["mse"] and s["r2"] == sj["r2"] and s["r2_mean"] == sj["r2_mean"] and
      list(s["r2_per_output"]) == sj["r2_per_output"], "score = rrr predict --scores")
check(m.score(Xl, Yl, comm) == sj["r2_mean"], "Model.score is r2_mean (scikit-learn's score)")

# read_model and save
mr = rrr.read_model(f"{d}/gd{np_}", comm)
check(np.array_equal(mr.U, m.U) and mr.info["rank"] == 3 and mr.lam == 0.7 and mr.n == n,
      "read_model reads rrr fit's directory (lambda and n too)")
m.save(f"{d}/pysaved{np_}", comm)
js2 = json.load(open(f"{d}/pysaved{np_}/model.json"))
check(js2["objective"] == js["objective"] and js2["inputs"]["x"]["path"] is None,
      "Model.save writes model.json with the fit's record (inputs from memory)")
parts = comm.gather(yh, root=0)
if me == 0:
    np.save(f"{d}/pyyhat{np_}.npy", np.concatenate(parts))


def raises(fn, cls, status, text, what):
    try:
        fn()
        check(False, what + ": no exception")
    except rrr.RRRError as e:
        check(isinstance(e, cls) and e.status == status and text in str(e),
              f"{what}: {type(e).__name__} status {e.status}: {e}")


raises(lambda: rrr.fit(Xl, Yl, rank=0, lam=1, comm=comm), rrr.InvalidInputError, 2,
       "rank 0 out of range", "bad rank")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=-1, comm=comm), ValueError, 2,
       "lambda -1: must be a finite number >= 0", "bad lambda")
raises(lambda: rrr.fit(Xl, Y[r0:r0 + nloc - 1] if me == np_ - 1 and nloc > 0 else Yl, rank=1,
                       lam=1, comm=comm), rrr.InvalidInputError, 2, "rows", "X and Y of different rows")
if np_ > 1:
    odd = Xl[:, :, None] if me == np_ - 1 else Xl
    raises(lambda: rrr.fit(odd, Yl, rank=1, lam=1, comm=comm), rrr.InvalidInputError, 2,
           f"rank {np_ - 1}: X: expected a 2-D array", "one rank's rows not 2-D")
raises(lambda: rrr.read_model(f"{d}/nowhere", comm), OSError, 3, "nowhere/model.json",
       "missing model directory")

# cv = CLI cv (random folds; and the same folds given as fold ids), the choice's fit bitwise
mc, t = rrr.cv(Xl, Yl, ranks=[1, 2, 3], lambdas=[0.1, 1, 10], comm=comm, folds=4,
               fold_seed=3, rule="1se")
cj = json.load(open(f"{d}/cv{np_}/cv.json"))
check(t["rank"] == cj["rank"] and t["lam"] == cj["lambda"] and t["cv_mse_min"] == cj["cv_mse_min"]
      and np.array_equal(t["cv_mse"], cj["cv_mse"]) and np.array_equal(t["sse"], cj["sse"])
      and list(t["fold_sizes"]) == cj["fold_sizes"], "cv's table = rrr cv's cv.json")
check(np.array_equal(mc.U, np.load(f"{d}/cv{np_}/U.npy")) and mc.info["selected_by"] == "cv"
      and mc.rank == cj["rank"] and mc.lam == cj["lambda"], "cv's model = rrr cv's fit, bitwise")
ids = np.load(f"{d}/cv{np_}/fold_ids.npy")[r0:r0 + nloc, 0]
_, t2 = rrr.cv(Xl, Yl, ranks=[1, 2, 3], lambdas=[0.1, 1, 10], comm=comm, fold_ids=ids,
               rule="1se")
check(np.array_equal(t2["sse"], t["sse"]), "cv with fold_ids = the random folds they record")
raises(lambda: rrr.cv(Xl, Yl, ranks=[2, 1], lambdas=[1], comm=comm), rrr.InvalidInputError, 2,
       "ascending", "cv: ranks not ascending")
Xn = Xl.copy()
if me == np_ - 1 and nloc > 0:
    Xn[-1, 1] = np.nan
raises(lambda: rrr.fit(Xn, Yl, rank=1, lam=1, comm=comm), rrr.InvalidInputError, 2,
       f"X: non-finite value nan at row {n - 1}, column 1", "a NaN in X: the CLI's message")
raises(lambda: rrr.fit(Xl, Yl, rank=2.5, lam=1, comm=comm), rrr.InvalidInputError, 2,
       "rank 2.5: expected an integer", "a fractional rank")
raises(lambda: rrr.cv(Xl, Yl, ranks=[1], lambdas=[1], comm=comm, folds=3,
                      fold_ids=np.zeros(nloc)), rrr.InvalidInputError, 2,
       "folds and fold_ids exclude each other", "cv: folds and fold_ids")
raises(lambda: rrr.cv(Xl, Yl, ranks=[1], lambdas=[1], comm=comm, rule="max"),
       rrr.InvalidInputError, 2, "expected min, 1se", "cv: bad rule")
# an option that is bad on one rank only: raised on every rank (the others named it), not
# raised there alone while the rest wait in the library's collective call
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=1, comm=comm,
                       solver="foo" if me == np_ - 1 else "auto"), rrr.InvalidInputError, 2,
       "solver 'foo'", "a bad option on one rank: raised on all")
raises(lambda: rrr.cv(Xl, Yl, ranks=[1], lambdas=[1], comm=comm,
                      rule="max" if me == 0 else "min"), rrr.InvalidInputError, 2,
       "rule 'max'", "cv: a bad rule on one rank: raised on all")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=1, comm=comm, solver="gd",
                       checkpoint=f"{d}/no/such/dir/ck"), rrr.IOFailureError, 3, "checkpoint",
       "a checkpoint directory that cannot be made: refused before the fit")
# cv's gd method reorders a private copy: the caller's arrays, a read-only map among them,
# stay as they were, and Y = X gives what a copy of X gives
ro = np.zeros((0, 4))  # (an empty file cannot be mapped)
if nloc > 0:
    np.save(f"{d}/ro{np_}-{me}.npy", Xl[:, :4])
    ro = np.load(f"{d}/ro{np_}-{me}.npy", mmap_mode="r")
before = np.array(ro)
_, tro = rrr.cv(ro, ro, ranks=[1, 2], lambdas=[0.1, 10.0], comm=comm, folds=3, method="gd",
                tol=1e-13)
_, tcp = rrr.cv(ro, np.array(ro), ranks=[1, 2], lambdas=[0.1, 10.0], comm=comm, folds=3,
                method="gd", tol=1e-13)
check(np.array_equal(np.array(ro), before) and np.array_equal(tro["cv_mse"], tcp["cv_mse"]),
      "cv method gd: a read-only map as X and Y, unchanged, = a copy")

# the record: fit's info = the model.json the CLI writes for the same fit (every member but
# the timings, the version and the directory's own), None where model.json has null
skip = {"files", "format", "ranks", "threads_per_rank", "blas_core", "rrr_version", "inputs"}
diff = [k for k in js if k not in skip and m.info.get(k, "absent") != js[k]]
check(not diff and m.info["certificate"] == js["certificate"],
      f"fit's info holds model.json's members (differing: {diff})")
check(mi.info["gradient_norm_initial"] is None and mi.info["condition_before"] is None,
      "exact's not-applicable fields are None (model.json's null)")
mr2 = rrr.read_model(f"{d}/gd{np_}", comm)
mr2.save(f"{d}/resaved{np_}", comm)
js3 = json.load(open(f"{d}/resaved{np_}/model.json"))
check(all(js3.get(k) == js[k] for k in js if k != "files"),
      "read_model(...).save keeps the CLI's record")

# plain data: pickle, deepcopy and copy keep the model and its record
import copy
import pickle
import warnings
mp = pickle.loads(pickle.dumps(m))
mp.save(f"{d}/pickled{np_}", comm)
js4 = json.load(open(f"{d}/pickled{np_}/model.json"))
check(np.array_equal(mp.U, m.U) and js4 == js2, "a pickled model saves the same model.json")
c = copy.copy(m)
del c
md = copy.deepcopy(m)
md.save(f"{d}/copied{np_}", comm)
check(json.load(open(f"{d}/copied{np_}/model.json")) == js2 and m.info == md.info,
      "copies are independent of the original")
m3 = copy.deepcopy(m)
m3.U, m3.V = m3.U[:, :1].copy(), m3.V[:, :1].copy()
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    m3.save(f"{d}/changed{np_}", comm)
js5 = json.load(open(f"{d}/changed{np_}/model.json"))
check(js5["rank"] == 1 and "objective" not in js5 and any("changed" in str(x.message) for x in w),
      "a model changed after its fit is saved without the old record, with a warning")
m6 = copy.deepcopy(m)
m6.U = m6.U * 3
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    m6.save(f"{d}/scaled{np_}", comm)
check("objective" not in json.load(open(f"{d}/scaled{np_}/model.json")) and
      any("changed" in str(x.message) for x in w), "... U scaled in place of its shape too")
m7 = copy.deepcopy(m)
m7.info["flag"], m7.info["arr"] = np.bool_(True), np.arange(3)
m7.save(f"{d}/npvals{np_}", comm)
j7 = json.load(open(f"{d}/npvals{np_}/model.json"))
check(j7["flag"] is True and j7["arr"] == [0, 1, 2] and j7["objective"] == js2["objective"],
      "NumPy values in info are saved as JSON's")
m8 = copy.deepcopy(m)
m8.info["note"] = "x" * 70000
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    m8.save(f"{d}/bignote{np_}", comm)
check("objective" not in json.load(open(f"{d}/bignote{np_}/model.json")) and
      rrr.read_model(f"{d}/bignote{np_}", comm).rank == m.rank and
      any("bytes" in str(x.message) for x in w), "a record too large for model.json: not saved, said")

# warnings, 1-D y, masked arrays, argument types
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    rrr.fit(Xl, Yl, rank=2, lam=0.5, comm=comm, solver="gd", max_iter=3)
conv = [x for x in w if issubclass(x.category, rrr.ConvergenceWarning)]
said = any("did not converge" in str(x.message) for x in conv)
check(said if me == 0 else not conv, "a fit that did not converge warns (rank 0 only)")
m1 = rrr.fit(Xl, Yl[:, 0], rank=1, lam=0.5, comm=comm)
check(m1.predict(Xl, comm).shape == (nloc,) and m1.coef_.shape == (X.shape[1],) and
      isinstance(m1.intercept_, float), "a 1-D y gives 1-D predictions, coef_ (p,)")
m1.save(f"{d}/y1d{np_}", comm)
check(rrr.read_model(f"{d}/y1d{np_}", comm).predict(Xl, comm).shape == (nloc,),
      "... kept through save and read_model (model.json y_ndim)")
Xm = np.ma.masked_array(Xl, mask=np.zeros_like(Xl, dtype=bool))
if me == 0 and nloc > 0:
    Xm.mask[0, 0] = True
raises(lambda: rrr.fit(Xm, Yl, rank=1, lam=1, comm=comm), rrr.InvalidInputError, 2,
       "masked values", "a masked array with masked values")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam="a", comm=comm), rrr.InvalidInputError, 2,
       "lam 'a': expected a number", "lam as a string")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=1, comm=comm, fit_intercept="no"),
       rrr.InvalidInputError, 2, "expected True or False", "fit_intercept as a string")
raises(lambda: rrr.Model(m.U, m.V, lam=-1), rrr.InvalidInputError, 2, "lam -1.0 must be a finite number",
       "a Model of lam -1")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=1, comm=123), rrr.InvalidInputError, 2,
       "expected an mpi4py communicator", "comm as an integer")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=1, comm=comm, verbose="x"), rrr.InvalidInputError,
       2, "verbose 'x': expected True or False", "verbose as a string")
raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=10**400, comm=comm), rrr.InvalidInputError, 2,
       "within double's range", "lam beyond double's range")
raises(lambda: rrr.cv(Xl, Yl, ranks=[2**70], lambdas=[1], comm=comm), rrr.InvalidInputError,
       2, "expected lists of integers", "a cv rank beyond int")
raises(lambda: rrr.fit(Xl, Yl, rank=True, lam=1, comm=comm), rrr.InvalidInputError, 2,
       "not a boolean", "rank=True")
raises(lambda: rrr.partition(-1, comm), rrr.InvalidInputError, 2, "must be >= 0",
       "partition(-1)")
# the replaced arrays of a model are read as doubles, whatever their dtype
m32 = rrr.Model(m.U, m.V, m.lam, n=m.n)
m32.U = m.U.astype(np.float32)
check(np.allclose(rrr.predict(m32, Xl, comm), Xl @ m.U.astype(np.float32).astype(float) @ m.V.T,
                  rtol=1e-12, atol=1e-12), "a Model's U replaced by float32: read as doubles")
raises(lambda: rrr.Model(m.U + 1j, m.V, 1.0), rrr.InvalidInputError, 2,
       "is not real numbers", "a complex U")
if np_ > 1:  # a bad argument on one rank only raises on every rank (no rank waits)
    one = me == np_ - 1
    raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=10**400 if one else 1, comm=comm),
           rrr.InvalidInputError, 2, "within double's range", "lam out of range on one rank")
    raises(lambda: rrr.fit(Xl, Yl, rank=1, lam=1, comm=comm, verbose="yes" if one else False),
           rrr.InvalidInputError, 2, "expected True or False", "verbose bad on one rank")
    raises(lambda: rrr.predict("model" if one else m, Xl, comm), rrr.InvalidInputError, 2,
           "expected an rrr.Model", "predict given a non-model on one rank")
    mb = rrr.Model(m.U, m.V, m.lam, n=m.n)
    if one:
        mb.lam = -1
    raises(lambda: rrr.predict(mb, Xl, comm), rrr.InvalidInputError, 2,
           "must be a finite number", "predict of a model bad on one rank")
    raises(lambda: rrr.fit(Xl, Yl[:, 0] if one else Yl[:, :1], rank=1, lam=1, comm=comm),
           rrr.InvalidInputError, 2, "every rank must pass the same kind",
           "a 1-D y on one rank, 2-D on the others")
    raises(lambda: m.save(f"{d}/persaved{np_}-{me}", comm), rrr.InvalidInputError, 2,
           "different model directories", "save to a different path per rank")
    ids = np.arange(nloc) % 2
    raises(lambda: rrr.cv(Xl, Yl, ranks=[1], lambdas=[1], comm=comm,
                          fold_ids=None if one else ids), rrr.InvalidInputError, 2,
           "fold_ids on all or none", "fold_ids on some ranks only")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", rrr.ConvergenceWarning)
        try:
            rrr.fit(Xl, Yl, rank=2, lam=0.5, comm=comm, solver="gd", max_iter=2)
            got = False
        except rrr.ConvergenceWarning:
            got = True
    check(got, "a ConvergenceWarning made an error raises on every rank")
try:
    rrr.fit(Xl, Yl, rank=1, lam=1, comm=comm, alpha=1)
    check(False, "an unknown option: no exception")
except TypeError as e:
    check("alpha" in str(e) and "_fit_opts" not in str(e), f"an unknown option: {e}")
check(t["lambda"] == cj["lambda"] and t["algebra_flops_per_rank"] == cj["algebra_flops_per_rank"],
      "cv's table has cv.json's names (lambda, algebra_flops_per_rank)")

# predict and score work row by row: any rows per rank (rank 0 all, or an uneven split)
mine = X[:7] if me == 0 else X[:0]
ym = rrr.predict(m, mine, comm)
check(ym.shape == (mine.shape[0], Y.shape[1]) and
      np.allclose(ym, (mine @ m.U) @ m.V.T, rtol=1e-12, atol=1e-12),
      "predict: rank 0's rows only (the others none)")
cut = [0] + [min(n, (k + 1) * (k + 2) * 7) for k in range(np_ - 1)] + [n]
lo, hi = cut[me], max(cut[me], cut[me + 1])
yfull = rrr.predict(m, X, comm=MPI.COMM_SELF)
s_uneven = rrr.score(Y[lo:hi], yfull[lo:hi], comm)
s_part = rrr.score(Yl, yfull[r0:r0 + nloc], comm)
check(abs(s_uneven["mse"] - s_part["mse"]) <= 1e-12 * s_part["mse"] and
      abs(s_uneven["r2_mean"] - s_part["r2_mean"]) <= 1e-12, "score: an uneven split of the rows")

# fit and cv take any split of the rows in rank order: np.array_split's, and rank 0 all
# rows (the sums over rows are grouped by rank, so equal to rounding, bitwise at 1 rank)
for how, (lo, hi) in (("np.array_split", (sum(len(a) for a in np.array_split(np.arange(n), np_)[:me]),
                                           sum(len(a) for a in np.array_split(np.arange(n), np_)[:me + 1]))),
                      ("rank 0 all rows", (0, n) if me == 0 else (n, n))):
    for solver in ("gd", "exact"):
        ms = rrr.fit(X[lo:hi], Y[lo:hi], rank=3, lam=0.7, comm=comm, solver=solver)
        ref = m if solver == "gd" else rrr.fit(Xl, Yl, rank=3, lam=0.7, comm=comm, solver="exact")
        B, Bref = ms.U @ ms.V.T, ref.U @ ref.V.T
        check(np.abs(B - Bref).max() <= 1e-9 * np.abs(Bref).max() and
              abs(ms.info["objective"] - ref.info["objective"]) <= 1e-11 * ref.info["objective"],
              f"fit ({solver}) on {how}: the partition's model, to rounding")
    ids = (np.arange(n) % 3).astype(float)
    cs, ts = rrr.cv(X[lo:hi], Y[lo:hi], ranks=[1, 2, 3], lambdas=[0.1, 1, 10], comm=comm,
                    fold_ids=ids[lo:hi])
    cp, tp = rrr.cv(Xl, Yl, ranks=[1, 2, 3], lambdas=[0.1, 1, 10], comm=comm,
                    fold_ids=ids[r0:r0 + nloc])
    cr, tr = rrr.cv(X[lo:hi], Y[lo:hi], ranks=[1, 2, 3], lambdas=[0.1, 1, 10], comm=comm,
                    folds=4, fold_seed=3, rule="1se")
    check(ts["rank"] == tp["rank"] and ts["lam"] == tp["lam"] and
          np.allclose(ts["cv_mse"], tp["cv_mse"], rtol=1e-10, atol=0) and
          tr["rank"] == t["rank"] and tr["lam"] == t["lam"] and
          np.allclose(tr["cv_mse"], t["cv_mse"], rtol=1e-10, atol=0),
          f"cv on {how}: the partition's table (fold ids, and the seed's folds)")
    if np_ > 1 and how == "rank 0 all rows":
        raises(lambda: rrr.cv(X[lo:hi], Y[lo:hi], ranks=[1], lambdas=[1], comm=comm,
                              fold_ids=ids[r0:r0 + nloc]),
               rrr.InvalidInputError, 2, "fold ids", f"cv on {how}: fold ids of other rows")

# the scikit-learn estimator: clone, GridSearchCV (one process per search: COMM_SELF)
try:
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    est = rrr.ReducedRankRidge(rank=2, lam=0.5, comm="self", solver="exact")
    m_ref = rrr.fit(X, Y, rank=2, lam=0.5, comm=MPI.COMM_SELF, solver="exact")
    check(np.array_equal(clone(est).fit(X, Y).predict(X), m_ref.predict(X, MPI.COMM_SELF)),
          "ReducedRankRidge: clone().fit().predict() = rrr.fit's predictions")
    g = GridSearchCV(rrr.ReducedRankRidge(comm="self", solver="exact"),
                     {"rank": [1, 2, 3], "lam": [0.1, 10.0]}, cv=3).fit(X, Y)
    check(g.best_params_["rank"] in (1, 2, 3) and np.isfinite(g.best_score_),
          f"ReducedRankRidge in GridSearchCV: best {g.best_params_}")
    from sklearn.base import is_regressor
    check(is_regressor(est) and clone(est).fit(X, Y).n_features_in_ == X.shape[1],
          "ReducedRankRidge: a regressor, with n_features_in_")
except ImportError:
    check(True, "scikit-learn not installed: the estimator's sklearn checks skipped")
