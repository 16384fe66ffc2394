#!/usr/bin/env bash
# scripts/compare-outputs.sh: show that two builds of rrr fit the same problems to the same
# bits: U.npy, V.npy and model.json (timing and kernel fields aside, and only the keys both
# write) on the demo problem and on the test suite's problems, at 1-4 ranks, with every
# solver and regime. Used to check that a refactoring changes nothing a user sees.
#   scripts/compare-outputs.sh OLD NEW     OLD, NEW: a binary, or a git revision to build
#   e.g. scripts/compare-outputs.sh edb979b bin/rrr
# Exit 0 when every output is identical; prints one line per difference.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
W=$(mktemp -d /tmp/rrr-compare.XXXXXX)
trap 'rm -rf "$W"; [[ -n ${WT:-} ]] && git worktree remove --force "$WT" >/dev/null 2>&1' EXIT

binary() { # binary REV-OR-PATH NAME: a path to an rrr binary
    if [[ -x $1 && ! -d $1 ]]; then echo "$1"; return; fi
    WT=$W/wt-$2
    git worktree add --detach "$WT" "$1" >/dev/null 2>&1 || { echo "cannot check out $1" >&2; exit 2; }
    make -C "$WT" -j2 bin/rrr >"$W/build-$2.log" 2>&1 || { echo "cannot build $1" >&2; exit 2; }
    echo "$WT/bin/rrr"
}
OLD=$(binary "$1" old) NEW=$(binary "$2" new)
RUN="timeout -k 5 300 mpirun --oversubscribe"

data() { local d=$W/data/$1; shift; mkdir -p "$d"; $PYTHON tests/mpi/check.py mkdata --out "$d" "$@"; }
data tall --n 2000 --p 40 --q 12 --rank 3 --seed 1
data wide --n 60 --p 150 --q 10 --rank 3 --seed 2
data qbig --n 400 --p 10 --q 60 --rank 4 --seed 3
data corr --n 500 --p 30 --q 8 --rank 3 --corr 0.95 --seed 4
data exact0 --n 300 --p 12 --q 9 --rank 2 --noise 0 --seed 5
data tiny --n 3 --p 2 --q 2 --rank 1 --seed 6
data offset --n 700 --p 15 --q 6 --rank 2 --offset 5 --seed 7
data nfcorr --n 2000 --p 40 --q 8 --rank 3 --corr 0.9 --noise 0 --seed 5
data nearex --n 1500 --p 30 --q 8 --rank 3 --corr 0.9 --noise 1e-5 --seed 4
data gq --n 300 --p 40 --q 100 --rank 5 --seed 7
$RUN -np 2 "$OLD" gen --n 100000 --p 200 --q 50 --rank 5 --noise 1 --seed 1 --out "$W/data/demo" 2>/dev/null

# case NAME NP DATA ARGS...: fit with both binaries
ncase=0 ndiff=0 nskip=0
mkdir -p "$W/old" "$W/new" "$W/old2"
case_() {
    local name=$1 np=$2 dat=$W/data/$3; shift 3
    ncase=$((ncase + 1))
    for b in old new; do
        local bin=$OLD; [[ $b == new ]] && bin=$NEW
        $RUN -np "$np" "$bin" fit --x "$dat/X.npy" --y "$dat/Y.npy" --out "$W/$b/$name" --quiet \
            "$@" >/dev/null 2>"$W/$b/$name.err"
        echo $? >"$W/$b/$name.rc"
    done
    same "$W/old/$name" "$W/new/$name" "$name" && return
    # A difference counts only if the old build reproduces itself: BLACS's reductions on a
    # 1 x 3 grid are not deterministic from run to run (seen with both builds).
    $RUN -np "$np" "$OLD" fit --x "$dat/X.npy" --y "$dat/Y.npy" --out "$W/old2/$name" --quiet \
        "$@" >/dev/null 2>&1
    echo $? >"$W/old2/$name.rc"
    if ! same "$W/old/$name" "$W/old2/$name" "$name (old twice)" >/dev/null; then
        echo "skip $name: the old build differs from itself on a rerun"
        nskip=$((nskip + 1))
    else
        ndiff=$((ndiff + 1))
    fi
}

