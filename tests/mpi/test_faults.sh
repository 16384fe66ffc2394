#!/usr/bin/env bash
# tests/mpi/test_faults.sh: the k-th allocation fails on one rank (RRR_FAIL_ALLOC=R:K), for
# every k a command makes: every rank must exit with the same code (1, or 0 once k is past
# the last allocation), one message, no hang, and no output left behind.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 50 --p 6 --q 4 --rank 2 --offset 1 --seed 2
rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver gd --intercept --out "$W/m" --quiet 2>/dev/null

# faults K NP RANK NAME ARGS...: K = 1, 2, ... until the command succeeds
faults() {
    local np=$1 rank=$2 name=$3; shift 3
    local k bad=0 ran=0
    # every k up to 12, then every 3rd: each failure path is hit, at a bounded cost
    for k in $(seq 1 12) $(seq 14 3 300); do
        rm -rf "$W/out" "$W/out.npy"
        RRR_FAIL_ALLOC=$rank:$k $MPIRUN -x RRR_FAIL_ALLOC -np "$np" "$RRR_BIN" "$@" >"$W/fo" 2>"$W/fe"
        local rc=$? nerr; nerr=$(grep -c '^rrr: error:' "$W/fe")
        ran=$((ran + 1))
        [[ $rc -eq 0 ]] && break
        if [[ $rc -ne 1 || $nerr -ne 1 || -e $W/out/U.npy || -e $W/out.npy ]]; then
            bad=1; echo "k=$k: exit $rc, $nerr error lines"; head -n 3 "$W/fe"; break
        fi
    done
    [[ $bad -eq 0 && $rc -eq 0 ]] && pass "$name: $((ran - 1)) allocation failures tried on rank $rank, each exits 1 cleanly" \
        || fail "$name (stopped at k=$k, exit $rc)"
}
faults 3 1 "fit gd --intercept np=3" fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver gd \
    --intercept --out "$W/out" --quiet
faults 2 1 "fit exact np=2" fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver exact --out "$W/out" --quiet
faults 2 1 "predict np=2" predict --model "$W/m" --x "$W/X.npy" --y "$W/Y.npy" --out "$W/out.npy"
faults 2 1 "gen np=2" gen --n 20 --p 3 --q 3 --rank 1 --out "$W/out"
summary
