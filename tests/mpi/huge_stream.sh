#!/usr/bin/env bash
# tests/mpi/huge_stream.sh: `make check-huge` (not part of `make check`: minutes, and
# HUGE_GB of disk). Data bigger than memory, fitted by exact, which streams its rows:
#   1. the tall bench problem (n = 200000 and 400000, p = 500, q = 200, 1.12 and 2.24 GB, in
#      the page cache): exact end to end against the larger of a plain sequential read of
#      X.npy and Y.npy (dd, 16 MB blocks) and the pass's arithmetic, in the same run, and its
#      peak resident memory per rank against the bound below;
#   2. a problem of HUGE_GB (default 32) GB of X and Y, written by `rrr gen` panel by panel,
#      fitted by exact at HUGE_NP (2) ranks: its time against one plain read of the files
#      (the faster of dd through the page cache and dd with O_DIRECT),
#      and the peak resident memory per rank against 2 (p^2 + pq) 8 bytes + 128 MB.
# Prints RECORD lines (README "Data bigger than memory"). Before the plain read and before
# the fit the page cache is dropped (/proc/sys/vm/drop_caches, root only: this evicts every
# other user's cached files too); where that is not permitted, the files of step 2, larger
# than memory, are only as cold as a sequential pass over a file larger than the cache
# leaves them (the RECORD line says which).
# Environment: HUGE_GB, HUGE_NP, HUGE_DIR (where the files go: default /tmp), HUGE_P, HUGE_Q,
# HUGE_SKIP_TALL=1.
export MPIRUN=${MPIRUN:-"timeout -k 5 7200 mpirun --oversubscribe --mca odls_base_sigkill_timeout 0"}
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
GB=${HUGE_GB:-32} NP=${HUGE_NP:-2} P=${HUGE_P:-400} Q=${HUGE_Q:-100} D=10
DIR=$(mktemp -d "${HUGE_DIR:-/tmp}/rrr-huge.XXXXXX")
trap 'rm -rf "$WORK" "$DIR"' EXIT
now() { date +%s.%N; }
# plain_read [FLAG] FILE...: seconds to read the files once, sequentially, 16 MB at a time
# (FLAG direct: O_DIRECT, past the page cache)
plain_read() {
    local t0 t1 fl=; [[ $1 == direct ]] && { fl=iflag=direct; shift; }
    t0=$(now)
    for f in "$@"; do dd if="$f" of=/dev/null bs=16M $fl status=none || return 1; done
    t1=$(now); echo "$t1 - $t0" | bc -l
}
drop_caches() { sync; echo 3 2>/dev/null >/proc/sys/vm/drop_caches; }
json() { $PYTHON -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$1"; }

# The tall problem at n = 200000 and twice that: exact end to end against the larger of a
# plain read of its files and the statistics pass's own arithmetic (the report's
# time.compute), in the same run; peak RSS per rank against 2 (p^2 + pq) 8 bytes + 128 MB.
if [[ ${HUGE_SKIP_TALL:-0} != 1 ]]; then
    tlim=$(( 2 * (500 * 500 + 500 * 200) * 8 + 128000000 ))
    for n in 200000 400000; do
        rrr 2 gen --n $n --p 500 --q 200 --rank 10 --seed 1 --out "$DIR/tall" >/dev/null 2>&1 ||
            { fail "gen tall n=$n"; break; }
        plain_read "$DIR/tall/X.npy" "$DIR/tall/Y.npy" >/dev/null # into the page cache
        tr=$(plain_read "$DIR/tall/X.npy" "$DIR/tall/Y.npy")
        t0=$(now)
        rrr 2 fit --x "$DIR/tall/X.npy" --y "$DIR/tall/Y.npy" --rank 10 --lambda 1 --solver exact \
            --out "$WORK/tall$n" --report "$WORK/tall$n.json" >"$WORK/tall.out" 2>"$WORK/tall.err" ||
            { fail "fit tall n=$n"; tail -n 5 "$WORK/tall.err"; continue; }
        te=$(echo "$(now) - $t0" | bc -l)
        R=$WORK/tall$n.json
        tc=$(json "$R" "r['time_max']['compute']") tt=$(json "$R" "r['time_total']")
        floor=$(echo "if ($tr > $tc) $tr else $tc" | bc -l)
        rss=$(json "$R" "int(r['peak_rss_bytes_max'])")
        echo "RECORD tall n=$n p=500 q=200 np=2 (page cache): plain read $(printf %.3f "$tr") s," \
             "compute $(printf %.3f "$tc") s; exact time.total $(printf %.3f "$tt") s =" \
             "$(echo "$tt / $floor" | bc -l | xargs printf %.2f) x max(read, compute)," \
             "with mpirun's start $(printf %.3f "$te") s = $(echo "$te / $floor" | bc -l | xargs printf %.2f) x;" \
             "peak RSS/rank $((rss / 1000000)) MB (bound $((tlim / 1000000)) MB)"
        [[ $rss -le $tlim ]] && pass "tall n=$n: peak RSS per rank within the bound" ||
            fail "tall n=$n: peak RSS $rss > $tlim"
        rm -rf "$DIR/tall"
    done
fi

# n rows of P + Q doubles make GB gigabytes (1e9 bytes)
N=$(( GB * 1000000000 / ((P + Q) * 8) ))
t0=$(now)
rrr "$NP" gen --n $N --p $P --q $Q --rank $D --seed 5 --out "$DIR/huge" >"$WORK/gen.out" 2>"$WORK/gen.err" ||
    { fail "gen $GB GB"; tail -n 5 "$WORK/gen.err"; summary; exit; }
tg=$(echo "$(now) - $t0" | bc -l)
bytes=$(( $(stat -c %s "$DIR/huge/X.npy") + $(stat -c %s "$DIR/huge/Y.npy") ))
echo "RECORD gen n=$N p=$P q=$Q np=$NP: $((bytes / 1000000)) MB written in $(printf %.1f "$tg") s"
if drop_caches; then cache="page cache dropped before each"; else
    cache="page cache not droppable here (no privilege): files larger than memory, read sequentially"; fi
tb=$(plain_read "$DIR/huge/X.npy" "$DIR/huge/Y.npy") || { fail "plain read"; summary; exit; }
drop_caches
td=$(plain_read direct "$DIR/huge/X.npy" "$DIR/huge/Y.npy") || td=$tb # no O_DIRECT here
tr=$(echo "if ($td < $tb) $td else $tb" | bc -l) # the faster of the two is the disk's rate
echo "RECORD plain read of $((bytes / 1000000)) MB: $(printf %.1f "$tr") s = $(echo "$bytes / $tr / 1000000000" | bc -l | xargs printf %.2f) GB/s, the faster of dd through the page cache ($(printf %.1f "$tb") s) and dd iflag=direct ($(printf %.1f "$td") s) ($cache)"
drop_caches
t0=$(now)
rrr "$NP" fit --x "$DIR/huge/X.npy" --y "$DIR/huge/Y.npy" --rank $D --lambda 1 --solver exact \
    --out "$WORK/huge" --report "$WORK/huge.json" >"$WORK/huge.out" 2>"$WORK/huge.err"
rc=$?
te=$(echo "$(now) - $t0" | bc -l)
[[ $rc -eq 0 ]] && pass "exact fitted $((bytes / 1000000)) MB at np=$NP" || { fail "fit: exit $rc"; tail -n 5 "$WORK/huge.err"; }
if [[ $rc -eq 0 ]]; then
    lim=$(( 2 * (P * P + P * Q) * 8 + 128000000 ))
    rss=$(json "$WORK/huge.json" "int(r['peak_rss_bytes_max'])")
    echo "RECORD exact $((bytes / 1000000)) MB np=$NP: $(printf %.1f "$te") s end to end = $(echo "$te / $tr" | bc -l | xargs printf %.2f) x the plain read;" \
         "$(json "$WORK/huge.json" "'time_total %.1f s, read (waiting) %.1f s, compute %.1f s' % (r['time_total'], r['time_max']['read'], r['time_max']['compute'])");" \
         "peak RSS/rank $((rss / 1000000)) MB (bound 2(p^2+pq)8 + 128 MB = $((lim / 1000000)) MB)"
    [[ $rss -le $lim ]] && pass "peak RSS per rank within the bound" || fail "peak RSS $rss > $lim"
    grep -E '^rrr: (plan|result|memory|time)' "$WORK/huge.err" | sed 's/^/LOG /'
fi
summary
