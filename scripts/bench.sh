#!/usr/bin/env bash
# scripts/bench.sh: `make bench` -- the machine's limits, rrr against them, and rrr against
# two peers, on this machine, in one run (never part of `make check`).
#
# Measures, each as the median of >= 5 runs with min and max (after one warm-up):
#   machine  STREAM-like triad and read-only sum (1 and NP ranks), DGEMM/DSYRK at the
#            solvers' shapes, one panel of gd's passes in cache, MPI_Allreduce alpha/beta
#            (tests/bench/probe.c)
#   rrr      per gd iteration: total, compute, allreduce, replicated solve (from fits with
#            --tol 0 --max-iter M minus --max-iter 0, so reading, the closing evaluation
#            and the certificate cancel), the same with --precond nystrom on the tall problem
#            and its setup in plain iterations; the statistics pass and the exact solve (from
#            exact's log lines); end-to-end fit time of gd, als, exact; iterations to a
#            1e-6 relative optimality gap (one fit with the certificate per solver); the gd
#            iteration again with RRR_KERNEL=blas (the Gram pass in OpenBLAS calls)
#   floor    gd iteration / max(its bytes at the best NP-rank read-only rate, its flops at the
#            NP-rank square-DGEMM rate), both measured in the same run (the ratios section)
#   peers    tests/bench/peer_numpy.py (closed form, one process, NP BLAS threads) and
#            tests/bench/peer_mpi4py_gd.py (NP ranks), on the same files
#   kernels  the DGEMM figures and rrr's gd iteration / statistics pass with
#            OPENBLAS_CORETYPE unset and set to SkylakeX (both, whichever is the default)
# on a tall problem (n=200000 p=500 q=200 d=10) and a wide one (n=20000 p=4000 q=1000 d=20),
# lambda = 1, and prints the ratios to the limits (tests/bench/bench_report.py).
#
# Output: one key=value line per run on stdout (STYLE.md section 6), then a summary table;
# tests/bench/results/bench.json and bench.csv (figures with median/min/max).
# Environment: BENCH_REPEATS (5), BENCH_REPEATS_KERNEL (3, the second kernel),
#   BENCH_ITERS (40, M above: gd's first 12 passes time the Gram pass's panel shapes, kernels.h), BENCH_PEER_ITERS (10), BENCH_NP (cores), BENCH_DATA
#   (/tmp/rrr-bench-data), BENCH_KEEP_DATA=1 keeps the generated data (else removed),
#   BENCH_KEEP_RAW=1 keeps the raw logs, BENCH_OUT (tests/bench/results), BENCH_QUICK=1 (small
#   problems, a pipeline check in ~1 min; results to /tmp unless BENCH_OUT is set),
#   OPENBLAS_CORETYPE (if set, used as the main kernel).
# Kernel: OpenBLAS picks its kernel before main(). If the default is a generic one
#   (Prescott, ...) on an AVX-512/AVX2 CPU, the main runs set OPENBLAS_CORETYPE=SkylakeX
#   (Haswell); the probe and the peers need this since they do not re-exec like rrr. The
#   "unset" runs set RRR_NO_COREFIX=1 so that rrr keeps the default kernel too.
# Binding: NP ranks <= cores are bound one per core (--bind-to core --map-by core) with
#   OPENBLAS_NUM_THREADS=1. Other processes on the machine make timings noisy: compare
#   figures from the same run, and look at min/max.
# Exit: 0 when every run succeeded, 1 otherwise (the summary is printed either way).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
T_START=$SECONDS
PY=$PYTHON
RRR=$RRR_BIN
BUILD=$RRR_BUILD
PROBE=$BUILD/probe
R=${BENCH_REPEATS:-5}
RK=${BENCH_REPEATS_KERNEL:-3}
M=${BENCH_ITERS:-40}
PEER_ITERS=${BENCH_PEER_ITERS:-10}
CORES=$(nproc)
NP=${BENCH_NP:-$CORES}
DATA=${BENCH_DATA:-/tmp/rrr-bench-data}
LAMBDA=1
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
    PROBLEMS=("tall 20000 200 50 5" "wide 2000 800 200 10")
    OUT=${BENCH_OUT:-/tmp/rrr-bench-quick}
    STREAM_N=$((1 << 24)); TS_TALL=4000,200,50; TS_WIDE=1000,800,200
    SYRK_TALL=4000,200; SYRK_WIDE=2000,800; SQUARE=1000
else
    PROBLEMS=("tall 200000 500 200 10" "wide 20000 4000 1000 20")
    OUT=${BENCH_OUT:-tests/bench/results}
    STREAM_N=$((1 << 26)); TS_TALL=20000,500,200; TS_WIDE=2000,4000,1000
    SYRK_TALL=20000,500; SYRK_WIDE=4000,4000; SQUARE=2000
