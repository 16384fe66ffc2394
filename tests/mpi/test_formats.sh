#!/usr/bin/env bash
# tests/mpi/test_formats.sh: data where users keep it. Parallel HDF5 (FILE.h5:/dataset:
# contiguous and chunked, float64 and big-endian float32) and Fortran-order .npy give the same
# model, bitwise, as C-order .npy at 1-4 ranks; predict writes HDF5 collectively and
# atomically; every refusal is exit 2 or 3 with one message that says how to fix it; a build
# without HDF5 says how to get it.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
if ! $PYTHON -c "import h5py" 2>/dev/null; then
    echo "SKIP: python3-h5py is not installed (scripts/install-deps.sh installs it)"; exit 77
fi
if ! "$RRR_BIN" --version 2>/dev/null | grep -q '^HDF5 [0-9]'; then
    echo "SKIP: this rrr was built without HDF5 (install libhdf5-openmpi-dev and rebuild)"; exit 77
fi

# The same matrices in every layout: X (103 x 7), Y (103 x 5), and a tiny one (2 rows) that
# leaves ranks without rows at 3 and 4 ranks.
rrr 1 gen --n 103 --p 7 --q 5 --rank 2 --seed 3 --out "$W" 2>/dev/null
rrr 1 gen --n 2 --p 3 --q 2 --rank 1 --seed 4 --out "$W/tiny" 2>/dev/null
check "write the HDF5 and Fortran-order copies (h5py, numpy)" $PYTHON - "$W" <<'PY'
import sys, numpy as np, h5py
d = sys.argv[1]
X, Y = np.load(f"{d}/X.npy"), np.load(f"{d}/Y.npy")
with h5py.File(f"{d}/data.h5", "w") as f:
    f["X"] = X                                                   # contiguous float64
    f.create_dataset("group/Y", data=Y, chunks=(10, 3))          # chunked float64
    f.create_dataset("group/Y_be4", data=Y.astype(">f4"), chunks=(16, 5))  # big-endian f4
    f["ints"] = np.arange(12).reshape(6, 2)
    f["one_d"] = np.arange(4.0)
    Xn = X.copy(); Xn[80, 3] = np.nan
    f["X_nan"] = Xn
with h5py.File(f"{d}/other.h5", "w") as f:
    f["unrelated"] = np.ones(3)
ids = (np.arange(103) % 4).reshape(-1, 1)                         # int64, as h5py and numpy make them
with h5py.File(f"{d}/folds.h5", "w") as f:
    f["ids"] = ids
    f["ids32"] = ids.astype("i4")
np.save(f"{d}/ids.npy", ids)
np.save(f"{d}/Y_f4.npy", Y.astype("<f4"))
np.save(f"{d}/XF.npy", np.asfortranarray(X))                    # what np.save(X.T.T) ...
np.save(f"{d}/XT.npy", X.T)                                       # ... and np.save(X.T) write
np.save(f"{d}/YF.npy", np.asfortranarray(Y))
np.save(f"{d}/YF_f4.npy", np.asfortranarray(Y.astype("<f4")))
assert np.load(f"{d}/XT.npy").flags.f_contiguous
t = np.load(f"{d}/tiny/X.npy")
with h5py.File(f"{d}/tiny.h5", "w") as f:
    f["X"] = t
np.save(f"{d}/tiny/XF.npy", np.asfortranarray(t))
PY

same_model() { # same_model NAME DIR1 DIR2: U.npy and V.npy identical bytes
    if cmp -s "$2/U.npy" "$3/U.npy" && cmp -s "$2/V.npy" "$3/V.npy"; then pass "$1"
    else fail "$1"; fi
}
FIT=(--rank 2 --lambda 0.5 --quiet --no-certificate)
fit() { local np=$1 out=$2; shift 2; rrr $np fit "$@" "${FIT[@]}" --out "$W/$out" >/dev/null 2>&1; }
for np in 1 2 3 4; do
    fit $np npy$np --x "$W/X.npy" --y "$W/Y.npy"
    fit $np h5$np --x "$W/data.h5:/X" --y "$W/data.h5:/group/Y"
    same_model "HDF5 (contiguous X, chunked Y) = .npy, bitwise, np=$np" "$W/npy$np" "$W/h5$np"
    fit $np f$np --x "$W/XF.npy" --y "$W/YF.npy"
    same_model "Fortran-order .npy = C-order, bitwise, np=$np" "$W/npy$np" "$W/f$np"
