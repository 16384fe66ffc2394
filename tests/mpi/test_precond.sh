#!/usr/bin/env bash
# tests/mpi/test_precond.sh: gd's U-block preconditioner (README "Preconditioning") on the
# ill-conditioned data real problems have -- latent-factor columns, column scales 10^4
# apart, tiny lambda, p > n -- with cond(X^T X + lambda I) from 1e6 to 1e12: at 1-4 ranks gd
# must reach a relative gap <= 1e-8 to the NumPy optimum with converged = true in at most
# 300 iterations; plus the certificate near f* = 0, determinism and resumes, the large-p
# path without any p x p array (peak memory), and the options. Each problem's condition
# number, choice, sketch size and iteration count are printed ("RECORD" lines; README).
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
mk() { # mk NAME mkdata-args...: a problem in $W/NAME
    local d=$W/$1; shift; mkdir -p "$d"; $PYTHON tests/mpi/check.py mkdata --out "$d" "$@"; }
field() { $PYTHON -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)" "$@"; }
same() { cmp -s "$1/U.npy" "$2/U.npy" && cmp -s "$1/V.npy" "$2/V.npy"; }

# hard NAME NP RANK LAMBDA [fit args]: gd (precond auto) reaches gap <= 1e-8, converged,
# in <= 300 iterations; one RECORD line with cond, the choice and the iteration count
hard() {
    local name=$1 np=$2 d=$3 lam=$4; shift 4
    local data=$W/$name out=$W/$name/m$np"${*// /}" cond it
    cond=$($PYTHON tests/mpi/check.py cond --x "$data/X.npy" --lambda "$lam" ${INTERCEPT:-})
    if rrr "$np" fit --x "$data/X.npy" --y "$data/Y.npy" --rank "$d" --lambda "$lam" \
        --solver gd --max-iter 300 --out "$out" --quiet "$@" >"$WORK/out" 2>"$WORK/err" &&
        $PYTHON tests/mpi/check.py verify --x "$data/X.npy" --y "$data/Y.npy" --model "$out" \
            --lambda "$lam" --rank "$d" --gap 1e-8 ${INTERCEPT:-} >"$WORK/chk" 2>&1; then
        it=$(field "$out/model.json" iterations)
        echo "RECORD $name np=$np cond=$cond precond=$(field "$out/model.json" precond)" \
             "l=$(field "$out/model.json" precond_rank) iterations=$it" \
             "cond_before>=$(field "$out/model.json" condition_before)" \
             "cond_after~$(field "$out/model.json" condition_after) $*"
        pass "gd $name np=$np cond $cond: gap <= 1e-8 in $it iterations ($(tail -n1 "$WORK/chk" | cut -c10-30))"
    else
        fail "gd $name np=$np (cond $cond) $*"; cat "$WORK/err" "$WORK/chk" | tail -n 6
    fi
}

mk latent  --n 3000 --p 80 --q 10 --rank 3 --latent 5 --xnoise 1e-3 --seed 2           # ~2e8
mk latent5 --n 3000 --p 80 --q 10 --rank 3 --latent 5 --xnoise 1e-5 --seed 3           # ~1.5e12
mk scales  --n 3000 --p 80 --q 10 --rank 3 --scales 4 --seed 4                         # ~1e8
mk latsc   --n 3000 --p 80 --q 10 --rank 3 --latent 5 --xnoise 1e-2 --scales 3 --seed 5 # ~1.5e11
mk equi6   --n 3000 --p 80 --q 10 --rank 3 --corr 0.9999 --seed 6                      # ~1e6
mk equi    --n 3000 --p 80 --q 10 --rank 3 --corr 0.99999 --seed 6                     # ~1e7
mk many    --n 4000 --p 200 --q 10 --rank 5 --latent 20 --xnoise 1e-3 --seed 8         # 20 factors
mk wide    --n 100 --p 300 --q 10 --rank 3 --latent 5 --xnoise 1e-2 --seed 7           # p > n
mk widesc  --n 100 --p 300 --q 10 --rank 3 --scales 4 --seed 8                         # p > n, scales
mk offset  --n 2000 --p 60 --q 8 --rank 2 --latent 4 --xnoise 1e-3 --offset 50 --seed 9

hard latent 1 3 1e-8
hard latent5 2 3 1e-8
hard scales 3 3 1e-8
hard latsc 4 3 1e-8
hard equi6 1 3 1e-8
hard equi 2 3 1e-8
hard many 3 5 1e-8
hard wide 4 3 1e-6
hard widesc 2 3 1e-6
hard latent5 4 3 1e-8 --gd-xty off          # the residual form
hard widesc 3 3 1e-6 --gd-xty off
INTERCEPT=--intercept hard offset 3 2 1e-8 --intercept

