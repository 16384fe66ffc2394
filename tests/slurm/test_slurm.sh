#!/usr/bin/env bash
# tests/slurm/test_slurm.sh: rrr under a real, throw-away single-node Slurm
# (tests/slurm/local-slurm.sh), submitted through scripts/slurm/rrr.sbatch:
#   (a) a 2-rank gd fit with `sbatch --wait`, launched by mpirun and by srun;
#   (b) a 2-rank gd fit that gets SIGUSR1 as from --signal=B:USR1@N, checkpoints, exits 5,
#       requeues itself and resumes; its U.npy and V.npy must equal bitwise those of an
#       uninterrupted run with plain mpirun at the same rank count.
# Run as root from anywhere (works from the repo root). Prints PASS:/FAIL: lines and
# "N passed, M failed"; exit 0 when all passed, 1 otherwise, 77 (skip) without Slurm/munge.
# Environment: RRR_BIN (default bin/rrr), RRR_SLURM_TEST_ITERS (first guess of the gd
# iterations for (b), scaled up so the fit runs >= ~4 s), KEEP=1 keeps the work directory.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
for b in sbatch scontrol slurmctld slurmd munged mpirun; do
    command -v $b >/dev/null || { echo "SKIP: $b not installed"; exit 77; }
done
[[ $(id -u) == 0 ]] || { echo "SKIP: a local Slurm cluster needs root"; exit 77; }

source scripts/env.sh # root, threads, RRR_BIN (the binary under test)
RRR_BIN=$(realpath -m "$RRR_BIN")
SBATCH=$ROOT/scripts/slurm/rrr.sbatch
export OPENBLAS_NUM_THREADS=1
pass=0 fail=0 started=0
T0=$(date +%s%N)
W=$(mktemp -d /tmp/rrr-slurm-test.XXXXXX)

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION CMD...
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
ms() { echo $((($(date +%s%N) - ${1:-$T0}) / 1000000)); }
note() { echo "# +$(ms)ms $*"; }
finish() {
    if ((started)); then tests/slurm/local-slurm.sh stop 2>/dev/null; fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
    echo "$pass passed, $fail failed"
    if ((fail == 0 && pass > 0)); then exit 0; else exit 1; fi
}
trap 'exit 1' INT TERM
trap finish EXIT

# job_state JOB: "STATE RESTARTS EXITCODE", empty once Slurm has forgotten the job
# (MinJobAge=5: 5-10 s after it ended, so read it promptly)
job_state() {
    scontrol show job "$1" 2>/dev/null |
        sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p; s/.*Restarts=\([0-9]*\).*ExitCode=\([0-9:]*\).*/\1 \2/p' |
        tr '\n' ' '
}
show_log() { echo "# --- $1"; sed 's/^/#   /' "$1" 2>/dev/null | tail -n 40; }
has_ckpt() { [[ -n $(find "$1" -type f ! -name '*.tmp' ! -name '.*' 2>/dev/null) ]]; }

[[ -x $RRR_BIN ]] || { bad "$RRR_BIN is not an executable (build with make)"; exit 1; }
unset LOCAL_SLURM_DIR # always a new private cluster, never one a developer left running
out=$(timeout 90 tests/slurm/local-slurm.sh start 2>"$W/start.err")
rc=$?
started=1
eval "$out"
if ((rc != 0)); then
    cat "$W/start.err"
    bad "local Slurm cluster started"
    exit 1
fi
ok "local Slurm cluster started ($(ms) ms)"

# Data: plain mpirun, as a user would (gen does not need Slurm)
D=$W/data
if timeout 60 mpirun --oversubscribe -np 2 "$RRR_BIN" gen --n 20000 --p 100 --q 40 \
    --rank 3 --noise 0.5 --seed 7 --out "$D" >"$W/gen.log" 2>&1; then
    ok "rrr gen (2 ranks)"
else
    bad "rrr gen (2 ranks)"
    show_log "$W/gen.log"
fi
fit_args=(--x "$D/X.npy" --y "$D/Y.npy" --rank 3 --lambda 0.5 --solver gd)

# ---- (a) a plain fit through the template, mpirun and srun launchers
for launcher in mpirun srun; do
    t=$(date +%s%N)
    log=$W/a-$launcher.log
    job=$(RRR_BIN=$RRR_BIN RRR_LAUNCHER=$launcher RRR_OUT=$W/a-$launcher RRR_CKPT=$W/a-$launcher.ckpt \
        RRR_X=$D/X.npy RRR_Y=$D/Y.npy RRR_RANK=3 RRR_LAMBDA=0.5 RRR_SOLVER=gd \
        RRR_EXTRA="--max-iter 200 --quiet" \
        timeout 60 sbatch --wait --parsable --nodes=1 --ntasks=2 --time=10 \
        --output="$log" "$SBATCH")
    rc=$?
    st=$(job_state "$job")
    if [[ $rc == 0 && $st == "COMPLETED 0 0:0 " ]]; then
        ok "(a) $launcher fit job $job: sbatch --wait rc 0, $st($(ms "$t") ms)"
    else
        bad "(a) $launcher fit job $job: sbatch --wait rc $rc, state '$st'"
        show_log "$log"
    fi
    check "(a) $launcher fit wrote U.npy, V.npy, model.json" \
        test -s "$W/a-$launcher/U.npy" -a -s "$W/a-$launcher/V.npy" -a -s "$W/a-$launcher/model.json"
    check "(a) $launcher fit ran on 2 ranks (model.json)" \
        grep -Eq '"ranks": *2([^0-9]|$)' "$W/a-$launcher/model.json"