done
fit 3 f4 --x "$W/X.npy" --y "$W/Y_f4.npy"
fit 3 be4 --x "$W/data.h5:X" --y "$W/data.h5:/group/Y_be4"
same_model "HDF5 big-endian float32 = <f4 .npy, bitwise, np=3" "$W/f4" "$W/be4"
fit 3 ff4 --x "$W/XF.npy" --y "$W/YF_f4.npy"
same_model "Fortran-order <f4 = C-order <f4, bitwise, np=3" "$W/f4" "$W/ff4"
fit 3 npygd --x "$W/X.npy" --y "$W/Y.npy" --solver gd
fit 3 h5gd --x "$W/data.h5:/X" --y "$W/data.h5:/group/Y" --solver gd
same_model "HDF5 = .npy with gd, bitwise, np=3" "$W/npygd" "$W/h5gd"
fit 2 xt --x "$W/XT.npy" --y "$W/XT.npy"
check "np.save(X.T) is read as the 7 x 103 matrix it holds" $PYTHON -c "
import json; js = json.load(open('$W/xt/model.json')); assert (js['n'], js['p']) == (7, 103), js"

# --- predict writes HDF5: collectively, atomically, the file replaced --------------------
rrr 1 fit --x "$W/tiny/X.npy" --y "$W/tiny/Y.npy" --rank 1 --lambda 1 --quiet --out "$W/tinym" >/dev/null 2>&1
rrr 4 predict --model "$W/npy1" --x "$W/X.npy" --out "$W/yhat.npy" 2>/dev/null
cp "$W/other.h5" "$W/yhat.h5"
rrr 4 predict --model "$W/npy1" --x "$W/data.h5:/X" --out "$W/yhat.h5:/pred/Yhat" 2>/dev/null
rrr 1 predict --model "$W/npy1" --x "$W/XF.npy" --out "$W/yhat1.h5:/Yhat" 2>/dev/null
rrr 4 predict --model "$W/tinym" --x "$W/tiny.h5:/X" --out "$W/tiny4.h5:/Yhat" 2>/dev/null
rrr 3 predict --model "$W/tinym" --x "$W/tiny/XF.npy" --out "$W/tiny3.npy" 2>/dev/null
$PYTHON -c "import numpy as np; np.save('$W/X0.npy', np.zeros((0, np.load('$W/tiny/X.npy').shape[1])))"
for np in 1 3; do
    rrr $np predict --model "$W/tinym" --x "$W/X0.npy" --out "$W/empty$np.h5:/Yhat" >/dev/null 2>&1 &&
        $PYTHON -c "import h5py; assert h5py.File('$W/empty$np.h5')['Yhat'].shape[0] == 0" &&
        pass "predict of 0 rows to FILE.h5:/dset: an empty dataset (np=$np)" ||
        fail "predict of 0 rows to HDF5 (np=$np)"
done
cp -r "$W/npy1" "$W/npy1F"
$PYTHON -c "
import numpy as np
import json
for k in 'UV': np.save('$W/npy1F/%s.npy' % k, np.asfortranarray(np.load('$W/npy1/%s.npy' % k)))
# re-saved by hand: the checksums of the files rrr wrote no longer apply
j = json.load(open('$W/npy1F/model.json')); del j['files']
json.dump(j, open('$W/npy1F/model.json', 'w'))"
rrr 2 predict --model "$W/npy1F" --x "$W/X.npy" --out "$W/yhatF.npy" 2>/dev/null
cmp -s "$W/yhatF.npy" "$W/yhat.npy" && pass "a model saved in Fortran order predicts alike" || fail "Fortran-order model"
check "HDF5 predictions = .npy predictions (np=1, 4, ranks without rows); the old file was replaced" \
    $PYTHON - "$W" <<'PY'
