#!/usr/bin/env bash
# scripts/cv-plot.sh DIR: draw DIR/cv.png from a `rrr cv` search (DIR/cv.csv, DIR/cv.json):
# cv_mse +- cv_se against lambda on a log axis, one curve per rank, the choice marked.
# lambda = 0 has no place on a log axis: such points are left out (they are in cv.csv).
set -euo pipefail
DIR=${1:?usage: scripts/cv-plot.sh DIR}
command -v gnuplot >/dev/null || { echo "cv-plot: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 3; }
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d /tmp/rrr-cvplot.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# one data block per rank (lambda cv_mse cv_se), and the choice, from the files themselves
read -r RANK LAMBDA MSE RULE NRANK < <("$PY" - "$DIR" "$TMP" <<'PY'
import csv, json, sys
d, t = sys.argv[1:]
js = json.load(open(d + "/cv.json"))
rows = [r for r in csv.DictReader(open(d + "/cv.csv")) if float(r["lambda"]) > 0]
with open(t + "/data", "w") as f:
    for rank in js["ranks"]:
        f.write(f"{rank}\n")
        for r in rows:
            if int(r["rank"]) == rank:
                f.write(f"{r['lambda']} {r['cv_mse']} {r['cv_se']}\n")
        f.write("\n\n")
r, l = js["rank"], js["lambda"]
mse = js["cv_mse"][js["ranks"].index(r)][js["lambdas"].index(l)]
print(r, repr(l), repr(mse), js["rule"], len(js["ranks"]))
PY
)
term="pngcairo size 900,560 font ',11'"
gnuplot -e "set terminal $term" -e "exit" 2>/dev/null || term="png size 900,560"
gnuplot <<GP
set terminal $term
set output "$TMP/cv.png"
set logscale x
set format x "10^{%L}"
set xlabel "lambda"
set ylabel "cross-validated mean squared error"
set title sprintf("rrr cv: the choice is rank %d, lambda %.3g (%s rule)", $RANK, $LAMBDA, "$RULE")
set key outside right title "rank"
set grid
set datafile commentschars "#"
plot for [i=0:$((NRANK - 1))] "$TMP/data" index i using 1:2:3 with yerrorlines title columnheader(1), \
     "< echo '$LAMBDA $MSE'" using 1:2 with points pt 6 ps 3 lw 2 lc rgb "black" title "choice"
GP
mv "$TMP/cv.png" "$DIR/cv.png"
echo "cv-plot: wrote $DIR/cv.png"