done
# shellcheck disable=SC2016 # expanded by eval
check "(a) mpirun and srun launches give bitwise equal U.npy and V.npy" \
    eval 'cmp "$W/a-mpirun/U.npy" "$W/a-srun/U.npy" && cmp "$W/a-mpirun/V.npy" "$W/a-srun/V.npy"'

# ---- (b) preemption: SIGUSR1 -> checkpoint, exit 5, requeue, resume; same answer
# Reference: uninterrupted, plain mpirun, 2 ranks. --tol 0 makes gd run all --max-iter
# iterations; make the run last >= ~4 s (the signal comes ~2 s after the job starts).
iters=${RRR_SLURM_TEST_ITERS:-700}
for try in 1 2; do
    t=$(date +%s%N)
    rm -rf "$W/ref"
    timeout 100 mpirun --oversubscribe -np 2 "$RRR_BIN" fit "${fit_args[@]}" --tol 0 \
        --max-iter "$iters" --quiet --out "$W/ref" >"$W/ref.log" 2>&1
    rc=$? dt=$(ms "$t")
    ((rc == 0 && try == 1 && dt < 4000)) || break
    iters=$((iters * 6000 / (dt > 100 ? dt : 100)))
    note "reference fit took $dt ms; rerunning with --max-iter $iters"
done
if ((rc == 0)); then
    ok "(b) reference fit with plain mpirun ($iters iterations, $dt ms)"
else
    bad "(b) reference fit with plain mpirun: exit $rc"
    show_log "$W/ref.log"
fi

t=$(date +%s%N)
log=$W/b.log
CK=$W/b.ckpt
every=$((iters / 100 > 5 ? iters / 100 : 5)) # about 100 checkpoints per run
job=$(RRR_BIN=$RRR_BIN RRR_OUT=$W/b RRR_CKPT=$CK RRR_CKPT_EVERY=$every \
    RRR_X=$D/X.npy RRR_Y=$D/Y.npy RRR_RANK=3 RRR_LAMBDA=0.5 RRR_SOLVER=gd \
    RRR_EXTRA="--tol 0 --max-iter $iters --quiet" \
    timeout 30 sbatch --parsable --nodes=1 --ntasks=2 --time=10 --output="$log" "$SBATCH")
end=$((SECONDS + 30))
until has_ckpt "$CK" || ((SECONDS >= end)); do sleep 0.1; done
if has_ckpt "$CK"; then
    sleep 1 # let the fit get a few checkpoints further
    note "job $job: checkpoint present after $(ms "$t") ms; sending SIGUSR1 to the batch shell"
    # --batch: only the batch shell gets it, exactly as with --signal=B:USR1@N; its trap
    # forwards it to mpirun, which passes it on to the ranks
    check "(b) scancel --signal=USR1 --batch $job" scancel --signal=USR1 --batch "$job"
else
    bad "(b) job $job wrote no checkpoint into $CK within 30 s ($(job_state "$job"))"
fi
# follow the job until it is done: RUNNING -> (exit 5) REQUEUED/PENDING -> RUNNING -> COMPLETED
end=$((SECONDS + 90)) final='' seen=''
while ((SECONDS < end)); do
    st=$(job_state "$job")
    [[ $st == "$seen" ]] || { note "job $job: ${st:-gone}"; seen=$st; }
    case $st in
    COMPLETED* | FAILED* | CANCELLED* | TIMEOUT* | NODE_FAIL* | OUT_OF_MEMORY* | "")
        final=$st
        break
        ;;
    esac
    sleep 0.5
done
if [[ $final == "COMPLETED 1 0:0 " ]]; then
    ok "(b) job $job requeued once and completed ($(ms "$t") ms from submission)"
else
    bad "(b) job $job ended as '${final:-gone, or not done in 90 s}', want 'COMPLETED 1 0:0'"
    show_log "$log"
fi
check "(b) first run exited 5 and requeued the job" \
    grep -q "rrr exited with code 5 (SIGUSR1 seen: 1" "$log"
# shellcheck disable=SC2016
check "(b) the requeued run exited 0" \
    eval 'sed -n "/restart 1 on/,\$p" "$log" | grep -q "rrr exited with code 0"'
for f in U.npy V.npy; do
    check "(b) $f after preemption equals the uninterrupted run bitwise" cmp "$W/ref/$f" "$W/b/$f"
done
((fail == 0)) || show_log "$log"
note "total $(ms) ms"