# without the preconditioner the same budget is not enough
rrr 2 fit --x "$W/latent/X.npy" --y "$W/latent/Y.npy" --rank 3 --lambda 1e-8 --solver gd \
    --precond none --max-iter 300 --out "$W/latent/none" --quiet >/dev/null 2>&1
if ! $PYTHON tests/mpi/check.py verify --x "$W/latent/X.npy" --y "$W/latent/Y.npy" \
    --model "$W/latent/none" --lambda 1e-8 --rank 3 --gap 1e-8 >"$WORK/chk" 2>&1; then
    pass "--precond none: 300 iterations leave latent at $(grep -o 'gap [0-9.e+-]*' "$WORK/chk" | tail -n1)"
else fail "--precond none converged on latent: the test data is not hard"; fi

# the certificate near f* = 0: a noise-free fit at the optimum (gap <= 1e-8 against NumPy's
# f* from the residual); f* is evaluated at the closed form from the pilot's quadratic, not
# ||Y||^2 - sum mu (which cancels to a few eps ||Y||^2, 1e-5 of f* here), so the
# certificate sees the fit's real gap, well inside its tolerance
mk nfree --n 2000 --p 40 --q 8 --rank 3 --latent 4 --xnoise 1e-4 --noise 0 --seed 4
rrr 2 fit --x "$W/nfree/X.npy" --y "$W/nfree/Y.npy" --rank 3 --lambda 1e-9 --solver gd \
    --out "$W/nfree/m" >"$W/nfree/out" 2>/dev/null
check "near-exact fit: at the optimum (gap <= 1e-8 against NumPy)" $PYTHON tests/mpi/check.py \
    verify --x "$W/nfree/X.npy" --y "$W/nfree/Y.npy" --model "$W/nfree/m" --lambda 1e-9 --rank 3 --gap 1e-8
if grep -q '^optimality gap .* PASSED' "$W/nfree/out" &&
    [[ $(field "$W/nfree/m/model.json" certificate) == PASSED ]] && $PYTHON -c "
import json; j = json.load(open('$W/nfree/m/model.json'))
assert abs(j['optimality_gap']) <= 1e-6 and j['optimality_gap_tolerance'] < 2e-6, j"; then
    pass "certificate: $(cat "$W/nfree/out" | cut -c1-40)... f* keeps its digits"
else fail "certificate near f* = 0: $(cat "$W/nfree/out")"; fi

# determinism: the preconditioner comes from --seed; the same run twice is bitwise the same
FIT=(fit --x "$W/latent5/X.npy" --y "$W/latent5/Y.npy" --rank 3 --lambda 1e-8 --solver gd --quiet)
rrr 2 "${FIT[@]}" --seed 3 --out "$W/d1" >/dev/null 2>&1
rrr 2 "${FIT[@]}" --seed 3 --out "$W/d2" >/dev/null 2>&1
same "$W/d1" "$W/d2" && pass "same seed, same ranks: bitwise the same U, V" || fail "two equal runs differ"
# resume: 12 iterations then the rest from the checkpoint = uninterrupted (bitwise, np=3);
# the same checkpoint finished at np=2 still reaches the optimum
rrr 3 "${FIT[@]}" --tol 0 --max-iter 25 --out "$W/r25" >/dev/null 2>&1
rrr 3 "${FIT[@]}" --tol 0 --max-iter 12 --checkpoint "$W/ck" --checkpoint-every 12 >/dev/null 2>&1
rrr 3 "${FIT[@]}" --tol 0 --max-iter 25 --checkpoint "$W/ck" --resume --out "$W/r12" >/dev/null 2>&1
same "$W/r25" "$W/r12" && pass "nystrom: resumed = uninterrupted (bitwise, np=3)" || fail "nystrom resume differs"
rrr 2 "${FIT[@]}" --max-iter 300 --checkpoint "$W/ck" --resume --out "$W/r2" >/dev/null 2>&1
check "checkpoint from np=3 finished at np=2 reaches the optimum" $PYTHON tests/mpi/check.py verify \
    --x "$W/latent5/X.npy" --y "$W/latent5/Y.npy" --model "$W/r2" --lambda 1e-8 --rank 3 --gap 1e-8

