#!/usr/bin/env bash
# tests/mpi/test_stream.sh: exact streams its rows (README "Data bigger than memory").
# A problem of 410 MB of X and Y is fitted by exact under ulimit -v 600 MB at one rank, a
# limit the rows held in memory would exceed (MPI and OpenBLAS map ~300 MB before any data);
# gd, which holds its rows, refuses before reading with the bytes it needs and has (exit 1).
# The streamed result is checked against the NumPy closed form on all rows in memory and
# against a fit whose single panel is the whole row block (the in-memory summation), its
# peak resident memory against the data's size; panels of a few rows at 1-4 ranks (ranks
# owning no rows) give the same fit. ulimit -v and AddressSanitizer do not mix: SAN=1 skips.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
[[ ${SAN:-0} == 1 ]] && skip "ulimit -v and AddressSanitizer's shadow memory do not mix"
W=$WORK
N=${STREAM_N:-800000} P=48 Q=16 LIMIT_KB=614400
rrr 2 gen --n $N --p $P --q $Q --rank 4 --seed 11 --out "$W/big" >/dev/null 2>"$W/gen.err" ||
    { fail "gen"; cat "$W/gen.err"; summary; exit; }
bytes=$(( $(stat -c %s "$W/big/X.npy") + $(stat -c %s "$W/big/Y.npy") ))
F=(fit --x "$W/big/X.npy" --y "$W/big/Y.npy" --rank 4 --lambda 0.5 --quiet)
# limited SOLVER OUT: one rank under ulimit -v
limited() {
    bounded 60 bash -c "ulimit -v $LIMIT_KB; exec mpirun --mca odls_base_sigkill_timeout 0 -np 1 \
        '$RRR_BIN' ${F[*]} --solver $1 --out '$W/$2' --report '$W/$2.json'" >"$W/$2.out" 2>"$W/$2.err"
}
limited exact lim; rc=$?
[[ $rc -eq 0 ]] && pass "exact under ulimit -v $((LIMIT_KB / 1024)) MB with $((bytes / 1000000)) MB of X and Y (np=1)" ||
    { fail "exact under ulimit -v: exit $rc"; head -n 5 "$W/lim.err"; }
limited gd gdlim; rc=$?
nerr=$(grep -c '^rrr: error:' "$W/gdlim.err")
[[ $rc -eq 1 && $nerr -eq 1 ]] && grep -q "gd keeps its rows in memory: it needs .* GB per rank.* GB are available (out of memory)" "$W/gdlim.err" &&
    pass "gd under the same limit: exit 1 before reading, with the bytes needed and available" ||
    { fail "gd under ulimit -v: exit $rc, $nerr error lines"; head -n 5 "$W/gdlim.err"; }
[[ ! -e $W/gdlim ]] && pass "... and no output" || fail "gd left output"
limited auto autolim; rc=$?
[[ $rc -eq 0 ]] && grep -q '"solver": "exact"' "$W/autolim/model.json" &&
    pass "auto under the same limit: sends the problem to exact" || { fail "auto under ulimit -v: exit $rc"; head -n 5 "$W/autolim.err"; }
if [[ -s $W/lim.json ]]; then
    rss=$($PYTHON -c "import json; print(int(json.load(open('$W/lim.json'))['peak_rss_bytes_max']))")
    [[ $rss -lt $((bytes / 2)) ]] && pass "peak RSS $((rss / 1000000)) MB < half the data ($((bytes / 1000000)) MB)" ||
        fail "peak RSS $((rss / 1000000)) MB, data $((bytes / 1000000)) MB"
    check "the streamed fit is the NumPy optimum of all rows in memory" $PYTHON tests/mpi/check.py verify \
        --x "$W/big/X.npy" --y "$W/big/Y.npy" --model "$W/lim" --lambda 0.5 --rank 4 --gap 1e-9 --btol 1e-8
fi
# the in-memory summation: one panel holding the whole row block (no limit)
RRR_PANEL_ROWS=$N rrr 1 "${F[@]}" --solver exact --out "$W/whole" >/dev/null 2>"$W/whole.err" ||
    { fail "exact with one panel"; head -n 5 "$W/whole.err"; }
