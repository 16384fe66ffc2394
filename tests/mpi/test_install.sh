#!/usr/bin/env bash
# tests/mpi/test_install.sh: `make install PREFIX=...` into a temporary prefix gives bin/rrr,
# the headers, librrr.a, librrr.so (soname librrr.so.MAJOR) and rrr.pc; examples/fit.c
# builds against that tree with `pkg-config rrr` (shared and static) and runs at 1 and 2
# ranks: it fits, and the library refuses a bad rank and a bad lambda with RRR_EINVAL; and
# tests/mpi/api_args.c: every public function given NULL or out-of-range arguments.
cd "$(dirname "$0")/../.." && source tests/mpi/lib.sh
W=$WORK
if [[ ${SAN:-0} == 1 ]]; then
    echo "SKIP: a sanitizer build is not installed (its libraries need libasan)"; exit 77
fi
P=$W/prefix
VERSION=$(sed -n 's/^#define RRR_VERSION_STRING "\(.*\)"/\1/p' include/rrr.h)
check "make install PREFIX=$P" make -s install PREFIX="$P"
check "the installed tree" test -x "$P/bin/rrr" -a -f "$P/include/rrr.h" -a -f "$P/include/rrr_base.h" \
    -a -f "$P/lib/librrr.a" -a -f "$P/lib/librrr.so.$VERSION" -a -f "$P/lib/pkgconfig/rrr.pc"
[[ $(readlink "$P/lib/librrr.so") == librrr.so.0 && $(readlink "$P/lib/librrr.so.0") == librrr.so.$VERSION ]] &&
    pass "librrr.so -> librrr.so.0 -> librrr.so.$VERSION" || fail "shared library links: $(ls -l "$P/lib")"
objdump -p "$P/lib/librrr.so.$VERSION" 2>/dev/null | grep -q 'SONAME *librrr.so.0$' &&
    pass "soname librrr.so.0" || fail "soname: $(objdump -p "$P/lib/librrr.so.$VERSION" | grep SONAME)"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
[[ $(pkg-config --modversion rrr) == "$VERSION" ]] && pass "pkg-config --modversion rrr = $VERSION" ||
    fail "pkg-config rrr: $(pkg-config --modversion rrr 2>&1)"
"$P/bin/rrr" --version | grep -q "^rrr $VERSION\$" && pass "installed rrr --version" || fail "installed rrr --version"

# The example, built as a user would: plain cc, everything from pkg-config.
CC=${CC_SERIAL:-cc}
check "examples/fit.c builds against librrr.so with pkg-config rrr" \
    $CC -std=c11 -Wall -Wextra -Werror examples/fit.c $(pkg-config --cflags --libs rrr) \
        -Wl,-rpath,"$P/lib" -o "$W/fit_shared"
check "... and against librrr.a with pkg-config --static rrr" \
    $CC -std=c11 -Wall -Wextra -Werror examples/fit.c $(pkg-config --cflags rrr) \
        -Wl,-Bstatic -lrrr -Wl,-Bdynamic $(pkg-config --static --libs rrr) -o "$W/fit_static"
ldd "$W/fit_static" | grep -q librrr && fail "the static example needs librrr.so" || pass "the static example holds librrr.a"
ldd "$W/fit_shared" | grep -q "librrr.so.0 => $P/lib/librrr.so.0" && pass "the example loads the installed librrr.so.0" ||
    fail "the example's librrr: $(ldd "$W/fit_shared" | grep rrr)"
for exe in fit_shared fit_static; do
    for np in 1 2; do
        if $MPIRUN -np $np "$W/$exe" >"$W/out" 2>"$W/err"; then
            if [[ $(grep -c 'rank 0, lambda 0.1: invalid input: rank 0 out of range' "$W/out") -eq 1 &&
                  $(grep -c 'rank 2, lambda -1: invalid input: lambda -1: must be a finite number >= 0' "$W/out") -eq 1 &&
                  $(grep -c '^rank 1, lambda 1e-06: success' "$W/out") -eq 1 ]]; then
                pass "$exe at np=$np: RRR_EINVAL for rank and lambda, then a fit"
            else
                fail "$exe at np=$np: output"; cat "$W/out"
            fi
        else
            fail "$exe at np=$np exits $?"; cat "$W/out" "$W/err" | head -n 20
        fi
    done
done

# Every public function refuses bad arguments with RRR_EINVAL (tests/mpi/api_args.c)
check "tests/mpi/api_args.c builds against librrr.a" \
    $CC -std=c11 -Wall -Wextra -Werror tests/mpi/api_args.c $(pkg-config --cflags rrr) \
        -Wl,-Bstatic -lrrr -Wl,-Bdynamic $(pkg-config --static --libs rrr) -lm -o "$W/api_args"
for np in 1 2; do
    mkdir -p "$W/api$np"
    if $MPIRUN -np $np "$W/api_args" "$W/api$np" >"$W/out" 2>"$W/err"; then
        pass "the library refuses bad arguments at np=$np: $(grep 'cases as expected' "$W/out")"
    else
        fail "api_args at np=$np"; grep FAIL "$W/out" | head -n 10; tail -n 3 "$W/err"
    fi
done
summary
