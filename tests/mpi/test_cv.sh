#!/usr/bin/env bash
# tests/mpi/test_cv.sh: `rrr cv` at 1-4 ranks: every SSE_k(lambda, d) against a NumPy refit
# of each fold by the closed form (tests/mpi/check.py cv, 1e-8), with and without an
# intercept, both rules, lambda = 0 in the list, d up to min(p, q), q > p and q < p; the
# same folds and table at every rank count; user folds; the final model is `rrr fit` at
# the choice; a fold smaller than the rank count; bad grids and fold ids (exit 2, one
# message, nothing written); singular training sets; a signal leaves DIR empty.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
mk() { local d=$W/$1; shift; mkdir -p "$d"; $PYTHON tests/mpi/check.py mkdata --out "$d" "$@"; }
mk a --n 500 --p 12 --q 8 --rank 3 --seed 3 --offset 2
mk wq --n 300 --p 6 --q 40 --rank 2 --seed 4          # q > p: the p x p route
mk tiny --n 11 --p 3 --q 2 --rank 1 --seed 5          # folds of 2-3 rows on 4 ranks
$PYTHON -c "
import numpy as np; n = 500
np.save('$W/a/ids.npy', (np.arange(n) * 7 % 3).astype('<i8').reshape(n, 1))      # user folds
np.save('$W/a/idsf.npy', (np.arange(n) % 4).astype('<f8').reshape(n, 1))
np.save('$W/a/ids_bad.npy', np.where(np.arange(n) == 5, 1.5, 0.0).reshape(n, 1))  # not integral
np.save('$W/a/ids_gap.npy', np.where(np.arange(n) < 250, 0, 2).astype('<i8').reshape(n, 1))
np.save('$W/a/ids_short.npy', np.zeros((n - 1, 1)))
X = np.load('$W/a/X.npy'); X[:, 1] = X[:, 0]; np.save('$W/a/Xdup.npy', X)"
cvrun() { # cvrun NP DATA OUT ARGS...
    local np=$1 dat=$W/$2 out=$W/$3; shift 3
    rrr "$np" cv --x "$dat/X.npy" --y "$dat/Y.npy" --out "$out" --quiet "$@" >"$W/out" 2>"$W/err"
}
ref() { # ref NAME DATA OUT [check args]: the NumPy refits agree
    local name=$1 dat=$W/$2 out=$W/$3; shift 3
    check "$name" $PYTHON tests/mpi/check.py cv --x "$dat/X.npy" --y "$dat/Y.npy" --dir "$out" "$@"
}

for np in 1 2 3 4; do
    cvrun $np a a$np --rank 1:8 --lambda 0,0.01,0.1,1,10,100 --folds 5 --fold-seed 7 &&
        ref "cv np=$np: SSE of 5 folds x 8 ranks x 6 lambdas = refits (lambda 0 included)" a a$np ||
        { fail "cv np=$np"; cat "$W/err"; }
    cvrun $np a ai$np --rank 1:8 --lambda 0.01:100:5 --intercept --rule 1se &&
        ref "cv np=$np --intercept --rule 1se: training means only" a ai$np --intercept ||
        { fail "cv --intercept np=$np"; cat "$W/err"; }
done
for np in 2 3 4; do
    check "same folds at np=1 and np=$np (fold_ids.npy bytes)" cmp "$W/a1/fold_ids.npy" "$W/a$np/fold_ids.npy"
    check "same table at np=1 and np=$np" $PYTHON -c "
import json, numpy as np
a, b = (json.load(open('$W/' + d + '/cv.json')) for d in ('a1', 'a$np'))
assert np.allclose(a['sse'], b['sse'], rtol=1e-12, atol=0) and a['rank'] == b['rank'] and a['lambda'] == b['lambda']"
done
# a last round of fewer folds than ranks shares each fold's lambdas out (cv.c folds_sse):
# with one lambda, the ranks past it have nothing to do; with 2 folds at 3 ranks, uneven shares
cvrun 4 a s4 --rank 1:4 --lambda 1 --folds 5 --fold-seed 7 &&
    ref "cv np=4, 5 folds, one lambda: the shared last fold's cells are all there" a s4 ||
    { fail "cv np=4 one lambda"; cat "$W/err"; }
cvrun 3 a s3 --rank 1:4 --lambda 0.1,1,10 --folds 2 --fold-seed 7 --intercept &&
    ref "cv np=3, 2 folds, 3 lambdas: a round of 2 folds on 3 ranks" a s3 --intercept ||
    { fail "cv np=3 two folds"; cat "$W/err"; }
