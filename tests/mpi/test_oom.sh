#!/usr/bin/env bash
# tests/mpi/test_oom.sh: when memory really runs out (ulimit -v), a fit exits with code 1
# and one message instead of hanging: OpenBLAS retries a failed mmap of its 128 MiB work
# buffer forever, so rrr maps that buffer at start-up, before the data, and says so when
# it cannot. The limits scanned cover start-up, reading, the buffer and the solve; every run
# must end (0, or 1 with "out of memory") within 30 s. ulimit -v cannot be combined with
# AddressSanitizer (its shadow memory is terabytes of address space): skipped under SAN=1.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
[[ ${SAN:-0} == 1 ]] && skip "ulimit -v and AddressSanitizer's shadow memory do not mix"
W=$WORK
rrr 2 gen --n 20000 --p 200 --q 50 --rank 5 --seed 3 --out "$W/d" 2>/dev/null || { fail "gen"; summary; exit; }
runs=0 oom=0 ok=0
# limit KB NP SOLVER: one fit under ulimit -v KB
limit() {
    bounded 30 bash -c "ulimit -v $1; exec mpirun --oversubscribe --mca odls_base_sigkill_timeout 0 -np $2 '$RRR_BIN' fit --x '$W/d/X.npy' \
        --y '$W/d/Y.npy' --rank 5 --lambda 1 --solver $3 --quiet" >/dev/null 2>"$W/err"
    local rc=$? nerr; nerr=$(grep -c '^rrr: error:' "$W/err")
    runs=$((runs + 1))
    if [[ $rc -eq 0 ]]; then ok=$((ok + 1))
    elif [[ $rc -eq 1 && $nerr -eq 1 ]] && grep -q 'out of memory' "$W/err"; then oom=$((oom + 1))
    else fail "ulimit -v $1 np=$2 $3: exit $rc (124: hung), $nerr error lines"; head -n 3 "$W/err"; fi
}
for kb in 260000 300000 330000 360000 390000 420000 480000; do limit $kb 1 auto; done
for kb in 390000 420000; do limit $kb 1 gd; done
for kb in 340000 380000; do limit $kb 2 auto; done
[[ $oom -gt 0 && $ok -gt 0 ]] && pass "$runs fits under ulimit -v: $oom exit 1 (out of memory), $ok complete, none hung" ||
    fail "ulimit scan: $oom out of memory, $ok complete of $runs (want both)"
# gen and predict write collectively through MPI-IO, whose buffers Open MPI allocates inside
# the collective call: short of memory there, one rank returned and the others waited (a
# hang) or it crashed; rrr checks for that room first. Every run ends 0, or 1 with nothing left.
rrr 2 fit --x "$W/d/X.npy" --y "$W/d/Y.npy" --rank 5 --lambda 1 --solver exact --out "$W/m" --quiet >/dev/null 2>&1
runs=0 oom=0 ok=0
io_limit() {
    local kb=$1; shift
    rm -rf "$W/g" "$W/yh.npy"*
    bounded 30 bash -c "ulimit -v $kb; exec mpirun --oversubscribe --mca odls_base_sigkill_timeout 0 -np 3 '$RRR_BIN' $*" \
        >/dev/null 2>"$W/err"
    local rc=$? nerr; nerr=$(grep -c '^rrr: error:' "$W/err")
    runs=$((runs + 1))
    if [[ $rc -eq 0 ]]; then ok=$((ok + 1))
    elif [[ $rc -eq 1 && $nerr -eq 1 ]] && grep -q 'out of memory' "$W/err" &&
         [[ -z $(ls "$W/g" "$W"/yh.npy* 2>/dev/null) ]]; then oom=$((oom + 1))
    else fail "ulimit -v $kb np=3 $1: exit $rc (124: hung), $nerr error lines, left: $(ls "$W/g" "$W"/yh.npy* 2>/dev/null)"
        head -n 3 "$W/err"; fi
}
for kb in 380000 400000 420000 440000 460000 480000 520000 600000; do
    io_limit $kb gen --n 20000 --p 200 --q 200 --rank 3 --out "$W/g"
    io_limit $kb predict --model "$W/m" --x "$W/d/X.npy" --out "$W/yh.npy"
done
[[ $oom -gt 0 && $ok -gt 0 ]] && pass "$runs gen/predict runs at 3 ranks under ulimit -v: $oom exit 1, $ok complete, none hung or left files" ||
    fail "gen/predict ulimit scan: $oom out of memory, $ok complete of $runs (want both)"
summary
