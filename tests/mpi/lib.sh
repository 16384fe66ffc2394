# tests/mpi/lib.sh: shared helpers for the MPI test scripts (sourced, run from the repo root).
#   check NAME CMD...        run CMD; PASS if it exits 0
#   expect_exit CODE NAME CMD...  PASS if CMD exits with CODE and prints exactly one error line
#   rrr NP ARGS...           $RRR_BIN under mpirun (timeout, oversubscribe) at NP ranks
#   summary                  print "N passed, M failed"; exit status 0 iff none failed
#   skip REASON              print "SKIP: REASON" and exit 77 (scripts/run-tests.sh)
#   leftovers DIR...         list temporaries, backups and probe files rrr left in DIR...
#   bounded SECS CMD...      CMD in a session of its own; after SECS s every process of the
#                            session is SIGKILLed (a hung rank may ignore SIGTERM): 124
# The environment (root, threads, python, RRR_BIN: the binary under test) is scripts/env.sh.
set -u
source scripts/env.sh
# odls_base_sigkill_timeout 0: when a failing run exits non-zero on every rank, mpirun
# otherwise waits ~2 s before reaping them (measured); the tests run hundreds of those.
MPIRUN=${MPIRUN:-"timeout -k 5 120 mpirun --oversubscribe --mca odls_base_sigkill_timeout 0"}
T_PASS=0 T_FAIL=0
WORK=$(mktemp -d /tmp/rrr-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

pass() { T_PASS=$((T_PASS + 1)); echo "PASS: $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL: $*"; }
rrr() { local np=$1; shift; $MPIRUN -np "$np" "$RRR_BIN" "$@"; }

check() {
    local name=$1; shift
    if "$@" >"$WORK/out" 2>"$WORK/err"; then pass "$name"; else
        fail "$name (exit $?)"; tail -n 15 "$WORK/out" "$WORK/err"; fi
}

# expect_exit CODE NAME NP ARGS...: rrr at NP ranks must exit CODE with exactly one
# "rrr: error:" line on stderr (one message, not one per rank).
expect_exit() {
    local code=$1 name=$2 np=$3; shift 3
    rrr "$np" "$@" >"$WORK/out" 2>"$WORK/err"; local rc=$?
    local nerr; nerr=$(grep -c '^rrr: error:' "$WORK/err")
    if [[ $rc -eq $code && $nerr -eq 1 ]]; then pass "$name (np=$np exit $rc)"; else
        fail "$name (np=$np: exit $rc, want $code; $nerr error lines)"; cat "$WORK/err" | head -n 10; fi
}

skip() { echo "SKIP: $*"; exit 77; }
bounded() {
    local secs=$1 t=0 pid; shift
    setsid "$@" &
    pid=$!
    while kill -0 $pid 2>/dev/null && ((t < secs * 10)); do sleep 0.1; t=$((t + 1)); done
    if kill -0 $pid 2>/dev/null; then
        kill -KILL $(pgrep -s $pid) 2>/dev/null; wait $pid 2>/dev/null; return 124
    fi
    wait $pid
}
leftovers() { find "$@" \( -name '*.tmp.*' -o -name '.rrr-probe.*' \) 2>/dev/null; }

summary() {
    echo "$T_PASS passed, $T_FAIL failed"
    [[ $T_FAIL -eq 0 && $T_PASS -gt 0 ]]
}
