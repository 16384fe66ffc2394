#!/usr/bin/env bash
# tests/mpi/test_io.sh: gen, .npy input/output and the error contract (exit codes, one
# message, no partial output) at 1-4 ranks.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK

# --- gen: byte-identical at every rank count, including ranks that own no rows ------------
rrr 1 gen --n 103 --p 7 --q 5 --rank 2 --seed 11 --out "$W/g1" 2>/dev/null
for np in 2 3 4; do
    rrr $np gen --n 103 --p 7 --q 5 --rank 2 --seed 11 --out "$W/g$np" 2>/dev/null
    same=1
    for f in X Y U_true V_true; do cmp -s "$W/g1/$f.npy" "$W/g$np/$f.npy" || same=0; done
    [[ $same == 1 ]] && pass "gen identical np=1 vs np=$np" || fail "gen differs np=1 vs np=$np"
done
rrr 4 gen --n 2 --p 3 --q 3 --rank 1 --out "$W/tiny4" 2>/dev/null
rrr 1 gen --n 2 --p 3 --q 3 --rank 1 --out "$W/tiny1" 2>/dev/null
cmp -s "$W/tiny1/Y.npy" "$W/tiny4/Y.npy" && pass "gen n=2 at np=4 (ranks with no rows)" || fail "gen n=2 at np=4"
check "gen files are valid numpy arrays with documented statistics" $PYTHON - "$W/g3" <<'PY'
import sys, numpy as np
d = sys.argv[1]
X, Y, U, V = (np.load(f"{d}/{k}.npy") for k in ("X", "Y", "U_true", "V_true"))
assert X.shape == (103, 7) and Y.shape == (103, 5) and U.shape == (7, 2) and V.shape == (5, 2)
assert X.dtype == np.float64 and X.flags.c_contiguous
assert abs(X.mean()) < 0.2 and 0.8 < X.std() < 1.2
E = Y - X @ U @ V.T                      # noise 1 by default
assert 0.8 < E.std() < 1.2, E.std()
PY
rrr 2 gen --n 50 --p 4 --q 4 --rank 2 --noise 0 --out "$W/g0" 2>/dev/null
check "gen --noise 0: Y = X U_true V_true^T exactly" $PYTHON -c "
import numpy as np; d='$W/g0'
X,Y,U,V=(np.load(f'{d}/{k}.npy') for k in ('X','Y','U_true','V_true'))
assert np.abs(Y - X@U@V.T).max() < 1e-12"

# --- fit reads f4, and f8 and f4 give the same fit -------------------------------------
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 60 --p 5 --q 4 --rank 2 --seed 3 --f4
mkdir -p "$W/f8" && $PYTHON -c "
import numpy as np; [np.save('$W/f8/'+k+'.npy', np.load('$W/'+k+'.npy').astype(np.float64)) for k in 'XY']"
rrr 3 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver gd --out "$W/m4" --quiet
rrr 3 fit --x "$W/f8/X.npy" --y "$W/f8/Y.npy" --rank 2 --lambda 0.5 --solver gd --out "$W/m8" --quiet
check "<f4 input fits like its <f8 conversion" $PYTHON tests/mpi/check.py compare "$W/m4" "$W/m8" --tol 1e-12

# --- every malformed .npy of docs/cli.md: exit 2, one message naming the file ---------------
good=tests/data/good_f8_v1.npy
for bad in tests/data/bad_*.npy; do
    for np in 2 3; do
        expect_exit 2 "reject $(basename "$bad")" $np fit --x "$bad" --y "$good" --rank 1 --lambda 1 --out "$W/never"
        grep -q "$(basename "$bad")" "$WORK/err" || fail "message names $(basename "$bad")"
    done
done
[[ ! -e $W/never ]] && pass "no output directory after rejected input" || fail "output left behind"

# --- data errors found by one rank only -------------------------------------------------
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 30 --p 4 --q 3 --rank 1 --nan-row 25
for np in 1 2 3 4; do
    expect_exit 2 "NaN in the last rank's rows" $np fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1 --out "$W/nan"
done
grep -q "row 25" "$WORK/err" && pass "NaN message gives the row" || fail "NaN message lacks the row"
[[ ! -e $W/nan ]] && pass "no output after NaN" || fail "output left after NaN"
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 30 --p 4 --q 3 --rank 1
$PYTHON -c "import numpy as np; np.save('$W/Y29.npy', np.load('$W/Y.npy')[:29])"
expect_exit 2 "X and Y row counts differ" 3 fit --x "$W/X.npy" --y "$W/Y29.npy" --rank 1 --lambda 1
expect_exit 3 "missing input file" 2 fit --x "$W/nope.npy" --y "$W/Y.npy" --rank 1 --lambda 1
expect_exit 3 "missing input file" 3 predict --model "$W/m8" --x "$W/nope.npy" --out "$W/yh.npy"
expect_exit 3 "--out parent missing" 3 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1 --out "$W/no/such/dir"
touch "$W/afile"
expect_exit 3 "--out is a file" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1 --out "$W/afile"
expect_exit 3 "gen into unwritable path" 4 gen --n 5 --p 2 --q 2 --rank 1 --out "$W/afile/sub"
expect_exit 3 "predict output not writable" 2 predict --model "$W/m8" --x "$W/f8/X.npy" --out "$W/no/dir/yh.npy"

