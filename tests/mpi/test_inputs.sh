#!/usr/bin/env bash
# tests/mpi/test_inputs.sh: inputs and arguments that used to hang, crash, or end with a
# wrong exit code, at 1-3 ranks: FIFOs and other non-regular files as inputs (exit 3, no
# hang), output locations checked before any data is read (exit 3), size products that
# overflow (exit 2), non-finite values (gradcheck, gen --noise: exit 4; checkpoints: exit
# 2), and the small cases: 0 columns, 0 rows to score, a subnormal --lambda, a .npy shape
# with leading zeros, a checkpoint's format byte printed in hex.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 120 --p 5 --q 4 --rank 2 --seed 1
rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 1 --out "$W/m" --quiet 2>/dev/null
# expect_bounded CODE NAME NP ARGS...: like expect_exit, in 20 s or it counts as a hang
expect_bounded() {
    local code=$1 name=$2 np=$3; shift 3
    bounded 20 mpirun --oversubscribe --mca odls_base_sigkill_timeout 0 -np "$np" "$RRR_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$? nerr; nerr=$(grep -c '^rrr: error:' "$WORK/err")
    if [[ $rc -eq $code && $nerr -eq 1 ]]; then pass "$name (np=$np exit $rc)"; else
        fail "$name (np=$np: exit $rc, want $code; 124 is a hang; $nerr error lines)"; head -n 3 "$WORK/err"; fi
}

# --- FIFOs (and a directory) as inputs: refused at once, never waited on ----------------
mkfifo "$W/fifo.npy"
mkdir -p "$W/mf" && cp "$W/m/U.npy" "$W/m/V.npy" "$W/mf/" && mkfifo "$W/mf/model.json"
mkdir -p "$W/ckf" && mkfifo "$W/ckf/checkpoint.bin"
expect_bounded 3 "--x is a FIFO" 1 fit --x "$W/fifo.npy" --y "$W/Y.npy" --rank 1 --lambda 1
for np in 2; do
    expect_bounded 3 "--x is a FIFO" $np fit --x "$W/fifo.npy" --y "$W/Y.npy" --rank 1 --lambda 1
    grep -q 'not a regular file' "$WORK/err" || fail "FIFO message says what it is"
    expect_bounded 3 "--y is a FIFO" $np fit --x "$W/X.npy" --y "$W/fifo.npy" --rank 1 --lambda 1
    expect_bounded 3 "predict --x is a FIFO" $np predict --model "$W/m" --x "$W/fifo.npy" --out "$W/yh.npy"
    expect_bounded 3 "model.json is a FIFO" $np predict --model "$W/mf" --x "$W/X.npy" --out "$W/yh.npy"
    expect_bounded 3 "checkpoint.bin is a FIFO" $np fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 \
        --lambda 1 --solver gd --checkpoint "$W/ckf" --resume
    expect_bounded 3 "--x is a directory" $np fit --x "$W/m" --y "$W/Y.npy" --rank 1 --lambda 1
done

# --- a path longer than PATH_MAX is exit 3 (what open says) for an input as for an output
long=$W/$(printf 'a%.0s' $(seq 1 5000))
expect_bounded 3 "--x path over PATH_MAX" 2 fit --x "$long.npy" --y "$W/Y.npy" --rank 1 --lambda 1
grep -q "path too long" "$WORK/err" || fail "the long --x path: the message says so"
# ... also when it names an HDF5 dataset (it used to say to name one: exit 2)
expect_bounded 3 "predict --x FILE.h5:/X over PATH_MAX" 2 predict --model "$W/m" --x "$long.h5:/X" \
    --out "$W/yh.npy"
grep -q "path too long" "$WORK/err" || fail "the long predict --x path: the message says so"
expect_bounded 3 "cv --fold-ids FILE.h5:/ids over PATH_MAX" 3 cv --x "$W/X.npy" --y "$W/Y.npy" --rank 1 \
    --lambda 1 --fold-ids "$long.h5:/ids" --out "$W/cvl"
grep -q "path too long" "$WORK/err" || fail "the long --fold-ids path: the message says so"
expect_bounded 3 "--out path over PATH_MAX" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 \
    --lambda 1 --out "$long"

