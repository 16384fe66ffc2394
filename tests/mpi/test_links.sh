#!/usr/bin/env bash
# tests/mpi/test_links.sh: links planted in an output directory do not redirect rrr's
# writes. Before each command, a symlink to a victim file is planted at every name the
# previous build would have used for its temporaries (NAME.tmp.PID for the next PIDs) and at
# every final name; afterwards the victim must be unchanged, every output a regular file
# with the right contents, and no temporary left. At 1 and 2 ranks: fit --out --report
# --checkpoint, gen --out, predict --out.
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
summary