check "fold sizes differ by at most one" $PYTHON -c "
import json; s = json.load(open('$W/a2/cv.json'))['fold_sizes']; assert max(s) - min(s) <= 1 and sum(s) == 500, s"

# the 2-D grid regime (large p, forced here with --grid-min-p 1): 1 x 2, 1 x 3, 2 x 2 grids
for np in 2 3 4; do
    cvrun $np a g$np --rank 1:6 --lambda 0,0.1,1,10 --folds 4 --fold-seed 7 --intercept --grid-min-p 1 &&
        ref "cv on the 2-D grid np=$np (--intercept)" a g$np --intercept || { fail "cv grid np=$np"; cat "$W/err"; }
    cvrun $np wq wqg$np --rank 1:6 --lambda 0.1,1 --folds 3 --grid-min-p 1 &&
        ref "cv on the grid, q > p (p x p route) np=$np" wq wqg$np || { fail "cv grid q > p np=$np"; cat "$W/err"; }
done
# p > the training rows with lambdas down to 1e-10: C~ in the null directions of the
# training X^T X is rounding that 1/lambda amplified (cv_mse off by 0.4, the choice
# depending on the rank count) until it was set to 0
mk pn --n 60 --p 80 --q 10 --rank 3 --seed 8
for np in 1 2 3; do
    cvrun $np pn pn$np --rank 1:4 --lambda 1e-10:1:6 --folds 3 --fold-seed 2 --intercept &&
        ref "cv np=$np, p = 80 > 40 training rows, lambda from 1e-10: refits (SVD)" pn pn$np --intercept ||
        { fail "cv p > n np=$np"; cat "$W/err"; }
    cvrun $np pn png$np --rank 1:4 --lambda 1e-10:1:6 --folds 3 --fold-seed 2 --intercept --grid-min-p 1 &&
        ref "... and on the 2-D grid" pn png$np --intercept || { fail "cv grid p > n np=$np"; cat "$W/err"; }
done
# a nearly exact fit: SSE_k from the sums cancels to a few eps ||Y_k||^2; cv says so, and
# cv.json's cv_mse_rounding bounds the error (the cancellation is absent on ordinary data)
mk ne --n 200 --p 6 --q 4 --rank 2 --seed 9 --noise 1e-8
cvrun 2 ne ne2 --rank 1:3 --lambda 0,1e-8,1 --folds 4 --intercept; cp "$W/err" "$W/ne2.err"
check "a nearly exact fit: cv warns that cv_mse is at its rounding level" grep -q "rounding level" "$W/ne2.err"
check "... and cv.json bounds each cv_mse's error (cv_mse_rounding)" $PYTHON -c "
import json, numpy as np
j = json.load(open('$W/ne2/cv.json')); m, r = np.array(j['cv_mse']), np.array(j['cv_mse_rounding'])
assert r.shape == m.shape and (r > 0).all() and (m <= 1e3 * r).any(), (m, r)"
cvrun 2 a arnd --rank 1:8 --lambda 0,0.1,10 --folds 5 --intercept; cp "$W/err" "$W/arnd.err"
check "no such warning on ordinary data" bash -c "! grep -q 'rounding level' '$W/arnd.err' && test -s '$W/arnd/cv.json'"
check "grid regime says so in cv.json" grep -q '"method": "statistics on the 2-D grid"' "$W/g3/cv.json"

# large p: gd fits of every training set, warm-started along the lambda path; the rows are
# reordered during the search and restored (the final fit equals rrr fit bitwise)
for np in 1 3; do
    cvrun $np a gd$np --rank 2:4 --lambda 0.1,1,10 --folds 3 --intercept --cv-method gd --tol 1e-14 &&
        ref "cv by gd np=$np (--intercept): SSE = refits to 1e-5" a gd$np --intercept --tol 1e-5 ||
        { fail "cv by gd np=$np"; cat "$W/err"; }
    read -r d lam < <($PYTHON -c "import json; j = json.load(open('$W/gd$np/cv.json')); print(j['rank'], repr(j['lambda']))")
    rrr $np fit --x "$W/a/X.npy" --y "$W/a/Y.npy" --rank "$d" --lambda "$lam" --intercept --tol 1e-14 \
        --out "$W/fgd$np" --quiet >/dev/null 2>&1
    check "cv by gd np=$np: data restored, final model = rrr fit (bitwise)" cmp "$W/gd$np/U.npy" "$W/fgd$np/U.npy"