# a path holding a newline is printed on one line, the newline as \n
expect_bounded 3 "--x with a newline in its name" 2 fit --x "$W/a
b.npy" --y "$W/Y.npy" --rank 1 --lambda 1
[[ $(wc -l <"$WORK/err") -ge 1 ]] && grep -qF 'a\nb.npy: cannot open' "$WORK/err" &&
    pass "... one line, the newline printed as \\n" || fail "newline path: $(head -c 200 "$WORK/err")"

# --- output locations are checked before the data is read -------------------------------
# (--x does not exist: the message must be about the output, found first)
touch "$W/afile"
N=(--x "$W/nope.npy" --y "$W/nope.npy" --rank 1 --lambda 1)
expect_exit 3 "fit --out under a missing directory" 1 fit "${N[@]}" --out "$W/no/such/m"
for np in 3; do
    expect_exit 3 "fit --out under a missing directory" $np fit "${N[@]}" --out "$W/no/such/m"
    grep -q -- '--out' "$WORK/err" || fail "the --out check comes before reading (np=$np)"
    expect_exit 3 "fit --report in a missing directory" $np fit "${N[@]}" --report "$W/no/r.json"
    grep -q -- '--report' "$WORK/err" || fail "the --report check comes before reading (np=$np)"
    expect_exit 3 "fit --report is a directory" $np fit "${N[@]}" --report "$W/m"
    expect_exit 3 "fit --checkpoint under a regular file" $np fit "${N[@]}" --checkpoint "$W/afile/ck"
    grep -q -- '--checkpoint' "$WORK/err" || fail "the --checkpoint check comes before reading (np=$np)"
    expect_exit 3 "predict --out in a missing directory" $np predict --model "$W/nope" --x "$W/nope.npy" \
        --out "$W/no/yh.npy"
    grep -q -- '--out' "$WORK/err" || fail "predict checks --out before reading (np=$np)"
    expect_exit 3 "predict --out is a directory" $np predict --model "$W/m" --x "$W/X.npy" --out "$W/m"
    expect_exit 3 "gen --out under a regular file" $np gen --n 5 --p 2 --q 2 --rank 1 --out "$W/afile/g"
done
[[ -z $(leftovers "$W") ]] && pass "the probes leave nothing behind" || fail "probe files left: $(leftovers "$W")"
# an output that is an input is refused before any work; a report inside a new --out works
G=(--x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1 --quiet)
cp "$W/X.npy" "$W/X.keep"
expect_exit 2 "fit --report onto --x" 2 fit "${G[@]}" --report "$W/X.npy" --out "$W/never2"
cmp -s "$W/X.npy" "$W/X.keep" && [[ ! -e $W/never2 ]] && pass "... X untouched, nothing written" ||
    fail "--report onto --x changed X or wrote something"
expect_exit 2 "predict --out onto --x" 2 predict --model "$W/m" --x "$W/X.npy" --out "$W/X.npy"
check "fit --report DIR/r.json with a new --out DIR" rrr 2 fit "${G[@]}" --out "$W/newm" --report "$W/newm/r.json"
[[ -s $W/newm/r.json && -s $W/newm/model.json ]] && pass "... both written" || fail "report or model missing"
if mkdir -p "$W/ro" && mount -t tmpfs -o ro,size=16k rrr-test-ro "$W/ro" 2>/dev/null; then
    expect_exit 3 "fit --out on a read-only filesystem" 2 fit "${N[@]}" --out "$W/ro/m"
    grep -q 'cannot write in' "$WORK/err" || fail "read-only message"
    expect_exit 3 "predict --out on a read-only filesystem" 2 predict --model "$W/m" --x "$W/X.npy" --out "$W/ro/yh.npy"
    umount "$W/ro"
else
    echo "(read-only filesystem case not run: cannot mount here)"
fi
rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1 --quiet >/dev/null 2>"$W/err"
grep -q 'warning: no --out: the fitted model will not be kept' "$W/err" && pass "fit without --out warns" ||
    fail "fit without --out does not warn"

