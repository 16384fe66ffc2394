#!/usr/bin/env bash
# tests/mpi/test_checkpoint.sh: checkpoints, signals and resume: a stopped or killed run
# resumes to bitwise the same U and V as an uninterrupted one; wrong or corrupt checkpoints
# are refused.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 20000 --p 120 --q 10 --rank 3 --corr 0.995 --seed 9
BASE=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank 3 --lambda 0.001 --solver gd --tol 0)
FIT=("${BASE[@]}" --max-iter 1500)
# Runs that get signals use mpirun itself (timeout would not forward SIGUSR1), with a
# watchdog that kills the job's session if it ever hangs (Open MPI puts each rank in a
# process group of its own: the session, started by setsid, holds them all).
BGRUN="mpirun --oversubscribe"
WATCHDOGS=()
watchdog() { (sleep 120; kill -KILL $(pgrep -s $BG)) >/dev/null 2>&1 & WATCHDOGS+=($!); }
trap 'kill ${WATCHDOGS[*]} 2>/dev/null; rm -rf "$WORK"' EXIT
same() { cmp -s "$1/U.npy" "$2/U.npy" && cmp -s "$1/V.npy" "$2/V.npy"; }

rrr 2 "${FIT[@]}" --out "$W/ref" --quiet 2>/dev/null
iters=$(grep -o '"iterations": [0-9]*' "$W/ref/model.json" | grep -o '[0-9]*$')
[[ ${iters:-0} -eq 1500 ]] && pass "reference run takes $iters iterations" || fail "reference run too short ($iters)"

# start FIT in the background in its own process group; wait for a first checkpoint
start_bg() { # start_bg NP OUT CKPT
    setsid $BGRUN -np "$1" "$RRR_BIN" "${FIT[@]}" --out "$2" --checkpoint "$3" \
        --checkpoint-every 10 --resume >"$W/bg.out" 2>"$W/bg.err" &
    BG=$!
    watchdog
    for _ in $(seq 1 200); do [[ -s $3/checkpoint.bin ]] && return 0; sleep 0.05; done
    return 1
}

# 1. SIGUSR1 through mpirun: checkpoint at the next iteration, exit 5, --out untouched
start_bg 2 "$W/o1" "$W/c1" || fail "no checkpoint appeared"
sleep 0.$((RANDOM % 5))
kill -USR1 $BG; wait $BG; rc=$?
[[ $rc -eq 5 ]] && pass "SIGUSR1: exit 5" || fail "SIGUSR1: exit $rc"
grep -q 'checkpoint saved' "$W/bg.err" && pass "SIGUSR1: says the checkpoint was saved" || fail "SIGUSR1 message"
[[ ! -e $W/o1 ]] && pass "SIGUSR1: --out untouched" || fail "SIGUSR1: --out was written"
rrr 2 "${FIT[@]}" --out "$W/o1" --checkpoint "$W/c1" --resume 2>"$W/res.err" >/dev/null
grep -q 'resuming from iteration' "$W/res.err" && pass "resume says where it resumes" || fail "resume message"
same "$W/ref" "$W/o1" && pass "resumed after SIGUSR1 = uninterrupted (bitwise, np=2)" || fail "resumed after SIGUSR1 differs"
check "resumed: the same gradient_norm_initial and gradient_ratio as uninterrupted" $PYTHON -c "
import json; a, b = (json.load(open('$W/' + d + '/model.json')) for d in ('ref', 'o1'))
assert all(a[k] == b[k] for k in ('gradient_norm_initial', 'gradient_ratio')), (a, b)"