done
check "gd method says so in cv.json" grep -q '"method": "gd"' "$W/gd3/cv.json"
check "cv by gd: its fits converged (cv.json gd_fits_not_converged 0)" \
    grep -q '"gd_fits_not_converged": 0,' "$W/gd3/cv.json"
rrr 2 cv --x "$W/a/X.npy" --y "$W/a/Y.npy" --rank 2:3 --lambda 0.1,1 --folds 3 --cv-method gd \
    --max-iter 2 --out "$W/gdu" >"$W/out" 2>"$W/err"
grep -q "12 of the 12 gd fits stopped at --max-iter 2 before converging" "$W/err" &&
    grep -q '"gd_fits_not_converged": 12,' "$W/gdu/cv.json" &&
    pass "cv by gd with fits cut short: says so (stderr and cv.json)" ||
    { fail "cv by gd, unconverged fits"; grep warning "$W/err"; }

# user folds (<i8 and <f8 ids)
cvrun 3 a u3 --rank 2,3,8 --lambda 0.5,5 --fold-ids "$W/a/ids.npy" &&
    ref "--fold-ids (<i8) reproduces the user's split, d up to min(p, q)" a u3 --fold-ids "$W/a/ids.npy" ||
    { fail "--fold-ids <i8"; cat "$W/err"; }
cvrun 2 a uf2 --rank 3 --lambda 1 --fold-ids "$W/a/idsf.npy" &&
    ref "--fold-ids (<f8)" a uf2 --fold-ids "$W/a/idsf.npy" || { fail "--fold-ids <f8"; cat "$W/err"; }
[[ ! -e $W/u3/fold_ids.npy ]] && pass "no fold_ids.npy written for user folds" || fail "fold_ids.npy for user folds"

# q > p (p x p route), tiny folds on more ranks than rows per fold
for np in 1 4; do
    cvrun $np wq wq$np --rank 1:6 --lambda 0.1,1,10 --folds 4 && ref "cv q > p np=$np" wq wq$np ||
        { fail "cv q > p np=$np"; cat "$W/err"; }
    cvrun $np tiny tiny$np --rank 1:2 --lambda 0.1,1 --folds 5 && ref "cv n = 11 in 5 folds np=$np" tiny tiny$np ||
        { fail "cv tiny np=$np"; cat "$W/err"; }
done

# the final model is rrr fit at the choice, and the files are as docs/cli.md says
read -r d lam < <($PYTHON -c "import json; j = json.load(open('$W/a3/cv.json')); print(j['rank'], repr(j['lambda']))")
rrr 3 fit --x "$W/a/X.npy" --y "$W/a/Y.npy" --rank "$d" --lambda "$lam" --out "$W/fit3" --quiet >/dev/null 2>&1
# (an exact fit from the folds' summed statistics: the same up to the order of summation)
check "final model = rrr fit at the choice (1e-12)" $PYTHON tests/mpi/check.py compare "$W/a3" "$W/fit3" --tol 1e-12
check "model.json says selected_by cv" grep -q '"selected_by": "cv"' "$W/a3/model.json"
rrr 2 cv --x "$W/a/X.npy" --y "$W/a/Y.npy" --rank 1:3 --lambda 1,2 --out "$W/p2" >"$W/p2.out" 2>"$W/p2.err"
check "stdout: cv_choice line" grep -qE '^cv_choice rank [0-9]+ lambda [0-9.e+-]+ cv_mse [0-9.e+-]+$' "$W/p2.out"
check "stderr: the table with the choice marked" grep -qE '\*' "$W/p2.err"
check "cv.csv: one line per (rank, lambda)" $PYTHON -c "
import csv; r = list(csv.DictReader(open('$W/p2/cv.csv')))
assert len(r) == 6 and list(r[0]) == ['rank', 'lambda', 'cv_mse', 'cv_se'], r[0]"