# --- sizes that overflow are refused before use -----------------------------------------
expect_bounded 2 "gen --n 2^62 --p 4 (n p wraps)" 2 gen --n 4611686018427387904 --p 4 --q 4 --rank 1 --out "$W/huge"
expect_bounded 2 "gen --n 2^62 --p 4 (n p wraps)" 1 gen --n 4611686018427387904 --p 4 --q 4 --rank 1 --out "$W/huge"
expect_bounded 2 "gen --n 2^40 (rows per rank above 2^31)" 1 gen --n 1099511627776 --p 4 --q 3 --rank 1 --out "$W/huge"
expect_bounded 2 "gen --p 2^61 (p d wraps)" 1 gen --n 2 --p 2305843009213693952 --q 3 --rank 2 --out "$W/huge"
[[ ! -e $W/huge ]] && pass "no output for refused sizes" || fail "output left for refused sizes"

# --- non-finite values ------------------------------------------------------------------
$PYTHON -c "import numpy as n; n.save('$W/Xbig.npy', n.load('$W/X.npy') * 1e160)"
for np in 1 2; do
    expect_exit 4 "gradcheck on X * 1e160 (non-finite objective)" $np gradcheck --x "$W/Xbig.npy" --y "$W/Y.npy" --rank 2 --lambda 1
    grep -q '^max_rel_error' "$WORK/out" && fail "gradcheck printed an error value for a non-finite objective"
    expect_exit 4 "gen --noise 1e308 overflows Y" $np gen --n 50 --p 3 --q 3 --rank 1 --noise 1e308 --out "$W/inf"
    [[ ! -e $W/inf ]] && pass "no output after gen overflowed" || fail "gen left output after Inf"
done

# --- small cases --------------------------------------------------------------------------
$PYTHON -c "
import numpy as n
n.save('$W/X0c.npy', n.zeros((120, 0))); n.save('$W/X0r.npy', n.zeros((0, 5))); n.save('$W/Y0r.npy', n.zeros((0, 4)))
# shape (020, 05) with leading zeros: numpy itself cannot read it (a SyntaxError)
h = \"{'descr': '<f8', 'fortran_order': False, 'shape': (020, 05), }\"
h += ' ' * (118 - len(h)) + '\n'
open('$W/lead0.npy', 'wb').write(b'\x93NUMPY\x01\x00' + len(h).to_bytes(2, 'little') + h.encode() + bytes(8 * 100))"
for np in 1 3; do
    expect_exit 2 "X with 0 columns" $np fit --x "$W/X0c.npy" --y "$W/Y.npy" --rank 1 --lambda 1
    expect_exit 2 "Y with 0 columns" $np fit --x "$W/X.npy" --y "$W/X0c.npy" --rank 1 --lambda 1
    expect_exit 2 "predict --y on 0 rows: nothing to score" $np predict --model "$W/m" --x "$W/X0r.npy" \
        --y "$W/Y0r.npy" --out "$W/yh0.npy"
    [[ ! -e $W/yh0.npy ]] || fail "no YHAT when scoring 0 rows fails"
    check "predict on 0 rows without --y writes a 0 x q YHAT (np=$np)" rrr $np predict --model "$W/m" \
        --x "$W/X0r.npy" --out "$W/yh0.npy"
    check "... of shape (0, 4)" $PYTHON -c "import numpy as n; assert n.load('$W/yh0.npy').shape == (0, 4)"
    rm -f "$W/yh0.npy"
    expect_exit 2 ".npy shape with leading zeros" $np fit --x "$W/lead0.npy" --y "$W/Y.npy" --rank 1 --lambda 1
    check "--lambda 1e-310 (subnormal) is a number (np=$np)" rrr $np fit --x "$W/X.npy" --y "$W/Y.npy" \
        --rank 2 --lambda 1e-310 --quiet
done
expect_exit 2 "--lambda 1e999 (overflow) is refused" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1e999
expect_exit 2 "--lambda 1e-400 (rounds to 0, which the user did not write) is refused" 2 fit \
    --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1e-400
$PYTHON -c "import numpy as np; np.save('$W/Yzero.npy', np.zeros(np.load('$W/Y.npy').shape))"
for s in exact gd; do
    rrr 2 fit --x "$W/X.npy" --y "$W/Yzero.npy" --rank 1 --lambda 1 --solver $s --out "$W/mz$s" \
        2>/dev/null | grep -q "optimality gap 0.000e+00 PASSED" &&
        grep -q '"certificate": "PASSED"' "$W/mz$s/model.json" &&
        pass "Y = 0: B = 0 is certified optimal ($s), not left without a verdict" ||
        fail "Y = 0: certificate ($s)"