check "streamed and whole-block fits agree to rounding" $PYTHON tests/mpi/check.py compare "$W/lim" "$W/whole" --tol 1e-11
# small panels, 1-4 ranks, 4 ranks with 3 rows (ranks owning none), C and Fortran order,
# --intercept: the fits agree with np=1's to rounding
mkdir -p "$W/s"
$PYTHON tests/mpi/check.py mkdata --out "$W/s" --n 500 --p 12 --q 5 --rank 3 --seed 4 --offset 100 >/dev/null
$PYTHON -c "import numpy as np; np.save('$W/s/Xf.npy', np.asfortranarray(np.load('$W/s/X.npy')))"
S=(fit --y "$W/s/Y.npy" --rank 3 --lambda 0.1 --solver exact --intercept --quiet)
rrr 1 "${S[@]}" --x "$W/s/X.npy" --out "$W/s1" >/dev/null 2>&1 || fail "small np=1"
for np in 1 2 3 4; do
    RRR_PANEL_ROWS=7 rrr $np "${S[@]}" --x "$W/s/Xf.npy" --out "$W/s7_$np" >/dev/null 2>"$W/err" ||
        { fail "panels of 7 rows, Fortran order, np=$np"; head -n 3 "$W/err"; }
    check "panels of 7 rows (Fortran X, --intercept) np=$np agree with np=1" $PYTHON tests/mpi/check.py compare "$W/s1" "$W/s7_$np" --tol 1e-10
done
$PYTHON -c "import numpy as np; np.save('$W/s/X3.npy', np.load('$W/s/X.npy')[:3]); np.save('$W/s/Y3.npy', np.load('$W/s/Y.npy')[:3])"
T=(fit --x "$W/s/X3.npy" --y "$W/s/Y3.npy" --rank 1 --lambda 1 --solver exact --quiet)
rrr 1 "${T[@]}" --out "$W/t1" >/dev/null 2>&1 || fail "3 rows np=1"
RRR_PANEL_ROWS=1 rrr 4 "${T[@]}" --out "$W/t4" >/dev/null 2>"$W/err" || { fail "3 rows np=4"; head -n 3 "$W/err"; }
check "3 rows at np=4 (a rank without rows), panels of 1 row" $PYTHON tests/mpi/check.py compare "$W/t1" "$W/t4" --tol 1e-9
# the O_DIRECT reader thread against the MPI-IO reader, bit for bit: panels of 7 rows (their
# byte ranges never aligned), 1-4 ranks, and 3 rows at 4 ranks (one owns none)
for np in 1 2 3 4; do
    for d in 0 1; do
        RRR_MMAP=0 RRR_DIRECT=$d RRR_PANEL_ROWS=7 rrr $np "${S[@]}" --x "$W/s/X.npy" --out "$W/d${d}_$np" >/dev/null 2>"$W/err" ||
            { fail "RRR_DIRECT=$d np=$np"; head -n 3 "$W/err"; }
    done
    cmp -s "$W/d0_$np/U.npy" "$W/d1_$np/U.npy" && cmp -s "$W/d0_$np/V.npy" "$W/d1_$np/V.npy" &&
        pass "O_DIRECT reader, panels of 7 rows, np=$np: the MPI-IO reader's bits" || fail "O_DIRECT reader np=$np: other bits"
done
RRR_MMAP=0 RRR_DIRECT=1 RRR_PANEL_ROWS=1 rrr 4 "${T[@]}" --out "$W/t4d" >/dev/null 2>"$W/err" || { fail "3 rows np=4 O_DIRECT"; head -n 3 "$W/err"; }
cmp -s "$W/t4/U.npy" "$W/t4d/U.npy" && pass "3 rows at np=4 through the O_DIRECT reader: the same bits" || fail "3 rows np=4 O_DIRECT: other bits"
# a non-finite value in a later panel: every rank stops with one message (exit 2)
$PYTHON -c "import numpy as np; X = np.load('$W/s/X.npy'); X[431, 2] = np.inf; np.save('$W/s/Xinf.npy', X)"
RRR_PANEL_ROWS=16 expect_exit 2 "Inf in a later panel" 3 "${S[@]}" --x "$W/s/Xinf.npy" --out "$W/never"
grep -q "non-finite value inf at row 431, column 2" "$W/err" && pass "... the message names row and column" ||
    { fail "Inf message"; cat "$W/err"; }
# a C-order <f8 .npy in the page cache is mapped (its panels point into it): the same bits
# as the MPI-IO reader (RRR_MMAP=0); a file truncated during the pass is one message naming
# it and exit 3 (mapped: SIGBUS on the mapping; read: a short read), nothing written
rrr 2 "${F[@]}" --solver exact --out "$W/mm1" 2>/dev/null
RRR_MMAP=0 rrr 2 "${F[@]}" --solver exact --out "$W/mm0" 2>/dev/null
cmp -s "$W/mm1/U.npy" "$W/mm0/U.npy" && cmp -s "$W/mm1/V.npy" "$W/mm0/V.npy" &&
    pass "mapped rows and the MPI-IO reader: bitwise the same fit" || fail "mapped and read fits differ"