import sys, glob, numpy as np, h5py
d = sys.argv[1]
want = np.load(f"{d}/yhat.npy")
with h5py.File(f"{d}/yhat.h5", "r") as f:
    assert list(f.keys()) == ["pred"], list(f.keys())      # "unrelated" is gone
    assert f["pred/Yhat"].dtype == np.float64
    assert np.array_equal(f["pred/Yhat"][...], want)
with h5py.File(f"{d}/yhat1.h5", "r") as f:
    assert np.array_equal(f["Yhat"][...], want)
with h5py.File(f"{d}/tiny4.h5", "r") as f:
    assert np.array_equal(f["Yhat"][...], np.load(f"{d}/tiny3.npy"))
assert not glob.glob(f"{d}/*.tmp.*"), glob.glob(f"{d}/*.tmp.*")
PY

# fold ids as integers from HDF5 (int64 or int32) split as the same ids in .npy do
for ids in ids.npy folds.h5:/ids folds.h5:/ids32; do
    rrr 3 cv --x "$W/X.npy" --y "$W/Y.npy" --rank 1,2 --lambda 0.5,5 --fold-ids "$W/$ids" \
        --out "$W/cv-${ids//[:\/]/}" >/dev/null 2>"$W/cv.err" || { fail "cv --fold-ids $ids"; cat "$W/cv.err"; }
done
check "cv --fold-ids from HDF5 integers (int64, int32) = from .npy <i8 (cv.csv bytes)" \
    bash -c "cmp '$W/cv-ids.npy/cv.csv' '$W/cv-folds.h5ids/cv.csv' && cmp '$W/cv-ids.npy/cv.csv' '$W/cv-folds.h5ids32/cv.csv'"

# --- refusals: the .npy contract's exit codes, one message with the fix -------------------
# expect_msg CODE TEXT NAME NP ARGS...: exit CODE, one message, containing TEXT
expect_msg() {
    local code=$1 text=$2; shift 2
    expect_exit "$code" "$@"
    grep -qF -- "$text" "$WORK/err" || fail "$1: message lacks '$text': $(grep 'error' "$WORK/err")"
}
Y=(--y "$W/Y.npy" --rank 1 --lambda 1 --out "$W/never")
# an external link into data.h5 is data.h5 for the overwrite check; links to nothing say so
$PYTHON -c "
import h5py
with h5py.File('$W/links.h5', 'w') as h:
    h['X'] = h5py.ExternalLink('data.h5', '/X'); h['gone'] = h5py.ExternalLink('missing.h5', '/X')
    h['dang'] = h5py.SoftLink('/nothere')"
cp "$W/data.h5" "$W/keep.h5"
expect_msg 2 "would replace the input $W/links.h5:/X" "predict --out into the file an external link reads" \
    2 predict --model "$W/npy1" --x "$W/links.h5:/X" --out "$W/data.h5:/Yhat"
cmp -s "$W/data.h5" "$W/keep.h5" && pass "... data.h5 left as it was" || fail "data.h5 changed"
for l in gone dang; do
    expect_msg 3 "a link to nothing" "HDF5 link /$l to nothing" 1 predict --model "$W/npy1" \
        --x "$W/links.h5:/$l" --out "$W/never.npy"
done
# a dataset whose values are in an external raw file (H5Pset_external): that file is the
# input too (predict --out raw.bin had overwritten it, exit 0), named relative or absolute
$PYTHON -c "
import numpy as np, h5py
X = np.load('$W/XF.npy'); X.tofile('$W/raw.bin')
h5py.File('$W/ext.h5', 'w').create_dataset('X', shape=X.shape, dtype='<f8', external=[('raw.bin', 0, h5py.h5f.UNLIMITED)])
h5py.File('$W/exta.h5', 'w').create_dataset('X', shape=X.shape, dtype='<f8', external=[('$W/raw.bin', 0, h5py.h5f.UNLIMITED)])"
cp "$W/raw.bin" "$W/raw.keep"
for e in ext exta; do
    for np in 1 3; do
        expect_msg 2 "would replace the input" "predict --out the external raw file of $e.h5:/X" \
            $np predict --model "$W/npy1" --x "$W/$e.h5:/X" --out "$W/raw.bin"
    done
