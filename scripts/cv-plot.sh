#!/usr/bin/env bash
# scripts/cv-plot.sh DIR: draw DIR/cv.png from a `rrr cv` search (DIR/cv.csv, DIR/cv.json):
# cv_mse +- cv_se against lambda on a log axis, one curve per rank, the choice marked; on
# the right the same zoomed in around the minimum, with the one-standard-error line of the
# 1se rule (the choice is the smallest rank with a point under it, at its largest lambda).
# lambda = 0 has no place on a log axis: such points are left out (they are in cv.csv).
set -euo pipefail
DIR=${1:?usage: scripts/cv-plot.sh DIR}
command -v gnuplot >/dev/null || { echo "cv-plot: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 3; }
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d /tmp/rrr-cvplot.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# one data block per rank (lambda cv_mse cv_se), and the choice, from the files themselves
read -r RANK LAMBDA MSE RULE NRANK MIN SE < <("$PY" - "$DIR" "$TMP" <<'PY'
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
m = js["cv_mse"]
br, bl = min(((i, j) for i in range(len(m)) for j in range(len(m[i]))), key=lambda t: m[t[0]][t[1]])
print(r, repr(l), repr(mse), js["rule"], len(js["ranks"]), repr(m[br][bl]), repr(js["cv_se"][br][bl]))
PY
)
term="pngcairo size 1200,520 font ',10'"
gnuplot -e "set terminal $term" -e "exit" 2>/dev/null || term="png size 1200,520"
gnuplot <<GP
set terminal $term
set output "$TMP/cv.png"
set multiplot layout 1,2 title sprintf("rrr cv: the choice is rank %d, lambda %.3g (%s rule)", $RANK, $LAMBDA, "$RULE")
set logscale x
set format x "10^{%L}"
set xlabel "lambda"
set ylabel "cross-validated mean squared error"
set grid
set key outside right title "rank"
plot for [i=0:$((NRANK - 1))] "$TMP/data" index i using 1:2:3 with yerrorlines title columnheader(1), \
     "< echo '$LAMBDA $MSE'" using 1:2 with points pt 6 ps 3 lw 2 lc rgb "black" title "choice"
set title "near the minimum: the 1se line is min + se(min)"
set yrange [$MIN - 4 * $SE : $MIN + 10 * $SE]
unset key
plot for [i=0:$((NRANK - 1))] "$TMP/data" index i using 1:2:3 with yerrorlines, \
     $MIN + $SE with lines dt 2 lc rgb "gray30", \
     "< echo '$LAMBDA $MSE'" using 1:2 with points pt 6 ps 3 lw 2 lc rgb "black"
unset multiplot
GP
mv "$TMP/cv.png" "$DIR/cv.png"
echo "cv-plot: wrote $DIR/cv.png"
