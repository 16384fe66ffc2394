#!/usr/bin/env bash
# scripts/scaling.sh: strong and weak scaling of rrr, with the performance model alongside.
#
#   scripts/scaling.sh [--ranks 1,2,4] [--strong N,P,Q,D] [--weak N0,P,Q,D] [--iters M]
#                      [--repeats R] [--threads T] [--solvers "gd exact"] [--out DIR]
#                      [--figures DIR] [--data DIR] [--keep-data]
#
# strong: the same problem (default n=200000 p=500 q=200 d=10) at every K;
# weak:   N0 rows per rank (default 50000, p=500 q=200 d=10), n = K * N0.
# gd is timed per iteration as (fit with --tol 0 --max-iter M minus --max-iter 0) / M, so
# reading the data and the closing evaluation cancel; phases the same way. exact is timed by
# its solver time (statistics pass + closed form), phases from time_max. Each point is the
# median of R repeats (default 3) with min and max.
# Launcher: inside a SLURM allocation (SLURM_JOB_ID set) `srun --mpi=pmix -n K`, default
# ranks 1, 2, 4, ... up to SLURM_NTASKS; else mpirun, one rank per core bound
# (--bind-to core --map-by core) while K <= cores, beyond that --oversubscribe (those
# points are marked oversubscribed=1 and only show what sharing cores costs).
# Threads: OPENBLAS_NUM_THREADS=T per rank (default 1: pure MPI scaling).
# Efficiency: strong E(K) = T(1) / (K T(K)), weak E(K) = T(1) / T(K), T the time per gd
#   iteration (gd) or the solver time (exact).
# Model: build/probe runs at np=1 and np=min(cores, max K) first; scripts/model.py predicts
#   every gd point (column model_t_iter) and the plots show it dashed.
# Output: DIR/scaling.csv (default tests/bench/results; the probe files beside it) with columns
#   experiment,ranks,threads,n,p,q,d,solver,t_read,t_compute,t_allreduce,t_solve,t_total,
#   t_metric,t_metric_min,t_metric_max,efficiency,model_t_iter,model_efficiency,
#   oversubscribed,core
# and FIGURES/scaling_time.png, scaling_efficiency.png (time and parallel efficiency vs
# ranks with the ideal line), model_efficiency.png (model.py, up to 4096 ranks) via gnuplot
# (pngcairo, else png), default FIGURES = tests/bench/figures.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PY=$PYTHON
RRR=$RRR_BIN
BUILD=$RRR_BUILD
PROBE=$BUILD/probe
CORES=$(nproc)
RANKS="" STRONG=200000,500,200,10 WEAK=50000,500,200,10 M=10 R=3 THREADS=1
SOLVERS="gd exact" OUT=tests/bench/results FIG=tests/bench/figures
DATA=/tmp/rrr-scaling-data KEEP=0
usage() { sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//' | head -n -1; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --ranks) RANKS=$2; shift 2 ;;
        --strong) STRONG=$2; shift 2 ;;
        --weak) WEAK=$2; shift 2 ;;
        --iters) M=$2; shift 2 ;;
        --repeats) R=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --solvers) SOLVERS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --figures) FIG=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --keep-data) KEEP=1; shift ;;
        -h | --help) usage 0 ;;
        *) echo "scaling.sh: unknown option $1" >&2; usage 2 ;;
    esac
done
if [[ -z $RANKS ]]; then
    max=${SLURM_NTASKS:-4}
    RANKS=1; k=2; while ((k <= max)); do RANKS="$RANKS,$k"; k=$((k * 2)); done
fi
IFS=, read -ra KS <<<"$RANKS"
KMAX=${KS[-1]}
export OPENBLAS_NUM_THREADS=$THREADS
launch() { # launch K CMD...
    local k=$1; shift
    if [[ -n ${SLURM_JOB_ID:-} ]]; then
        srun --mpi=pmix -n "$k" --cpus-per-task="$THREADS" "$@"
    elif ((k * THREADS <= CORES)); then
        timeout -k 5 1800 mpirun -np "$k" --bind-to core --map-by core "$@"
    else
        timeout -k 5 1800 mpirun -np "$k" --oversubscribe --bind-to none "$@"
    fi
}
TMP=$(mktemp -d /tmp/rrr-scaling.XXXXXX)
trap 'rm -rf "$TMP"; [[ $KEEP == 1 ]] || rm -rf "$DATA"' EXIT
mkdir -p "$OUT" "$FIG" "$DATA"
note() { echo "scaling: $*" >&2; }