done
cmp -s "$W/raw.bin" "$W/raw.keep" && pass "... raw.bin left as it was" || fail "raw.bin changed"
# a dataset HDF5 cannot read (its external raw file gone, a damaged compressed chunk): exit 3,
# and the message carries HDF5's own reason (it said "cannot read rows" alone)
mv "$W/raw.bin" "$W/raw.gone"
expect_msg 3 "(HDF5: " "external raw file missing: HDF5's reason" 2 predict --model "$W/npy1" \
    --x "$W/ext.h5:/X" --out "$W/never.npy"
mv "$W/raw.gone" "$W/raw.bin"
cp "$W/raw.bin" "$W/raw.full" # shorter than the dataset: it read as zeros, exit 0
truncate -s $(( $(stat -c %s "$W/raw.bin") / 2 )) "$W/raw.bin"
expect_msg 3 "holds" "a truncated external raw file: refused" 2 predict --model "$W/npy1" \
    --x "$W/exta.h5:/X" --out "$W/never.npy"
mv "$W/raw.full" "$W/raw.bin"
$PYTHON -c "
import numpy as np, h5py
X = np.load('$W/XF.npy')
with h5py.File('$W/bad.h5', 'w') as h:
    h.create_dataset('X', data=X, chunks=(8, X.shape[1]), compression='gzip')
    off = h['X'].id.get_chunk_info(1).byte_offset
b = bytearray(open('$W/bad.h5', 'rb').read()); b[off:off + 16] = b'\xff' * 16
open('$W/bad.h5', 'wb').write(b)"
expect_msg 3 "(HDF5: " "a damaged gzip chunk: HDF5's reason" 2 predict --model "$W/npy1" \
    --x "$W/bad.h5:/X" --out "$W/never.npy"
# a compressed chunk larger than 64 MB is decompressed again by every panel's read: said once
$PYTHON -c "
import numpy as np, h5py
with h5py.File('$W/bigchunk.h5', 'w') as h:
    h.create_dataset('X', data=np.zeros((140000, 64)), chunks=(140000, 64), compression='gzip')
np.save('$W/bcy.npy', np.ones((140000, 1)))"
rrr 2 fit --x "$W/bigchunk.h5:/X" --y "$W/bcy.npy" --rank 1 --lambda 1 --solver exact --out "$W/bc" \
    >/dev/null 2>"$W/bc.err"
[[ $(grep -c "compressed chunks hold 71.7 MB each" "$W/bc.err") -eq 1 ]] &&
    pass "a 72 MB compressed chunk: one warning with the fix" || fail "big chunk: $(head -c 300 "$W/bc.err")"
for name in / /pred/ /a//b; do  # not dataset names: refused before the work, no warning first
    cp "$W/data.h5" "$W/keep.h5"
    expect_msg 2 "cannot create this dataset" "predict --out keep.h5:$name" 2 predict \
        --model "$W/npy1" --x "$W/XF.npy" --out "$W/keep.h5:$name"
    ! grep -q warning "$WORK/err" && cmp -s "$W/data.h5" "$W/keep.h5" ||
        fail "predict --out keep.h5:$name: a warning, or the file changed"
