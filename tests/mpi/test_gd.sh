#!/usr/bin/env bash
# tests/mpi/test_gd.sh: the distributed gradient solver against the closed-form optimum
# (computed independently with NumPy), gradcheck, predict, and agreement across ranks.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
mk() { # mk NAME mkdata-args...: a problem in $W/NAME
    local d=$W/$1; shift; mkdir -p "$d"; $PYTHON tests/mpi/check.py mkdata --out "$d" "$@"; }
# fitcheck NAME NP RANK LAMBDA [extra fit args]: fit with gd, verify against f* (1e-6)
fitcheck() {
    local name=$1 np=$2 d=$3 lam=$4; shift 4
    local tag="$*"; tag=${tag// /}
    local data=$W/$name out=$W/$name/m$np-d$d-l$lam$tag
    if rrr "$np" fit --x "$data/X.npy" --y "$data/Y.npy" --rank "$d" --lambda "$lam" --solver gd \
        --out "$out" --quiet "$@" >"$WORK/out" 2>"$WORK/err" &&
        $PYTHON tests/mpi/check.py verify --x "$data/X.npy" --y "$data/Y.npy" --model "$out" \
            --lambda "$lam" --rank "$d" --solver gd ${INTERCEPT:-} >"$WORK/chk" 2>&1; then
        pass "gd $name np=$np d=$d lambda=$lam $* ($(tail -n1 "$WORK/chk" | cut -c1-60))"
    else
        fail "gd $name np=$np d=$d lambda=$lam $*"; cat "$WORK/err" "$WORK/chk" | tail -n 8
    fi
}

mk tall    --n 2000 --p 40 --q 12 --rank 3 --seed 1
mk wide    --n 60 --p 150 --q 10 --rank 3 --seed 2           # p > n
mk qbig    --n 400 --p 10 --q 60 --rank 4 --seed 3           # q > p
mk corr    --n 500 --p 30 --q 8 --rank 3 --corr 0.95 --seed 4 # correlated columns
mk exact0  --n 300 --p 12 --q 9 --rank 2 --noise 0 --seed 5  # noise-free
mk tiny    --n 3 --p 2 --q 2 --rank 1 --seed 6               # fewer rows than ranks
mk offset  --n 700 --p 15 --q 6 --rank 2 --offset 5 --seed 7 # far from centred
mk nfcorr  --n 2000 --p 40 --q 8 --rank 3 --corr 0.9 --noise 0 --seed 5 # noise-free, correlated
mk nearex  --n 1500 --p 30 --q 8 --rank 3 --corr 0.9 --noise 1e-5 --seed 4 # f* ~ 1e-11 ||Y||^2

for np in 1 2 3 4; do fitcheck tall $np 3 1.0; done
fitcheck tall 2 1 1.0                       # d = 1
fitcheck tall 3 12 1.0                      # d = min(p, q)
fitcheck tall 2 3 0                         # lambda = 0, n > p: ordinary least squares rank 3
fitcheck wide 2 3 0.01                      # p > n, small lambda (ill-conditioned)
fitcheck wide 3 3 100                       # p > n, large lambda
fitcheck qbig 3 4 0.5
fitcheck qbig 2 10 0.5                      # d = min(p, q) = p
fitcheck corr 4 3 0.1                       # condition number ~ 600
fitcheck exact0 2 2 0                       # f* ~ 0: stops at the rounding floor
fitcheck tiny 4 1 0.1                       # 3 rows on 4 ranks
INTERCEPT=--intercept fitcheck offset 3 2 1.0 --intercept
# the same solver without X^T Y kept (each iteration then reads Y too): README "gd"
fitcheck tall 3 3 1.0 --gd-xty off
fitcheck wide 2 3 0.01 --gd-xty off
fitcheck exact0 2 2 0 --gd-xty off
# f -> 0: the cross form hands over to the residual form; the two f's around the handover
# are not comparable and must not end the run (it once stopped there 1e3 above the optimum)
fitcheck nfcorr 2 3 0 --gd-xty on
# nearly exact and ill-conditioned: the cross form's f and gradient are noise there, so it
# must hand over to the residual form early (it once stopped 1e-4 above f*)
fitcheck nearex 2 3 0 --gd-xty on
fitcheck corr 4 3 0.1 --gd-xty off
INTERCEPT=--intercept fitcheck offset 2 2 1.0 --intercept --gd-xty off
check "both forms give the same B" $PYTHON tests/mpi/check.py compare "$W/tall/m3-d3-l1.0" "$W/tall/m3-d3-l1.0--gd-xtyoff" --tol 1e-8

# agreement across rank counts (reduction order differs, so not bitwise)
for np in 2 3 4; do
    check "gd np=1 and np=$np give the same B" $PYTHON tests/mpi/check.py compare "$W/tall/m1-d3-l1.0" "$W/tall/m$np-d3-l1.0" --tol 1e-8
done

# --intercept equals fitting explicitly centred data
$PYTHON -c "
import numpy as np; d='$W/offset'
for k in 'XY': a=np.load(f'{d}/{k}.npy'); np.save(f'{d}/{k}c.npy', a - a.mean(axis=0))"
rrr 2 fit --x "$W/offset/Xc.npy" --y "$W/offset/Yc.npy" --rank 2 --lambda 1 --solver gd --out "$W/offset/mc" --quiet
check "--intercept equals a fit on centred data" $PYTHON tests/mpi/check.py compare "$W/offset/m3-d2-l1.0--intercept" "$W/offset/mc" --tol 1e-8

# gradcheck
for np in 1 2 3 4; do
    check "gradcheck np=$np" rrr $np gradcheck --x "$W/tall/X.npy" --y "$W/tall/Y.npy" --rank 3 --lambda 0.7 --seed 5
    grep -q '^max_rel_error' "$WORK/out" || fail "gradcheck prints max_rel_error"
done
check "gradcheck lambda=0 wide" rrr 3 gradcheck --x "$W/wide/X.npy" --y "$W/wide/Y.npy" --rank 2 --lambda 0

# predict: distributed, matches NumPy; mse and r2 as docs/cli.md defines them
for np in 1 3 4; do
    rrr $np predict --model "$W/tall/m1-d3-l1.0" --x "$W/tall/X.npy" --y "$W/tall/Y.npy" --out "$W/yhat$np.npy" \
        >"$W/printed" 2>/dev/null
    check "predict np=$np" $PYTHON tests/mpi/check.py predict --x "$W/tall/X.npy" --model "$W/tall/m1-d3-l1.0" \
        --yhat "$W/yhat$np.npy" --y "$W/tall/Y.npy" --printed "$W/printed"
done
rrr 2 predict --model "$W/offset/m3-d2-l1.0--intercept" --x "$W/offset/X.npy" --out "$W/yo.npy" 2>/dev/null
check "predict adds the intercept" $PYTHON tests/mpi/check.py predict --x "$W/offset/X.npy" \
    --model "$W/offset/m3-d2-l1.0--intercept" --yhat "$W/yo.npy"

# auto: says what it chose and why (n p^2 statistics beat 100 gd iterations here)
rrr 2 fit --x "$W/tall/X.npy" --y "$W/tall/Y.npy" --rank 3 --lambda 1 --out "$W/auto" >"$WORK/out" 2>"$WORK/err"
if grep -q 'auto: chose exact' "$WORK/err" && grep -q '"solver_requested": "auto"' "$W/auto/model.json" \
    && grep -q '"solver": "exact"' "$W/auto/model.json" && grep -q '"solver_why": "cost model' "$W/auto/model.json"; then
    pass "auto picks exact for a tall problem and says why"; else fail "auto choice reporting"; fi
check "auto result is the optimum" $PYTHON tests/mpi/check.py verify --x "$W/tall/X.npy" --y "$W/tall/Y.npy" \
    --model "$W/auto" --lambda 1 --rank 3 --btol 1e-10

# not converging is not an error: exit 0, converged false, a warning
rrr 2 fit --x "$W/corr/X.npy" --y "$W/corr/Y.npy" --rank 3 --lambda 0.1 --solver gd --max-iter 3 \
    --out "$W/mi" --report "$W/mi.json" >"$WORK/out" 2>"$WORK/err"
rc=$?
if [[ $rc -eq 0 ]] && grep -q '"converged": false' "$W/mi/model.json" && grep -q '"stop_reason": "max_iter"' "$W/mi/model.json" \
    && grep -q 'warning: gd did not converge' "$WORK/err"; then pass "max-iter: exit 0, converged false, warning"
else fail "max-iter reporting (exit $rc)"; fi
check "report has history and phase times" $PYTHON -c "
import json; r=json.load(open('$W/mi.json'))
assert len(r['objective_history']) == 4 and r['iterations'] == 3
assert all(a >= b for a, b in zip(r['objective_history'], r['objective_history'][1:]))
assert set(r['time_max']) >= {'read','compute','allreduce','write'} and r['ranks'] == 2
assert r['bytes_read'] == 500*(30+8)*8
# the one-off X^T Y pass is not in the per-iteration time
assert 0 < r['time_setup'] < r['time_solve']
assert abs(r['time_per_iteration'] * 3 + r['time_setup'] - r['time_solve']) < 1e-9 * r['time_solve'] + 1e-12"
# lambda 0 with a zero column of X: f is flat in that column's coefficients, which gd
# cannot determine; it says so (and not at lambda > 0, where ridge determines them)
mkdir -p "$WORK/zc" && $PYTHON -c "
import numpy as np
rng = np.random.default_rng(4); X = rng.standard_normal((150, 6)); X[:, 2] = 0
np.save('$WORK/zc/X.npy', X); np.save('$WORK/zc/Y.npy', X @ rng.standard_normal((6, 5)))"
for lam in 0 1; do
    rrr 2 fit --x "$WORK/zc/X.npy" --y "$WORK/zc/Y.npy" --rank 2 --lambda $lam --solver gd \
        --out "$WORK/zc/m$lam" >"$WORK/zc/log" 2>&1
    n=$(grep -c "column 2 (0-based) of X is zero: with lambda 0 its coefficients are not determined" "$WORK/zc/log")
    [[ $n -eq $((1 - lam)) ]] && pass "zero column, lambda $lam: undetermined coefficients said $n time(s)" ||
        fail "zero column, lambda $lam: said $n times"
done

summary
