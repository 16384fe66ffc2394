#!/usr/bin/env bash
# scripts/demo.sh (make demo): generate a problem, fit it with the distributed gradient
# solver on 2 ranks, predict, and print the objective, R^2, iterations and time; then let
# `rrr cv` choose the rank and lambda by 5-fold cross-validation (one pass over the data)
# and draw the search (DIR/cv/cv.png, when gnuplot is installed).
#   n = 100000, p = 200, q = 50, d = 5 (override: DEMO_N, DEMO_P, DEMO_Q, DEMO_D, DEMO_NP)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh   # root, one BLAS thread per rank, RRR_BIN
N=${DEMO_N:-100000} P=${DEMO_P:-200} Q=${DEMO_Q:-50} D=${DEMO_D:-5} NP=${DEMO_NP:-2}
DIR=${DEMO_DIR:-$(mktemp -d /tmp/rrr-demo.XXXXXX)}
mkdir -p "$DIR"
RUN=(mpirun --oversubscribe -np "$NP" "$RRR_BIN")
echo "== rrr demo: n=$N p=$P q=$Q d=$D on $NP ranks, files in $DIR"
"${RUN[@]}" gen --n "$N" --p "$P" --q "$Q" --rank "$D" --noise 1 --seed 1 --out "$DIR/data"
"${RUN[@]}" fit --x "$DIR/data/X.npy" --y "$DIR/data/Y.npy" --rank "$D" --lambda 1 --solver gd \
    --certificate --out "$DIR/model" --report "$DIR/report.json"
"${RUN[@]}" predict --model "$DIR/model" --x "$DIR/data/X.npy" --y "$DIR/data/Y.npy" \
    --out "$DIR/yhat.npy" | tee "$DIR/scores"
awk -v dir="$DIR" '
    /"objective":/ && !obj { gsub(/[",]/, "", $2); obj = $2 }
    /"iterations":/ { gsub(/,/, "", $2); it = $2 }
    /"converged":/ { gsub(/,/, "", $2); conv = $2 }
    /"optimality_gap":/ { gsub(/,/, "", $2); gap = $2 }
    /"time_total":/ { gsub(/,/, "", $2); t = $2 }
    /"time_per_iteration":/ { gsub(/,/, "", $2); ti = $2 }
    END { printf "== objective %s  iterations %s  converged %s  gap to f* %s\n", obj, it, conv, gap
          printf "== fit time %.3f s (%.4f s per iteration)\n", t, ti }' "$DIR/report.json"
echo "== R^2 $(awk '$1 == "r2" { print $2 }' "$DIR/scores")"

# the user does not know d or lambda: 5-fold cv over 8 ranks x 9 lambdas, the 1se rule
echo "== rrr cv: ranks 1..8 x lambdas 1e-2..1e2, 5 folds, 1se rule"
"${RUN[@]}" cv --x "$DIR/data/X.npy" --y "$DIR/data/Y.npy" --rank 1:8 --lambda 0.01:100:9 \
    --folds 5 --rule 1se --quiet --out "$DIR/cv" | tee "$DIR/cv_choice"
read -r _ _ rank _ lam _ _ < <(grep '^cv_choice' "$DIR/cv_choice")
echo "== cv chose rank $rank (the data were generated with rank $D), lambda $lam;" \
    "table in $DIR/cv/cv.csv, model in $DIR/cv"
if command -v gnuplot >/dev/null; then
    scripts/cv-plot.sh "$DIR/cv" && echo "== picture of the search: $DIR/cv/cv.png"
fi