done
expect_msg 3 "cannot open: No such file" "HDF5 file missing" 2 fit --x "$W/none.h5:/X" "${Y[@]}"
expect_msg 3 "no such dataset (/ holds: X, X_nan, group, ints, one_d)" "HDF5 dataset missing" 3 fit --x "$W/data.h5:/Z" "${Y[@]}"
expect_msg 3 "no such dataset (/group holds: Y, Y_be4)" "HDF5 dataset missing in a group" 2 fit --x "$W/data.h5:/group/Z" "${Y[@]}"
expect_msg 2 "a group, not a dataset" "HDF5 group named" 2 fit --x "$W/data.h5:/group" "${Y[@]}"
expect_msg 2 "dataset of integers (need float64 or float32): write arr.astype('f8')" "HDF5 integers" 2 fit --x "$W/data.h5:/ints" "${Y[@]}"
expect_msg 2 "got shape (4,): for one column" "HDF5 1-D" 3 fit --x "$W/data.h5:/one_d" "${Y[@]}"
expect_msg 2 "data.h5:/X_nan: non-finite value nan at row 80, column 3" "HDF5 NaN (one rank's rows)" 4 fit --x "$W/data.h5:/X_nan" "${Y[@]}"
expect_msg 2 "name the dataset inside the HDF5 file" "HDF5 file without a dataset" 2 fit --x "$W/data.h5" "${Y[@]}"
cp "$W/X.npy" "$W/X_npy.h5"
expect_msg 2 "not an HDF5 file (name a .npy file by its path alone, ending in .npy)" ".npy named .h5" 2 fit --x "$W/X_npy.h5:/X" "${Y[@]}"
# named by its path alone, it must not send the user back to naming a dataset
expect_msg 2 "X_npy.h5: a .npy file under an HDF5 name: rename it to end in .npy" ".npy named .h5, no dataset" 3 fit --x "$W/X_npy.h5" "${Y[@]}"
expect_msg 2 "a .npy file under an HDF5 name" ".npy named .h5 as fold ids" 2 cv --x "$W/X.npy" "${Y[@]}" --fold-ids "$W/X_npy.h5"
$PYTHON -c "
import h5py, numpy as np, os
X = np.load('$W/X.npy')
with h5py.File('$W/lzf.h5', 'w') as f: f.create_dataset('X', data=X, chunks=(16, X.shape[1]), compression='lzf')
with open('$W/data.h5', 'rb') as f: b = f.read()
open('$W/trunc.h5', 'wb').write(b[:len(b) - 500])"
expect_msg 2 "filter 32000 (lzf), which this HDF5 library does not have" \
    "a dataset in a filter libhdf5 lacks (h5py's lzf): says which" 2 fit --x "$W/lzf.h5:/X" "${Y[@]}"
expect_msg 2 "truncated or damaged" "a truncated HDF5 file: exit 2, as a truncated .npy" 2 fit \
    --x "$W/trunc.h5:/X" "${Y[@]}"