# 2. SIGKILL of the whole job at a random moment: resume from the last checkpoint
start_bg 2 "$W/o2" "$W/c2" || fail "no checkpoint appeared (kill test)"
sleep 0.$((RANDOM % 9))
kill -KILL $(pgrep -s $BG) 2>/dev/null; wait $BG 2>/dev/null
for _ in $(seq 1 100); do [[ -z $(pgrep -s $BG) ]] && break; sleep 0.05; done # ranks gone too
rrr 2 "${FIT[@]}" --out "$W/o2" --checkpoint "$W/c2" --resume >/dev/null 2>&1
same "$W/ref" "$W/o2" && pass "resumed after SIGKILL = uninterrupted (bitwise)" || fail "resumed after SIGKILL differs"
ls "$W/c2" | grep -q tmp && fail "temporary checkpoint left after SIGKILL" || pass "no partial checkpoint visible"
# what a SIGKILL mid-write leaves (checkpoint.bin.tmp.<16 hex>[.old]) the next writer removes:
# regular files and links (as links); nothing else
echo victim >"$W/victim"
touch "$W/c2/checkpoint.bin.tmp.0123456789abcdef" "$W/c2/checkpoint.bin.tmp.fedcba9876543210.old" \
    "$W/c2/checkpoint.bin.tmp.mine" "$W/c2/other.tmp.0123456789abcdef"
ln -s "$W/victim" "$W/c2/checkpoint.bin.tmp.00000000000000aa"
rrr 3 "${BASE[@]}" --max-iter 3 --out "$W/o2b" --checkpoint "$W/c2" --resume >/dev/null 2>&1
check "a killed writer's temporaries are swept, nothing else" bash -c "
    cd '$W/c2' && ! ls -a | grep -q 'checkpoint.bin.tmp.[0-9a-f]\{16\}' &&
    [[ -e checkpoint.bin.tmp.mine && -e other.tmp.0123456789abcdef && \$(cat '$W/victim') == victim ]]"

# 2b. the residual form (no X^T Y kept) resumes bitwise too
rrr 2 "${BASE[@]}" --max-iter 60 --gd-xty off --out "$W/ref60" --quiet >/dev/null 2>&1
rrr 2 "${BASE[@]}" --max-iter 30 --gd-xty off --checkpoint "$W/c60" --checkpoint-every 15 --quiet >/dev/null 2>&1
rrr 2 "${BASE[@]}" --max-iter 60 --gd-xty off --checkpoint "$W/c60" --resume --out "$W/o60" --quiet >/dev/null 2>&1
same "$W/ref60" "$W/o60" && pass "residual form: resumed = uninterrupted (bitwise)" || fail "residual form resume differs"

# 3. resume on another number of ranks: 50 iterations at np=3 (checkpointed at 50), then
#    continue at np=4 with the default stopping rule: it must reach the optimum
rrr 3 "${BASE[@]}" --max-iter 50 --checkpoint "$W/c3" --checkpoint-every 25 --quiet >/dev/null 2>&1
rrr 4 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 3 --lambda 0.001 --solver gd --max-iter 5000 \
    --out "$W/o3" --checkpoint "$W/c3" --resume >/dev/null 2>"$W/np4.err"
grep -q 'resuming from iteration 50' "$W/np4.err" && pass "np=4 resumes the np=3 checkpoint" || fail "np=4 resume"
check "checkpoint from np=3 finished at np=4 reaches f*" $PYTHON tests/mpi/check.py verify --x "$W/X.npy" \
    --y "$W/Y.npy" --model "$W/o3" --lambda 0.001 --rank 3

# 4. refused checkpoints: another problem (exit 2), corrupt (exit 2); none yet (fresh start)
expect_exit 2 "checkpoint of another lambda" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 3 --lambda 0.5 \
    --solver gd --checkpoint "$W/c1" --resume
grep -q 'another problem' "$W/err" && pass "message says another problem" || fail "message for another problem"
expect_exit 2 "checkpoint of another rank" 3 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.001 \
    --solver gd --checkpoint "$W/c1" --resume
$PYTHON -c "import numpy as np; Y=np.load('$W/Y.npy'); Y[7,1] += 1e-9; np.save('$W/Y2.npy', Y)"
expect_exit 2 "checkpoint of other data" 2 fit --x "$W/X.npy" --y "$W/Y2.npy" --rank 3 --lambda 0.001 \
    --solver gd --checkpoint "$W/c1" --resume