fi
if ((NP <= CORES)); then
    MPIRUN=(timeout -k 5 900 mpirun -np "$NP" --bind-to core --map-by core)
    export OPENBLAS_NUM_THREADS=1
else
    MPIRUN=(timeout -k 5 900 mpirun -np "$NP" --oversubscribe --bind-to none)
    export OPENBLAS_NUM_THREADS=1
fi
RAW=$(mktemp -d /tmp/rrr-bench-raw.XXXXXX)
mkdir -p "$RAW/rrr" "$RAW/peer" "$OUT"
cleanup() {
    [[ ${BENCH_KEEP_RAW:-0} == 1 ]] && echo "bench: raw logs kept in $RAW" || rm -rf "$RAW"
    if [[ ${BENCH_KEEP_DATA:-0} != 1 ]]; then
        for pr in "${PROBLEMS[@]}"; do set -- $pr; rm -rf "$DATA/$1-n$2-p$3-q$4-d$5"; done
        rmdir "$DATA" 2>/dev/null
    fi
}
trap cleanup EXIT
FAILED=0
note() { echo "bench: $*" >&2; }
runfail() { FAILED=$((FAILED + 1)); note "FAILED: $*"; }

# ---- build ------------------------------------------------------------------------------
[[ -x $RRR ]] || { note "$RRR missing: run make"; exit 1; }
make -s --no-print-directory SAN=0 B="$BUILD" probe || { note "cannot build $PROBE (make probe)"; exit 1; }

# ---- kernels ----------------------------------------------------------------------------
generic() { [[ $1 =~ ^(Prescott|Core2|Penryn|Dunnington|Nehalem|Atom|Sandybridge|Katmai|Coppermine|Northwood|Banias|Opteron|Barcelona|unknown)$ ]]; }
better=""
grep -qw avx512f /proc/cpuinfo && better=SkylakeX || { grep -qw avx2 /proc/cpuinfo && better=Haswell; }
CORE_DEFAULT=$(env -u OPENBLAS_CORETYPE "$PROBE" --corename 2>/dev/null | tail -n 1)
if [[ -n ${OPENBLAS_CORETYPE:-} ]]; then
    MAIN=$OPENBLAS_CORETYPE
elif generic "$CORE_DEFAULT" && [[ -n $better ]]; then
    MAIN=$better
else
    MAIN=""
fi
if [[ -z $MAIN ]]; then ALT=${better:-SkylakeX}; else ALT=""; fi
klabel() { [[ -z $1 ]] && echo unset || echo "$1"; }
KMAIN=$(klabel "$MAIN"); KALT=$(klabel "$ALT")
# kenv KERNEL CMD...: run CMD with that OPENBLAS_CORETYPE ("" = unset, and rrr not re-exec'd)
kenv() {
    local k=$1; shift
    if [[ -z $k ]]; then env -u OPENBLAS_CORETYPE RRR_NO_COREFIX=1 "$@"
    else env OPENBLAS_CORETYPE="$k" "$@"; fi
}
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include 2>/dev/null || REV="$REV+dirty"
note "start $(date -u +%FT%TZ) host=$(hostname) cores=$CORES np=$NP rev=$REV"
note "OpenBLAS default kernel here: $CORE_DEFAULT; main runs: OPENBLAS_CORETYPE=$KMAIN; comparison: $KALT"
$PY - "$RAW/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%FT%TZ)", "host": "$(hostname)", "cores": $CORES, "np": $NP,
           "rev": "$REV", "repeats": $R, "repeats_kernel": $RK, "iters": $M,
           "peer_iters": $PEER_ITERS, "lambda": $LAMBDA, "kernel_default": "$CORE_DEFAULT",
           "kernel_main": "$KMAIN", "kernel_alt": "$KALT", "quick": ${BENCH_QUICK:-0},
           "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')",
           "problems": [p.split() for p in """$(printf '%s\n' "${PROBLEMS[@]}")""".strip().split("\n")]},
          open(sys.argv[1], "w"), indent=1)
EOF

# ---- data -------------------------------------------------------------------------------
ddir() { echo "$DATA/$1-n$2-p$3-q$4-d$5"; }
for pr in "${PROBLEMS[@]}"; do
    set -- $pr
    dd=$(ddir "$@")
    if [[ ! -f $dd/.complete ]]; then
        note "generating $1 (n=$2 p=$3 q=$4 d=$5) in $dd"
        rm -rf "$dd"; mkdir -p "$dd"
        t0=$SECONDS
        kenv "$MAIN" "${MPIRUN[@]}" "$RRR" gen --n "$2" --p "$3" --q "$4" --rank "$5" --out "$dd" \
            >"$RAW/gen-$1.log" 2>&1 && touch "$dd/.complete" ||
            { runfail "gen $1"; cat "$RAW/gen-$1.log" >&2; exit 1; }
        note "  generated in $((SECONDS - t0)) s"
    fi
