#!/usr/bin/env bash
# tests/mpi/test_atomic.sh: a model directory is updated all or nothing, and a reader never
# uses a mixed one. model.json records checksums of U.npy, V.npy and the means and is renamed
# last; predict refuses a directory whose files do not match it (exit 2). A rename that
# fails mid-commit (a directory in the way) puts back every file renamed before it. And
# while fit rewrites a model at 2 ranks, predictions at 1 and 2 ranks see the old model or
# the new one, never a mix.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
$PYTHON tests/mpi/check.py mkdata --out "$W" --n 300 --p 400 --q 30 --rank 8 --seed 3 --offset 2
$PYTHON -c "import numpy as n; n.save('$W/Xp.npy', n.load('$W/X.npy')[:5])"
F=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank 8 --solver gd --max-iter 3 --no-certificate --quiet)
rrr 2 "${F[@]}" --lambda 0.001 --out "$W/A" 2>/dev/null
rrr 2 "${F[@]}" --lambda 1000 --out "$W/B" 2>/dev/null
rrr 2 "${F[@]}" --lambda 1 --intercept --out "$W/C" 2>/dev/null
for m in A B C; do rrr 1 predict --model "$W/$m" --x "$W/Xp.npy" --out "$W/p$m.npy" 2>/dev/null; done
# which FILE: "A", "B" or "C" if the prediction FILE is that model's, else "mixed"
which() {
    $PYTHON - "$1" "$W" <<'PY'
import numpy as n, sys
p = n.load(sys.argv[1])
for m in "ABC":
    if n.allclose(p, n.load("%s/p%s.npy" % (sys.argv[2], m)), rtol=1e-12, atol=0):
        print(m); break
else:
    print("mixed")
PY
}
same_dir() { # same_dir D1 D2: the model files are byte-identical
    local f; for f in U.npy V.npy model.json; do cmp -s "$1/$f" "$2/$f" || return 1; done; }

# --- model.json records the checksums; a mixed directory is refused -----------------------
check "model.json has checksums of U.npy and V.npy" $PYTHON -c "
import json; f = json.load(open('$W/A/model.json'))['files']
assert set(f) == {'U.npy', 'V.npy'} and all(v.startswith('fnv1a64:') and len(v) == 24 for v in f.values())"
check "with --intercept the means are checksummed too" $PYTHON -c "
import json; assert set(json.load(open('$W/C/model.json'))['files']) == {'U.npy','V.npy','x_mean.npy','y_mean.npy'}"
for np in 1 2; do
    cp -r "$W/A" "$W/mix$np" && cp "$W/B/V.npy" "$W/mix$np/V.npy"
    expect_exit 2 "U of one fit, V of another: refused" $np predict --model "$W/mix$np" --x "$W/Xp.npy" --out "$W/pm.npy"
    grep -q 'V.npy does not match the checksum' "$WORK/err" && [[ ! -e $W/pm.npy ]] &&
        pass "the message names V.npy, no YHAT (np=$np)" || fail "mixed model message (np=$np)"
done
cp -r "$W/C" "$W/mixc" && $PYTHON -c "import numpy as n; a=n.load('$W/C/x_mean.npy'); n.save('$W/mixc/x_mean.npy', a + 1)"
expect_exit 2 "a changed x_mean.npy: refused" 2 predict --model "$W/mixc" --x "$W/Xp.npy" --out "$W/pm.npy"
# older model.json without "files" still reads (nothing to verify); compact JSON too
cp -r "$W/C" "$W/old" && $PYTHON -c "
import json; p='$W/old/model.json'; j=json.load(open(p)); del j['files']
json.dump(j, open(p, 'w'), separators=(',', ':'))"
rrr 2 predict --model "$W/old" --x "$W/Xp.npy" --out "$W/po.npy" 2>/dev/null
[[ $(which "$W/po.npy") == C ]] && pass "model.json without checksums, saved compactly: read, intercept applied" ||
    fail "older/compact model.json"