cp -r "$W/c1" "$W/bad"
# flip every bit of byte 200 (writing a fixed value did nothing when the byte already held it)
$PYTHON -c "import sys; f = open(sys.argv[1], 'r+b'); f.seek(200); b = f.read(1); f.seek(200); f.write(bytes([b[0] ^ 0xff]))" "$W/bad/checkpoint.bin"
cmp -s "$W/c1/checkpoint.bin" "$W/bad/checkpoint.bin" && fail "the corrupt copy differs from the checkpoint"
expect_exit 2 "corrupt checkpoint" 2 "${FIT[@]}" --checkpoint "$W/bad" --resume
cp "$W/c1/checkpoint.bin" "$W/bad/checkpoint.bin"
printf '1' | dd of="$W/bad/checkpoint.bin" bs=1 seek=7 conv=notrunc 2>/dev/null # "RRRCKPT1"
expect_exit 2 "checkpoint of an older format" 3 "${FIT[@]}" --checkpoint "$W/bad" --resume
grep -q 'another rrr version' "$W/err" && pass "message says another rrr version" || fail "message for an older format"
head -c 100 "$W/c1/checkpoint.bin" >"$W/bad/checkpoint.bin"
expect_exit 2 "truncated checkpoint" 1 "${FIT[@]}" --checkpoint "$W/bad" --resume
rrr 2 "${BASE[@]}" --max-iter 3 --checkpoint "$W/fresh" --resume >/dev/null 2>"$W/fresh.err"
grep -q 'starting afresh' "$W/fresh.err" && pass "--resume without a checkpoint starts afresh" || fail "fresh start message"

# 5. als checkpoints too: 6 iterations then 6 more from the checkpoint = 12 in one go
ALS=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank 3 --lambda 0.001 --solver als --tol 0 --quiet)
rrr 3 "${ALS[@]}" --max-iter 12 --out "$W/a12" >/dev/null 2>&1
rrr 3 "${ALS[@]}" --max-iter 6 --checkpoint "$W/ca" --checkpoint-every 3 >/dev/null 2>&1
rrr 3 "${ALS[@]}" --max-iter 12 --checkpoint "$W/ca" --resume --out "$W/a6" >/dev/null 2>&1
same "$W/a12" "$W/a6" && pass "als resumed = uninterrupted (bitwise)" || fail "als resume differs"
expect_exit 2 "a gd run refuses the als checkpoint" 2 "${FIT[@]}" --checkpoint "$W/ca" --resume

# 6. SIGTERM to the ranks (as srun or a scheduler delivers it) without --checkpoint: exit 5,
#    and the message says nothing was saved
setsid $BGRUN -np 2 "$RRR_BIN" "${BASE[@]}" --max-iter 1000000 --out "$W/o5" >/dev/null 2>"$W/e5" &
BG=$!; watchdog
for _ in $(seq 1 200); do grep -q 'iter      9' "$W/e5" && break; sleep 0.05; done
kill -TERM $(pgrep -P $BG); wait $BG; rc=$?
[[ $rc -eq 5 ]] && grep -q 'nothing was written' "$W/e5" && pass "SIGTERM without --checkpoint: exit 5, nothing saved" \
    || { fail "SIGTERM without --checkpoint (exit $rc)"; tail -3 "$W/e5"; }
[[ ! -e $W/o5 ]] && pass "SIGTERM: no output" || fail "SIGTERM: output written"

# 7. SIGINT (Ctrl-C) to the ranks, as a run without mpirun gets it: the same clean stop
setsid $BGRUN -np 2 "$RRR_BIN" "${BASE[@]}" --max-iter 1000000 --out "$W/o7" >/dev/null 2>"$W/e7" &
BG=$!; watchdog
for _ in $(seq 1 200); do grep -q 'iter      9' "$W/e7" && break; sleep 0.05; done
kill -INT $(pgrep -P $BG); wait $BG; rc=$?
[[ $rc -eq 5 ]] && grep -q 'nothing was written' "$W/e7" && [[ ! -e $W/o7 ]] &&
    pass "SIGINT: exit 5, nothing written" || { fail "SIGINT (exit $rc)"; tail -3 "$W/e7"; }