done
expect_exit 2 "cv --lambda 1e-400 is refused" 2 cv --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1e-400
rrr 1 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda -0 --quiet --out "$W/mz" >/dev/null 2>&1 &&
    grep -q '"lambda": 0,' "$W/mz/model.json" && pass "--lambda -0 is 0 in model.json" ||
    fail "--lambda -0"
rrr 2 cv --x "$W/X.npy" --y "$W/Y.npy" --rank 1 --lambda 1:1.0000000001:100000 --quiet \
    --out "$W/cz" >/dev/null 2>&1 && $PYTHON -c "
import json; l = json.load(open('$W/cz/cv.json'))['lambdas']; assert l == sorted(set(l)) and len(l) < 100000, len(l)" &&
    pass "cv LO:HI:N with points closer than double's spacing: the repeats dropped" ||
    fail "cv LO:HI:N grid with repeats"

# --- crafted checkpoints (valid checksum, bad contents): exit 2 ------------------------------
CK=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 1 --solver gd --tol 0 --quiet)
rrr 2 "${CK[@]}" --max-iter 6 --checkpoint "$W/ck" --checkpoint-every 3 >/dev/null 2>&1
# craft KIND: a copy of the checkpoint in $W/ck-KIND, changed and re-checksummed
craft() {
    mkdir -p "$W/ck-$1"
    $PYTHON - "$W/ck/checkpoint.bin" "$W/ck-$1/checkpoint.bin" "$1" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
kind = sys.argv[3]
def fnv(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
nh = (len(b) - 8) # find the history length field: it is followed by nh doubles and the sum
for n in range(0, 100000):
    off = len(b) - 8 - 8 * n - 8
    if struct.unpack_from("<Q", b, off)[0] == n:
        break
it_off = 8 + 64
if kind == "nan":      # the first entry of U (format 4: after iter, fprev g0 zg_prev, w_valid, g0_start)
    struct.pack_into("<d", b, it_off + 8 + 24 + 8 + 8, float("nan"))
elif kind == "hist":   # 2^61 + n values: 8 (2^61 + n) wraps to 8 n; iteration to match
    struct.pack_into("<Q", b, off, (1 << 61) + n)
    struct.pack_into("<Q", b, it_off, (1 << 61) + n - 1)
elif kind == "esc":    # the format byte an ESC (0x1b)
    b[7] = 0x1b
struct.pack_into("<Q", b, len(b) - 8, fnv(b[:-8]))
open(sys.argv[2], "wb").write(b)
PY
}
for kind in nan hist esc; do craft $kind; done
for np in 1 2; do
    expect_exit 2 "checkpoint with a NaN in U" $np "${CK[@]}" --max-iter 9 --checkpoint "$W/ck-nan" --resume
    grep -q 'non-finite' "$WORK/err" || fail "NaN checkpoint message"
    expect_exit 2 "checkpoint whose history length overflows" $np "${CK[@]}" --max-iter 9 --checkpoint "$W/ck-hist" --resume
    expect_exit 2 "checkpoint with an ESC as format byte" $np "${CK[@]}" --max-iter 9 --checkpoint "$W/ck-esc" --resume
    grep -q 'format byte 0x1b' "$WORK/err" && ! grep -q $'\x1b' "$WORK/err" &&
        pass "the format byte is printed in hex, not raw (np=$np)" || fail "format byte message"
done
# a model.json edited to "intercept": false that still lists the means it was fitted with:
# refused (predict would have dropped the intercept silently)
rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 1 --intercept --out "$W/mi" --quiet 2>/dev/null
sed -i 's/"intercept": true/"intercept": false/' "$W/mi/model.json"
expect_bounded 2 "model.json: intercept false with the means listed" 2 predict --model "$W/mi" \
    --x "$W/X.npy" --out "$W/yhi.npy"
grep -q 'contradicts itself' "$WORK/err" && [[ ! -e $W/yhi.npy ]] &&
    pass "... says so, nothing written" || fail "intercept contradiction message"

summary
