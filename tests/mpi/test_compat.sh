#!/usr/bin/env bash
# tests/mpi/test_compat.sh: checkpoints written by the rrr before the iteration engine
# (format 2, tests/data/ckpt-v2, made by `rrr gen --n 3000 --p 30 --q 8 --rank 3 --seed 3`
# and fits at lambda 0.01, --tol 0: gd at iteration 20 in both forms, als at 4) resume with
# this build at 1-3 ranks and end where an uninterrupted run of this build ends. On the
# machine that wrote them the results are bitwise equal (scripts/compare-outputs.sh checks
# that); elsewhere the BLAS kernel may differ, so here B = U V^T must agree to 1e-10.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
rrr 2 gen --n 3000 --p 30 --q 8 --rank 3 --seed 3 --out "$W/data" 2>/dev/null
# not --quiet: the "resuming from iteration" line is progress output
F=(fit --x "$W/data/X.npy" --y "$W/data/Y.npy" --rank 3 --lambda 0.01 --tol 0)
for spec in "gd gd 20 60" "gdoff gd 20 60 --gd-xty off" "als als 4 10"; do
    set -- $spec
    name=$1 solver=$2 at=$3 to=$4
    shift 4
    rrr 2 "${F[@]}" --solver "$solver" --max-iter "$to" --out "$W/ref-$name" --quiet "$@" >/dev/null 2>&1
    for np in 1 3; do
        mkdir -p "$W/ck-$name-$np"
        cp "tests/data/ckpt-v2/$name.bin" "$W/ck-$name-$np/checkpoint.bin"
        rrr $np "${F[@]}" --solver "$solver" --max-iter "$to" --checkpoint "$W/ck-$name-$np" \
            --resume --out "$W/res-$name-$np" "$@" >/dev/null 2>"$W/err"
        rc=$?
        if [[ $rc -eq 0 ]] && grep -q "resuming from iteration $at " "$W/err"; then
            pass "format-2 $name checkpoint resumes at iteration $at (np=$np)"
        else
            fail "format-2 $name checkpoint (np=$np, exit $rc)"; cat "$W/err" | tail -n 3
        fi
        check "format-2 $name resumed = uninterrupted to 1e-10 (np=$np)" $PYTHON tests/mpi/check.py \
            compare "$W/ref-$name" "$W/res-$name-$np" --tol 1e-10
        grep -q "\"iterations\": $to," "$W/res-$name-$np/model.json" &&
            pass "format-2 $name: $to iterations in all" || fail "format-2 $name iteration count"
    done
done
# a run resumed from format 2 writes format 4 without the start's own gradient norm (not
# known): that checkpoint resumes too (it was once refused as corrupt), to the same end
for spec in "gd gd" "als als"; do
    set -- $spec
    name=$1 solver=$2 to=60
    [[ $solver == als ]] && to=10
    mkdir -p "$W/chain-$name"
    cp "tests/data/ckpt-v2/$name.bin" "$W/chain-$name/checkpoint.bin"
    rrr 2 "${F[@]}" --solver "$solver" --max-iter $((to - 3)) --checkpoint "$W/chain-$name" \
        --checkpoint-every 1 --resume --quiet --out "$W/chain1-$name" >/dev/null 2>&1
    head -c 8 "$W/chain-$name/checkpoint.bin" | grep -q RRRCKPT4 &&
        pass "format 2 resumed, then saved as format 4 ($name)" || fail "no format-4 checkpoint ($name)"
    rrr 3 "${F[@]}" --solver "$solver" --max-iter $to --checkpoint "$W/chain-$name" --resume \
        --quiet --out "$W/chain2-$name" >/dev/null 2>"$W/err" &&
        pass "... and that one resumes ($name)" || { fail "second resume ($name)"; tail -n 2 "$W/err"; }
    check "format 2 -> 4 -> end = uninterrupted to 1e-10 ($name)" $PYTHON tests/mpi/check.py \
        compare "$W/ref-$name" "$W/chain2-$name" --tol 1e-10
done
summary
