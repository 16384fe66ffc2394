"""rrr._lib: the C library (librrr.so) through ctypes: loading it, and the public structs of
include/rrr.h and include/rrr_base.h mirrored field by field (keep them in step)."""
import ctypes
import ctypes.util
import os

c_double_p = ctypes.POINTER(ctypes.c_double)

# rrr_status (rrr_base.h): each value is the command line's exit code.
OK, EINTERNAL, EINVAL, EIO, ENUMERIC, ESTOPPED = range(6)
SOLVERS = {"auto": 0, "gd": 1, "als": 2, "exact": 3}
SOLVER_NAMES = {v: k for k, v in SOLVERS.items()}
PRECONDS = {"auto": 0, "none": 1, "jacobi": 2, "nystrom": 3}
PRECOND_NAMES = {v: k for k, v in PRECONDS.items()}


class Block(ctypes.Structure):
    """rrr_block: my rows [r0, r0 + nloc) of an n x ncols matrix, row-major."""
    _fields_ = [("n", ctypes.c_size_t), ("ncols", ctypes.c_size_t),
                ("r0", ctypes.c_size_t), ("nloc", ctypes.c_size_t),
                ("a", c_double_p), ("owns", ctypes.c_int)]


class FitOpts(ctypes.Structure):
    """rrr_fit_opts."""
    _fields_ = [("d", ctypes.c_int), ("lambda_", ctypes.c_double), ("solver", ctypes.c_int),
                ("max_iter", ctypes.c_long), ("tol", ctypes.c_double),
                ("seed", ctypes.c_uint64), ("intercept", ctypes.c_int),
                ("checkpoint", ctypes.c_char_p), ("checkpoint_every", ctypes.c_long),
                ("resume", ctypes.c_int), ("grid_min_p", ctypes.c_size_t),
                ("certificate", ctypes.c_int), ("gd_xty", ctypes.c_int),
                ("eig_route", ctypes.c_int), ("U0", c_double_p), ("V0", c_double_p),
                ("precond", ctypes.c_int), ("precond_rank", ctypes.c_int)]


class Model(ctypes.Structure):
    """rrr_model: U (p x d), V (q x d) column-major; the means or NULL."""
    _fields_ = [("n", ctypes.c_size_t), ("p", ctypes.c_size_t), ("q", ctypes.c_size_t),
                ("d", ctypes.c_int), ("lambda_", ctypes.c_double), ("intercept", ctypes.c_int),
                ("U", c_double_p), ("V", c_double_p),
                ("x_mean", c_double_p), ("y_mean", c_double_p)]


class FitInfo(ctypes.Structure):
    """rrr_fit_info: the record of a fit."""
    _fields_ = [("solver", ctypes.c_int), ("solver_requested", ctypes.c_int),
                ("solver_why", ctypes.c_char * 256),
                ("objective", ctypes.c_double), ("gradient_norm", ctypes.c_double),
                ("gradient_norm_initial", ctypes.c_double),
                ("iterations", ctypes.c_long), ("converged", ctypes.c_int),
                ("stop_reason", ctypes.c_char * 64),
                ("fstar", ctypes.c_double), ("numerical_rank", ctypes.c_int),
                ("selected_by", ctypes.c_char * 16), ("yy", ctypes.c_double),
                ("solve_seconds", ctypes.c_double), ("setup_seconds", ctypes.c_double),
                ("history", c_double_p), ("nhistory", ctypes.c_size_t),
                ("ranks", ctypes.c_int), ("plan", ctypes.c_void_p),
                ("opts", FitOpts),
                ("x_source", ctypes.c_char_p), ("y_source", ctypes.c_char_p),
                ("precond", ctypes.c_int), ("precond_why", ctypes.c_char * 256),
                ("precond_rank", ctypes.c_int), ("condition_before", ctypes.c_double),
                ("condition_after", ctypes.c_double), ("precond_seconds", ctypes.c_double),
                ("gradient_ratio", ctypes.c_double), ("fstar_error", ctypes.c_double)]


class CvOpts(ctypes.Structure):
    """rrr_cv_opts."""
    _fields_ = [("ranks", ctypes.POINTER(ctypes.c_int)), ("nranks", ctypes.c_int),
                ("lambdas", c_double_p), ("nlambdas", ctypes.c_int), ("folds", ctypes.c_int),
                ("fold_seed", ctypes.c_uint64), ("fold_ids", ctypes.POINTER(Block)),
                ("rule", ctypes.c_int), ("method", ctypes.c_int), ("fit", FitOpts)]


class CvResult(ctypes.Structure):
    """rrr_cv_result: the errors of every (fold, rank, lambda) and the choice."""
    _fields_ = [("nranks", ctypes.c_int), ("nlambdas", ctypes.c_int), ("folds", ctypes.c_int),
                ("rule", ctypes.c_int), ("n", ctypes.c_size_t), ("random_folds", ctypes.c_int),
                ("fold_seed", ctypes.c_uint64), ("ranks", ctypes.POINTER(ctypes.c_int)),
                ("lambdas", c_double_p), ("fold_sizes", ctypes.POINTER(ctypes.c_longlong)),
                ("cv_mse", c_double_p), ("cv_se", c_double_p), ("sse", c_double_p),
                ("rank", ctypes.c_int), ("lambda_", ctypes.c_double),
                ("cv_mse_min", ctypes.c_double), ("cv_mse_choice", ctypes.c_double),
                ("passes", ctypes.c_int), ("method", ctypes.c_char * 32),
                ("flops", ctypes.c_double), ("gd_iterations", ctypes.c_long),
                ("gd_not_converged", ctypes.c_long), ("cv_mse_rounding", c_double_p)]