# chunks never written (a dataset created with a shape and filled in part, one resized past
# its rows, gzip'ed): read as h5py reads them (the fill value there), at every rank count;
# the collective read hung at 2 ranks and more. A virtual dataset: exit 2 with the fix.
$PYTHON -c "
import h5py, numpy as np
X = np.load('$W/X.npy'); n, p = X.shape
with h5py.File('$W/part.h5', 'w') as f:
    d = f.create_dataset('X', shape=(n, p), dtype='f8', chunks=(13, p)); d[: n // 2] = X[: n // 2]
    g = f.create_dataset('G', shape=(n, p), dtype='f8', chunks=(17, p), compression='gzip'); g[n // 3:] = X[n // 3:]
    r = f.create_dataset('R', shape=(n // 4, p), maxshape=(None, p), dtype='f8', chunks=(11, p))
    r[:] = X[: n // 4]; r.resize((n, p))
    for k in ('X', 'G', 'R'): np.save('$W/part_' + k + '.npy', f[k][...])
with h5py.File('$W/src.h5', 'w') as f: f['X'] = X
lay = h5py.VirtualLayout(shape=X.shape, dtype='f8'); lay[:] = h5py.VirtualSource('$W/src.h5', 'X', shape=X.shape)
with h5py.File('$W/vds.h5', 'w') as f: f.create_virtual_dataset('X', lay)"
for k in X G R; do
    for np in 1 2 3; do
        rrr $np fit --x "$W/part.h5:/$k" --y "$W/Y.npy" --rank 2 --lambda 1 --solver exact --quiet --out "$W/ph$k$np" >/dev/null 2>"$W/ph.err" &&
            rrr $np fit --x "$W/part_$k.npy" --y "$W/Y.npy" --rank 2 --lambda 1 --solver exact --quiet --out "$W/pn$k$np" >/dev/null 2>&1 &&
            check "HDF5 with chunks never written ($k, np=$np) = h5py's read of it (U, V bitwise)" \
                bash -c "cmp '$W/ph$k$np/U.npy' '$W/pn$k$np/U.npy' && cmp '$W/ph$k$np/V.npy' '$W/pn$k$np/V.npy'" ||
            { fail "HDF5 with chunks never written ($k, np=$np)"; cat "$W/ph.err"; }
    done
done
expect_msg 2 "a virtual dataset, which parallel HDF5 cannot read" "an HDF5 virtual dataset: exit 2 with the fix" 2 fit --x "$W/vds.h5:/X" "${Y[@]}"
cp "$W/data.h5" "$W/data_h5.npy"
expect_msg 2 "an HDF5 file: name its dataset as FILE.h5:/path" "HDF5 file named .npy" 2 fit --x "$W/data_h5.npy" "${Y[@]}"
$PYTHON -c "
import numpy as np; X = np.load('$W/X.npy'); np.savez('$W/X.npz', X=X); np.savetxt('$W/X.csv', X, delimiter=',')
np.save('$W/X_be.npy', X.astype('>f8'))"
expect_msg 2 ".npz is an archive: save each array with numpy.save" ".npz refused" 2 fit --x "$W/X.npz" "${Y[@]}"
expect_msg 2 "for CSV use numpy.loadtxt + numpy.save" "CSV refused" 2 fit --x "$W/X.csv" "${Y[@]}"
expect_msg 2 "save arr.astype('<f8') instead" "big-endian .npy refused" 2 fit --x "$W/X_be.npy" "${Y[@]}"
expect_msg 2 "name the dataset inside the HDF5 file" "predict --out .h5 without a dataset" 2 predict --model "$W/npy1" --x "$W/X.npy" --out "$W/y.h5"
[[ ! -e $W/never && ! -e $W/y.h5 ]] && pass "no output after refused inputs" || fail "output left behind"
$PYTHON -c "
import h5py, numpy as np
with h5py.File('$W/zero.h5', 'w') as f: f.create_dataset('X', (0, 7), 'f8')  # no storage"
expect_msg 2 "has 0 rows but" "a contiguous HDF5 dataset of 0 rows: the .npy message" 2 fit --x "$W/zero.h5:/X" "${Y[@]}"
cp "$W/data.h5" "$W/inout.h5"
expect_msg 2 "would replace the input" "predict --out into the HDF5 file X comes from" 2 predict --model "$W/npy1" \
    --x "$W/inout.h5:/X" --out "$W/inout.h5:/Yhat"
cmp -s "$W/data.h5" "$W/inout.h5" && pass "... and that file is untouched" || fail "the input file was changed"

# --- a build without HDF5 still builds and says how to get it --------------------------------
# (-O0: the same numbers as -O2 here, since C11 mode contracts no FMAs, and half the build time)
if [[ ${SAN:-0} != 1 ]] && make -s -j2 HDF5=0 CFLAGS="-O0" B="$W/noh5" BIN="$W/noh5/rrr" "$W/noh5/rrr" \
        >"$W/noh5.log" 2>&1; then
    RRR_BIN=$W/noh5/rrr expect_msg 2 "this rrr was built without HDF5: install libhdf5-openmpi-dev and rebuild" \
        "HDF5 input without HDF5" 2 fit --x "$W/data.h5:/X" "${Y[@]}"
    "$W/noh5/rrr" --version | grep -q "^HDF5 none" && pass "--version: built without HDF5" || fail "--version without HDF5"
    RRR_BIN=$W/noh5/rrr fit 2 noh5m --x "$W/X.npy" --y "$W/Y.npy"
    same_model "the build without HDF5 fits .npy alike" "$W/npy2" "$W/noh5m"
elif [[ ${SAN:-0} != 1 ]]; then
    fail "make HDF5=0 failed"; tail -n 20 "$W/noh5.log"
fi
summary
