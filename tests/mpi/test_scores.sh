#!/usr/bin/env bash
# tests/mpi/test_scores.sh: what predict and fit tell the user. predict --scores writes
# mse, r2, r2_mean and per-output arrays (r2_mean = scikit-learn's r2_score), and runs
# without --out for scores only; model.json records the version, the options and the
# inputs; rrr --version; --opt=value; the exact solver's result line.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
VERSION=$(sed -n 's/^#define RRR_VERSION_STRING "\(.*\)"/\1/p' include/rrr.h)
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 91 --p 6 --q 4 --rank 2 --seed 8
$PYTHON -c "
import numpy as np; Y = np.load('$W/Y.npy'); Y[:, 2] = 3.0; np.save('$W/Yc.npy', Y)"

# --- fit: provenance in model.json; --opt=value; the result line -------------------------
rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver gd --tol 1e-9 --seed 7 \
    --max-iter 500 --out "$W/m" >"$W/fit.out" 2>"$W/fit.err"
check "model.json records the version, the options and the inputs" $PYTHON - "$W" "$VERSION" <<'PY'
import json, sys
d, version = sys.argv[1:]
js = json.load(open(f"{d}/m/model.json"))
assert js["rrr_version"] == version, js["rrr_version"]
o = js["options"]
assert (o["solver"], o["tol"], o["seed"], o["max_iter"], o["intercept"]) == ("gd", 1e-9, 7, 500, False), o
assert {"gd_xty", "grid_min_p", "certificate", "checkpoint_every", "resume"} <= set(o), o
x, y = js["inputs"]["x"], js["inputs"]["y"]
assert x == {"path": f"{d}/X.npy", "rows": 91, "cols": 6}, x
assert y == {"path": f"{d}/Y.npy", "rows": 91, "cols": 4}, y
PY
grep -q 'result: solver=gd .*gradient_norm=.* (initial ' "$W/fit.err" && pass "gd's result line gives the initial gradient" ||
    fail "gd result line: $(grep result "$W/fit.err")"
rrr 1 fit --x="$W/X.npy" --y="$W/Y.npy" --rank=2 --lambda=0.5 --solver=gd --tol=1e-9 --seed=7 \
    --max-iter=500 --out="$W/m_eq" >/dev/null 2>&1
rrr 1 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver gd --tol 1e-9 --seed 7 \
    --max-iter 500 --out "$W/m_sp" >/dev/null 2>&1
cmp -s "$W/m_eq/U.npy" "$W/m_sp/U.npy" && cmp -s "$W/m_eq/V.npy" "$W/m_sp/V.npy" &&
    pass "--opt=value fits as --opt value" || fail "--opt=value differs"
expect_exit 2 "--flag=value refused" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 1 --intercept=yes
grep -q "option --intercept takes no value" "$WORK/err" && pass "... with its message" || fail "flag=value message"
expect_exit 2 "--opt= (empty value) refused" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank=2 --lambda=
expect_exit 2 "--unknown=value refused" 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 1 --bogus=3
grep -q "unknown option '--bogus'" "$WORK/err" && pass "... naming the option" || fail "unknown=value message"
rrr 1 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver exact >/dev/null 2>"$W/exact.err"
grep -q 'result: solver=exact ' "$W/exact.err" && ! grep -q 'nan' "$W/exact.err" &&
    pass "the exact solver's result line has no 'initial nan'" || fail "exact result: $(grep result "$W/exact.err")"
[[ $("$RRR_BIN" --version | head -n 1) == "rrr $VERSION" ]] && pass "rrr --version: rrr $VERSION" ||
    fail "rrr --version: $("$RRR_BIN" --version 2>&1 | head -n 1)"

# --- predict: scores on stdout and in JSON, with or without --out ------------------------
for np in 1 3; do
    rrr $np predict --model "$W/m" --x "$W/X.npy" --y "$W/Yc.npy" --out "$W/yhat.npy" \
        --scores "$W/s$np.json" >"$W/p$np.out" 2>/dev/null
done
check "scores: JSON = stdout; r2_mean and per-output values as scikit-learn's" $PYTHON - "$W" <<'PY'
import json, sys
import numpy as np
d = sys.argv[1]
Y, Yh = np.load(f"{d}/Yc.npy"), np.load(f"{d}/yhat.npy")
for np_ in (1, 3):
    s = json.load(open(f"{d}/s{np_}.json"))
    out = dict(l.split() for l in open(f"{d}/p{np_}.out"))
    assert float(out["mse"]) == s["mse"] and float(out["r2"]) == s["r2"] and float(out["r2_mean"]) == s["r2_mean"]
    assert s["format"] == "rrr-scores-1" and s["n"] == 91 and s["q"] == 4
    R, C = Y - Yh, Y - Y.mean(axis=0)
    sse, sst = (R ** 2).sum(axis=0), (C ** 2).sum(axis=0)
    r2j = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.where(sse == 0, 1.0, 0.0))
    assert np.allclose(s["mse_per_output"], sse / 91, rtol=1e-12), s["mse_per_output"]
    assert np.allclose(s["r2_per_output"], r2j, rtol=1e-12), s["r2_per_output"]
    assert s["r2_per_output"][2] == 0.0        # a constant column predicted inexactly
    assert abs(s["r2_mean"] - r2j.mean()) < 1e-12 and abs(s["mse"] - sse.sum() / Y.size) < 1e-12
    assert abs(s["r2"] - (1 - sse.sum() / sst.sum())) < 1e-12
    try:
        from sklearn.metrics import mean_squared_error, r2_score
    except ImportError:
        continue
    assert abs(s["r2_mean"] - r2_score(Y, Yh)) < 1e-12, (s["r2_mean"], r2_score(Y, Yh))
    assert np.allclose(s["r2_per_output"], r2_score(Y, Yh, multioutput="raw_values"), rtol=1e-12)
    assert np.allclose(s["mse_per_output"], mean_squared_error(Y, Yh, multioutput="raw_values"), rtol=1e-12)
