#!/usr/bin/env bash
# tests/mpi/test_collide.sh: no output of a command replaces one of its inputs (the model
# predict reads) or another of its own outputs (--report on DIR/U.npy or the checkpoint,
# --scores on --out), checked before any work (exit 2, one message, nothing touched); and a
# cv directory describes one search only (a stale fold_ids.npy goes with --fold-ids).
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
$PYTHON - "$W" <<'PY'
import sys, numpy as np
d = sys.argv[1]; r = np.random.default_rng(1)
X = r.standard_normal((40, 6))
np.save(f"{d}/X.npy", X)
np.save(f"{d}/Y.npy", X @ r.standard_normal((6, 5)) + 0.1 * r.standard_normal((40, 5)))
np.save(f"{d}/folds.npy", (np.arange(40) % 4).reshape(-1, 1).astype("<i8"))
PY
XY=(--x "$W/X.npy" --y "$W/Y.npy")
rrr 2 fit "${XY[@]}" --rank 2 --lambda 0.5 --solver exact --quiet --out "$W/m" 2>/dev/null
sums() { (cd "$1" && md5sum -- * 2>/dev/null); }
before=$(sums "$W/m")
# expect_said TEXT NAME NP ARGS...: exit 2 with one message, and it says TEXT
expect_said() {
    local text=$1; shift
    expect_exit 2 "$@"
    grep -qF -- "$text" "$WORK/err" || fail "$1: the message lacks '$text': $(grep error "$WORK/err")"
}
# expect_refused NAME NP ARGS...: refused as an input's replacement, the model untouched
expect_refused() {
    local name=$1; shift
    expect_said "would replace the input" "$name" "$@"
    [[ $(sums "$W/m") == "$before" ]] || fail "$name: the model directory changed"
}
ALSO="which the same command writes"
for np in 1 3; do
    for f in U.npy V.npy model.json ./U.npy; do
        expect_refused "predict --out m/$f (the model being read)" $np predict --model "$W/m" \
            --x "$W/X.npy" --out "$W/m/$f"
    done
    expect_refused "predict --scores m/model.json" $np predict --model "$W/m" "${XY[@]}" \
        --scores "$W/m/model.json"
    expect_said "$ALSO" "predict --out and --scores the same file" $np predict --model "$W/m" \
        "${XY[@]}" --out "$W/same.npy" --scores "$W/same.npy"
    [[ ! -e $W/same.npy ]] && pass "nothing written (np=$np)" || fail "same.npy written (np=$np)"
done
for np in 2 3; do
    rm -rf "$W/m2"
    expect_said "$ALSO" "fit --report DIR/U.npy" $np fit "${XY[@]}" --rank 2 --lambda 0.5 \
        --quiet --out "$W/m2" --report "$W/m2/U.npy"
    expect_said "$ALSO" "fit --out DIR/ --report DIR/U.npy (a new DIR)" $np fit "${XY[@]}" \
        --rank 2 --lambda 0.5 --quiet --out "$W/m2/" --report "$W/m2/U.npy"
    expect_said "$ALSO" "fit --out ./DIR// --report DIR/./U.npy (a new DIR, written another way)" \
        $np fit "${XY[@]}" --rank 2 --lambda 0.5 --quiet --out "$W/./m2//" --report "$W/m2/./U.npy"
    [[ ! -e $W/m2 ]] && pass "no model directory made (np=$np)" || fail "m2 made (np=$np)"
    expect_said "$ALSO" "cv --report DIR/cv.json" $np cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 \
        --quiet --out "$W/c1/" --report "$W/c1/cv.json"
    mkdir -p "$W/ck"
    expect_said "$ALSO" "fit --report CKPT/checkpoint.bin" $np fit "${XY[@]}" --rank 2 \
        --lambda 0.5 --solver gd --quiet --out "$W/m3" --checkpoint "$W/ck" \
        --report "$W/ck/checkpoint.bin"
    # the same before CKPT exists (it was exit 3: "directory ... No such file")
    expect_said "$ALSO" "fit --report CKPT/checkpoint.bin (no CKPT yet)" $np fit "${XY[@]}" \
        --rank 2 --lambda 0.5 --solver gd --quiet --out "$W/m3" --checkpoint "$W/ck$np-new" \
        --report "$W/ck$np-new/checkpoint.bin"
done
if "$RRR_BIN" --version 2>/dev/null | grep -q '^HDF5 [0-9]'; then # the HDF5 file is the output
    expect_said "$ALSO" "predict --out P.h5:/pred --scores P.h5 (no P.h5 yet)" 2 predict \
        --model "$W/m" "${XY[@]}" --out "$W/P.h5:/pred" --scores "$W/P.h5"
    [[ ! -e $W/P.h5 ]] && pass "no P.h5 written" || fail "P.h5 written"
fi
rrr 2 fit "${XY[@]}" --rank 2 --lambda 0.5 --quiet --out "$W/m4" --report "$W/m4/R.json" 2>/dev/null &&
    [[ -s $W/m4/R.json && -s $W/m4/U.npy ]] && pass "a report beside the model files is fine" ||
    fail "fit --report DIR/R.json"
# a report inside a --checkpoint CKPT that does not exist yet: CKPT is made for it (exact
# writes no checkpoint at all; it was exit 3, "directory CKPT: No such file")
for s in exact gd; do
    rrr 2 fit "${XY[@]}" --rank 2 --lambda 0.5 --solver $s --quiet --checkpoint "$W/ck-$s" \
        --report "$W/ck-$s/R.json" >/dev/null 2>&1 && [[ -s $W/ck-$s/R.json ]] &&
        pass "--report CKPT/R.json before CKPT exists ($s)" || fail "--report CKPT/R.json ($s)"