# bad grids and folds: exit 2, one message, nothing written
A=(cv --x "$W/a/X.npy" --y "$W/a/Y.npy")
for np in 1 3; do
    expect_exit 2 "rank out of range" $np "${A[@]}" --rank 1:13 --lambda 1 --out "$W/never"
    expect_exit 2 "rank 0" $np "${A[@]}" --rank 0,2 --lambda 1 --out "$W/never"
    expect_exit 2 "LO >= HI" $np "${A[@]}" --rank 2 --lambda 5:1:4 --out "$W/never"
    expect_exit 2 "N < 2" $np "${A[@]}" --rank 2 --lambda 1:5:1 --out "$W/never"
    expect_exit 2 "negative lambda" $np "${A[@]}" --rank 2 --lambda 1,-1 --out "$W/never"
    grep -qF -- "--lambda -1: every lambda must be in [0, 1e+300]" "$W/err" || fail "negative lambda: the message names it"
    expect_exit 2 "lambda above 1e300" $np "${A[@]}" --rank 2 --lambda 1,1e308 --out "$W/never"
    expect_exit 2 "HI above 1e300" $np "${A[@]}" --rank 2 --lambda 1:1e305:3 --out "$W/never"
    expect_exit 2 "LO = 0 in a range" $np "${A[@]}" --rank 2 --lambda 0:1:3 --out "$W/never"
    expect_exit 2 "--folds 1" $np "${A[@]}" --rank 2 --lambda 1 --folds 1 --out "$W/never"
    expect_exit 2 "--folds 0 (not the default)" $np "${A[@]}" --rank 2 --lambda 1 --folds 0 --out "$W/never"
    expect_exit 2 "--folds 0 with --fold-ids" $np "${A[@]}" --rank 2 --lambda 1 --folds 0 --fold-ids "$W/a/ids.npy"
    expect_exit 2 "a hexadecimal lambda" $np "${A[@]}" --rank 2 --lambda 0x1p3 --out "$W/never"
    expect_exit 2 "a rank with a space" $np "${A[@]}" --rank " 2" --lambda 1 --out "$W/never"
    expect_exit 2 "--folds > n" $np "${A[@]}" --rank 2 --lambda 1 --folds 501 --out "$W/never"
    expect_exit 2 "unknown rule" $np "${A[@]}" --rank 2 --lambda 1 --rule max --out "$W/never"
    expect_exit 2 "--folds with --fold-ids" $np "${A[@]}" --rank 2 --lambda 1 --folds 3 --fold-ids "$W/a/ids.npy"
    expect_exit 2 "--fold-seed with --fold-ids (the seed would be ignored)" $np "${A[@]}" --rank 2 \
        --lambda 1 --fold-seed 3 --fold-ids "$W/a/ids.npy"
    for bad in ids_bad ids_gap ids_short; do
        expect_exit 2 "fold ids $bad" $np "${A[@]}" --rank 2 --lambda 1 --fold-ids "$W/a/$bad.npy" --out "$W/never"
        grep -q "$bad.npy" "$W/err" || fail "message for $bad names the file: $(cat "$W/err")"
    done
    expect_exit 2 "--checkpoint refused" $np "${A[@]}" --rank 2 --lambda 1 --checkpoint "$W/ck"
done
[[ ! -e $W/never ]] && pass "nothing written after refused grids" || fail "output after a refused grid"
# lambda 0 with X's columns in units 1e10 apart (cond 1.4 once scaled): the per-fold
# eigenpairs by Jacobi on the Cholesky factor, against least squares on the scaled columns
mkdir -p "$W/units" && $PYTHON -c "
import numpy as np
rng = np.random.default_rng(31); n, p, q = 200, 6, 4; sc = np.logspace(-5, 5, p)
X = rng.standard_normal((n, p)) * sc
np.save('$W/units/X.npy', X)
np.save('$W/units/Y.npy', X @ (rng.standard_normal((p, q)) / sc[:, None]) + 0.5 * rng.standard_normal((n, q)))
np.save('$W/units/F.npy', (np.arange(n) % 4).reshape(-1, 1))"
for np in 1 3; do
    rrr $np cv --x "$W/units/X.npy" --y "$W/units/Y.npy" --rank 1,2 --lambda 0 \
        --fold-ids "$W/units/F.npy" --quiet --out "$W/units/c$np" >"$W/out" 2>"$W/err" &&
        check "cv lambda 0, columns 1e10 apart (np=$np): SSE = scaled least squares to 1e-10" \
            $PYTHON -c "
