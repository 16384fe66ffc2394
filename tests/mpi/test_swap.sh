#!/usr/bin/env bash
# tests/mpi/test_swap.sh: an input replaced while rrr runs. Another file is renamed over X at
# the K-th time a rank opens it (tests/mpi/swap_open.c, LD_PRELOAD), for every K until no
# open is left: between the header's read and the data's, between two passes, between the
# shape's read and a load. The replacement holds other bytes under another header, so that
# its data read under X's header make another fit. Each run must either read one file
# throughout (exit 0 and the outputs of the plain run, bit for bit: the replacement of a
# .npy is X in Fortran order, the same values) or stop (exit 2 or 3, one message, no output).
# It used to read the new file's bytes under the old header: exit 0 and a fit of other data.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
[[ ${SAN:-0} == 1 ]] && skip "AddressSanitizer must come first among the loaded libraries: no LD_PRELOAD"
W=$WORK
SHIM=$W/swap_open.so
${CC:-cc} -shared -fPIC -O1 -o "$SHIM" tests/mpi/swap_open.c -ldl || { fail "build swap_open.so"; summary; exit; }
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 3000 --p 6 --q 4 --rank 2 --seed 5
$PYTHON -c "import numpy as np; np.save('$W/Xf.npy', np.asfortranarray(np.load('$W/X.npy')))"
have_h5=0
if $PYTHON -c "import h5py" 2>/dev/null && "$RRR_BIN" --version 2>/dev/null | grep -q "^HDF5"; then
    have_h5=1
    # the replacement: one more row, in front; read under X's shape, its first n rows are
    # X shifted by one
    $PYTHON -c "
import h5py, numpy as np; X = np.load('$W/X.npy')
h5py.File('$W/X.h5', 'w')['X'] = X
h5py.File('$W/Xs.h5', 'w')['X'] = np.vstack([np.zeros((1, X.shape[1])), X])"
fi

# swept NAME NP X XNEW OUTS CMD...: CMD at NP ranks once plainly, then with XNEW renamed over
# X at each open K; OUTS: the files compared with the plain run's (in $W/o)
swept() {
    local name=$1 np=$2 x=$3 xnew=$4 outs=$5; shift 5
    local k rc nerr bad=0 stops=0 same=0
    cp "$x" "$W/keep"
    rm -rf "$W/o" "$W/ref" && mkdir "$W/o" # an empty directory: an output is anything in it
    rrr "$np" "$@" >/dev/null 2>"$W/e" || { fail "$name: the plain run (exit $?)"; head -n 3 "$W/e"; return; }
    mv "$W/o" "$W/ref"
    for k in $(seq 1 12); do
        cp "$xnew" "$W/new"
        rm -rf "$W/o" && mkdir "$W/o"
        SWAP_AT=$k SWAP_PATH=$x SWAP_FROM=$W/new $MPIRUN -x LD_PRELOAD="$SHIM" -x SWAP_AT -x SWAP_PATH \
            -x SWAP_FROM -np "$np" "$RRR_BIN" "$@" >/dev/null 2>"$W/e"
        rc=$? nerr=$(grep -c '^rrr: error:' "$W/e")
        local swapped=1; [[ -e $W/new ]] && swapped=0
        cp "$W/keep" "$x"
        if [[ $rc -eq 0 ]]; then
            for f in $outs; do cmp -s "$W/ref/$f" "$W/o/$f" || { bad=1; echo "K=$k: exit 0 and $f differs from the plain run's"; }; done
            same=$((same + swapped))
        elif [[ ($rc -eq 2 || $rc -eq 3) && $nerr -eq 1 && -z $(ls -A "$W/o") ]]; then
            stops=$((stops + 1))
        else
            bad=1; echo "K=$k: exit $rc, $nerr error lines$([[ -n $(ls -A "$W/o") ]] && echo ', output left')"; head -n 3 "$W/e"
        fi
        [[ $swapped -eq 0 ]] && break # no K-th open: every point was tried
    done
    [[ $bad -eq 0 && $stops -gt 0 ]] &&
        pass "$name: X replaced at each of its $((k - 1)) opens: $stops stopped (exit 2 or 3), $same read one file" ||
        fail "$name: X replaced at some open: a fit of mixed files (or $stops stops)"
}

F=(--y "$W/Y.npy" --rank 2 --lambda 0.5 --quiet)
swept "fit exact, mapped" 1 "$W/X.npy" "$W/Xf.npy" U.npy fit --x "$W/X.npy" "${F[@]}" --solver exact --out "$W/o"
swept "fit exact, mapped" 2 "$W/X.npy" "$W/Xf.npy" U.npy fit --x "$W/X.npy" "${F[@]}" --solver exact --out "$W/o"
RRR_MMAP=0 swept "fit exact, MPI-IO" 2 "$W/X.npy" "$W/Xf.npy" U.npy fit --x "$W/X.npy" "${F[@]}" --solver exact \
    --out "$W/o"
RRR_MMAP=0 RRR_DIRECT=1 swept "fit exact, O_DIRECT reader" 2 "$W/X.npy" "$W/Xf.npy" U.npy fit --x "$W/X.npy" \
    "${F[@]}" --solver exact --out "$W/o"
swept "fit gd (rows in memory)" 3 "$W/X.npy" "$W/Xf.npy" U.npy fit --x "$W/X.npy" "${F[@]}" --solver gd \
    --max-iter 50 --out "$W/o"
swept "cv (passes over X)" 2 "$W/X.npy" "$W/Xf.npy" "cv.csv U.npy" cv --x "$W/X.npy" "${F[@]}" --folds 3 \
    --out "$W/o"
rrr 2 fit --x "$W/X.npy" "${F[@]}" --solver exact --out "$W/m" >/dev/null 2>&1
swept "predict" 2 "$W/X.npy" "$W/Xf.npy" yhat.npy predict --model "$W/m" --x "$W/X.npy" \
    --out "$W/o/yhat.npy" --quiet
if [[ $have_h5 -eq 1 ]]; then
    swept "fit exact, HDF5" 2 "$W/X.h5" "$W/Xs.h5" U.npy fit --x "$W/X.h5:/X" "${F[@]}" --solver exact --out "$W/o"
    swept "fit gd, HDF5" 2 "$W/X.h5" "$W/Xs.h5" U.npy fit --x "$W/X.h5:/X" "${F[@]}" --solver gd --max-iter 50 \
        --out "$W/o"
else echo "NOTE: no h5py or no HDF5 in this build (HDF5 not tested)"; fi
summary