done

# ---- machine limits (probe) ------------------------------------------------------------
probe() { # probe NAME KERNEL NP ARGS...
    local name=$1 k=$2 np=$3; shift 3
    local mr=("${MPIRUN[@]}"); mr[6]=$np
    note "probe $name (np=$np, kernel $(klabel "$k"))"
    if kenv "$k" "${mr[@]}" "$PROBE" --repeats "$R" --json "$RAW/probe_$name.json" "$@" \
        >"$RAW/probe_$name.log" 2>&1; then
        grep '^probe=' "$RAW/probe_$name.log" | grep -v '^probe=env'
    else
        runfail "probe $name"; tail -n 5 "$RAW/probe_$name.log" >&2
    fi
}
set -- ${PROBLEMS[0]}; PT="$3,$4,$5"
set -- ${PROBLEMS[1]}; PW="$3,$4,$5"
probe np1_tall "$MAIN" 1 --only stream,pass --stream-n $STREAM_N --pass "$PT" --tag tall
probe np1_wide "$MAIN" 1 --only pass --pass "$PW" --tag wide
probe np${NP} "$MAIN" "$NP" --only stream,allreduce --stream-n $STREAM_N \
    --allreduce-sizes 8,4096,65536,262144,1048576,8388608
for k in "$MAIN" "$ALT"; do
    kl=$(klabel "$k")
    probe "np${NP}_tall_$kl" "$k" "$NP" --only gemm,syrk,pass --square $SQUARE --ts $TS_TALL \
        --syrk $SYRK_TALL --pass "$PT" --tag tall
    probe "np${NP}_wide_$kl" "$k" "$NP" --only gemm,syrk,pass --square $SQUARE --ts $TS_WIDE \
        --syrk $SYRK_WIDE --pass "$PW" --tag wide
done

# ---- rrr ----------------------------------------------------------------------------------
# fit PROB KERNEL KIND REP ARGS...: one rrr fit, report in $RAW/rrr/PROB__KL__KIND__REP.json
fit() {
    local prob=$1 k=$2 kind=$3 rep=$4; shift 4
    local base="$RAW/rrr/${prob}__$(klabel "$k")__${kind}__$rep" dd
    dd=$(ddir ${PROBS[$prob]})
    local t0=$SECONDS
    if kenv "$k" env ${FIT_ENV:-} "${MPIRUN[@]}" "$RRR" fit --x "$dd/X.npy" --y "$dd/Y.npy" --lambda $LAMBDA \
        --report "$base.json" "$@" >"$base.out" 2>"$base.err"; then
        [[ $rep == warm ]] || $PY tests/bench/bench_report.py line "$base.json" "$kind" "$rep" "$REV"
    else
        runfail "rrr fit $prob $kind rep $rep ($*)"; tail -n 5 "$base.err" >&2; rm -f "$base.json"
    fi
}
declare -A PROBS
for pr in "${PROBLEMS[@]}"; do set -- $pr; PROBS[$1]="$*"; done
for pr in "${PROBLEMS[@]}"; do
    set -- $pr; prob=$1 d=$5
    note "rrr $prob: warm-up, then $R repeats of gd (M=0, M=$M), exact, gd, als (kernel $KMAIN)"
    fit "$prob" "$MAIN" gd0 warm --rank "$d" --solver gd --tol 0 --max-iter 0 --no-certificate --quiet
    for rep in $(seq 1 "$R"); do
        fit "$prob" "$MAIN" gd0 "$rep" --rank "$d" --solver gd --tol 0 --max-iter 0 --no-certificate --quiet
        fit "$prob" "$MAIN" gdM "$rep" --rank "$d" --solver gd --tol 0 --max-iter "$M" --no-certificate --quiet
        fit "$prob" "$MAIN" exact "$rep" --rank "$d" --solver exact   # not --quiet: stats/solve lines
        fit "$prob" "$MAIN" gd "$rep" --rank "$d" --solver gd --no-certificate --quiet
        fit "$prob" "$MAIN" als "$rep" --rank "$d" --solver als --no-certificate --quiet
        if [[ $prob == tall ]]; then # gd's preconditioner: its per-iteration cost and setup
            fit "$prob" "$MAIN" gd0p "$rep" --rank "$d" --solver gd --precond nystrom --tol 0 \
                --max-iter 0 --no-certificate --quiet
            fit "$prob" "$MAIN" gdMp "$rep" --rank "$d" --solver gd --precond nystrom --tol 0 \
                --max-iter "$M" --no-certificate --quiet
        fi
    done
    note "rrr $prob: $RK repeats of gd (M=0, M=$M) with RRR_KERNEL=blas (the Gram pass in OpenBLAS calls)"
    for rep in $(seq 1 "$RK"); do
        FIT_ENV=RRR_KERNEL=blas fit "$prob" "$MAIN" gd0blas "$rep" --rank "$d" --solver gd --tol 0 --max-iter 0 --no-certificate --quiet
        FIT_ENV=RRR_KERNEL=blas fit "$prob" "$MAIN" gdMblas "$rep" --rank "$d" --solver gd --tol 0 --max-iter "$M" --no-certificate --quiet
    done
    note "rrr $prob: iterations to the optimum (certificate), gd and als"
    # --certificate: gd's f* costs more than its few iterations here, which auto skips
    fit "$prob" "$MAIN" gdcert 1 --rank "$d" --solver gd --certificate --quiet
    fit "$prob" "$MAIN" alscert 1 --rank "$d" --solver als --certificate --quiet
    note "rrr $prob: $RK repeats with kernel $KALT"
    fit "$prob" "$ALT" gd0 warm --rank "$d" --solver gd --tol 0 --max-iter 0 --no-certificate --quiet
    for rep in $(seq 1 "$RK"); do
        fit "$prob" "$ALT" gd0 "$rep" --rank "$d" --solver gd --tol 0 --max-iter 0 --no-certificate --quiet
        fit "$prob" "$ALT" gdM "$rep" --rank "$d" --solver gd --tol 0 --max-iter "$M" --no-certificate --quiet
        fit "$prob" "$ALT" exact "$rep" --rank "$d" --solver exact
    done
