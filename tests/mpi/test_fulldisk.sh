#!/usr/bin/env bash
# tests/mpi/test_fulldisk.sh: a full filesystem during every kind of write (MPI-IO rows,
# rank 0's files, the report, checkpoints) at 1-3 ranks: each run either succeeds with
# complete outputs or exits 3 with one message and leaves nothing (no partial file, no
# temporary, no directory it created; an existing model or checkpoint unchanged). The
# filesystem is a 64 KiB tmpfs this test mounts and unmounts; where mounting is not
# allowed (not root, a container without CAP_SYS_ADMIN) the test is skipped.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
FULL=$W/full
mkdir -p "$FULL"
mount -t tmpfs -o size=64k,mode=0755 rrr-test-full "$FULL" 2>/dev/null ||
    skip "cannot mount a tmpfs here (needs root and permission to mount): full-disk tests not run"
trap 'umount "$FULL" 2>/dev/null; rm -rf "$WORK"' EXIT

# fill KB: leave KB kilobytes free on the tmpfs (it counts 4 KiB pages)
fill() {
    find "$FULL" -mindepth 1 -maxdepth 1 ! -name keep -exec rm -rf {} +
    dd if=/dev/zero of="$FULL/filler" bs=4k count=$(((64 - $1) / 4)) status=none 2>/dev/null
}
# outcome NAME RC OUTPUT...: exit 0 with every OUTPUT present, or exit 3 with one message
# and none of them; never anything left over. Counts the outcomes in OK0 and OK3.
OK0=0 OK3=0
outcome() {
    local name=$1 rc=$2; shift 2
    local nerr left f present=0
    nerr=$(grep -c '^rrr: error:' "$W/err")
    left=$(leftovers "$FULL" "$W/out")
    for f in "$@"; do [[ -e $f ]] && present=$((present + 1)); done
    if [[ -n $left ]]; then
        fail "$name: left behind: $left"
    elif [[ $rc -eq 0 && $present -eq $# ]]; then
        OK0=$((OK0 + 1)); return 0
    elif [[ $rc -eq 3 && $nerr -eq 1 && $present -eq 0 ]]; then
        OK3=$((OK3 + 1)); return 0
    else
        fail "$name: exit $rc, $nerr error lines, $present of $# outputs"; head -n 3 "$W/err"
    fi
    return 1
}
summary_of() { # summary_of NAME: both outcomes must have been seen
    if [[ $OK3 -gt 0 && $OK0 -gt 0 ]]; then pass "$1: $OK3 runs exit 3 leaving nothing, $OK0 complete"
    else fail "$1: $OK3 runs exit 3, $OK0 complete (want both)"; fi
    OK0=0 OK3=0
}

mkdir -p "$W/out"
rrr 2 gen --n 3000 --p 10 --q 8 --rank 2 --seed 1 --out "$W/d" 2>/dev/null
rrr 2 gen --n 200 --p 10 --q 8 --rank 2 --seed 1 --out "$W/small" 2>/dev/null
rrr 2 fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 2 --lambda 1 --intercept --out "$W/m" --quiet >/dev/null 2>&1
rrr 1 predict --model "$W/m" --x "$W/small/X.npy" --out "$W/yh-ref.npy" >/dev/null 2>&1

# predict --out: MPI-IO rows and header (200 x 8: 12.9 KB)
for np in 1 3; do
    for free in 0 4 8 12 16 24; do
        fill $free
        rrr $np predict --model "$W/m" --x "$W/small/X.npy" --y "$W/small/Y.npy" --out "$FULL/yh.npy" >"$W/o" 2>"$W/err"
        rc=$?
        outcome "predict np=$np free=${free}k" $rc "$FULL/yh.npy" || continue
        if [[ $rc -eq 0 ]]; then
            cmp -s "$FULL/yh.npy" "$W/yh-ref.npy" || fail "predict np=$np free=${free}k: YHAT differs"
            grep -q '^mse' "$W/o" || fail "predict np=$np free=${free}k: no mse printed"
        elif [[ -s $W/o ]]; then
            fail "predict np=$np free=${free}k: printed scores although it failed"
        fi
    done
    summary_of "predict --out on a full disk (np=$np)"
done

# predict --out FILE.h5:/Yhat (parallel HDF5 under an exclusive temporary) and --scores:
# YHAT and S.json are one commit
if rrr 1 --version 2>/dev/null | grep -q '^HDF5'; then
    for np in 1 3; do
        for free in 0 8 16 24 40; do
            fill $free
            rrr $np predict --model "$W/m" --x "$W/small/X.npy" --y "$W/small/Y.npy" \
                --out "$FULL/yh.h5:/Yhat" --scores "$FULL/s.json" >"$W/o" 2>"$W/err"
            outcome "predict HDF5 np=$np free=${free}k" $? "$FULL/yh.h5" "$FULL/s.json"
        done
        summary_of "predict --out FILE.h5:/Yhat --scores on a full disk (np=$np)"
    done
fi

# cv --out: the model, cv.json, cv.csv and fold_ids.npy in one commit
for free in 0 8 16 24 40; do
    fill $free
    rrr 2 cv --x "$W/small/X.npy" --y "$W/small/Y.npy" --rank 1,2 --lambda 0.1,1 --folds 3 \
        --quiet --out "$FULL/cv" >"$W/o" 2>"$W/err"
    outcome "cv free=${free}k" $? "$FULL/cv/model.json" "$FULL/cv/cv.json" "$FULL/cv/fold_ids.npy"
done
summary_of "cv --out on a full disk (np=2)"

# gen --out: X.npy and Y.npy over MPI-IO, U_true and V_true from rank 0 (about 40 KB)
rrr 1 gen --n 200 --p 10 --q 8 --rank 2 --seed 4 --out "$W/g-ref" 2>/dev/null
for free in 0 8 16 24 32 36 40 48; do
    fill $free
    rrr 2 gen --n 200 --p 10 --q 8 --rank 2 --seed 4 --out "$FULL/g" >/dev/null 2>"$W/err"
    rc=$?
    outcome "gen free=${free}k" $rc "$FULL/g" || continue
    if [[ $rc -eq 0 ]]; then
        for f in X Y U_true V_true; do
            cmp -s "$FULL/g/$f.npy" "$W/g-ref/$f.npy" || fail "gen free=${free}k: $f.npy differs"
        done
    fi
done
summary_of "gen --out on a full disk (np=2)"

# fit --out: U, V, the means and model.json from rank 0 (5 files of one page each)
for np in 1 2; do
    for free in 0 4 8 12 16 20 24; do
        fill $free
        rrr $np fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 2 --lambda 1 --intercept --out "$FULL/m" \
            --quiet >/dev/null 2>"$W/err"
        rc=$?
        outcome "fit --out np=$np free=${free}k" $rc "$FULL/m" || continue
        if [[ $rc -eq 0 ]]; then
            for f in U V x_mean y_mean; do [[ -s $FULL/m/$f.npy ]] || fail "fit free=${free}k: no $f.npy"; done
            rrr 1 predict --model "$FULL/m" --x "$W/small/X.npy" --out "$W/out/yh.npy" >/dev/null 2>&1 &&
                $PYTHON -c "import numpy as n, sys; sys.exit(not n.allclose(n.load('$W/out/yh.npy'), n.load('$W/yh-ref.npy'), rtol=1e-9, atol=1e-12))" ||
                fail "fit free=${free}k: the model written does not predict as the reference"
        fi
    done
    summary_of "fit --out on a full disk (np=$np)"
done

# --report on the full disk, --out elsewhere: both appear, or neither
for free in 0 4 8; do
    fill $free
    rm -rf "$W/out/m"
    rrr 2 fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 2 --lambda 1 --out "$W/out/m" \
        --report "$FULL/r.json" --quiet >/dev/null 2>"$W/err"
    outcome "fit --report free=${free}k" $? "$FULL/r.json" "$W/out/m/model.json"
done
summary_of "fit --report on a full disk: report and model in one commit"
# --out on the full disk, --report elsewhere: no report left behind when --out fails
for free in 0 8 24; do
    fill $free
    rm -f "$W/out/r.json"
    rrr 2 fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 2 --lambda 1 --intercept --out "$FULL/m" \
        --report "$W/out/r.json" --quiet >/dev/null 2>"$W/err"
    outcome "fit --out with --report free=${free}k" $? "$FULL/m/model.json" "$W/out/r.json"
done
summary_of "fit --out on a full disk: no --report left behind"

# an existing model is left as it was when the new one does not fit
fill 24
mkdir -p "$FULL/keep"
rrr 1 fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 1 --lambda 3 --out "$FULL/keep/m" --quiet >/dev/null 2>&1
cp -r "$FULL/keep/m" "$W/out/before"
rm -f "$FULL/filler"
dd if=/dev/zero of="$FULL/filler" bs=4k count=$((16 - $(du -sk "$FULL" | cut -f1) / 4)) status=none 2>/dev/null
rrr 2 fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 2 --lambda 1 --intercept --out "$FULL/keep/m" \
    --quiet >/dev/null 2>"$W/err"
rc=$?
same=1
for f in U.npy V.npy model.json; do cmp -s "$FULL/keep/m/$f" "$W/out/before/$f" || same=0; done
[[ $rc -eq 3 && $same -eq 1 && ! -e $FULL/keep/m/x_mean.npy && -z $(leftovers "$FULL") ]] &&
    pass "a model that does not fit leaves the previous one as it was (exit 3)" ||
    { fail "overwriting a model on a full disk (exit $rc, unchanged $same)"; head -n 3 "$W/err"; }
rm -rf "$FULL/keep"

# --checkpoint: the first save fails (nothing left), or a later one (the previous kept)
CK=(fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 2 --lambda 1 --solver gd --tol 0 --quiet
    --checkpoint-every 2)
for np in 1 2; do
    fill 0
    rrr $np "${CK[@]}" --max-iter 4 --checkpoint "$FULL/ck" >/dev/null 2>"$W/err"
    outcome "checkpoint on a full disk np=$np" $? "$FULL/ck"
    summary_of_ck=$OK3
    fill 64
    rrr $np "${CK[@]}" --max-iter 2 --checkpoint "$FULL/ck" >/dev/null 2>&1
    cp "$FULL/ck/checkpoint.bin" "$W/ck.bin"
    dd if=/dev/zero of="$FULL/filler" bs=4k count=64 status=none 2>/dev/null
    rrr $np "${CK[@]}" --max-iter 8 --checkpoint "$FULL/ck" --resume >/dev/null 2>"$W/err"
    rc=$?
    [[ $summary_of_ck -eq 1 && $rc -eq 3 ]] && cmp -s "$FULL/ck/checkpoint.bin" "$W/ck.bin" &&
        [[ -z $(leftovers "$FULL") ]] &&
        pass "checkpoint on a full disk (np=$np): exit 3, nothing left; a later failed save keeps the previous one" ||
        { fail "checkpoint on a full disk (np=$np: first $summary_of_ck, later exit $rc)"; head -n 3 "$W/err"; }
    OK0=0 OK3=0
done
summary