# the large-p path (make check-large: n = 20000, p = 10000) with a smaller p, gd forced:
# latent factors, n > p
mk bigp --n 3000 --p 1000 --q 10 --rank 3 --latent 8 --xnoise 1e-3 --seed 11
hard bigp 2 3 1e-6
# ... and no p x p array anywhere in gd: at p = 6000 one would be 288 MB; the peak resident
# memory of every process of the run (RUSAGE_CHILDREN: the largest) stays far below it
mk rss --n 600 --p 6000 --q 10 --rank 3 --latent 5 --xnoise 1e-2 --seed 3
check "p = 6000: gd's peak memory per process is far below one p x p array" $PYTHON -c "
import json, resource, subprocess, sys
cmd = '$MPIRUN -np 2 $RRR_BIN fit --x $W/rss/X.npy --y $W/rss/Y.npy --rank 3 --lambda 1e-6 ' \
      '--solver gd --no-certificate --out $W/rss/m --quiet'
assert subprocess.run(cmd, shell=True).returncode == 0
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
pp = 8 * 6000 ** 2
j = json.load(open('$W/rss/m/model.json'))
print(f'peak {peak / 2**20:.0f} MB, p x p doubles {pp / 2**20:.0f} MB, precond', j['precond'], j['iterations'])
assert peak < pp / 3 and j['converged'] and j['precond'] == 'nystrom', (peak, j)"
echo "RECORD rss: $(cat "$WORK/out")"

# options: jacobi and a fixed rank run and say so; bad values are refused with exit 2
rrr 2 fit --x "$W/scales/X.npy" --y "$W/scales/Y.npy" --rank 3 --lambda 1e-8 --solver gd \
    --precond jacobi --out "$W/jac" --report "$W/jac.json" --quiet >/dev/null 2>&1
check "--precond jacobi: scales converge to 1e-8" $PYTHON tests/mpi/check.py verify --x "$W/scales/X.npy" \
    --y "$W/scales/Y.npy" --model "$W/jac" --lambda 1e-8 --rank 3 --gap 1e-8
check "--precond jacobi is recorded in model.json and the report" $PYTHON -c "
import json
for f in ('$W/jac/model.json', '$W/jac.json'):
    j = json.load(open(f))
    assert j['precond'] == 'jacobi' and j['precond_requested'] == 'jacobi' and j['precond_rank'] == 0, j
    assert j['condition_before'] > 1e6 and j['condition_after'] > 0
assert json.load(open('$W/jac.json'))['plan']['precond_requested'] == 'jacobi'"
rrr 2 fit --x "$W/latent/X.npy" --y "$W/latent/Y.npy" --rank 3 --lambda 1e-8 --solver gd \
    --precond nystrom --precond-rank 16 --out "$W/l16" --quiet >/dev/null 2>&1
check "--precond-rank 16: a sketch of 16 columns, converges" $PYTHON -c "
import json; j = json.load(open('$W/l16/model.json'))
assert j['precond'] == 'nystrom' and j['precond_rank'] == 16 and j['converged'], j"
rrr 2 fit --x "$W/latent/X.npy" --y "$W/latent/Y.npy" --rank 3 --lambda 1e-8 --solver exact --out "$W/ex" --quiet >/dev/null 2>&1
check "exact records no preconditioner" $PYTHON -c "
import json; j = json.load(open('$W/ex/model.json'))
assert j['precond'] == 'none' and j['precond_rank'] == 0 and j['condition_before'] is None, j"
expect_exit 2 "--precond bogus" 2 fit --x "$W/latent/X.npy" --y "$W/latent/Y.npy" --rank 3 --lambda 1 --precond bogus
# no certificate on ill-conditioned X: a converged gd says that its gap is unverified
rrr 2 fit --x "$W/latent5/X.npy" --y "$W/latent5/Y.npy" --rank 3 --lambda 1e-8 --solver gd \
    --no-certificate --out "$W/nocert" >/dev/null 2>"$W/nocert.err"
grep -q "with no certificate its convergence is unverified" "$W/nocert.err" &&
    pass "gd without the certificate on cond >= 1e8: warns that convergence is unverified" ||
    fail "no warning without the certificate: $(grep -E 'warn|result' "$W/nocert.err")"
rrr 2 fit --x "$W/latent5/X.npy" --y "$W/latent5/Y.npy" --rank 3 --lambda 1e-8 --solver gd \
    --out "$W/cert" >/dev/null 2>"$W/cert.err"
! grep -q "convergence is unverified" "$W/cert.err" && pass "... and not with it" ||
    fail "unverified warning with the certificate"

expect_exit 2 "--precond-rank above p" 2 fit --x "$W/latent/X.npy" --y "$W/latent/Y.npy" --rank 3 --lambda 1 \
    --solver gd --precond-rank 81
expect_exit 2 "--precond-rank negative" 3 fit --x "$W/latent/X.npy" --y "$W/latent/Y.npy" --rank 3 --lambda 1 \
    --solver gd --precond-rank -1
summary
