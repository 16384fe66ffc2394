#!/usr/bin/env bash
# tests/mpi/test_route.sh: the closed form's eigenproblem by the cheaper route (topk.c):
# the p x p route (T T^T) and the q x q route (T^T T) give the same B* = U V^T and f* to
# 1e-10 on q >> p, q ~ p and q << p, replicated and on the 2-D grid, at 1-4 ranks, for
# exact and for als's certificate; a whitened X^T Y of rank < d is fitted exactly to
# rounding with a warning (no division by a singular value at rounding level); and with
# q >> p no q x q matrix is ever allocated (a memory limit below q^2 doubles passes).
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
mk() { local d=$W/$1; shift; mkdir -p "$d"; $PYTHON tests/mpi/check.py mkdata --out "$d" "$@"; }
mk qbig --n 300 --p 10 --q 120 --rank 3 --seed 1
mk qeq --n 200 --p 30 --q 32 --rank 4 --seed 2 --corr 0.5
mk qsmall --n 250 --p 60 --q 8 --rank 3 --seed 3
mk lowrank --n 200 --p 12 --q 40 --rank 2 --noise 0 --seed 4   # Y = X B, rank(B) = 2

# routes NAME NP DATA D LAMBDA ARGS...: both routes; B, objective and f* agree to 1e-10
routes() {
    local name=$1 np=$2 dat=$W/$3 d=$4 lam=$5; shift 5
    for r in p q; do
        rrr "$np" fit --x "$dat/X.npy" --y "$dat/Y.npy" --rank "$d" --lambda "$lam" --quiet \
            --eig-route $r --out "$W/$name-$r" "$@" >/dev/null 2>"$W/$name-$r.err" ||
            { fail "$name route $r (exit $?)"; tail -n 3 "$W/$name-$r.err"; return; }
    done
    check "$name: p x p and q x q routes agree (np=$np $*)" $PYTHON - "$W/$name-p" "$W/$name-q" <<'PY'
import json, sys
import numpy as np
a, b = sys.argv[1:]
Ba = np.load(a + "/U.npy") @ np.load(a + "/V.npy").T
Bb = np.load(b + "/U.npy") @ np.load(b + "/V.npy").T
assert np.linalg.norm(Ba - Bb) <= 1e-10 * np.linalg.norm(Bb), np.linalg.norm(Ba - Bb)
ja, jb = json.load(open(a + "/model.json")), json.load(open(b + "/model.json"))
for k in ("objective", "optimal_objective"):
    assert abs(ja[k] - jb[k]) <= 1e-10 * abs(jb[k]), (k, ja[k], jb[k])
PY
}
for np in 1 2 3 4; do
    routes qbig-$np $np qbig 3 0.5 --solver exact
    routes qeq-$np $np qeq 4 0.1 --solver exact
    routes qsmall-$np $np qsmall 3 0.5 --solver exact
    routes grid-qbig-$np $np qbig 3 0.5 --solver exact --grid-min-p 1
    routes grid-qsmall-$np $np qsmall 2 0.5 --solver exact --grid-min-p 1
done
routes als-qbig 2 qbig 3 0.5 --solver als --tol 1e-20 --max-iter 500
routes als-grid-qbig 3 qbig 3 0.5 --solver als --tol 1e-20 --max-iter 500 --grid-min-p 1
routes gd-cert-qbig 2 qbig 3 0.5 --solver gd --certificate

# the route is the plan's and is in the report
rrr 2 fit --x "$W/qbig/X.npy" --y "$W/qbig/Y.npy" --rank 3 --lambda 0.5 --solver exact \
    --report "$W/r.json" --quiet >/dev/null 2>&1
check "auto route for q >> p is p x p, in the report" $PYTHON -c "
import json; r = json.load(open('$W/r.json')); assert r['plan']['eigen_route'] == 'p x p', r['plan']"

