#!/usr/bin/env bash
# tests/mpi/test_links.sh: links planted in an output directory do not redirect rrr's
# writes. Before each command, a symlink to a victim file is planted at every name the
# previous build would have used for its temporaries (NAME.tmp.PID for the next PIDs) and at
# every final name; afterwards the victim must be unchanged, every output a regular file
# with the right contents, and no temporary left. At 1 and 2 ranks: fit --out --report
# --checkpoint, gen --out, predict --out. Then FIFOs, device links, dangling links and loops
# at output names: refused before any work.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
printf 'precious\n' >"$W/victim"
cp "$W/victim" "$W/victim.orig"
PID_MAX=$(cat /proc/sys/kernel/pid_max)

# plant DIR NAME...: DIR/NAME -> victim, and DIR/NAME.tmp.PID -> victim for the next 3000 PIDs
plant() {
    local dir=$1; shift
    mkdir -p "$dir"
    $PYTHON - "$W/victim" "$dir" "$PID_MAX" "$@" <<'PY'
import os, sys
victim, d, pid_max, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
start = os.getpid()
for n in names:
    os.symlink(victim, os.path.join(d, n))
    for k in range(3000):
        os.symlink(victim, os.path.join(d, "%s.tmp.%d" % (n, (start + k) % pid_max)))
PY
}
# clean DIR: remove the planted links (the outputs stay)
clean() { find "$1" -maxdepth 1 -type l -delete; }
# safe NAME FILE...: the victim is intact, each FILE is a regular file, no temporary left
safe() {
    local name=$1 f bad=""; shift
    cmp -s "$W/victim" "$W/victim.orig" || bad="the victim was overwritten; "
    for f in "$@"; do [[ -f $f && ! -L $f ]] || bad="$bad$f is not a regular file; "; done
    [[ -n $(find "$W" -type f -name '*.tmp.*') ]] && bad="${bad}temporaries left"
    if [[ -z $bad ]]; then pass "$name"; else fail "$name: $bad"; cp "$W/victim.orig" "$W/victim"; fi
}

$PYTHON tests/mpi/check.py mkdata --out "$W" --n 200 --p 6 --q 4 --rank 2 --offset 1 --seed 5
for np in 1 2; do
    M=$W/m$np G=$W/g$np C=$W/ck$np
    plant "$M" U.npy V.npy model.json x_mean.npy y_mean.npy
    plant "$W/rep$np" r.json
    plant "$C" checkpoint.bin
    rrr $np fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 0.5 --solver gd --intercept \
        --out "$M" --report "$W/rep$np/r.json" --checkpoint "$C" --checkpoint-every 5 --quiet \
        >/dev/null 2>"$W/err"
    rc=$?
    [[ $rc -eq 0 ]] || { fail "fit with planted links (np=$np): exit $rc"; head -n 3 "$W/err"; }
    safe "fit --out/--report/--checkpoint through planted links (np=$np)" "$M"/{U,V,x_mean,y_mean}.npy \
        "$M/model.json" "$W/rep$np/r.json" "$C/checkpoint.bin"
    clean "$M"
    check "the model written among planted links is the fit (np=$np)" $PYTHON tests/mpi/check.py verify \
        --x "$W/X.npy" --y "$W/Y.npy" --model "$M" --lambda 0.5 --rank 2 --intercept

    plant "$G" X.npy Y.npy U_true.npy V_true.npy
    rrr $np gen --n 50 --p 4 --q 3 --rank 1 --seed 2 --out "$G" 2>"$W/err" || fail "gen with planted links (np=$np)"
    safe "gen --out through planted links (np=$np)" "$G"/{X,Y,U_true,V_true}.npy
    clean "$G"
    rrr 1 gen --n 50 --p 4 --q 3 --rank 1 --seed 2 --out "$W/gref" 2>/dev/null
    same=1; for f in X Y U_true V_true; do cmp -s "$G/$f.npy" "$W/gref/$f.npy" || same=0; done
    [[ $same == 1 ]] && pass "gen among planted links writes the same files (np=$np)" || fail "gen among links differs (np=$np)"

    plant "$W/p$np" yh.npy
    rrr $np predict --model "$M" --x "$W/X.npy" --out "$W/p$np/yh.npy" >/dev/null 2>"$W/err" ||
        fail "predict with planted links (np=$np)"
    safe "predict --out through planted links (np=$np)" "$W/p$np/yh.npy"
    clean "$W/p$np"
    check "predict among planted links writes YHAT (np=$np)" $PYTHON tests/mpi/check.py predict \
        --x "$W/X.npy" --model "$M" --yhat "$W/p$np/yh.npy"
