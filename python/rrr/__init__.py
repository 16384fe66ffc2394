"""rrr: distributed reduced-rank ridge regression from Python (mpi4py + NumPy).

    minimize  ||Y - X U V^T||_F^2 + lam ||U V^T||_F^2     X: n x p, Y: n x q, rank d

Each rank passes its own rows of X and Y as NumPy arrays, inside an mpi4py program. Any
split will do (np.array_split's, `partition`'s, or rows as they were read), as long as the
ranks' rows, taken in rank order, are the n rows, each once:

    from mpi4py import MPI
    import rrr
    r0, nloc = rrr.partition(n, MPI.COMM_WORLD)        # one such split
    model = rrr.fit(X[r0:r0 + nloc], Y[r0:r0 + nloc], rank=5, lam=0.1, comm=MPI.COMM_WORLD)
    Yhat = rrr.predict(model, X[r0:r0 + nloc])          # my rows of X U V^T
    s = rrr.score(Y[r0:r0 + nloc], Yhat)                # mse, r2, r2_mean, per output

Every function is collective over comm (default MPI.COMM_WORLD): call it on every rank.
Errors raise an RRRError (the same on every rank) carrying the library's message and its
status, which is the exit code the `rrr` command would give. The C library is used through
ctypes: no compiled extension, any Python 3 with NumPy and mpi4py.

Arrays that are C-contiguous float64 are used in place (no copy); anything else (float32,
Fortran order, slices with strides) is converted to a C-contiguous float64 copy first.
"""
import hashlib
import json
import math
import operator
import os
import warnings

import numpy as np

from . import _lib
from ._lib import lib

__version__ = "0.9.0"
__all__ = ["fit", "predict", "score", "read_model", "cv", "partition", "Model", "RRRError",
           "InternalError", "InvalidInputError", "IOFailureError", "NumericalError",
           "StoppedError", "ConvergenceWarning", "ReducedRankRidge", "library_version"]


# ---- errors -----------------------------------------------------------------------------

class RRRError(Exception):
    """A failure reported by the library: str(e) is its message; e.status is the status,
    which is also the `rrr` command's exit code (1 internal, 2 invalid input, 3 I/O,
    4 numerical, 5 stopped by a signal)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status
        self.status_name = lib.rrr_strerror(status).decode()


class InternalError(RRRError):
    """Status 1: out of memory, MPI or library failure."""


class InvalidInputError(RRRError, ValueError):
    """Status 2: bad arguments or invalid data (shapes, NaN/Inf, rank, lam, options)."""


class IOFailureError(RRRError, OSError):
    """Status 3: a missing or unreadable file, an output that cannot be written."""


class NumericalError(RRRError, ArithmeticError):
    """Status 4: non-finite objective, a matrix not positive definite."""


class StoppedError(RRRError):
    """Status 5: stopped by a signal (after writing a checkpoint, if one was asked for)."""


class ConvergenceWarning(UserWarning):
    """A fit that stopped before its convergence test held (info["converged"] false), or
    whose certificate FAILED (its objective above the closed form's optimum by more than
    the tolerance): the `rrr` command's warnings, issued on rank 0 only."""


_ERRORS = {_lib.EINTERNAL: InternalError, _lib.EINVAL: InvalidInputError,
           _lib.EIO: IOFailureError, _lib.ENUMERIC: NumericalError,
           _lib.ESTOPPED: StoppedError}


def _raise(status, message):
    raise _ERRORS.get(status, RRRError)(message, status)


def library_version():
    """The version of the loaded librrr ("0.9.0")."""
    return lib.rrr_version().decode()


# ---- the context: one per call, on a duplicate of comm ---------------------------------

def _comm(comm):
    """comm, or MPI.COMM_WORLD for None and "world", MPI.COMM_SELF for "self" (names that a
    deep copy keeps: scikit-learn's clone deep-copies an estimator's parameters)."""
    if comm is None or isinstance(comm, str):
        from mpi4py import MPI
        names = {"world": MPI.COMM_WORLD, "self": MPI.COMM_SELF}
        if comm is not None and comm not in names:
            raise InvalidInputError(f"comm {comm!r}: expected a communicator, 'world' or "
                                    "'self'", _lib.EINVAL)
        comm = names.get(comm, MPI.COMM_WORLD)
    if not callable(getattr(comm, "py2f", None)):
        raise InvalidInputError(f"comm {comm!r}: expected an mpi4py communicator, 'world' or "
                                "'self'", _lib.EINVAL)
    return comm


