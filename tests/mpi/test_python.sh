#!/usr/bin/env bash
# tests/mpi/test_python.sh: the Python package (python/rrr over build/librrr.so by ctypes)
# inside mpi4py programs at 1-3 ranks: fit, predict, score, read_model, Model.save give what
# the CLI gives on the same data, bitwise; errors raise with the agreed message and status;
# rrr.cv = rrr cv; `pip install ./python` works.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
if [[ ${SAN:-0} == 1 ]]; then
    echo "SKIP: the sanitizer build's librrr.so needs libasan preloaded into python"; exit 77
fi
$PYTHON -c "import mpi4py, numpy" 2>/dev/null || { echo "SKIP: python3-mpi4py is not installed"; exit 77; }
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
# The CLI picks its OpenBLAS kernel before OpenBLAS starts (README "OpenBLAS kernel"); a
# Python process has started it by the time it loads librrr, so both get the CLI's choice
# here, as a user would set it, to compare bits.
rrr 1 gen --n 2 --p 2 --q 2 --rank 1 --out "$W/k" 2>/dev/null
rrr 1 fit --x "$W/k/X.npy" --y "$W/k/Y.npy" --rank 1 --lambda 1 --quiet --out "$W/k/m" >/dev/null 2>&1
export OPENBLAS_CORETYPE=$($PYTHON -c "import json; print(json.load(open('$W/k/m/model.json'))['blas_core'])")

$PYTHON tests/mpi/check.py mkdata --out "$W" --n 157 --p 9 --q 6 --rank 3 --seed 5 --offset 2
for np in 1 2 3; do
    rrr $np fit --x "$W/X.npy" --y "$W/Y.npy" --rank 3 --lambda 0.7 --solver gd --quiet --out "$W/gd$np" >/dev/null 2>&1
    rrr $np fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.3 --solver exact --intercept --quiet --out "$W/ex$np" >/dev/null 2>&1
    rrr $np cv --x "$W/X.npy" --y "$W/Y.npy" --rank 1,2,3 --lambda 0.1,1,10 --folds 4 --fold-seed 3 --rule 1se --quiet --out "$W/cv$np" >/dev/null 2>&1
    rrr $np predict --model "$W/gd$np" --x "$W/X.npy" --y "$W/Y.npy" --out "$W/yhat$np.npy" --scores "$W/s$np.json" >/dev/null 2>&1
    $MPIRUN -np $np $PYTHON tests/mpi/py_api.py "$W" $np >"$W/py$np.log" 2>&1; rc=$?
    cat "$W/py$np.log" | grep -E '^(PASS|FAIL)' | sed "s/\$/ (np=$np)/"
    p=$(grep -c '^PASS' "$W/py$np.log"); f=$(grep -c '^FAIL' "$W/py$np.log")
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    if [[ $rc -ne 0 || $p -eq 0 ]]; then fail "python at np=$np (exit $rc)"; tail -n 20 "$W/py$np.log"; fi
done
# the BLAS kernel: a generic one is said once (a Python process cannot re-exec as the CLI does)
env -u OPENBLAS_CORETYPE $PYTHON -c "
import warnings, numpy as np, rrr
X = np.random.default_rng(0).random((40, 4)); Y = X @ np.ones((4, 2))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    m = rrr.fit(X, Y, rank=1, lam=1); rrr.fit(X, Y, rank=1, lam=1)
said = [x for x in w if 'generic' in str(x.message)]
generic = m.info['blas_core'] in ('Prescott', 'Core2', 'Nehalem', 'Sandybridge')
assert len(said) == (1 if generic and rrr._better_kernel() else 0), (m.info['blas_core'], said)
print(m.info['blas_core'], len(said))" >"$W/kern.log" 2>&1 &&
    pass "a generic OpenBLAS kernel is warned about once ($(tail -n 1 "$W/kern.log"))" ||
    { fail "the generic-kernel warning"; tail -n 3 "$W/kern.log"; }
# Ctrl-C: rrr.fit runs in a worker thread so that the main thread can take it
for np in 1 2; do
    $MPIRUN -np $np $PYTHON -W ignore tests/mpi/py_interrupt.py >"$W/int$np.log" 2>&1
    p=$(grep -c '^PASS' "$W/int$np.log"); f=$(grep -c '^FAIL' "$W/int$np.log")
    grep -E '^(PASS|FAIL)' "$W/int$np.log" | sed "s/\$/ (np=$np)/"
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    [[ $p -eq 2 ]] || { fail "Ctrl-C at np=$np"; tail -n 5 "$W/int$np.log"; }
done
check "CLI predict reads the model Python saved, and predicts as Python does" \
    rrr 2 predict --model "$W/pysaved2" --x "$W/X.npy" --out "$W/yhat_saved.npy"
check "... bitwise" $PYTHON -c "
import numpy as np; assert np.array_equal(np.load('$W/yhat_saved.npy'), np.load('$W/pyyhat2.npy'))"

# installable: pip builds and installs the package (offline: no build isolation)
if $PYTHON -m pip --version >/dev/null 2>&1; then
    check "pip install ./python" $PYTHON -m pip install --quiet --no-build-isolation --no-deps \
        --no-index --target "$W/site" ./python
    check "the installed package loads librrr (RRR_LIBRARY) and fits" env PYTHONPATH="$W/site" \
        RRR_LIBRARY="$PWD/${RRR_BUILD:-build}/librrr.so" $PYTHON -c "
import sys, numpy as np, rrr
assert rrr.__file__.startswith('$W/site'), rrr.__file__
X = np.load('$W/X.npy'); Y = np.load('$W/Y.npy')
m = rrr.fit(X, Y, rank=3, lam=0.7, solver='gd')
assert np.array_equal(m.U, np.load('$W/gd1/U.npy'))"
else
    echo "SKIP: no pip here: pip install ./python not tried"
fi
summary