# a pass over more rows than the page cache would keep drops the pages it read behind it
# (RRR_DROP_BEHIND=1 says so here): the same bits, and X no longer cached; by default these
# rows stay cached (the run before read them with RRR_MMAP=0 too)
resident() { fincore --bytes --noheadings --output RES "$1" 2>/dev/null || echo -1; }
xb=$(stat -c %s "$W/big/X.npy")
r0=$(resident "$W/big/X.npy")
RRR_MMAP=0 RRR_DIRECT=0 RRR_DROP_BEHIND=1 rrr 2 "${F[@]}" --solver exact --out "$W/dropped" 2>/dev/null
r1=$(resident "$W/big/X.npy")
# ... and such rows are read by a reader thread with O_DIRECT (RRR_DIRECT=1 says so here):
# the same bits, and X still not in the page cache after the pass
RRR_MMAP=0 RRR_DIRECT=1 rrr 2 "${F[@]}" --solver exact --out "$W/direct" 2>/dev/null
r2=$(resident "$W/big/X.npy")
cmp -s "$W/direct/U.npy" "$W/mm0/U.npy" && cmp -s "$W/direct/V.npy" "$W/mm0/V.npy" &&
    pass "the O_DIRECT reader thread: bitwise the same fit" || fail "the O_DIRECT reader changed the fit"
cmp -s "$W/dropped/U.npy" "$W/mm0/U.npy" && cmp -s "$W/dropped/V.npy" "$W/mm0/V.npy" &&
    pass "dropping the pages behind the pass: bitwise the same fit" || fail "drop-behind changed the fit"
case $(stat -f -c %T "$W") in
tmpfs | ramfs) echo "NOTE: $W is on $(stat -f -c %T "$W"), whose pages cannot be dropped (not tested)" ;;
*) if [[ $r0 -lt 0 ]]; then echo "NOTE: no fincore here (page residency not tested)"
   else
       [[ $r0 -gt $((xb * 9 / 10)) && $r1 -lt $((xb / 20)) ]] &&
           pass "by default X stayed cached ($((r0 / 1000000)) MB); dropped behind the pass, $((r1 / 1000000)) MB of it" ||
           fail "page cache: $r0 bytes of X before, $r1 after the drop-behind pass ($xb in all)"
       [[ $r2 -ge 0 && $r2 -lt $((xb / 20)) ]] && pass "the O_DIRECT pass left X out of the page cache ($((r2 / 1000000)) MB)" ||
           fail "page cache: $r2 bytes of X after the O_DIRECT pass ($xb in all)"
   fi ;;