done
# a directory standing at the report's name in DIR or CKPT: refused before the work (it was
# found after the whole fit)
mkdir -p "$W/ckd/R.json" "$W/md/R.json"
expect_exit 3 "--report CKPT/R.json that is a directory" 2 fit "${XY[@]}" --rank 2 --lambda 0.5 \
    --quiet --checkpoint "$W/ckd" --report "$W/ckd/R.json"
grep -q "is a directory" "$W/err" && ! grep -q "optimality gap" "$W/out" &&
    pass "... before the fit" || fail "report directory in CKPT: $(head -c 200 "$W/err")"
expect_exit 3 "--report DIR/R.json that is a directory" 2 fit "${XY[@]}" --rank 2 --lambda 0.5 \
    --quiet --out "$W/md" --report "$W/md/R.json"
$PYTHON -c "import numpy as np; X = np.load('$W/X.npy'); X[:, 1] = X[:, 0]; np.save('$W/Xdup.npy', X)"
rrr 2 fit --x "$W/Xdup.npy" --y "$W/Y.npy" --rank 2 --lambda 0 --solver exact --quiet \
    --checkpoint "$W/ck-fail" --report "$W/ck-fail/R.json" >/dev/null 2>&1 # exit 4: singular
[[ $? -eq 4 && ! -e $W/ck-fail ]] && pass "... a run that fails leaves no CKPT made for its report" ||
    fail "a failed run with --report CKPT/R.json: $(ls -a "$W/ck-fail" 2>&1 | tr '\n' ' ')"
rrr 2 fit "${XY[@]}" --rank 2 --lambda 0.5 --quiet --out "$W/./m5//" \
    --report "$W/m5/../m5/R.json" >/dev/null 2>&1 && [[ -s $W/m5/R.json && -s $W/m5/U.npy ]] &&
    pass "a report in a new DIR named another way (./m5// and m5/../m5/R.json)" ||
    fail "fit --out ./m5// --report m5/../m5/R.json"

# fit into the directory of a search: its cv.json, cv.csv, fold_ids.npy go with the old model
# (a grid of 1000 lambdas: a cv.json of 300 KB, past any fixed read buffer)
rrr 2 cv "${XY[@]}" --rank 1:2 --lambda 1e-3:1e3:1000 --folds 3 --quiet --out "$W/c3" >/dev/null 2>&1
rrr 2 fit "${XY[@]}" --rank 2 --lambda 5 --quiet --out "$W/c3" >/dev/null 2>&1 &&
    [[ -s $W/c3/model.json && ! -e $W/c3/cv.json && ! -e $W/c3/cv.csv && ! -e $W/c3/fold_ids.npy ]] &&
    pass "fit into a search's directory removes its stale cv.json, cv.csv, fold_ids.npy" ||
    fail "fit into a cv directory: $(ls "$W/c3" | tr '\n' ' ')"
mkdir -p "$W/c4" "$W/c5" && cp "$W/folds.npy" "$W/c4/fold_ids.npy"
rrr 2 cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 --fold-ids "$W/c4/fold_ids.npy" --quiet \
    --out "$W/c4" >/dev/null 2>&1
rrr 2 fit "${XY[@]}" --rank 2 --lambda 5 --quiet --out "$W/c4" >/dev/null 2>&1 &&
    cmp -s "$W/folds.npy" "$W/c4/fold_ids.npy" && [[ ! -e $W/c4/cv.json ]] &&
    pass "... but keeps a fold_ids.npy that was the search's --fold-ids input" ||
    fail "fit removed the user's fold ids: $(ls "$W/c4" | tr '\n' ' ')"
echo "my notes" >"$W/c5/cv.csv" && cp "$W/folds.npy" "$W/c5/fold_ids.npy"
rrr 2 fit "${XY[@]}" --rank 2 --lambda 5 --quiet --out "$W/c5" >/dev/null 2>&1 &&
    [[ -s $W/c5/cv.csv && -s $W/c5/fold_ids.npy ]] &&
    pass "... and files of those names that no search wrote" ||
    fail "fit removed files no search wrote: $(ls "$W/c5" | tr '\n' ' ')"

# cv: random folds, then --fold-ids into the same directory: the old fold_ids.npy goes
rrr 2 cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 --folds 5 --quiet --out "$W/c2" >/dev/null 2>&1
rrr 3 cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 --fold-ids "$W/folds.npy" --quiet --out "$W/c2" \
    >/dev/null 2>&1 && [[ ! -e $W/c2/fold_ids.npy && -s $W/c2/cv.json ]] &&
    pass "cv --fold-ids removes a stale fold_ids.npy" || fail "stale fold_ids.npy kept"
# ... unless the fold ids are that file: then it stays, and describes the search
rrr 2 cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 --folds 4 --quiet --out "$W/c3" >/dev/null 2>&1
cp "$W/c3/fold_ids.npy" "$W/ids_copy.npy"
rrr 2 cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 --fold-ids "$W/c3/fold_ids.npy" --quiet \
    --out "$W/c3" >/dev/null 2>&1 && cmp -s "$W/c3/fold_ids.npy" "$W/ids_copy.npy" &&
    pass "cv --fold-ids DIR/fold_ids.npy --out DIR keeps it" || fail "cv --fold-ids from DIR"
ln -s "$W/c3/fold_ids.npy" "$W/ids_link.npy" # ... also when named through a link
rrr 2 cv "${XY[@]}" --rank 1:2 --lambda 0.1,1 --fold-ids "$W/ids_link.npy" --quiet \
    --out "$W/c3" >/dev/null 2>&1 && cmp -s "$W/c3/fold_ids.npy" "$W/ids_copy.npy" &&
    pass "cv --fold-ids LINK-TO-DIR/fold_ids.npy --out DIR keeps it" || fail "cv --fold-ids via a link"
summary