done

# what rename would replace or cannot judge is refused before any work (exit 3, the node
# intact): a FIFO or a link to a device as an output file, and in a directory rrr writes
# into; a dangling link or a loop of links as --out or --checkpoint (mkdir failed only
# after the fit)
mkdir -p "$W/nodes/ck" "$W/nodes/g"
mkfifo "$W/nodes/fifo" "$W/nodes/ck/checkpoint.bin" "$W/nodes/g/X.npy"
ln -s /dev/null "$W/nodes/null"
ln -s "$W/nodes/nothing" "$W/nodes/dangling"
ln -s "$W/nodes/loop" "$W/nodes/loop"
FIT=(fit --x "$W/X.npy" --y "$W/Y.npy" --rank 2 --lambda 1)
for np in 1 2; do
    expect_exit 3 "predict --out a FIFO (np=$np)" $np predict --model "$M" --x "$W/X.npy" --out "$W/nodes/fifo"
    expect_exit 3 "predict --out a link to /dev/null (np=$np)" $np predict --model "$M" --x "$W/X.npy" --out "$W/nodes/null"
    expect_exit 3 "fit --report a FIFO (np=$np)" $np "${FIT[@]}" --report "$W/nodes/fifo"
    expect_exit 3 "gen --out DIR with a FIFO at DIR/X.npy (np=$np)" $np gen --n 20 --p 3 --q 2 --rank 1 --out "$W/nodes/g"
    expect_exit 3 "fit --checkpoint DIR with a FIFO at checkpoint.bin (np=$np)" $np "${FIT[@]}" --solver gd --checkpoint "$W/nodes/ck"
    expect_exit 3 "fit --out a dangling link (np=$np)" $np "${FIT[@]}" --out "$W/nodes/dangling"
    expect_exit 3 "fit --out a dangling link/ (np=$np)" $np "${FIT[@]}" --out "$W/nodes/dangling/"
    expect_exit 3 "fit --report a FIFO inside --out DIR (np=$np)" $np "${FIT[@]}" --out "$W/nodes/ck" --report "$W/nodes/ck/checkpoint.bin"
    expect_exit 3 "fit --out a loop of links (np=$np)" $np "${FIT[@]}" --out "$W/nodes/loop"
    expect_exit 3 "fit --checkpoint a dangling link (np=$np)" $np "${FIT[@]}" --solver gd --checkpoint "$W/nodes/dangling"
done
check "the FIFOs and the device are still what they were" \
    test -p "$W/nodes/fifo" -a -p "$W/nodes/ck/checkpoint.bin" -a -p "$W/nodes/g/X.npy" -a -c /dev/null
check "no output directory was made through the dangling link" test ! -e "$W/nodes/nothing"

# file names are bytes: an input path that is not UTF-8 is escaped in model.json and the
# report as Python's surrogateescape does (the JSON stays valid, os.fsencode gives it back)
B="$W/$(printf 'bad\xff\x01\xc3\xa9.npy')"
cp "$W/X.npy" "$B"
check "fit with an input path that is not UTF-8" rrr 2 "${FIT[@]/#$W\/X.npy/$B}" --out "$W/nu" --report "$W/nu.json"
check "... model.json and the report are JSON, and the path comes back as its bytes" $PYTHON -c "
import json, os
j = json.load(open('$W/nu/model.json')); json.load(open('$W/nu.json'))
assert os.fsencode(j['inputs']['x']['path']) == os.fsencode('$W') + b'/bad\xff\x01\xc3\xa9.npy', j['inputs']['x']"
check "... and predict reads that model" rrr 1 predict --model "$W/nu" --x "$B" --out "$W/nu.npy"
summary