esac
# truncated HOW FILE [DATASET]: X copied from FILE, then truncated to half during the pass
# (with CHANGE=rewrite: a block in its middle overwritten in place, the size unchanged:
# before, exit 0 and a fit of rows from two versions of the file),
# read HOW: mapped; read (the MPI-IO reader, whose nonblocking read of bytes the file no
# longer has never completes in Open MPI 4.1: a hang, before the reader watched the file's
# size); fortran (a file view's read past the end completes with what it did not find: a
# silently different fit, before); direct (the O_DIRECT reader thread: a short pread);
# hdf5 (the same as fortran, from H5Dread)
truncated() {
    local mm=1 dio=0 tp rc pid tn=${TNAME:-} x=$W/Xt${TNAME:-}.${2##*.}; [[ $1 == mapped ]] || mm=0; [[ $1 == direct ]] && dio=1
    cp "$2" "$x"
    cat "$W/big/Y.npy" >/dev/null # in the page cache, as the copy is: mapped unless RRR_MMAP=0
    rm -rf "$W/trunc"
    RRR_MMAP=$mm RRR_DIRECT=$dio RRR_PANEL_ROWS=64 timeout -k 5 60 mpirun --oversubscribe --mca odls_base_sigkill_timeout 0 -np 2 \
        "$RRR_BIN" fit --x "$x${3:-}" --y "$W/big/Y.npy" --rank 4 --lambda 0.5 --solver exact \
        --quiet --out "$W/trunc" >"$W/trunc.out" 2>"$W/trunc.err" &
    tp=$!
    # until a rank holds X open (a reader) or mapped
    for _ in $(seq 1 400); do
        pid=$(pgrep -n -f "fit --x $W/Xt" || echo 0)
        { grep -qs "Xt" /proc/$pid/maps || [[ -n $(find /proc/$pid/fd -lname "*/Xt*" 2>/dev/null) ]]; } && break
        sleep 0.02
    done
    local what=truncated said="changed size"
    if [[ ${CHANGE:-} == rewrite ]]; then
        what=rewritten said="the file was rewritten since rrr first opened it"
        dd if=/dev/zero of="$x" bs=4096 count=1 seek=$(( $(stat -c %s "$x") / 8192 )) conv=notrunc status=none
    else truncate -s $(( $(stat -c %s "$x") / 2 )) "$x"; fi
    wait $tp; rc=$?
    if [[ $rc -eq 0 && $what == rewritten ]] && ! cmp -s "$W/trunc/U.npy" "$W/trunc_ref/U.npy"; then
        fail "file rewritten during the pass ($1): exit 0 and a fit of other rows"
    elif [[ $rc -eq 0 ]]; then echo "NOTE: the pass ($1) ended before the file was $what (nothing tested)"
    else
        [[ $rc -eq 3 && ! -e $W/trunc ]] && grep -q "rrr: error: .*Xt${tn//$'\n'/\\\\n}\..*$said" "$W/trunc.err" &&
            pass "file $what during the pass ($1${tn:+, a newline in its name}): exit 3, one message naming it, nothing written" ||
            { fail "file $what during the pass ($1): exit $rc"; head -n 3 "$W/trunc.err"; }
    fi
    rm -f "$x"
}
truncated mapped "$W/big/X.npy"
# the SIGBUS handler's message, made before the pass: a newline in the name printed as \n
TNAME=$'\nnl' truncated mapped "$W/big/X.npy"
truncated read "$W/big/X.npy"
truncated direct "$W/big/X.npy"
rrr 2 fit --x "$W/big/X.npy" --y "$W/big/Y.npy" --rank 4 --lambda 0.5 --solver exact --quiet \
    --out "$W/trunc_ref" >/dev/null 2>&1 || fail "the reference fit of the truncation cases"
for how in mapped read direct; do CHANGE=rewrite truncated $how "$W/big/X.npy"; done
$PYTHON -c "import numpy as np; np.save('$W/Xf.npy', np.asfortranarray(np.load('$W/big/X.npy')))"
truncated fortran "$W/Xf.npy"
rm -f "$W/Xf.npy"
if $PYTHON -c "import h5py" 2>/dev/null && "$RRR_BIN" --version 2>/dev/null | grep -q "^HDF5"; then
    $PYTHON -c "import h5py, numpy as np; h5py.File('$W/X.h5', 'w')['X'] = np.load('$W/big/X.npy')"
    truncated hdf5 "$W/X.h5" :/X
    CHANGE=rewrite truncated hdf5 "$W/X.h5" :/X
    rm -f "$W/X.h5"
else echo "NOTE: no h5py or no HDF5 in this build (HDF5 truncation not tested)"; fi

# MPI-IO hints that Open MPI takes unchecked (a zero buffer read wrong rows at 3 ranks, a zero
# or negative count crashed, a key beyond MPI's limit aborted): ignored with one warning each
$PYTHON -c "
import numpy as np; r = np.random.default_rng(1); X = r.standard_normal((53, 7))
np.save('$W/hf.npy', np.asfortranarray(X)); np.save('$W/hy.npy', X @ r.standard_normal((7, 5)) + 0.3 * r.standard_normal((53, 5)))"
H=(fit --x "$W/hf.npy" --y "$W/hy.npy" --rank 2 --lambda 0.5 --solver exact --quiet)
rrr 3 "${H[@]}" --out "$W/h0" >/dev/null 2>&1
long=$(printf 'k%.0s' {1..40})
for h in cb_buffer_size=0 cb_nodes=-5 cb_buffer_size=-1 "$long=1"; do
    RRR_MPIIO_HINTS=$h rrr 3 "${H[@]}" --out "$W/h1" >/dev/null 2>"$W/h.err"; rc=$?
    [[ $rc -eq 0 && $(grep -c "RRR_MPIIO_HINTS: .* ignored" "$W/h.err") -eq 1 ]] &&
        cmp -s "$W/h0/U.npy" "$W/h1/U.npy" && pass "hint ${h:0:20}: ignored with one warning, the same fit" ||
        fail "hint ${h:0:20}: exit $rc, $(head -c 300 "$W/h.err")"
    rm -rf "$W/h1"
done

summary