# V.npy of shape (0, d): not a model (exit 2)
cp -r "$W/old" "$W/v0" && $PYTHON -c "import numpy as n; n.save('$W/v0/V.npy', n.zeros((0, 8)))"
expect_exit 2 "V.npy of shape (0, d)" 2 predict --model "$W/v0" --x "$W/Xp.npy" --out "$W/pm.npy"

# --- a rename that fails mid-commit leaves the previous model whole ------------------------
for np in 1 2; do
    # over A (no means), an --intercept fit whose x_mean.npy is in the way: U and V were
    # already renamed when x_mean.npy fails, and must be put back
    cp -r "$W/A" "$W/d$np" && mkdir "$W/d$np/x_mean.npy"
    expect_exit 3 "x_mean.npy is a directory" $np "${F[@]}" --lambda 1 --intercept --out "$W/d$np"
    rmdir "$W/d$np/x_mean.npy"
    same_dir "$W/d$np" "$W/A" && [[ -z $(leftovers "$W/d$np") && ! -e $W/d$np/y_mean.npy ]] &&
        pass "a failed rename puts back the files renamed before it (np=$np)" ||
        { fail "failed rename left a mix (np=$np)"; ls -la "$W/d$np"; }
    rrr $np predict --model "$W/d$np" --x "$W/Xp.npy" --out "$W/pd.npy" 2>/dev/null
    [[ $(which "$W/pd.npy") == A ]] && pass "and the previous model still predicts (np=$np)" ||
        fail "previous model after a failed rename (np=$np)"
    # V.npy a directory: U.npy (renamed first) is put back; the report is not left behind
    cp -r "$W/A" "$W/e$np" && rm "$W/e$np/V.npy" && mkdir "$W/e$np/V.npy"
    expect_exit 3 "V.npy is a directory" $np "${F[@]}" --lambda 1000 --out "$W/e$np" --report "$W/e$np.json"
    cmp -s "$W/e$np/U.npy" "$W/A/U.npy" && cmp -s "$W/e$np/model.json" "$W/A/model.json" &&
        [[ ! -e $W/e$np.json && -z $(leftovers "$W/e$np" "$W") ]] &&
        pass "V.npy a directory: U.npy and model.json as before, no report, no temporaries (np=$np)" ||
        fail "V.npy a directory (np=$np)"
done

# --- concurrent readers while fit rewrites the directory -----------------------------------
cp -r "$W/A" "$W/live"
( end=$((SECONDS + 10)) i=0
  while ((SECONDS < end)); do
      l=0.001; ((i % 2)) && l=1000
      rrr 2 "${F[@]}" --lambda $l --out "$W/live" 2>/dev/null || echo "fit failed" >>"$W/writer.err"
      i=$((i + 1))
  done; echo $i >"$W/nfits" ) &
WRITER=$!
n=0 refused=0 bad=0
while kill -0 $WRITER 2>/dev/null; do
    np=$((n % 2 + 1))
    rrr $np predict --model "$W/live" --x "$W/Xp.npy" --out "$W/c$n.npy" >/dev/null 2>"$W/perr"
    rc=$?
    if [[ $rc -eq 2 ]] && grep -q 'does not match the checksum' "$W/perr"; then refused=$((refused + 1))
    elif [[ $rc -ne 0 ]]; then bad=$((bad + 1)); echo "predict $n: exit $rc: $(tail -n 1 "$W/perr")"; fi
    n=$((n + 1))
done
wait $WRITER
mixed=0
for f in "$W"/c*.npy; do [[ $(which "$f") =~ ^[AB]$ ]] || mixed=$((mixed + 1)); done
[[ $n -ge 4 && $mixed -eq 0 && $bad -eq 0 && ! -s $W/writer.err ]] &&
    pass "$n predictions during $(cat "$W/nfits") rewrites: none mixed ($refused refused as torn)" ||
    fail "concurrent predictions: $n, $mixed mixed, $bad failed otherwise"
[[ -z $(leftovers "$W/live") ]] && pass "no temporaries left after the rewrites" || fail "temporaries left in the live model"
summary