import json, numpy as np
X, Y = np.load('$W/units/X.npy'), np.load('$W/units/Y.npy'); F = np.load('$W/units/F.npy').ravel()
j = json.load(open('$W/units/c$np/cv.json')); sse = np.array(j['sse'])
for k in range(4):
    t, v = F != k, F == k
    D = np.linalg.norm(X[t], axis=0)
    BR = np.linalg.lstsq(X[t] / D, Y[t], rcond=None)[0] / D[:, None]
    W = np.linalg.svd(X[t] @ BR, full_matrices=False)[2]
    for r, d in enumerate(j['ranks']):
        B = BR @ W[:d].T @ W[:d]
        ref = ((Y[v] - X[v] @ B) ** 2).sum()
        assert abs(sse[k][r][0] - ref) <= 1e-10 * ref, (k, d, sse[k][r][0], ref)" ||
        { fail "cv lambda 0, columns 1e10 apart (np=$np)"; cat "$W/err"; }
done

# singular training X^T X with lambda 0: exit 4; lambda 0 with fewer training rows than p: exit 2
expect_exit 4 "lambda 0, duplicated column" 2 cv --x "$W/a/Xdup.npy" --y "$W/a/Y.npy" --rank 2 --lambda 0,1 --out "$W/never"
mk mid --n 12 --p 10 --q 3 --rank 1 --seed 8
expect_exit 2 "lambda 0, training rows (8) < p (10)" 2 cv --x "$W/mid/X.npy" --y "$W/mid/Y.npy" --rank 1 --lambda 0 --folds 3 --out "$W/never"
mk wide --n 9 --p 20 --q 3 --rank 1 --seed 6
expect_exit 2 "lambda 0 with n < p" 3 cv --x "$W/wide/X.npy" --y "$W/wide/Y.npy" --rank 1 --lambda 0,1 --out "$W/never"
# nearly collinear columns (smooth spectra): a grid down to 1e-14 is warned about (the normal
# equations keep few digits there, and cv has no QR pass), one from 1e-4 is not; columns in
# different units but well conditioned once scaled (above) are not either
rrr 2 cv --x "$W/units/X.npy" --y "$W/units/Y.npy" --rank 1,2 --lambda 0 --fold-ids "$W/units/F.npy" \
    --out "$W/units/w" >/dev/null 2>"$W/err"
grep -q "after scaling its columns" "$W/err" && fail "columns 1e10 apart: warned as ill-conditioned" ||
    pass "columns 1e10 apart, well conditioned once scaled: no conditioning warning"
$PYTHON -c "
import numpy as np
rng = np.random.default_rng(13); n, p, q = 300, 120, 10; wl = np.linspace(0, 1, p)
basis = np.exp(-((wl[None, :] - rng.uniform(0, 1, 8)[:, None]) / rng.uniform(0.05, 0.2, 8)[:, None]) ** 2)
C = rng.lognormal(0, 1, (n, 8)); X = C @ basis + 1e-7 * rng.standard_normal((n, p))
np.save('$W/spX.npy', X); np.save('$W/spY.npy', C[:, :4] @ rng.standard_normal((4, q)) + 1e-3 * rng.standard_normal((n, q)))"
for np in 1 2; do
    rrr $np cv --x "$W/spX.npy" --y "$W/spY.npy" --rank 3:5 --lambda 1e-14:1e-2:7 --intercept \
        --out "$W/sp$np" >/dev/null 2>"$W/err"
    grep -q "at the smallest lambda (1e-14) .* condition .* after scaling its columns" "$W/err" &&
        pass "collinear spectra, lambda from 1e-14: warned (np=$np)" || fail "spectra: no warning (np=$np)"
    rrr $np cv --x "$W/spX.npy" --y "$W/spY.npy" --rank 3:5 --lambda 1e-4:1e-2:3 --intercept \
        --out "$W/sq$np" >/dev/null 2>"$W/err"
    ! grep -q "after scaling its columns" "$W/err" && pass "collinear spectra, lambda from 1e-4: no warning (np=$np)" ||
        fail "spectra from 1e-4: warned (np=$np)"
