#!/usr/bin/env bash
# tests/mpi/test_kill.sh: SIGKILL at a random moment of fit, gen and predict (the whole job,
# as a scheduler or the OOM killer does it) leaves no partial or mixed output: each output
# name holds either the previous complete file or the new complete one, and a model
# directory reads as the previous model or the new one (or, if the kill fell between two
# renames of the commit, is refused as torn: never used mixed). A bounded number of
# random kill times per command (about 25 s in all).
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
WATCHDOGS=()
trap 'kill ${WATCHDOGS[*]} 2>/dev/null; rm -rf "$WORK"' EXIT
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 4000 --p 200 --q 20 --rank 4 --seed 8
$PYTHON -c "import numpy as n; n.save('$W/Xp.npy', n.load('$W/X.npy')[:7])"
F=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank 4 --solver gd --tol 0 --max-iter 40 --no-certificate --quiet)
rrr 2 "${F[@]}" --lambda 0.01 --out "$W/A" 2>/dev/null
rrr 2 "${F[@]}" --lambda 100 --out "$W/B" 2>/dev/null
for m in A B; do rrr 1 predict --model "$W/$m" --x "$W/Xp.npy" --out "$W/p$m.npy" 2>/dev/null; done
G=(gen --n 20000 --p 40 --q 20 --rank 3)
rrr 2 "${G[@]}" --seed 1 --out "$W/g1" 2>/dev/null
rrr 2 "${G[@]}" --seed 2 --out "$W/g2" 2>/dev/null
rrr 2 predict --model "$W/A" --x "$W/X.npy" --out "$W/yA.npy" 2>/dev/null
rrr 2 predict --model "$W/B" --x "$W/X.npy" --out "$W/yB.npy" 2>/dev/null

# killed NP MAXMS ARGS...: start rrr in a session of its own, SIGKILL every process of
# the session (mpirun and the ranks, which Open MPI puts in process groups of their own)
# after a random 0..MAXMS ms, or once it finished; return when all of them are gone
killed() {
    local np=$1 maxms=$2; shift 2
    setsid mpirun --oversubscribe -np "$np" "$RRR_BIN" "$@" >/dev/null 2>&1 &
    local bg=$! k
    (sleep 60; kill -KILL $(pgrep -s $bg)) >/dev/null 2>&1 & WATCHDOGS+=($!)
    sleep "$(awk -v r=$RANDOM -v m="$maxms" 'BEGIN {printf "%.3f", r / 32768 * m / 1000}')"
    kill -KILL $(pgrep -s $bg) 2>/dev/null
    wait $bg 2>/dev/null
    for k in $(seq 1 100); do [[ -z $(pgrep -s $bg) ]] && break; sleep 0.05; done
}
one_of() { # one_of FILE CANDIDATE...: FILE is absent or byte-identical to a candidate
    local f=$1 c; shift
    [[ -e $f ]] || return 0
    [[ -f $f && ! -L $f ]] || return 1
    for c in "$@"; do cmp -s "$f" "$c" && return 0; done
    return 1
}

bad=0 torn=0
for i in $(seq 1 7); do # fit over model A writing model B
    rm -rf "$W/m" && cp -r "$W/A" "$W/m"
    killed 2 1500 "${F[@]}" --lambda 100 --out "$W/m"
    for f in U.npy V.npy model.json; do
        one_of "$W/m/$f" "$W/A/$f" "$W/B/$f" || { bad=1; echo "fit kill $i: $f is neither model's"; }
    done
    rrr 1 predict --model "$W/m" --x "$W/Xp.npy" --out "$W/pm.npy" >/dev/null 2>"$W/err"
    rc=$?
    if [[ $rc -eq 0 ]]; then
        one_of "$W/pm.npy" "$W/pA.npy" "$W/pB.npy" || { bad=1; echo "fit kill $i: mixed prediction"; }
    elif [[ $rc -eq 2 ]] && grep -q 'does not match the checksum' "$W/err"; then torn=$((torn + 1))
    else bad=1; echo "fit kill $i: predict exit $rc"; fi
    rm -f "$W/pm.npy"
done
[[ $bad -eq 0 ]] && pass "SIGKILL during fit: the model directory is the old or the new model ($torn refused as torn)" ||
    fail "SIGKILL during fit left a partial or mixed model"

bad=0
for i in $(seq 1 7); do # gen with seed 2 over the files of seed 1
    rm -rf "$W/g" && cp -r "$W/g1" "$W/g"
    killed 2 800 "${G[@]}" --seed 2 --out "$W/g"
    from=""
    for f in X Y U_true V_true; do
        if cmp -s "$W/g/$f.npy" "$W/g1/$f.npy"; then from="${from}1"
        elif cmp -s "$W/g/$f.npy" "$W/g2/$f.npy"; then from="${from}2"
        else bad=1; echo "gen kill $i: $f.npy is neither complete file"; fi
    done
    [[ $from == 1111 || $from == 2222 ]] || { bad=1; echo "gen kill $i: files from seeds $from"; }
done
[[ $bad -eq 0 ]] && pass "SIGKILL during gen: every file complete, all from one run" ||
    fail "SIGKILL during gen left a partial or mixed output"

bad=0
for i in $(seq 1 7); do # predict with model B over YHAT of model A
    cp "$W/yA.npy" "$W/yh.npy"
    killed 2 800 predict --model "$W/B" --x "$W/X.npy" --out "$W/yh.npy"
    one_of "$W/yh.npy" "$W/yA.npy" "$W/yB.npy" || { bad=1; echo "predict kill $i: YHAT partial"; }
    [[ -e $W/yh.npy ]] || { bad=1; echo "predict kill $i: the previous YHAT is gone"; }
done
[[ $bad -eq 0 ]] && pass "SIGKILL during predict: YHAT is the old or the new one, complete" ||
    fail "SIGKILL during predict left a partial YHAT"
summary
