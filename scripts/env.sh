# scripts/env.sh: the environment every rrr script runs in, in one place (sourced from the
# repository root by scripts/run-tests.sh, tests/mpi/lib.sh, tests/slurm/test_slurm.sh,
# scripts/demo.sh, bench.sh and scaling.sh).
# As root, Open MPI refuses to start without the two ALLOW variables; with more ranks than
# cores, one BLAS thread per rank, or the ranks fight over the cores.
if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# The build under test: `make check` passes RRR_BUILD and RRR_BIN (build-san and
# build-san/rrr with SAN=1); every script runs "$RRR_BIN", never bin/rrr directly.
export RRR_BUILD=${RRR_BUILD:-build} RRR_BIN=${RRR_BIN:-bin/rrr}
# a python3 with numpy (a pyenv shim may lack it; Debian's has it)
if [[ -z ${PYTHON:-} ]]; then
    for PYTHON in /usr/bin/python3 python3; do "$PYTHON" -c "import numpy" 2>/dev/null && break; done
fi
export PYTHON