# kernel: as bench.sh, give the probe (which does not re-exec) the kernel rrr will use
make -s --no-print-directory SAN=0 B="$BUILD" probe || exit 1
core=$("$PROBE" --corename 2>/dev/null | tail -n 1)
if [[ -z ${OPENBLAS_CORETYPE:-} && $core =~ ^(Prescott|Core2|Nehalem|Sandybridge)$ ]] &&
    grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
fi

IFS=, read -r Sn Sp Sq Sd <<<"$STRONG"
IFS=, read -r Wn Wp Wq Wd <<<"$WEAK"
npm=$((KMAX < CORES ? KMAX : CORES))
note "probe at np=1 and np=$npm for the model"
launch 1 "$PROBE" --only stream,pass,gemm,syrk --stream-n $((1 << 25)) --pass $Sp,$Sq,$Sd \
    --ts 20000,$Sp,$Sq --syrk 20000,$Sp --json "$TMP/p1.json" >"$TMP/p1.log" 2>&1 || { cat "$TMP/p1.log"; exit 1; }
launch "$npm" "$PROBE" --stream-n $((1 << 25)) --pass $Sp,$Sq,$Sd --ts 20000,$Sp,$Sq \
    --syrk 20000,$Sp --allreduce-sizes 8,16384,65536,262144,1048576 --json "$TMP/p2.json" \
    >"$TMP/p2.log" 2>&1 || { cat "$TMP/p2.log"; exit 1; }
if ((npm == 1)); then cp "$TMP/p1.json" "$TMP/p2.json"; fi
# kept beside scaling.csv: scripts/model.py --probe OUT/probe_np1.json --probe OUT/probe_npC.json
# reproduces the README's prediction table
cp "$TMP/p1.json" "$OUT/probe_np1.json" && cp "$TMP/p2.json" "$OUT/probe_np$npm.json"

gen() { # gen N P Q D -> prints the directory
    local dd="$DATA/n$1-p$2-q$3-d$4"
    if [[ ! -f $dd/.complete ]]; then
        note "generating n=$1 p=$2 q=$3 d=$4"
        mkdir -p "$dd"
        launch "$npm" "$RRR" gen --n "$1" --p "$2" --q "$3" --rank "$4" --out "$dd" >/dev/null &&
            touch "$dd/.complete"
    fi
    echo "$dd"
}
fit() { # fit K DIR D SOLVER REPORT ARGS...
    local k=$1 dd=$2 d=$3 s=$4 rep=$5; shift 5
    launch "$k" "$RRR" fit --x "$dd/X.npy" --y "$dd/Y.npy" --rank "$d" --lambda 1 --solver "$s" \
        --no-certificate --quiet --report "$rep" "$@" >/dev/null 2>"$TMP/err" ||
        { note "fit failed: K=$k $s $*"; cat "$TMP/err" >&2; return 1; }
}

RUNS=$TMP/runs.txt
: >"$RUNS"
point() { # point EXPERIMENT K N P Q D
    local ex=$1 k=$2 n=$3 p=$4 q=$5 d=$6 dd
    dd=$(gen "$n" "$p" "$q" "$d") || return 1
    for s in $SOLVERS; do
        note "$ex K=$k n=$n p=$p q=$q d=$d $s"
        if [[ $s == gd ]]; then
            fit "$k" "$dd" "$d" gd "$TMP/warm.json" --tol 0 --max-iter 0
            for rep in $(seq "$R"); do
                fit "$k" "$dd" "$d" gd "$TMP/$ex-$k-gd-0-$rep.json" --tol 0 --max-iter 0 &&
                    fit "$k" "$dd" "$d" gd "$TMP/$ex-$k-gd-M-$rep.json" --tol 0 --max-iter "$M" &&
                    echo "$ex $k $THREADS $n $p $q $d gd $rep $TMP/$ex-$k-gd-0-$rep.json $TMP/$ex-$k-gd-M-$rep.json" >>"$RUNS"
            done
        else
            for rep in $(seq "$R"); do
                fit "$k" "$dd" "$d" "$s" "$TMP/$ex-$k-$s-$rep.json" &&
                    echo "$ex $k $THREADS $n $p $q $d $s $rep - $TMP/$ex-$k-$s-$rep.json" >>"$RUNS"
            done
        fi
    done
}
for k in "${KS[@]}"; do point strong "$k" "$Sn" "$Sp" "$Sq" "$Sd"; done
for k in "${KS[@]}"; do point weak "$k" $((Wn * k)) "$Wp" "$Wq" "$Wd"; done
[[ $KEEP == 1 ]] || rm -rf "$DATA"