def _candidates():
    """Where librrr may be: $RRR_LIBRARY, the source tree after `make`, then the loader's
    search path (make install PREFIX=..., with PREFIX/lib known to ld.so)."""
    env = os.environ.get("RRR_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.normpath(os.path.join(here, "..", "..", "build", "librrr.so"))
    yield "librrr.so.0"
    found = ctypes.util.find_library("rrr")
    if found:
        yield found


def _load():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("rrr: cannot load the C library librrr.so: run `make` in the rrr "
                      "source tree, or `make install` and make PREFIX/lib known to the "
                      "loader (LD_LIBRARY_PATH), or set RRR_LIBRARY=/path/to/librrr.so "
                      "(tried: " + "; ".join(errors) + ")")


lib = _load()

_P = ctypes.POINTER
_proto = {
    "rrr_version": (ctypes.c_char_p, []),
    "rrr_strerror": (ctypes.c_char_p, [ctypes.c_int]),
    "rrr_ctx_create_f": (ctypes.c_int, [ctypes.c_int, _P(ctypes.c_void_p)]),
    "rrr_ctx_destroy": (None, [_P(ctypes.c_void_p)]),
    "rrr_ctx_errmsg": (ctypes.c_char_p, [ctypes.c_void_p]),
    "rrr_ctx_agree": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "rrr_ctx_set_quiet": (None, [ctypes.c_void_p, ctypes.c_int]),
    "rrr_partition": (ctypes.c_int, [ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                                     _P(ctypes.c_size_t), _P(ctypes.c_size_t)]),
    "rrr_block_wrap": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                      ctypes.c_size_t, c_double_p, _P(_P(Block))]),
    "rrr_block_wrap_at": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                         ctypes.c_size_t, ctypes.c_size_t, c_double_p,
                                         _P(_P(Block))]),
    "rrr_block_destroy": (None, [_P(_P(Block))]),
    "rrr_fit_opts_default": (None, [_P(FitOpts)]),
    "rrr_fit": (ctypes.c_int, [ctypes.c_void_p, _P(Block), _P(Block), _P(FitOpts),
                               _P(_P(Model)), _P(_P(FitInfo))]),
    "rrr_model_write": (ctypes.c_int, [ctypes.c_void_p, _P(Model), _P(FitInfo),
                                       ctypes.c_char_p]),
    "rrr_model_read": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _P(_P(Model))]),
    "rrr_model_read_record": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, _P(_P(Model)),
                                             _P(ctypes.c_void_p)]),
    "rrr_model_destroy": (None, [_P(_P(Model))]),
    "rrr_fit_info_destroy": (None, [_P(_P(FitInfo))]),
    "rrr_predict": (ctypes.c_int, [ctypes.c_void_p, _P(Model), _P(Block), _P(_P(Block))]),
    "rrr_score": (ctypes.c_int, [ctypes.c_void_p, _P(Block), _P(Block), c_double_p,
                                 c_double_p]),
    "rrr_score_outputs": (ctypes.c_int, [ctypes.c_void_p, _P(Block), _P(Block), c_double_p,
                                         c_double_p, c_double_p]),
    "rrr_cv_opts_default": (None, [_P(CvOpts)]),
    "rrr_cv": (ctypes.c_int, [ctypes.c_void_p, _P(Block), _P(Block), _P(CvOpts),
                              _P(_P(CvResult)), _P(_P(Model)), _P(_P(FitInfo))]),
    "rrr_cv_result_destroy": (None, [_P(_P(CvResult))]),
    "rrr_cv_write": (ctypes.c_int, [ctypes.c_void_p, _P(CvResult), ctypes.c_char_p]),
    "rrr_sizeof": (ctypes.c_size_t, [ctypes.c_char_p]),
    "rrr_fit_info_json": (ctypes.c_int, [ctypes.c_void_p, _P(Model), _P(FitInfo),
                                         _P(ctypes.c_void_p)]),
    "rrr_model_write_record": (ctypes.c_int, [ctypes.c_void_p, _P(Model), ctypes.c_char_p,
                                              ctypes.c_char_p]),
    "rrr_free": (None, [ctypes.c_void_p]),
    "rrr_stop_request": (None, []),
    "rrr_stop_clear": (None, []),
}
for _name, (_res, _args) in _proto.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args

# The structs above mirror include/rrr.h by hand: a library whose layout differs would be
# misread silently, so refuse it here.
for _cls, _cname in ((Block, b"rrr_block"), (FitOpts, b"rrr_fit_opts"), (Model, b"rrr_model"),
                     (FitInfo, b"rrr_fit_info"), (CvOpts, b"rrr_cv_opts"),
                     (CvResult, b"rrr_cv_result")):
    if ctypes.sizeof(_cls) != lib.rrr_sizeof(_cname):
        raise ImportError(f"rrr: the Python mirror of {_cname.decode()} ({ctypes.sizeof(_cls)} "
                          f"bytes) does not match the loaded librrr ({lib.rrr_sizeof(_cname)}): "
                          "this package and the library are from different versions")