# same DIR1 DIR2 NAME: the outputs agree (exit codes in DIR.rc files beside them)
same() {
    local a=$1 b=$2
    $PYTHON - "$a" "$b" "$3" "$(cat "$a.rc")" "$(cat "$b.rc")" <<'PY'
import json, os, sys
a, b, name, rca, rcb = sys.argv[1:]
if rca != rcb:
    sys.exit(print(f"DIFF {name}: exit {rca} vs {rcb}") or 1)
if rca != "0":
    print(f"both exit {rca}: {name}")
    sys.exit(0)
bad = [f for f in ("U.npy", "V.npy", "x_mean.npy", "y_mean.npy")
       if os.path.exists(f"{a}/{f}") != os.path.exists(f"{b}/{f}")
       or (os.path.exists(f"{a}/{f}") and open(f"{a}/{f}", "rb").read() != open(f"{b}/{f}", "rb").read())]
ja, jb = json.load(open(f"{a}/model.json")), json.load(open(f"{b}/model.json"))
skip = {"threads_per_rank", "blas_core"}
bad += [f"model.json:{k} {ja[k]!r} vs {jb.get(k)!r}" for k in ja if k not in skip and ja[k] != jb.get(k)]
if bad:
    sys.exit(print(f"DIFF {name}: {', '.join(bad)}") or 1)
PY
}

case_ demo-gd 2 demo --rank 5 --lambda 1 --solver gd
for np in 1 2 3 4; do
    case_ tall-gd-$np $np tall --rank 3 --lambda 1 --solver gd
    case_ tall-exact0-$np $np tall --rank 3 --lambda 0 --solver exact
    case_ tall-exact-$np $np tall --rank 3 --lambda 1.5 --solver exact
    case_ tall-als-$np $np tall --rank 3 --lambda 1.5 --solver als --tol 1e-20 --max-iter 2000
    case_ wide-als-$np $np wide --rank 2 --lambda 0.7 --solver als --tol 1e-20 --max-iter 2000
    case_ qbig-als-$np $np qbig --rank 3 --lambda 0.1 --solver als --tol 1e-20 --max-iter 2000
    case_ tall-auto-$np $np tall --rank 3 --lambda 1
    case_ offset-gd-$np $np offset --rank 2 --lambda 1 --intercept --solver gd
    case_ offset-als-$np $np offset --rank 2 --lambda 1 --intercept --solver als
    case_ gq-grid-exact-$np $np gq --rank 4 --lambda 0.3 --solver exact --grid-min-p 1
    case_ gq-grid-als-$np $np gq --rank 4 --lambda 0.3 --solver als --grid-min-p 1
done
case_ tall-d1 2 tall --rank 1 --lambda 1 --solver gd
case_ tall-dfull 3 tall --rank 12 --lambda 1 --solver gd
case_ wide-gd 2 wide --rank 3 --lambda 0.01 --solver gd
case_ wide-gd-l100 3 wide --rank 3 --lambda 100 --solver gd
case_ qbig-gd 3 qbig --rank 4 --lambda 0.5 --solver gd
case_ qbig-gd-d10 2 qbig --rank 10 --lambda 0.5 --solver gd
case_ corr-gd 4 corr --rank 3 --lambda 0.1 --solver gd
case_ exact0-gd 2 exact0 --rank 2 --lambda 0 --solver gd
case_ tiny-gd 4 tiny --rank 1 --lambda 0.1 --solver gd
case_ tall-gd-off 3 tall --rank 3 --lambda 1 --solver gd --gd-xty off
case_ wide-gd-off 2 wide --rank 3 --lambda 0.01 --solver gd --gd-xty off
case_ exact0-gd-off 2 exact0 --rank 2 --lambda 0 --solver gd --gd-xty off
case_ nfcorr-gd 2 nfcorr --rank 3 --lambda 0 --solver gd --gd-xty on
case_ nearex-gd 2 nearex --rank 3 --lambda 0 --solver gd --gd-xty on
case_ corr-gd-off 4 corr --rank 3 --lambda 0.1 --solver gd --gd-xty off
case_ offset-gd-off 2 offset --rank 2 --lambda 1 --intercept --solver gd --gd-xty off
case_ corr-maxiter 2 corr --rank 3 --lambda 0.1 --solver gd --max-iter 3
case_ corr-als-maxiter 2 corr --rank 3 --lambda 0.1 --solver als --max-iter 3
echo "$ncase cases, $ndiff differ, $nskip not reproducible by the old build itself"
[[ $ndiff -eq 0 ]]