$PY - "$RUNS" "$OUT/scaling.csv" "$M" "$CORES" "$TMP" <<'EOF'
import json, os, statistics, sys
sys.path.insert(0, "scripts")
import model
runs, out, M, cores, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
mach = model.Machine([f"{tmp}/p1.json", f"{tmp}/p2.json"])
pts = {}
for line in open(runs):
    ex, k, th, n, p, q, d, s, rep, f0, f1 = line.split()
    b = json.load(open(f1))
    key = (ex, int(k), int(th), int(n), int(p), int(q), int(d), s)
    if s == "gd":
        a = json.load(open(f0))
        ph = {f: (b["time_max"][f] - a["time_max"][f]) / M for f in ("read", "compute", "allreduce", "solve")}
        ph["read"] = b["time_max"]["read"]
        ph["total"] = b["time_total"]
        metric = (b["time_solve"] - a["time_solve"]) / M
    else:
        ph = dict(b["time_max"]); ph["total"] = b["time_total"]
        metric = b["time_solve"]
    pts.setdefault(key, []).append((metric, ph, b["blas_core"]))
rows = []
base = {}
for key in sorted(pts, key=lambda k: (k[0], k[7], k[1])):
    ex, k, th, n, p, q, d, s = key
    v = pts[key]
    ms = [m for m, _, _ in v]
    med = statistics.median(ms)
    phase = {f: statistics.median(ph[f] for _, ph, _ in v) for f in ("read", "compute", "allreduce", "solve", "total")}
    if k == 1 or (ex, s) not in base:
        base[(ex, s)] = (k, med)
    k0, t0 = base[(ex, s)]
    eff = (k0 * t0) / (k * med) if ex == "strong" else t0 / med
    mt = me = float("nan")
    local_over = k * th > cores and not os.environ.get("SLURM_JOB_ID")
    if s == "gd" and not local_over:  # the model knows no oversubscribed node
        mt = mach.gd_iter(n, p, q, d, k)["t_iter"]
        m1 = mach.gd_iter(n if ex == "strong" else n // k, p, q, d, 1)["t_iter"]
        me = m1 / (k * mt) if ex == "strong" else m1 / mt
    rows.append([ex, k, th, n, p, q, d, s, phase["read"], phase["compute"], phase["allreduce"],
                 phase["solve"], phase["total"], med, min(ms), max(ms), eff, mt, me,
                 int(k * th > cores), v[0][2]])
hdr = ("experiment,ranks,threads,n,p,q,d,solver,t_read,t_compute,t_allreduce,t_solve,t_total,"
       "t_metric,t_metric_min,t_metric_max,efficiency,model_t_iter,model_efficiency,"
       "oversubscribed,core")
with open(out + ".tmp", "w") as fh:
    fh.write(hdr + "\n")
    for r in rows:
        fh.write(",".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in r) + "\n")