# --- argument errors: identical on every rank, exit 2, one message -----------------------
A=(--x "$W/X.npy" --y "$W/Y.npy")
expect_exit 2 "bad input at 1 rank" 1 fit --x tests/data/bad_int64.npy --y "$good" --rank 1 --lambda 1
expect_exit 2 "bad input at 4 ranks" 4 fit --x tests/data/bad_truncated.npy --y "$good" --rank 1 --lambda 1
expect_exit 2 "unknown option at 1 rank" 1 fit "${A[@]}" --rank 1 --lambda 1 --bogus
for np in 3; do
    expect_exit 2 "unknown option" $np fit "${A[@]}" --rank 1 --lambda 1 --bogus
    expect_exit 2 "missing value" $np fit "${A[@]}" --rank 1 --lambda
    expect_exit 2 "missing --rank" $np fit "${A[@]}" --lambda 1
    expect_exit 2 "rank 0" $np fit "${A[@]}" --rank 0 --lambda 1
    expect_exit 2 "rank > min(p,q)" $np fit "${A[@]}" --rank 4 --lambda 1
    expect_exit 2 "negative lambda" $np fit "${A[@]}" --rank 1 --lambda -1
    expect_exit 2 "lambda above 1e300 (2 lambda overflows)" $np fit "${A[@]}" --rank 1 --lambda 1e308 --solver gd
    expect_exit 2 "lambda not a number" $np fit "${A[@]}" --rank 1 --lambda abc
    expect_exit 2 "unknown solver" $np fit "${A[@]}" --rank 1 --lambda 1 --solver newton
    expect_exit 2 "--resume without --checkpoint" $np fit "${A[@]}" --rank 1 --lambda 1 --resume
    expect_exit 2 "unknown command" $np frobnicate
    expect_exit 2 "gen rank out of range" $np gen --n 5 --p 2 --q 3 --rank 3 --out "$W/x"
done
$PYTHON -c "import numpy as np; np.save('$W/Xw.npy', np.ones((3, 5))); np.save('$W/Yw.npy', np.ones((3, 2)))"
expect_exit 2 "lambda 0 with n < p" 2 fit --x "$W/Xw.npy" --y "$W/Yw.npy" --rank 1 --lambda 0
for c in "" gen fit predict gradcheck; do
    rrr 2 $c --help >"$W/help" 2>&1 && grep -q usage "$W/help" && [[ $(grep -c '^usage' "$W/help") -eq 1 ]] \
        && pass "rrr $c --help" || fail "rrr $c --help"
done

# --- outputs are written atomically: no temporary files remain --------------------------
ls "$W"/m8 | grep -q tmp && fail "temporary files left in model dir" || pass "no temporary files left"

# --- output paths refused before the work ---------------------------------------------------
# file/ (a file where a directory must be) and names too long for the temporary name
# (NAME + ".tmp." + 16 hex + ".old" past NAME_MAX) were refused only after the fit, exit 3
echo f >"$W/afile"
L=$(printf 'c%.0s' $(seq 1 250))
for np in 1 3; do
    for args in "--out $W/afile/" "--out $W/ok$np --report $W/afile/" "--checkpoint $W/afile/" \
                "--out $W/ok$np --report $W/$L"; do
        expect_exit 3 "fit $args (np=$np): refused" $np fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 \
            --lambda 1 --solver gd --tol 0 --max-iter 200000 $args
        grep -q 'is a file, not a directory\|temporary name 25 bytes longer' "$WORK/err" && [[ ! -e $W/ok$np ]] &&
            pass "... before the work, saying why, nothing written (np=$np)" ||
            fail "fit $args (np=$np): $(head -n 1 "$WORK/err")"
    done
done
rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1 --out "$W/mL" --quiet 2>/dev/null
expect_exit 3 "predict --out afile/p.npy: refused" 2 predict --model "$W/mL" --x "$W/X.npy" --out "$W/afile/p.npy"
expect_exit 3 "predict --scores with a 250-byte name: refused" 2 predict --model "$W/mL" --x "$W/X.npy" \
    --y "$W/Y.npy" --scores "$W/$L"
# the longest name allowed (255 - 55 bytes), written collectively at 2 ranks; one byte more is
# refused (a 224-byte one made Open MPI abort on a buffer overflow, after the work)
L2=$(printf 'c%.0s' $(seq 1 196))
rrr 2 predict --model "$W/mL" --x "$W/X.npy" --out "$W/$L2.npy" 2>"$WORK/err" && [[ -f $W/$L2.npy ]] &&
    pass "predict --out with a 200-byte name: written" || fail "200-byte name: $(head -n 1 "$WORK/err")"
expect_exit 3 "predict --out with a 201-byte name: refused" 2 predict --model "$W/mL" --x "$W/X.npy" \
    --out "$W/c$L2.npy"
summary
