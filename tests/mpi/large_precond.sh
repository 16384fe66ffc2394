#!/usr/bin/env bash
# tests/mpi/large_precond.sh: `make check-large` (not part of `make check`: ~10 minutes and
# ~8 GB of memory on the 2-core VM). A large-p problem where auto does not form the p x p
# statistics: n = 20000, p = 10000, q = 20, d = 5, columns from 10 latent factors plus
# 1e-3 independent noise, lambda = 1e-6. `rrr fit` (solver auto, no certificate: nothing
# p x p anywhere) must pick gd and the Nystrom preconditioner and reach a relative gap
# <= 1e-8 to the optimum, which NumPy computes once from X^T X (slowly); --precond none on
# the same 300-iteration budget must not. Prints RECORD lines with the figures (README).
# Environment: LARGE_N, LARGE_P (the shape), LARGE_NP (ranks, 2).
export MPIRUN=${MPIRUN:-"timeout -k 5 3600 mpirun --oversubscribe --mca odls_base_sigkill_timeout 0"}
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
N=${LARGE_N:-20000} P=${LARGE_P:-10000} NP=${LARGE_NP:-2} Q=20 D=5 LAM=1e-6
W=$WORK
t0=$SECONDS
$PYTHON tests/mpi/check.py mkdata --out "$W" --n "$N" --p "$P" --q $Q --rank $D --latent 10 \
    --xnoise 1e-3 --seed 14 || { fail "mkdata"; summary; exit; }
echo "RECORD data n=$N p=$P q=$Q d=$D in $((SECONDS - t0)) s"
FIT=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank $D --lambda $LAM --no-certificate --max-iter 300)
rrr "$NP" "${FIT[@]}" --out "$W/m" --report "$W/r.json" >"$W/out" 2>"$W/err"
rc=$?
[[ $rc -eq 0 ]] && pass "fit (auto) exits 0" || { fail "fit exit $rc"; tail -n 5 "$W/err"; }
grep -E '^rrr: (auto|plan|precond|result)' "$W/err" | sed 's/^/LOG /'
check "auto picks gd and the Nystrom preconditioner" $PYTHON -c "
import json; r = json.load(open('$W/r.json'))
assert r['solver'] == 'gd' and r['precond'] == 'nystrom' and r['converged'], r
print('RECORD large: iterations', r['iterations'], 'l', r['precond_rank'], 'cond_before >= %.3g' %
      r['condition_before'], 'cond_after ~ %.3g' % r['condition_after'], 'time_setup %.2f s' %
      r['time_setup'], 'time_per_iteration %.3f s' % r['time_per_iteration'], 'time_solve %.2f s' %
      r['time_solve'])"
cat "$WORK/out"
rrr "$NP" "${FIT[@]}" --solver gd --precond none --out "$W/none" --report "$W/rn.json" >/dev/null 2>&1
t0=$SECONDS
check "the optimum (NumPy, X^T X once): gd reaches gap <= 1e-8" $PYTHON tests/mpi/check.py verify \
    --x "$W/X.npy" --y "$W/Y.npy" --model "$W/m" --lambda $LAM --rank $D --gap 1e-8
cat "$WORK/out"
echo "RECORD reference f* in $((SECONDS - t0)) s"
t0=$SECONDS
echo "RECORD cond(X^T X + lambda I) = $($PYTHON tests/mpi/check.py cond --x "$W/X.npy" --lambda $LAM) ($((SECONDS - t0)) s)"
fstar=$(grep -o "f\* [0-9.e+-]*" "$WORK/out" | tail -n 1 | cut -d' ' -f2)
check "--precond none: 300 iterations are not enough" $PYTHON -c "
import json; r = json.load(open('$W/rn.json')); fs = float('$fstar')
gap = (r['objective'] - fs) / fs
print('RECORD none: iterations', r['iterations'], 'converged', r['converged'], r['stop_reason'],
      'gap %.3e' % gap, 'time_per_iteration %.3f s' % r['time_per_iteration'], 'time_setup %.2f s' %
      r['time_setup'])
assert gap > 1e-8, gap"
cat "$WORK/out"
summary