os.replace(out + ".tmp", out)
print(hdr.replace(",", " "))
for r in rows:
    print(" ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in r))
EOF
[[ -s $OUT/scaling.csv ]] || { note "no scaling.csv"; exit 1; }
$PY scripts/model.py --probe "$TMP/p1.json" --probe "$TMP/p2.json" --csv "$TMP/model.csv" \
    --weak "$Wn,$Wp,$Wq,$Wd" --quiet

# ---- plots (gnuplot) ----------------------------------------------------------------------
term="pngcairo size 860,540 font 'sans,10'"
gnuplot -e "set terminal $term" -e "exit" 2>/dev/null || term="png size 860,540"
csv=$OUT/scaling.csv
# per (experiment, solver) data blocks for gnuplot: ranks t_metric t_min t_max eff model_t model_eff
for ex in strong weak; do for s in $SOLVERS; do
    awk -F, -v e=$ex -v s=$s 'NR > 1 && $1 == e && $8 == s {print $2, $14, $15, $16, $17, $18, $19}' \
        "$csv" >"$TMP/$ex-$s.dat"
done; done
awk -F, 'NR > 1 && $1 == "strong" && $8 == "gd" && $2 == 1 {print $14}' "$csv" >"$TMP/t1s"
awk -F, 'NR > 1 && $1 == "weak" && $8 == "gd" && $2 == 1 {print $14}' "$csv" >"$TMP/t1w"
T1S=$(cat "$TMP/t1s"); T1W=$(cat "$TMP/t1w")
T1S=${T1S:-1}; T1W=${T1W:-1}
gp_common="set logscale x 2; set xlabel 'MPI ranks K'; set grid; set key outside right top;
set xrange [0.8:$((KMAX * 5 / 4 + 1))]; set xtics (${RANKS//,/, });
set arrow from $CORES+0.5, graph 0 to $CORES+0.5, graph 1 nohead dt 3 lc rgb 'gray';
set label 'cores' at $CORES+0.55, graph 0.95 tc rgb 'gray'"
plot_time=""
plot_eff=""
for s in $SOLVERS; do
    [[ -s $TMP/strong-$s.dat ]] || continue
    lab=$([[ $s == gd ]] && echo "gd iteration" || echo "$s solve")
    plot_time+="'$TMP/strong-$s.dat' u 1:(\$2*1e3):(\$3*1e3):(\$4*1e3) w yerrorlines lw 2 t 'strong, $lab', "
    plot_time+="'$TMP/weak-$s.dat' u 1:(\$2*1e3):(\$3*1e3):(\$4*1e3) w yerrorlines lw 2 t 'weak, $lab', "
    plot_eff+="'$TMP/strong-$s.dat' u 1:5 w lp lw 2 t 'strong, $lab', '$TMP/weak-$s.dat' u 1:5 w lp lw 2 t 'weak, $lab', "
done
plot_time+="'$TMP/strong-gd.dat' u 1:(\$6*1e3) w l dt 2 lw 1.5 t 'model, strong gd', '$TMP/weak-gd.dat' u 1:(\$6*1e3) w l dt 2 lw 1.5 t 'model, weak gd', "
plot_time+="$T1S*1e3/x w l lc rgb 'black' dt 4 t 'ideal strong (T1/K)', $T1W*1e3 w l lc rgb 'gray40' dt 4 t 'ideal weak (T1)'"
plot_eff+="'$TMP/strong-gd.dat' u 1:7 w l dt 2 lw 1.5 t 'model, strong gd', '$TMP/weak-gd.dat' u 1:7 w l dt 2 lw 1.5 t 'model, weak gd', 1 w l lc rgb 'black' dt 4 t 'ideal'"
gnuplot <<EOF || note "gnuplot failed"
set terminal $term
set datafile separator whitespace
$gp_common
set output '$FIG/scaling_time.png'
set logscale y
set ylabel 'time (ms): per gd iteration / exact solve'
set title "rrr scaling: strong n=$Sn p=$Sp q=$Sq d=$Sd; weak $Wn rows/rank ($THREADS thread/rank)"
plot $plot_time
set output '$FIG/scaling_efficiency.png'
unset logscale y
set yrange [0:1.2]
set ylabel 'parallel efficiency'
plot $plot_eff
EOF
# model extrapolation: predicted efficiency of a gd iteration up to 4096 ranks
awk -F, 'NR > 1 && $1 == "strong" {print > "'"$TMP"'/m-" $2 ".dat"} NR > 1 && $1 == "weak" {print > "'"$TMP"'/m-weak.dat"}' \
    "$TMP/model.csv"
mplot=""
for f in "$TMP"/m-*.dat; do
    nm=$(basename "$f" .dat); nm=${nm#m-}
    [[ $nm == weak ]] && t="weak, $Wn rows/rank p=$Wp q=$Wq d=$Wd" || t="strong, $nm"
    mplot+="'$f' u 7:18 w lp lw 2 t '$t', "
done
gnuplot <<EOF || note "gnuplot failed (model plot)"
set terminal $term
set datafile separator ','
set output '$FIG/model_efficiency.png'
set logscale x 2; set grid; set key bottom left box opaque
set xlabel 'MPI ranks K (nodes like this one, $CORES ranks/node)'; set ylabel 'predicted efficiency'
set yrange [0:1.1]
set title 'scripts/model.py: gd iteration, calibrated by the probe on this machine'
plot ${mplot%, }, 1 w l lc rgb 'black' dt 4 t 'ideal'
EOF
note "wrote $OUT/scaling.csv, $FIG/scaling_time.png, $FIG/scaling_efficiency.png, $FIG/model_efficiency.png"
