#!/usr/bin/env bash
# scripts/install-deps.sh: install what rrr needs to build and test on Debian/Ubuntu.
#   scripts/install-deps.sh              install (idempotent: apt-get skips what is there)
#   scripts/install-deps.sh --if-missing only when something is missing (used by make)
# On a cluster with environment modules, install nothing: load an MPI, a BLAS/LAPACK and
# ScaLAPACK instead (e.g. `module load openmpi openblas scalapack`, or a Cray PrgEnv with
# cray-libsci) and build with `make MPICC=... BLAS_LIBS=... SCALAPACK_LIBS=...`.
set -euo pipefail

# Build and run: MPI, BLAS/LAPACK, ScaLAPACK, parallel HDF5 (optional: FILE.h5:/dataset).
# Tests and the Python package: numpy/scipy (independent references), mpi4py (rrr's Python
# API), h5py (writes the HDF5 test files), scikit-learn (r2_score, the reference for r2_mean),
# SLURM + munge (the real-scheduler test), clang + its runtime (make fuzz).
PKGS=(openmpi-bin libopenmpi-dev libscalapack-openmpi-dev libopenblas-dev libhdf5-openmpi-dev
      pkg-config make gcc
      python3 python3-numpy python3-scipy python3-mpi4py python3-h5py python3-sklearn
      slurm-wlm munge clang libclang-rt-14-dev gnuplot-nox)

missing() {
    local p
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

if [[ ${1:-} == --if-missing ]]; then
    todo=$(missing)
    [[ -z $todo ]] && exit 0
    echo "install-deps: missing packages: $(echo $todo)" >&2
fi

if ! command -v apt-get >/dev/null; then
    echo "install-deps: no apt-get here; install the equivalents of: ${PKGS[*]}" >&2
    echo "  (or load MPI, BLAS/LAPACK and ScaLAPACK modules and pass MPICC/BLAS_LIBS/SCALAPACK_LIBS to make)" >&2
    exit 1
fi
SUDO=
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo; packages: ${PKGS[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packages a distribution lacks (e.g. the clang runtime version) are skipped, not fatal:
# only the build libraries are essential.
if ! $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null; then
    for p in "${PKGS[@]}"; do
        $SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null || echo "install-deps: could not install $p" >&2
    done
fi
for p in openmpi-bin libopenmpi-dev libscalapack-openmpi-dev libopenblas-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        { echo "install-deps: required package $p is not installed" >&2; exit 1; }
done
echo "install-deps: done"