done
# a column constant on one fold's training rows (zero once --intercept centres it), and a
# training set of exactly p rows with --intercept: the same verdict at every rank count
$PYTHON -c "
import numpy as np
r = np.random.default_rng(1); X = r.standard_normal((400, 20)); Y = X @ r.standard_normal((20, 10))
Y += r.standard_normal((400, 10)); f = np.arange(400) % 4; X[f != 0, 0] = 3.0
np.save('$W/cX.npy', X); np.save('$W/cY.npy', Y); np.save('$W/cfid.npy', f.astype('<i8').reshape(-1, 1))
g = np.where(np.arange(50) < 6, 1, 0); np.save('$W/pfid.npy', g.astype('<i8').reshape(-1, 1))
np.save('$W/pX.npy', X[:50, 1:7]); np.save('$W/pY.npy', Y[:50])"
for np in 1 2 3 4; do
    expect_exit 4 "lambda 0, a column constant on the training rows" $np cv --x "$W/cX.npy" \
        --y "$W/cY.npy" --rank 2 --lambda 0,1 --fold-ids "$W/cfid.npy" --intercept --out "$W/never"
    grep -q "column 0 (0-based) of X is constant on the training rows of fold 0" "$WORK/err" ||
        fail "constant training column message (np=$np): $(cat "$WORK/err")"
    expect_exit 2 "lambda 0, --intercept, training rows = p" $np cv --x "$W/pX.npy" --y "$W/pY.npy" \
        --rank 2 --lambda 0,1 --fold-ids "$W/pfid.npy" --intercept --out "$W/never"
done
[[ ! -e $W/never ]] && pass "nothing written after singular training sets" || fail "output after exit 4"

# column means far from zero with --intercept: both methods give the NumPy refits (the gd
# route once started from a cancelled ||Yc||^2 and stopped after one iteration)
mkdir -p "$W/off"
$PYTHON -c "
import numpy as np; r = np.random.default_rng(12); n, p, q = 400, 8, 5
X = r.standard_normal((n, p)); Y = X @ r.standard_normal((p, q)) + r.standard_normal((n, q))
np.save('$W/off/X.npy', X + 1e7); np.save('$W/off/Y.npy', Y - 3e7)
np.save('$W/off/ids.npy', (np.arange(n) * 4 // n).reshape(-1, 1).astype('<i8'))"
for m in statistics gd; do
    cvrun 1 off off_$m --rank 3,5 --lambda 0.5:50:3 --intercept --fold-ids "$W/off/ids.npy" \
        --cv-method $m --tol 1e-14 || fail "cv $m on offset data (exit $?)"
    ref "offsets 1e7 with --intercept, $m: the NumPy refits" off off_$m --fold-ids "$W/off/ids.npy" \
        --intercept --tol 1e-6
done
check "0.5:50:3 holds 5 exactly" grep -q '"lambdas": \[0.5, 5, 50\]' "$W/off_statistics/cv.json"

# a signal during the search: exit 5, DIR untouched
# (each round of 2 folds x 200 lambdas of 300 x 300 eigenproblems takes about a second)
mk big --n 3000 --p 300 --q 300 --rank 3 --seed 7
setsid mpirun --oversubscribe -np 2 "$RRR_BIN" cv --x "$W/big/X.npy" --y "$W/big/Y.npy" --rank 1:10 \
    --lambda 0.001:1000:200 --folds 10 --out "$W/sig" >"$W/sig.out" 2>"$W/sig.err" &
BG=$!
(sleep 60; kill -KILL -- -$BG) >/dev/null 2>&1 &
WD=$!
for _ in $(seq 1 300); do grep -q 'cv: folds 1-2' "$W/sig.err" && break; sleep 0.05; done
kill -TERM $(pgrep -P $BG) # the ranks, as a scheduler delivers it
wait $BG
rc=$?
kill $WD 2>/dev/null
[[ $rc -eq 5 && ! -e $W/sig ]] && grep -q 'nothing was written' "$W/sig.err" &&
    pass "SIGTERM during cv: exit 5, nothing in DIR" || { fail "SIGTERM during cv (exit $rc)"; tail -n 3 "$W/sig.err"; }
# a tie in exact arithmetic (each training set is one centred row: B = 0 in every cell)
# comes out a few ulps apart; the tie rule decides it: the larger lambda, then the smaller d
mkdir -p "$W/tie" && $PYTHON -c "
import numpy as np
rng = np.random.default_rng(15); rng.standard_normal((3, 3)); rng.standard_normal((3, 2))
np.save('$W/tie/X.npy', rng.standard_normal((2, 3))); np.save('$W/tie/Y.npy', rng.standard_normal((2, 2)))"
for np_ in 1 2; do
    rrr $np_ cv --x "$W/tie/X.npy" --y "$W/tie/Y.npy" --rank 1:2 --lambda 0.1,1 --folds 2 \
        --intercept --out "$W/tie/o$np_" >"$W/tie/log" 2>&1
    grep -q "chose rank 1, lambda 1 " "$W/tie/log" && pass "tie at rounding level: rank 1, lambda 1 (np=$np_)" ||
        fail "tie at rounding level (np=$np_): $(grep chose "$W/tie/log")"
done

summary
