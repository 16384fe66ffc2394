# rrr: one non-recursive GNU Makefile. Every tool and library can be overridden, e.g.
#   make MPICC=cc BLAS_LIBS="-lmkl_rt" SCALAPACK_LIBS="-lmkl_scalapack_lp64 -lmkl_blacs_openmpi_lp64"
# Targets: all (bin/rrr, build/librrr.a, test programs), check, check-large, demo, bench,
# scaling, fuzz, clean.
# make SAN=1 check builds with AddressSanitizer + UBSan into build-san/.

MPICC          ?= mpicc
CC_SERIAL      ?= cc
PKG_CONFIG     ?= pkg-config
PYTHON         ?= /usr/bin/python3
HAVE_PKGS      := $(shell $(PKG_CONFIG) --exists scalapack-openmpi openblas 2>/dev/null && echo yes)
ifeq ($(HAVE_PKGS),yes)
  BLAS_CFLAGS    ?= $(shell $(PKG_CONFIG) --cflags openblas)
  BLAS_LIBS      ?= $(shell $(PKG_CONFIG) --libs openblas)
  SCALAPACK_LIBS ?= $(shell $(PKG_CONFIG) --libs scalapack-openmpi)
else
  BLAS_CFLAGS    ?=
  BLAS_LIBS      ?= -lopenblas
  SCALAPACK_LIBS ?= -lscalapack-openmpi
endif
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wdouble-promotion -Wvla
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(BLAS_CFLAGS) -MMD -MP
LDLIBS   += $(SCALAPACK_LIBS) $(BLAS_LIBS) -lm
B        := build
ifeq ($(SAN),1)
  CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
  LDFLAGS += -fsanitize=address,undefined
  B       := build-san
endif
ifeq ($(WERROR),1)
  WARN += -Werror
endif

# Serial modules: no <mpi.h>; they also build the unit tests with plain cc.
SERIAL := status alloc partition npy_header rng json json_read kernels linalg cli check
SRC    := $(wildcard src/*.c)
MPI_OBJ    := $(patsubst src/%.c,$(B)/%.o,$(filter-out $(addprefix src/,$(addsuffix .c,$(SERIAL) main)),$(SRC)))
SERIAL_OBJ := $(addprefix $(B)/,$(addsuffix .o,$(SERIAL)))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
BIN        := bin/rrr
ifeq ($(SAN),1)
  BIN := $(B)/rrr
endif

.PHONY: all check check-large demo bench scaling fuzz clean deps
all: $(BIN) $(B)/librrr.a $(UNIT_BIN)

$(B)/%.o: src/%.c | $(B)
	$(MPICC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

# the serial modules are compiled by plain cc: a stray #include <mpi.h> fails here
$(SERIAL_OBJ): $(B)/%.o: src/%.c | $(B)
	$(CC_SERIAL) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(B)/librrr.a: $(SERIAL_OBJ) $(MPI_OBJ)
	$(AR) rcs $@ $^

$(BIN): $(B)/main.o $(B)/librrr.a
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/%: tests/unit/%.c $(SERIAL_OBJ) | $(B)
	@mkdir -p $(dir $@)
	$(CC_SERIAL) $(CPPFLAGS) $(CFLAGS) $(WARN) $< $(SERIAL_OBJ) $(LDFLAGS) $(BLAS_LIBS) -lm -o $@

$(B):
	@mkdir -p $@

# Installs the Debian/Ubuntu packages when the libraries are missing (and it may).
deps:
	@scripts/install-deps.sh --if-missing

check: deps
	@$(MAKE) --no-print-directory all
	@RRR_BUILD=$(B) RRR_BIN=$(BIN) SAN=$(SAN) scripts/run-tests.sh

# gd's preconditioner on a large-p problem (n = 20000, p = 10000): ~10 min, ~8 GB; README
# "Preconditioning"
check-large: deps
	@$(MAKE) --no-print-directory all
	@RRR_BIN=$(BIN) bash tests/mpi/large_precond.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh

scaling: deps
	@$(MAKE) --no-print-directory all
	@scripts/scaling.sh

FUZZ_TIME ?= 60
fuzz: | $(B)
	@mkdir -p $(B)/fuzz-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
	    tests/fuzz/fuzz_npy.c src/npy_header.c src/status.c -o $(B)/fuzz_npy
	$(B)/fuzz_npy -max_total_time=$(FUZZ_TIME) -dict=tests/fuzz/npy.dict \
	    $(B)/fuzz-corpus tests/fuzz/corpus 2>&1 | tail -n 5

clean:
	rm -rf build build-san bin

-include $(wildcard $(B)/*.d)