done

# ---- peers --------------------------------------------------------------------------------
for pr in "${PROBLEMS[@]}"; do
    set -- $pr; prob=$1 d=$5; dd=$(ddir "$@")
    note "peer numpy closed form on $prob (1 process, $CORES BLAS threads, $R repeats)"
    if kenv "$MAIN" env OPENBLAS_NUM_THREADS="$CORES" timeout 900 $PY tests/bench/peer_numpy.py \
        --x "$dd/X.npy" --y "$dd/Y.npy" --rank "$d" --lambda $LAMBDA --repeats "$R" \
        >"$RAW/peer/${prob}__numpy.out" 2>"$RAW/peer/${prob}__numpy.err"; then
        grep '^peer=' "$RAW/peer/${prob}__numpy.out"
    else runfail "peer numpy $prob"; tail -n 5 "$RAW/peer/${prob}__numpy.err" >&2; fi
    note "peer mpi4py gd on $prob (np=$NP, $PEER_ITERS iterations)"
    if kenv "$MAIN" "${MPIRUN[@]}" $PY tests/bench/peer_mpi4py_gd.py --x "$dd/X.npy" \
        --y "$dd/Y.npy" --rank "$d" --lambda $LAMBDA --max-iter "$PEER_ITERS" --tol 0 --seed 0 \
        >"$RAW/peer/${prob}__mpi4py.out" 2>"$RAW/peer/${prob}__mpi4py.err"; then
        grep '^peer=' "$RAW/peer/${prob}__mpi4py.out"
    else runfail "peer mpi4py $prob"; tail -n 5 "$RAW/peer/${prob}__mpi4py.err" >&2; fi
done

# ---- cv and many outputs (tests/bench/bench_cv.py) -----------------------------------------
set -- ${PROBLEMS[0]}; DT=$(ddir "$@")
set -- ${PROBLEMS[1]}; DW=$(ddir "$@")
note "rrr cv on tall and wide against rrr fit --solver exact, against the naive search, and the many-outputs closed form (q = 20000) against NumPy"
if [[ ${BENCH_QUICK:-0} == 1 ]]; then CVONLY=tall,wide; else CVONLY=tall,wide,naive,outputs; fi
kenv "$MAIN" $PY tests/bench/bench_cv.py --rrr "$RRR" --mpirun "${MPIRUN[*]}" --data "$DATA" \
    --out "$OUT" --repeats "${BENCH_REPEATS_CV:-3}" --threads "$CORES" --tall "$DT" --wide "$DW" \
    --only "$CVONLY" || runfail "bench_cv.py"

# ---- report -------------------------------------------------------------------------------
ELAPSED=$((SECONDS - T_START))
$PY tests/bench/bench_report.py summarize --raw "$RAW" --out "$OUT" --elapsed "$ELAPSED" ||
    runfail "bench_report.py summarize"
note "finished in $ELAPSED s ($((ELAPSED / 60)) min $((ELAPSED % 60)) s)$( ((ELAPSED > 900)) && echo ': over the 15 min budget')"
[[ $FAILED -eq 0 ]] || { note "$FAILED run(s) failed"; exit 1; }