class _Context:
    """rrr_ctx on comm (collective); checks statuses and raises the agreed error."""

    def __init__(self, comm, verbose=False):
        self.comm = _comm(comm)
        self.ptr = _lib.ctypes.c_void_p()
        st = lib.rrr_ctx_create_f(self.comm.py2f(), _lib.ctypes.byref(self.ptr))
        if st != _lib.OK:
            _raise(st, "cannot create an rrr context: " + lib.rrr_strerror(st).decode())
        try:  # checked here, where the ranks can agree: one rank's bad value is everyone's
            verbose = self.agreed(lambda: _bool(verbose, "verbose"))
        except BaseException:
            lib.rrr_ctx_destroy(_lib.ctypes.byref(self.ptr))
            raise
        lib.rrr_ctx_set_quiet(self.ptr, 0 if verbose else 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.rrr_ctx_destroy(_lib.ctypes.byref(self.ptr))
        return False

    def agreed(self, make):
        """make() on every rank (the argument checks done here in Python), its result; an
        exception on any rank is raised on every rank (elsewhere as the same type, naming
        the first rank that raised), never on one alone while the others wait in the
        library's collective call (they would hang there)."""
        err = None
        try:
            out = make()
        except Exception as e:  # any failure here: the other ranks must hear of it
            err = e
        bad = self.comm.allgather(None if err is None else
                                  (type(err), str(err), getattr(err, "status", None)))
        if err is not None:
            raise err
        for r, b in enumerate(bad):
            if b is not None:
                cls, msg, status = b
                if issubclass(cls, RRRError):
                    raise cls(f"rank {r}: {msg}", status)
                if issubclass(cls, (TypeError, ValueError)):
                    raise cls(f"rank {r}: {msg}")
                raise InvalidInputError(f"rank {r}: {cls.__name__}: {msg}", _lib.EINVAL)
        return out

    def check(self, st):
        """st is agreed (the same on every rank): raise it with its message."""
        if st != _lib.OK:
            _raise(st, lib.rrr_ctx_errmsg(self.ptr).decode())

    def interruptible(self, call):
        """The status of call(), a library call that may iterate for long, run so that Ctrl-C
        stops it: in a worker thread while this (main) thread waits. Any exception raised
        here meanwhile (KeyboardInterrupt, or one a signal handler raises) asks the library
        to stop at its next iteration boundary (rrr_stop_request: every rank then returns
        RRR_ESTOPPED) and is kept; we never leave while the call runs, since the context and
        the wrapped arrays would go with us. A second Ctrl-C kills the process, as it does
        the rrr command. Then the ranks agree whether any was interrupted (one allreduce);
        raise_interrupt() raises it, once the call's results are freed. Directly, without
        Ctrl-C, off the main thread or where MPI does not allow calls from another thread
        (below MPI_THREAD_SERIALIZED)."""
        import signal
        import threading
        from mpi4py import MPI
        self.pending, self.any_interrupted = None, False
        if (threading.current_thread() is not threading.main_thread()
                or MPI.Query_thread() < MPI.THREAD_SERIALIZED):
            st = call()
        else:
            st = self._in_worker(call, signal, threading)
        self.any_interrupted = self.comm.allreduce(self.pending is not None, op=MPI.LOR)
        return st

    def _in_worker(self, call, signal, threading):
        box, done = {}, threading.Event()

        def run():
            try:
                box["st"] = call()
            except BaseException as e:  # ctypes errors: re-raised in the caller's thread
                box["error"] = e
            finally:
                done.set()

        def keep(e):
            if isinstance(e, KeyboardInterrupt) and isinstance(self.pending, KeyboardInterrupt):
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C twice: die
                os.kill(os.getpid(), signal.SIGINT)
            if self.pending is None:
                self.pending = e
            lib.rrr_stop_request()

        lib.rrr_stop_clear()
        worker = threading.Thread(target=run, name="rrr", daemon=True)
        try:
            worker.start()  # an interrupt here comes after the thread was made
        except RuntimeError:
            raise  # no thread: nothing runs
        except BaseException as e:
            keep(e)
        try:
            # wait on an Event, not Thread.join: a join interrupted by KeyboardInterrupt can
            # leave is_alive() False while the thread still runs (CPython 3.11)
            while not done.is_set():
                try:
                    done.wait(0.05)
                except BaseException as e:
                    keep(e)
            while worker.is_alive():  # the call has returned: only the thread's exit is left
                try:
                    worker.join(0.05)
                except BaseException as e:
                    keep(e)
        finally:
            lib.rrr_stop_clear()
        if "error" in box:
            raise box["error"]
        return box["st"]

    def raise_interrupt(self):
        """After interruptible(), once the call's results are freed: this rank's exception
        (KeyboardInterrupt for Ctrl-C), or, where another rank was interrupted, StoppedError,
        so that every rank leaves the collective call alike."""
        if getattr(self, "pending", None) is not None:
            if isinstance(self.pending, KeyboardInterrupt):
                raise KeyboardInterrupt("rrr: stopped by Ctrl-C (at an iteration boundary, or "
                                        "after a one-pass solver finished)")
            raise self.pending
        if getattr(self, "any_interrupted", False):
            raise StoppedError("stopped: another rank was interrupted (Ctrl-C)", _lib.ESTOPPED)

    def agree(self, st):
        """Agree on a local status (every rank calls), then check it."""
        self.check(lib.rrr_ctx_agree(self.ptr, st))


def partition(n, comm=None):
    """(r0, nloc): the rows [r0, r0 + nloc) of n that this rank holds (rrr_partition:
    b = ceil(n / size) rows per rank, trailing ranks fewer or none). Local."""
    comm = _comm(comm)
    n = _int(n, "n", hi=_U64_MAX)
    r0, nloc = _lib.ctypes.c_size_t(), _lib.ctypes.c_size_t()
    lib.rrr_partition(n, comm.Get_size(), comm.Get_rank(), _lib.ctypes.byref(r0),
                      _lib.ctypes.byref(nloc))
    return r0.value, nloc.value


# ---- row blocks: the caller's arrays, wrapped without a copy ---------------------------

def _rows(a, what):
    """a as a C-contiguous float64 2-D array (the same object when it already is one; a
    1-D array is one column). A masked array with masked values is refused: the library
    would read the values under the mask."""
    if np.ma.isMaskedArray(a):
        if np.ma.getmaskarray(a).any():
            raise InvalidInputError(f"{what}: a masked array with masked values; fill them "
                                    f"(a.filled(value)) or drop those rows first", _lib.EINVAL)
        a = np.ma.getdata(a)
    a = np.asarray(a)
    if a.dtype.kind not in "fiub" and not (a.dtype.kind == "O" and a.size > 0):
        raise InvalidInputError(f"{what}: dtype {a.dtype} is not real numbers (convert with "
                                f".astype(np.float64))", _lib.EINVAL)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise InvalidInputError(f"{what}: expected a 2-D array of my rows, got shape "
                                f"{a.shape}", _lib.EINVAL)
    return np.ascontiguousarray(a, dtype=np.float64)


class _Blocks:
    """Wrap each rank's rows of one or more matrices as rrr_blocks (borrowed, no copy).
    Checks on every rank that the ranks agree on the column counts; each rank may hold
    any number of rows: its rows are the ones after those of the ranks before it."""

    def __init__(self, ctx, arrays, names):
        self.arrays, self.ptrs, err = [], [], None
        for a, nm in zip(arrays, names):
            try:
                self.arrays.append(_rows(a, nm))
            except Exception as e:  # on this rank only: the others must hear of it
                if err is None:
                    err = str(e) if isinstance(e, RRRError) else f"{nm}: {e}"
                self.arrays.append(np.zeros((0, 0)))
        gathered = ctx.comm.allgather((err, [a.shape for a in self.arrays], list(names)))
        if any(g[2] != list(names) for g in gathered):
            raise InvalidInputError("the ranks passed different arrays (" + " / ".join(
                "rank %d: %s" % (r, ", ".join(g[2])) for r, g in enumerate(gathered)) +
                "): every rank must pass the same ones (fold_ids on all or none)", _lib.EINVAL)
        gathered = [g[:2] for g in gathered]
        bad = [(r, e) for r, (e, _) in enumerate(gathered) if e]
        if bad:
            raise InvalidInputError(f"rank {bad[0][0]}: {bad[0][1]}", _lib.EINVAL)
        shapes = [s for _, s in gathered]
        for k, nm in enumerate(names):
            cols = {s[k][1] for s in shapes}
            if len(cols) != 1:
                raise InvalidInputError(f"{nm}: the ranks hold rows of {sorted(cols)} columns; "
                                        "every rank must pass the same columns", _lib.EINVAL)
        err = None
        me = ctx.comm.Get_rank()
        for k, a in enumerate(self.arrays):
            n = sum(s[k][0] for s in shapes)
            r0 = sum(s[k][0] for s in shapes[:me])  # my rows' first, in rank order
            ptr = _lib.ctypes.POINTER(_lib.Block)()
            data = a.ctypes.data_as(_lib.c_double_p)
            st = _lib.OK if err is not None else lib.rrr_block_wrap_at(
                ctx.ptr, n, a.shape[1], r0, a.shape[0], data, _lib.ctypes.byref(ptr))
            if st != _lib.OK:
                msg = lib.rrr_ctx_errmsg(ctx.ptr).decode()  # e.g. a NaN, with its global row
                msg = msg.removeprefix("rrr_block_wrap_at: ").removeprefix("rrr_block_wrap: ")
                err = f"{names[k]}: {msg}"
            self.ptrs.append(ptr)
        bad = [e for e in ctx.comm.allgather(err) if e]
        if bad:
            self.close()
            raise InvalidInputError(bad[0], _lib.EINVAL)

    def close(self):
        for p in self.ptrs:
            lib.rrr_block_destroy(_lib.ctypes.byref(p))
        self.ptrs = []


def _block_to_array(ptr):
    """Copy an rrr_block that the library made into a NumPy array (nloc x ncols)."""
    b = ptr.contents
    if b.nloc * b.ncols == 0:
        return np.zeros((b.nloc, b.ncols))
    return np.ctypeslib.as_array(b.a, shape=(b.nloc, b.ncols)).copy()


# ---- the model --------------------------------------------------------------------------

def _real(a, what):
    """a as a float64 array (a copy only where it is not one already); complex, strings and
    other non-numbers are refused, not cast (NumPy would drop an imaginary part)."""
    a = np.asarray(a)
    if a.dtype.kind not in "fiub":
        raise InvalidInputError(f"{what}: dtype {a.dtype} is not real numbers", _lib.EINVAL)
    return a.astype(np.float64, copy=False)


def _as_model(model, fn):
    if not isinstance(model, Model):
        raise InvalidInputError(f"{fn}: expected an rrr.Model (from fit, cv or read_model), "
                                f"got {type(model).__name__}", _lib.EINVAL)
    return model


class Model:
    """A fitted model: U (p x d), V (q x d) with B = U V^T; x_mean, y_mean (or None without
    an intercept); rank, lam, fit_intercept, n, p, q; info, the record of the fit: the
    members of its model.json (None where model.json has null), and for a fit in this
    process also objective_history and time_solve. coef_ (q x p) and intercept_ (q) are
    B^T and y_mean - x_mean B, the scikit-learn names; for a model fitted to a 1-D y,
    predict returns 1-D rows, coef_ is (p,) and intercept_ a number. A Model is plain data:
    it pickles and copies (copy.deepcopy, multiprocessing) with its record."""

    def __init__(self, U, V, lam, x_mean=None, y_mean=None, n=0, info=None):
        self.U = np.ascontiguousarray(_real(U, "Model: U"))
        self.V = np.ascontiguousarray(_real(V, "Model: V"))
        self.lam = _float(lam, "Model: lam")
        self.x_mean = None if x_mean is None else _real(x_mean, "Model: x_mean")
        self.y_mean = None if y_mean is None else _real(y_mean, "Model: y_mean")
        self.n = _int(n, "Model: n", hi=_N_MAX)
        self.info = dict(info or {})
        self.y_1d = False  # fitted to a 1-D y: predictions are 1-D too
        self._check()

    def _check(self):
        """U (p x d) and V (q x d) with the same d, the means (with an intercept, both) of
        lengths p and q: what the library reads through its pointers."""
        U, V = _real(self.U, "Model: U"), _real(self.V, "Model: V")
        xm = None if self.x_mean is None else _real(self.x_mean, "Model: x_mean")
        ym = None if self.y_mean is None else _real(self.y_mean, "Model: y_mean")
        lam, n = _float(self.lam, "Model: lam"), _int(self.n, "Model: n", hi=_N_MAX)
        if U.ndim != 2 or V.ndim != 2 or U.shape[1] != V.shape[1]:
            raise InvalidInputError(f"Model: U {U.shape} and V {V.shape} must be p x d and "
                                    f"q x d", _lib.EINVAL)
        if not (np.isfinite(lam) and lam >= 0):
            raise InvalidInputError(f"Model: lam {lam} must be a finite number >= 0",
                                    _lib.EINVAL)
        if (xm is None) != (ym is None):
            raise InvalidInputError("Model: x_mean and y_mean come together (or neither)",
                                    _lib.EINVAL)
        if xm is not None and (xm.size != U.shape[0] or ym.size != V.shape[0]):
            raise InvalidInputError(f"Model: x_mean ({xm.size}) and y_mean ({ym.size}) must "
                                    f"have p = {U.shape[0]} and q = {V.shape[0]} values",
                                    _lib.EINVAL)
        return U, V, xm, ym, lam, n

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_keep", None)  # the column-major copies of the last call
        return state

    rank = property(lambda self: self.U.shape[1])
    p = property(lambda self: self.U.shape[0])
    q = property(lambda self: self.V.shape[0])
    fit_intercept = property(lambda self: self.x_mean is not None)

    @property
    def coef_(self):
        B = (self.U @ self.V.T).T
        return B[0] if getattr(self, "y_1d", False) else B

    @property
    def intercept_(self):
        c = (np.zeros(self.q) if self.x_mean is None
             else self.y_mean - self.x_mean @ (self.U @ self.V.T))
        return float(c[0]) if getattr(self, "y_1d", False) else c

    def _c(self):
        """An rrr_model over this model's arrays (column-major copies kept alive here)."""
        U, V, xm, ym, lam, n = self._check()  # the arrays may have been replaced since
        self._keep = [np.asfortranarray(U), np.asfortranarray(V)]
        m = _lib.Model(n=n, p=U.shape[0], q=V.shape[0], d=U.shape[1], lambda_=lam,
                       intercept=int(xm is not None))
        m.U = self._keep[0].ctypes.data_as(_lib.c_double_p)
        m.V = self._keep[1].ctypes.data_as(_lib.c_double_p)
        if xm is not None:
            self._keep += [np.ascontiguousarray(xm), np.ascontiguousarray(ym)]
            m.x_mean = self._keep[2].ctypes.data_as(_lib.c_double_p)
            m.y_mean = self._keep[3].ctypes.data_as(_lib.c_double_p)
        return m

    def predict(self, X, comm=None):
        """My rows of X U V^T (+ intercept). Collective."""
        return predict(self, X, comm)

    def score(self, X, Y, comm=None):
        """R^2 averaged over the outputs (scikit-learn's estimator.score). Collective."""
        return score(Y, predict(self, X, comm), comm)["r2_mean"]

    def _fingerprint(self):
        """A digest of what the record describes: the arrays, lam and n."""
        h = hashlib.sha256(repr((self.lam, self.n, self.U.shape, self.V.shape)).encode())
        for a in (self.U, self.V, self.x_mean, self.y_mean):
            h.update(b"-" if a is None else np.ascontiguousarray(a, dtype=np.float64).tobytes())
        return h.hexdigest()

    def _own_record(self):
        """Mark info as the record of these arrays (fit, cv, read_model)."""
        self._record_of = self._fingerprint()
        return self

    def _record(self):
        """The record for model.json as JSON text: info, when it is the record of this
        model as it is (the arrays, lam and n it was made for); None for a model built by
        hand, or one changed since (with a warning: its record describes another model)."""
        info = {k: v for k, v in self.info.items() if k not in _PYTHON_ONLY}
        if "solver" not in info:
            return None
        mark = getattr(self, "_record_of", None)
        if mark is not None and mark != self._fingerprint():
            warnings.warn("Model.save: U, V, the means, lam or n changed since the fit that "
                          "info records, which is not saved", UserWarning, stacklevel=3)
            return None
        text = json.dumps(_finite_or_none(info), allow_nan=False)
        if len(text) > _RECORD_MAX:
            warnings.warn(f"Model.save: the record is {len(text)} bytes, more than model.json "
                          f"holds ({_RECORD_MAX}): not saved", UserWarning, stacklevel=3)
            return None
        return text

    def save(self, path, comm=None):
        """Write the model directory as `rrr fit --out` does (U.npy, V.npy, model.json with
        the fit's record, and the means), atomically; `rrr predict --model path` reads it.
        Other files are left alone: unlike `rrr fit --out`, an earlier `rrr cv` search's
        cv.json, cv.csv and fold_ids.npy there are not removed. Collective."""
        record = self._record()
        with _Context(comm) as ctx:
            m = ctx.agreed(self._c)
            where = ctx.agreed(lambda: os.fsencode(path))
            ctx.check(lib.rrr_model_write_record(
                ctx.ptr, _lib.ctypes.byref(m),
                None if record is None else record.encode(), where))


# info's members that model.json does not hold (a fit in this process adds them), and the
# most a record may take (rrr_model_read reads model.json files of up to 64 KiB)
_PYTHON_ONLY = ("objective_history", "time_solve")
_RECORD_MAX = 60000


def _finite_or_none(v):
    """v with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(v, dict):
        return {k: _finite_or_none(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite_or_none(x) for x in v]
    if isinstance(v, np.ndarray):
        return _finite_or_none(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _y_is_1d(ctx, Y):
    """Whether Y is 1-D (a model of one output that predicts 1-D rows), the same on every
    rank: a 1-D y on some ranks and 2-D on others would give models that differ per rank."""
    nd = ctx.comm.allgather(int(np.ndim(Y) == 1))
    if len(set(nd)) > 1:
        raise InvalidInputError("Y: 1-D on ranks %s and 2-D on the others: every rank must "
                                "pass the same kind" % [r for r, v in enumerate(nd) if v],
                                _lib.EINVAL)
    return bool(nd[0])


def _set_y_1d(model, one_d):
    """A model of a 1-D y predicts 1-D rows; model.json keeps it as y_ndim (saved)."""
    model.y_1d = bool(one_d)
    if one_d:
        model.info["y_ndim"] = 1


def _from_c(m, info=None):
    """A Model holding copies of the rrr_model's arrays."""
    mm = m.contents
    U = np.ctypeslib.as_array(mm.U, shape=(mm.d, mm.p)).T  # column-major p x d
    V = np.ctypeslib.as_array(mm.V, shape=(mm.d, mm.q)).T
    xm = ym = None
    if mm.intercept:
        xm = np.ctypeslib.as_array(mm.x_mean, shape=(mm.p,)).copy()
        ym = np.ctypeslib.as_array(mm.y_mean, shape=(mm.q,)).copy()
    return Model(U.copy(), V.copy(), mm.lambda_, xm, ym, mm.n, info)


def _record_of(ctx, m, ci):
    """The fit's record as model.json has it (the library renders it), with the objective
    history and the solver's time, which model.json does not hold."""
    text = _lib.ctypes.c_void_p()
    ctx.check(lib.rrr_fit_info_json(ctx.ptr, m, ci, _lib.ctypes.byref(text)))
    try:
        info = json.loads(_lib.ctypes.string_at(text).decode())
    finally:
        lib.rrr_free(text)
    c = ci.contents
    info["objective_history"] = [c.history[k] for k in range(c.nhistory)]
    info["time_solve"] = c.solve_seconds
    return info


_GENERIC_CORES = ("Prescott", "Core2", "Nehalem", "Sandybridge")
_kernel_warned = False


def _better_kernel():
    """SkylakeX or Haswell when this CPU has AVX-512F or AVX2 (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        return None
    return "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None


def _warn_kernel(info):
    """Once per process: OpenBLAS chose its generic kernel (the CLI re-execs itself with a
    better one, which a Python process, with OpenBLAS already loaded, cannot)."""
    global _kernel_warned
    core = info.get("blas_core")
    if _kernel_warned or core not in _GENERIC_CORES:
        return
    _kernel_warned = True
    better = _better_kernel()
    if better:
        warnings.warn(f"OpenBLAS runs its generic '{core}' kernel in this process on a CPU "
                      f"that supports {better}: set OPENBLAS_CORETYPE={better} in the "
                      "environment before starting Python for much faster fits (README "
                      "\"OpenBLAS kernel\")", RuntimeWarning, stacklevel=4)


def _warn_fit(ctx, info, what):
    """The command's warnings about a fit: not converged, certificate FAILED; a generic BLAS
    kernel, once. Shown on rank 0; issued on every rank, elsewhere recorded rather than
    shown, so that a filter that turns them into errors raises on every rank alike (the
    facts are replicated), not on rank 0 alone while the others go on."""
    root = ctx.comm.Get_rank() == 0
    if root:
        _warn_kernel(info)
    msgs = []
    if not info.get("converged", True):
        msgs.append(f"{what}: {info.get('solver')} did not converge "
                    f"({info.get('stop_reason')}); the result is not a minimiser: raise "
                    "max_iter, or use solver='exact'")
    if info.get("certificate") == "FAILED":
        msgs.append(f"{what}: optimality gap {info.get('optimality_gap'):.3e} FAILED "
                    f"(tolerance {info.get('optimality_gap_tolerance'):.3e}): the objective "
                    "is above the closed form's optimum")
    for msg in msgs:
        if root:
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        else:
            with warnings.catch_warnings(record=True):  # the filters still apply
                warnings.warn(msg, ConvergenceWarning, stacklevel=3)


# ---- the calls ----------------------------------------------------------------------------

_XTY = {"auto": -1, "on": 1, "off": 0, True: 1, False: 0}
_CERT = {"auto": 1, "on": 2, "off": 0, True: 2, False: 0}
_ROUTE = {"auto": -1, "p": 1, "q": 0}


def _choice(table, value, what):
    try:
        return table[value]
    except (KeyError, TypeError):
        names = ", ".join(str(k) for k in table if isinstance(k, str))
        raise InvalidInputError(f"{what} '{value}': expected {names}", _lib.EINVAL) from None


_INT_MAX, _LONG_MAX, _U64_MAX = 2**31 - 1, 2**63 - 1, 2**64 - 1
_N_MAX = 10**15  # the largest n that model.json's reader takes back


def _int(v, what, lo=0, hi=_INT_MAX):
    """v as an int in [lo, hi] (an integral value: 2.0 passes, 2.7 and "2" do not); hi is
    the C field's range, so a value is refused, never truncated by ctypes."""
    if isinstance(v, (bool, np.bool_)):
        raise InvalidInputError(f"{what} {v!r}: expected an integer, not a boolean",
                                _lib.EINVAL)
    if isinstance(v, np.floating) and float(v).is_integer():
        v = float(v)
    try:
        i = operator.index(v) if not isinstance(v, float) or not v.is_integer() else int(v)
    except TypeError:
        raise InvalidInputError(f"{what} {v!r}: expected an integer", _lib.EINVAL) from None
    if i < lo:
        raise InvalidInputError(f"{what} {i}: must be >= {lo}", _lib.EINVAL)
    if i > hi:
        raise InvalidInputError(f"{what} {i}: must be <= {hi}", _lib.EINVAL)
    return i


def _float(v, what):
    """v as a float (a number: "1.5" and None are refused)."""
    if isinstance(v, (str, bytes)) or v is None:
        raise InvalidInputError(f"{what} {v!r}: expected a number", _lib.EINVAL)
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(f"{what} {v!r}: expected a number (within double's range)",
                                _lib.EINVAL) from None


def _bool(v, what):
    """v as 0 or 1 (True, False, numpy booleans, 0 and 1; "no" is refused)."""
    if isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, np.integer)) and v in (0, 1)):
        return int(bool(v))
    raise InvalidInputError(f"{what} {v!r}: expected True or False", _lib.EINVAL)