# 8. gen and predict catch the signal too: exit 5, and nothing of their outputs is left, not
#    even the temporaries they were writing (they had stayed behind: a killed gen of 32 GB
#    left 32 GB of X.npy.tmp.*); gen stops at its next panel, predict before it commits
setsid $BGRUN -np 2 "$RRR_BIN" gen --n 3000000 --p 40 --q 20 --rank 3 --out "$W/g8" >/dev/null 2>"$W/e8" &
BG=$!; watchdog
for _ in $(seq 1 200); do compgen -G "$W/g8/X.npy.tmp.*" >/dev/null && break; sleep 0.05; done
kill -TERM $(pgrep -P $BG); wait $BG; rc=$?
[[ $rc -eq 5 && ! -e $W/g8 ]] && grep -q 'nothing was written\|no output was written' "$W/e8" &&
    pass "SIGTERM to gen: exit 5, no directory, no temporaries" ||
    { fail "SIGTERM to gen (exit $rc)"; ls -a "$W/g8" 2>&1 | head -5; tail -3 "$W/e8"; }
rrr 2 gen --n 600000 --p 40 --q 20 --rank 3 --out "$W/g9" >/dev/null 2>&1
rrr 2 fit --x "$W/g9/X.npy" --y "$W/g9/Y.npy" --rank 3 --lambda 1 --solver exact --quiet --out "$W/m9" >/dev/null 2>&1
setsid $BGRUN -np 2 "$RRR_BIN" predict --model "$W/m9" --x "$W/g9/X.npy" --y "$W/g9/Y.npy" \
    --scores "$W/s9.json" --out "$W/y9.npy" >/dev/null 2>"$W/e9" &
BG=$!; watchdog
for _ in $(seq 1 200); do [[ -n $(pgrep -f "predict --model $W/m9") ]] && break; sleep 0.02; done
sleep 0.3 # past MPI's start, where the handler is installed
kill -TERM $(pgrep -P $BG) 2>/dev/null; wait $BG; rc=$?
left=$(ls -a "$W" | grep -c '^y9\|^s9\|\.tmp\.')
if [[ $rc -eq 0 ]]; then echo "NOTE: predict ended before the signal (nothing tested)"
else
    [[ $rc -eq 5 && $left -eq 0 ]] && grep -q 'no output was written' "$W/e9" &&
        pass "SIGTERM to predict: exit 5, neither the predictions nor the scores, no temporaries" ||
        { fail "SIGTERM to predict (exit $rc, $left files left)"; tail -3 "$W/e9"; }
fi

# the last iterate of a finished run is checkpointed too (here 60, a multiple of
# --checkpoint-every); a resume judges it again: under the same options it stops there (it
# stepped to 61 before), to the same bits, and below its --max-iter it stops at once
SHORT=("${BASE[@]}" --max-iter 60 --checkpoint "$W/ck60" --checkpoint-every 20 --quiet)
rrr 2 "${SHORT[@]}" --out "$W/s1" 2>/dev/null
rrr 2 "${SHORT[@]}" --resume --out "$W/s2" 2>/dev/null
it=$(grep -o '"iterations": [0-9]*' "$W/s2/model.json" | grep -o '[0-9]*$')
same "$W/s1" "$W/s2" && [[ $it -eq 60 ]] && pass "resume of a finished run: 60 iterations, bitwise" ||
    fail "resume of a finished run: $it iterations, same bits: $(same "$W/s1" "$W/s2" && echo yes || echo no)"
rrr 2 "${BASE[@]}" --max-iter 30 --checkpoint "$W/ck60" --resume --quiet --out "$W/s3" 2>/dev/null
it=$(grep -o '"iterations": [0-9]*' "$W/s3/model.json" | grep -o '[0-9]*$')
same "$W/s1" "$W/s3" && [[ $it -eq 60 ]] && pass "resume with --max-iter below the checkpoint's iteration: stops at it" ||
    fail "resume with a lower --max-iter: $it iterations"

summary