PY
rm -f "$W/yhat.npy"
rrr 2 predict --model "$W/m" --x "$W/X.npy" --y "$W/Y.npy" --scores "$W/only.json" >"$W/only.out" 2>/dev/null
[[ $? -eq 0 && -s $W/only.json && ! -e $W/yhat.npy ]] && grep -q '^r2_mean ' "$W/only.out" &&
    pass "predict --y without --out: scores only" || fail "scores-only predict"
expect_exit 2 "predict without --out or --y" 2 predict --model "$W/m" --x "$W/X.npy"
grep -q "predict needs --out YHAT.npy" "$WORK/err" && pass "... says what it needs" || fail "predict needs message"
expect_exit 2 "--scores without --y" 2 predict --model "$W/m" --x "$W/X.npy" --out "$W/yh.npy" --scores "$W/x.json"
expect_exit 3 "--scores not writable: no YHAT either" 2 predict --model "$W/m" --x "$W/X.npy" --y "$W/Y.npy" \
    --out "$W/yh.npy" --scores "$W/no/dir/s.json"
[[ ! -e $W/yh.npy ]] && ! ls "$W" | grep -q tmp && pass "no YHAT and no temporaries after a failed --scores" ||
    fail "left behind: $(ls "$W")"
# stdout that cannot be written (a full disk): its scores are the output, so exit 3 (a process
# started without mpirun, whose stdout is its own; under mpirun, mpirun writes it)
"$RRR_BIN" predict --model "$W/m" --x "$W/X.npy" --y "$W/Y.npy" >/dev/full 2>"$W/full.err"; rc=$?
[[ $rc -eq 3 ]] && grep -q "standard output: No space left" "$W/full.err" &&
    pass "predict --y > /dev/full: exit 3, the lost scores said" || fail "stdout on /dev/full: exit $rc"
# --no-certificate: no verdict from any solver, though exact's and als's f* comes free
for s in exact als; do
    rrr 2 fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver $s --no-certificate \
        --out "$W/nc$s" >"$W/nc.out" 2>/dev/null
    ! grep -q "optimality gap" "$W/nc.out" && $PYTHON -c "
import json, sys; j = json.load(open('$W/nc$s/model.json'))
sys.exit(not (j['certificate'] is None and j['optimal_objective'] is None and j['converged']))" &&
        pass "$s --no-certificate: no gap line, certificate null" || fail "$s --no-certificate: $(cat "$W/nc.out")"
done
# finite X whose predictions leave double's range: exit 4, no file of Inf and NaN
$PYTHON -c "
import numpy as np; X = np.load('$W/X.npy'); np.save('$W/Xbig.npy', X / np.abs(X).max() * 1.5e308)"
for np in 1 3; do
    expect_exit 4 "predictions beyond double's range" $np predict --model "$W/m" --x "$W/Xbig.npy" \
        --out "$W/yhbig.npy"
    grep -q "is not finite: X U V^T leaves double's range" "$WORK/err" && [[ ! -e $W/yhbig.npy ]] &&
        pass "... says so and writes nothing (np=$np)" || fail "overflowing predict: $(cat "$WORK/err")"
done
# X and Y scaled by 1e150: the squares of the residuals pass 1e300 (they overflowed at
# 1e155: mse inf, r2 nan, exit 0), the scores are the unscaled ones (r2 the same, mse 1e300
# times); scaled by 1e200 the mse itself leaves double's range: exit 4, no file
$PYTHON -c "
import numpy as np
for s, t in ((1e150, 'h'), (1e200, 'o')):
    np.save('$W/X%s.npy' % t, np.load('$W/X.npy') * s); np.save('$W/Y%s.npy' % t, np.load('$W/Y.npy') * s)"
for np in 1 3; do
    rrr $np predict --model "$W/m" --x "$W/X.npy" --y "$W/Y.npy" --scores "$W/s1.json" 2>/dev/null &&
        rrr $np predict --model "$W/m" --x "$W/Xh.npy" --y "$W/Yh.npy" --scores "$W/sh.json" 2>"$WORK/err" &&
        $PYTHON -c "
import json; a, b = (json.load(open('$W/' + f)) for f in ('s1.json', 'sh.json'))
assert abs(a['r2'] - b['r2']) <= 1e-12 and abs(b['mse'] / 1e300 - a['mse']) <= 1e-12 * a['mse'], (a, b)
assert all(abs(x - y) <= 1e-12 for x, y in zip(a['r2_per_output'], b['r2_per_output']))" &&
        pass "scores of data scaled by 1e150 = the unscaled ones (np=$np)" ||
        fail "scaled scores (np=$np): $(head -n 2 "$WORK/err")"
    expect_exit 4 "scores whose mse leaves double's range" $np predict --model "$W/m" --x "$W/Xo.npy" \
        --y "$W/Yo.npy" --scores "$W/so.json"
    [[ ! -e $W/so.json ]] && pass "... no scores file (np=$np)" || fail "a scores file of Inf (np=$np)"
done
summary