_FIT_OPTIONS = ("fit_intercept", "solver", "max_iter", "tol", "seed", "checkpoint",
                "checkpoint_every", "resume", "grid_min_p", "certificate", "gd_xty",
                "eig_route", "precond", "precond_rank")


def _fit_opts(o, fn, options):
    """Fill an rrr_fit_opts (already defaulted) from fit's keyword options (fn: the
    function's name, for the message about an unknown one)."""
    unknown = sorted(set(options) - set(_FIT_OPTIONS))
    if unknown:
        raise TypeError(f"{fn}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"its options are {', '.join(_FIT_OPTIONS)}")
    _fill_opts(o, **options)


def _fill_opts(o, *, fit_intercept=False, solver="auto", max_iter=10000, tol=1e-10, seed=0,
               checkpoint=None, checkpoint_every=100, resume=False, grid_min_p=0,
               certificate="auto", gd_xty="auto", eig_route="auto", precond="auto",
               precond_rank=0):
    o.solver = _choice(_lib.SOLVERS, solver, "solver")
    o.max_iter, o.tol = _int(max_iter, "max_iter", hi=_LONG_MAX), _float(tol, "tol")
    o.seed = _int(seed, "seed", hi=_U64_MAX)
    o.intercept, o.resume = _bool(fit_intercept, "fit_intercept"), _bool(resume, "resume")
    o.certificate = _choice(_CERT, certificate, "certificate")
    o.checkpoint = None if checkpoint is None else os.fsencode(checkpoint)
    o.checkpoint_every = _int(checkpoint_every, "checkpoint_every", 1, _LONG_MAX)
    o.grid_min_p = _int(grid_min_p, "grid_min_p", hi=_U64_MAX)
    o.gd_xty = _choice(_XTY, gd_xty, "gd_xty")
    o.eig_route = _choice(_ROUTE, eig_route, "eig_route")
    o.precond = _choice(_lib.PRECONDS, precond, "precond")
    o.precond_rank = _int(precond_rank, "precond_rank")


def fit(X, Y, rank, lam, comm=None, *, verbose=False, **options):
    """Fit U (p x d), V (q x d) minimising ||Y - X U V^T||^2 + lam ||U V^T||^2 on the rows
    each rank holds (X: nloc x p, Y: nloc x q: any rows, the n rows in rank order).
    Collective. The options are `rrr fit`'s, with its defaults: fit_intercept=False
    (--intercept), solver="auto", max_iter=10000, tol=1e-10, seed=0, checkpoint=None,
    checkpoint_every=100, resume=False, grid_min_p=0 (the library's default, 4096),
    certificate="auto" ("on", "off";
    True is "on"), gd_xty="auto" ("on", "off"), eig_route="auto" ("p", "q"),
    precond="auto" ("none", "jacobi", "nystrom"), precond_rank=0 (adaptive). verbose
    prints the progress lines on rank 0's stderr. Returns a Model; raises RRRError; warns
    (ConvergenceWarning, rank 0) when the fit did not converge or its certificate FAILED."""
    def opts():
        o = _lib.FitOpts()
        lib.rrr_fit_opts_default(_lib.ctypes.byref(o))
        _fit_opts(o, "fit", options)
        o.d, o.lambda_ = _int(rank, "rank"), _float(lam, "lam")
        return o

    with _Context(comm, verbose) as ctx:
        o = ctx.agreed(opts)
        y_1d = _y_is_1d(ctx, Y)
        blocks = _Blocks(ctx, [X, Y], ["X", "Y"])
        m = _lib.ctypes.POINTER(_lib.Model)()
        info = _lib.ctypes.POINTER(_lib.FitInfo)()
        try:
            st = ctx.interruptible(lambda: lib.rrr_fit(
                ctx.ptr, blocks.ptrs[0], blocks.ptrs[1], _lib.ctypes.byref(o),
                _lib.ctypes.byref(m), _lib.ctypes.byref(info)))
            if not ctx.any_interrupted:
                ctx.check(st)
                model = _from_c(m, _record_of(ctx, m, info))
        finally:
            lib.rrr_fit_info_destroy(_lib.ctypes.byref(info))
            lib.rrr_model_destroy(_lib.ctypes.byref(m))
            blocks.close()
        ctx.raise_interrupt()
        _set_y_1d(model, y_1d)
        _warn_fit(ctx, model.info, "rrr.fit")
        return model._own_record()


def read_model(path, comm=None):
    """Read a model directory written by `rrr fit --out` (or Model.save). Collective."""
    with _Context(comm) as ctx:
        m = _lib.ctypes.POINTER(_lib.Model)()
        text = _lib.ctypes.c_void_p()
        where = ctx.agreed(lambda: os.fsencode(path))
        try:
            ctx.check(lib.rrr_model_read_record(ctx.ptr, where, _lib.ctypes.byref(m),
                                                _lib.ctypes.byref(text)))
            info = json.loads(_lib.ctypes.string_at(text).decode())
            for k in ("format", "files"):  # the directory's, not the fit's
                info.pop(k, None)
            model = _from_c(m, info)
            model.y_1d = info.get("y_ndim") == 1 and model.q == 1
            return model._own_record()
        finally:
            lib.rrr_free(text)
            lib.rrr_model_destroy(_lib.ctypes.byref(m))


def predict(model, X, comm=None):
    """My rows of YHAT = X U V^T (+ intercept): nloc x q (nloc for a model of a 1-D y),
    for any rows X on each rank (not only the partition's). Collective."""
    with _Context(comm) as ctx:
        m = ctx.agreed(lambda: _as_model(model, "predict")._c())
        blocks = _Blocks(ctx, [X], ["X"])
        out = _lib.ctypes.POINTER(_lib.Block)()
        try:
            ctx.check(lib.rrr_predict(ctx.ptr, _lib.ctypes.byref(m), blocks.ptrs[0],
                                      _lib.ctypes.byref(out)))
            yhat = _block_to_array(out)
            return yhat[:, 0] if getattr(model, "y_1d", False) else yhat
        finally:
            lib.rrr_block_destroy(_lib.ctypes.byref(out))
            blocks.close()


def score(Y, Y_pred, comm=None):
    """Scores of my rows of predictions against my rows of Y, over all ranks' rows, as
    `rrr predict --scores` writes them: a dict with mse (SSE / (n q)), r2 (1 - SSE / SST
    over all entries), r2_mean (the mean of the per-output R^2, scikit-learn's
    r2_score default), mse_per_output and r2_per_output (arrays of q). Collective."""
    with _Context(comm) as ctx:
        blocks = _Blocks(ctx, [Y, Y_pred], ["Y", "Y_pred"])
        try:
            q = blocks.arrays[0].shape[1]
            mse, r2, r2_mean = (_lib.ctypes.c_double() for _ in range(3))
            mse_j, r2_j = np.zeros(q), np.zeros(q)
            ctx.check(lib.rrr_score(ctx.ptr, blocks.ptrs[0], blocks.ptrs[1],
                                    _lib.ctypes.byref(mse), _lib.ctypes.byref(r2)))
            ctx.check(lib.rrr_score_outputs(ctx.ptr, blocks.ptrs[0], blocks.ptrs[1],
                                            mse_j.ctypes.data_as(_lib.c_double_p),
                                            r2_j.ctypes.data_as(_lib.c_double_p),
                                            _lib.ctypes.byref(r2_mean)))
            return {"mse": mse.value, "r2": r2.value, "r2_mean": r2_mean.value,
                    "mse_per_output": mse_j, "r2_per_output": r2_j}
        finally:
            blocks.close()


_RULES = {"min": 0, "1se": 1}
_METHODS = {"auto": 0, "statistics": 1, "gd": 2}


def _cv_table(r):
    """The search's record as a dict of NumPy arrays (cv.json's names)."""
    nr, nl, k = r.nranks, r.nlambdas, r.folds
    arr = lambda ptr, shape: np.ctypeslib.as_array(ptr, shape=shape).copy()
    return {"ranks": arr(r.ranks, (nr,)), "lambdas": arr(r.lambdas, (nl,)),
            "folds": k, "fold_sizes": arr(r.fold_sizes, (k,)),
            "cv_mse": arr(r.cv_mse, (nr, nl)), "cv_se": arr(r.cv_se, (nr, nl)),
            "cv_mse_rounding": arr(r.cv_mse_rounding, (nr, nl)),
            "sse": arr(r.sse, (k, nr, nl)),
            "rule": "1se" if r.rule == 1 else "min",
            "rank": r.rank, "lambda": r.lambda_, "lam": r.lambda_,
            "cv_mse_min": r.cv_mse_min, "cv_mse_choice": r.cv_mse_choice,
            "method": r.method.decode(), "passes": r.passes,
            "algebra_flops_per_rank": r.flops, "gd_iterations": r.gd_iterations,
            "gd_fits_not_converged": r.gd_not_converged}


def cv(X, Y, ranks, lambdas, comm=None, *, folds=None, fold_ids=None, fold_seed=0, rule="min",
       method="auto", verbose=False, **options):
    """Choose (lam, rank) by K-fold cross-validation, then fit all rows at the choice, as
    `rrr cv` does. ranks, lambdas: ascending distinct lists; folds (K >= 2, random from
    fold_seed; 5 when neither is given) or fold_ids (my rows' folds 0 .. K-1); rule "min" or "1se"; method "auto",
    "statistics" or "gd"; the other options are fit's (the final fit's). Collective.
    Returns (Model, table): table is a dict with cv.json's fields (cv_mse and cv_se
    nranks x nlambdas, sse folds x nranks x nlambdas, the choice rank and lam)."""
    def opts():
        o = _lib.CvOpts()
        lib.rrr_cv_opts_default(_lib.ctypes.byref(o))
        _fit_opts(o.fit, "cv", options)
        try:
            rk = np.ascontiguousarray(np.atleast_1d(ranks), dtype=np.intc)
            lm = np.ascontiguousarray(np.atleast_1d(lambdas), dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            rk = lm = None
        if (rk is None or rk.ndim != 1 or lm.ndim != 1 or
                not np.array_equal(rk, np.atleast_1d(ranks))):
            raise InvalidInputError("ranks and lambdas: expected lists of integers and of "
                                    "numbers", _lib.EINVAL)
        o.ranks = rk.ctypes.data_as(_lib.ctypes.POINTER(_lib.ctypes.c_int))
        o.lambdas = lm.ctypes.data_as(_lib.c_double_p)
        o.nranks, o.nlambdas = len(rk), len(lm)
        if folds is not None and fold_ids is not None:
            raise InvalidInputError("folds and fold_ids exclude each other", _lib.EINVAL)
        if folds is not None:
            o.folds = _int(folds, "folds")
        o.fold_seed = _int(fold_seed, "fold_seed", hi=_U64_MAX)
        o.rule = _choice(_RULES, rule, "rule")
        o.method = _choice(_METHODS, method, "method")
        return o, rk, lm  # the grids' arrays live as long as o points into them

    with _Context(comm, verbose) as ctx:
        o, rk, lm = ctx.agreed(opts)
        y_1d = _y_is_1d(ctx, Y)
        arrays, names = [X, Y], ["X", "Y"]
        if fold_ids is not None:
            arrays.append(fold_ids)  # converted by _Blocks: a bad one is agreed, not raised alone
            names.append("fold_ids")
        blocks = _Blocks(ctx, arrays, names)
        if fold_ids is not None:
            o.fold_ids = blocks.ptrs[2]
        res = _lib.ctypes.POINTER(_lib.CvResult)()
        m = _lib.ctypes.POINTER(_lib.Model)()
        info = _lib.ctypes.POINTER(_lib.FitInfo)()
        try:
            st = ctx.interruptible(lambda: lib.rrr_cv(
                ctx.ptr, blocks.ptrs[0], blocks.ptrs[1], _lib.ctypes.byref(o),
                _lib.ctypes.byref(res), _lib.ctypes.byref(m), _lib.ctypes.byref(info)))
            if not ctx.any_interrupted:
                ctx.check(st)
                table = _cv_table(res.contents)
                model = _from_c(m, _record_of(ctx, m, info))
        finally:
            lib.rrr_fit_info_destroy(_lib.ctypes.byref(info))
            lib.rrr_cv_result_destroy(_lib.ctypes.byref(res))
            lib.rrr_model_destroy(_lib.ctypes.byref(m))
            blocks.close()
        ctx.raise_interrupt()
        _set_y_1d(model, y_1d)
        _warn_fit(ctx, model.info, "rrr.cv")
        return model._own_record(), table


# ---- a scikit-learn style estimator -------------------------------------------------------

class ReducedRankRidge:
    """`fit` as a scikit-learn estimator: ReducedRankRidge(rank=2, lam=1.0).fit(X, Y) fits
    (collectively over comm, each rank its rows as for `fit`) and keeps the Model as
    model_; predict, score, coef_, intercept_ as Model's. get_params/set_params make it
    usable with sklearn.base.clone, Pipeline and GridSearchCV (with comm="self" for
    searches run by one process: clone deep-copies parameters, which a communicator object
    does not allow; `cv` searches rank and lam in one pass instead)."""

    _PARAMS = ("rank", "lam", "fit_intercept", "solver", "max_iter", "tol", "seed",
               "certificate", "precond", "comm")
    _estimator_type = "regressor"  # scikit-learn's is_regressor, and r2 as the default score

    def __init__(self, rank=1, lam=1.0, fit_intercept=False, solver="auto", max_iter=10000,
                 tol=1e-10, seed=0, certificate="auto", precond="auto", comm=None):
        self.rank, self.lam, self.fit_intercept, self.solver = rank, lam, fit_intercept, solver
        self.max_iter, self.tol, self.seed = max_iter, tol, seed
        self.certificate, self.precond, self.comm = certificate, precond, comm

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"ReducedRankRidge: unknown parameter {k!r}; they are "
                                 f"{', '.join(self._PARAMS)}")
            setattr(self, k, v)
        return self

    def fit(self, X, Y):
        opts = {k: getattr(self, k) for k in self._PARAMS if k not in ("rank", "lam", "comm")}
        self.model_ = fit(X, Y, self.rank, self.lam, self.comm, **opts)
        self.n_features_in_ = self.model_.p
        return self

    def _model(self):
        if not hasattr(self, "model_"):
            raise AttributeError("ReducedRankRidge: call fit before predict or score")
        return self.model_

    coef_ = property(lambda self: self._model().coef_)
    intercept_ = property(lambda self: self._model().intercept_)

    def predict(self, X):
        return self._model().predict(X, self.comm)

    def score(self, X, Y):
        """The mean per-output R^2 (scikit-learn's score)."""
        return self._model().score(X, Y, self.comm)

    def __repr__(self):
        return "ReducedRankRidge(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS
                                               if getattr(self, k) is not None) + ")"