# rank(whitened X^T Y) = 2 < d = 4: exact to rounding, a warning, no division by noise
for np in 1 3; do
    for r in p q; do
        rrr $np fit --x "$W/lowrank/X.npy" --y "$W/lowrank/Y.npy" --rank 4 --lambda 0 \
            --solver exact --eig-route $r --out "$W/low-$np-$r" --report "$W/low.json" \
            >"$W/out" 2>"$W/err"
        rc=$?
        if [[ $rc -eq 0 ]] && grep -q 'numerical rank 2 < d = 4' "$W/err" && grep -q PASSED "$W/out" &&
            $PYTHON -c "
import json, numpy as np
j = json.load(open('$W/low-$np-$r/model.json')); r = json.load(open('$W/low.json'))
U, V = np.load('$W/low-$np-$r/U.npy'), np.load('$W/low-$np-$r/V.npy')
X, Y = np.load('$W/lowrank/X.npy'), np.load('$W/lowrank/Y.npy')
assert np.all(np.isfinite(U)) and np.all(np.isfinite(V))
assert j['objective'] <= 1e-20 * np.sum(Y * Y), j['objective']
assert r['numerical_rank'] == 2"; then
            pass "rank-2 signal fitted at d = 4 exactly to rounding, reported (np=$np route $r)"
        else
            fail "rank-deficient whitened cross product (np=$np route $r, exit $rc)"; cat "$W/err" | tail -n 3
        fi
    done
done

# q >> p: nothing q x q. With q = 20000 a q x q matrix is 3.2 GB; under a 2.5 GB address
# space limit the default route fits, and the q x q route is refused (so the limit bites).
if [[ ${SAN:-0} == 1 ]]; then # ASan's shadow memory is terabytes of address space
    echo "note: the memory-limit cases need ulimit -v, which AddressSanitizer cannot run under: left to make check"
else
    mk wideout --n 400 --p 20 --q 20000 --rank 3 --seed 5
    for np in 1 2; do
        (ulimit -v 2500000; rrr $np fit --x "$W/wideout/X.npy" --y "$W/wideout/Y.npy" --rank 3 \
            --lambda 1 --solver exact --quiet --out "$W/wo-$np" >/dev/null 2>"$W/err") &&
            pass "q = 20000, p = 20 under a 2.5 GB limit: no q x q allocation (np=$np)" ||
            { fail "q = 20000 under a memory limit (np=$np)"; tail -n 3 "$W/err"; }
    done
    (ulimit -v 2500000; rrr 1 fit --x "$W/wideout/X.npy" --y "$W/wideout/Y.npy" --rank 3 --lambda 1 \
        --solver exact --quiet --eig-route q >/dev/null 2>"$W/err")
    rc=$?
    [[ $rc -eq 1 ]] && grep -q '20000 x 20000' "$W/err" && pass "the q x q route does not fit under that limit (exit 1)" ||
        { fail "q x q route under the limit: exit $rc"; tail -n 3 "$W/err"; }
fi

# auto's gd that ends unconverged (here its cap of 3 iterations): the closed form instead
rrr 2 gen --n 200 --p 800 --q 10 --rank 2 --seed 1 --out "$W/wd" >/dev/null 2>&1
rrr 2 fit --x "$W/wd/X.npy" --y "$W/wd/Y.npy" --rank 2 --lambda 1 --max-iter 3 --out "$W/fb" \
    >"$W/fb.out" 2>"$W/fb.err"
grep -q "auto: chose gd" "$W/fb.err" && grep -q "auto: gd did not converge.*exact instead" "$W/fb.err" &&
    grep -q "optimality gap .* PASSED" "$W/fb.out" && $PYTHON -c "
import json; j = json.load(open('$W/fb/model.json'))
assert j['solver'] == 'exact' and j['converged'] and 'did not converge' in j['solver_why'], j" &&
    pass "auto: gd unconverged -> exact, said and recorded (solver_why)" ||
    { fail "auto's fallback to exact"; tail -n 3 "$W/fb.err"; }
summary
