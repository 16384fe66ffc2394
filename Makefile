# rrr: one non-recursive GNU Makefile. Every tool and library can be overridden, e.g.
#   make MPICC=cc BLAS_LIBS="-lmkl_rt" SCALAPACK_LIBS="-lmkl_scalapack_lp64 -lmkl_blacs_openmpi_lp64"
# Targets: all (bin/rrr, build/librrr.a, build/librrr.so, test programs), check,
# check-large, check-huge, demo, bench, scaling, probe (make bench's machine-limits probe), fuzz,
# examples, install (PREFIX=/usr/local, DESTDIR), clean.
# make SAN=1 check builds with AddressSanitizer + UBSan into build-san/.
# make HDF5=0 builds without parallel HDF5 even where pkg-config finds it.

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
# Parallel HDF5 (FILE.h5:/dataset inputs, predict --out): from pkg-config when present, or
# HDF5_CFLAGS/HDF5_LIBS given on the command line; without it rrr builds, and says so.
HDF5_PKG ?= hdf5-openmpi
ifneq ($(HDF5),0)
  ifeq ($(origin HDF5_LIBS),undefined)
    ifeq ($(shell $(PKG_CONFIG) --exists $(HDF5_PKG) 2>/dev/null && echo yes),yes)
      HDF5_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(HDF5_PKG))
      HDF5_LIBS   := $(shell $(PKG_CONFIG) --libs $(HDF5_PKG))
    endif
  endif
else
  HDF5_CFLAGS :=
  HDF5_LIBS   :=
endif
ifneq ($(strip $(HDF5_LIBS)),)
  H5_DEFS := -DRRR_HAVE_HDF5 $(HDF5_CFLAGS)
endif
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wdouble-promotion -Wvla
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(BLAS_CFLAGS) -MMD -MP
LDLIBS   += $(HDF5_LIBS) $(SCALAPACK_LIBS) $(BLAS_LIBS) -lm -pthread
PIC      := -fPIC
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
SERIAL := status alloc partition npy_header rng json json_read kernels kernel_avx512 kernel_avx2 linalg cli check cv_args folds topk mpi_env scan
SRC    := $(wildcard src/*.c)
MPI_OBJ    := $(patsubst src/%.c,$(B)/%.o,$(filter-out $(addprefix src/,$(addsuffix .c,$(SERIAL) main)),$(SRC)))
SERIAL_OBJ := $(addprefix $(B)/,$(addsuffix .o,$(SERIAL)))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
BIN        := bin/rrr
ifeq ($(SAN),1)
  BIN := $(B)/rrr
endif

# The shared library's version is the API's (include/rrr.h); its soname carries the major.
VERSION := $(shell sed -n 's/^\#define RRR_VERSION_STRING "\(.*\)"/\1/p' include/rrr.h)
SONAME  := librrr.so.$(firstword $(subst ., ,$(VERSION)))
SHLIB   := $(B)/librrr.so.$(VERSION)

.PHONY: all check check-large check-huge demo bench scaling probe fuzz clean deps install examples FORCE
all: $(BIN) $(B)/librrr.a $(B)/librrr.so $(UNIT_BIN)

# Every object is position-independent: one build serves librrr.a, librrr.so and bin/rrr,
# so the CLI, a C program and Python run the same code.
$(B)/%.o: src/%.c | $(B)
	$(MPICC) $(CPPFLAGS) $(CFLAGS) $(PIC) $(WARN) -c $< -o $@

# the serial modules are compiled by plain cc: a stray #include <mpi.h> fails here
$(SERIAL_OBJ): $(B)/%.o: src/%.c | $(B)
	$(CC_SERIAL) $(CPPFLAGS) $(CFLAGS) $(PIC) $(WARN) -c $< -o $@

# Only h5_io.c sees HDF5; it is rebuilt when the HDF5 choice changes.
$(B)/h5_io.o: CPPFLAGS += $(H5_DEFS)
$(B)/h5_io.o: $(B)/hdf5.flags
$(B)/hdf5.flags: FORCE | $(B)
	@echo '$(H5_DEFS) $(HDF5_LIBS)' | cmp -s - $@ || echo '$(H5_DEFS) $(HDF5_LIBS)' > $@

$(B)/librrr.a: $(SERIAL_OBJ) $(MPI_OBJ)
	$(AR) rcs $@ $^

$(SHLIB): $(SERIAL_OBJ) $(MPI_OBJ)
	$(MPICC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/librrr.so: $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $(B)/$(SONAME)
	ln -sf $(SONAME) $@

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

# exact on data bigger than memory (HUGE_GB = 32 GB of X and Y written by rrr gen, on
# HUGE_DIR's disk), against a plain read of its files; the tall bench problem's read path
# against dd: minutes, and the disk space; README "Data bigger than memory"
check-huge: deps
	@$(MAKE) --no-print-directory all
	@RRR_BIN=$(BIN) bash tests/mpi/huge_stream.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all probe
	@scripts/bench.sh

# tests/bench/probe.c: the machine's limits (bandwidth, DGEMM, allreduce) for make bench
probe: $(B)/probe
$(B)/probe: tests/bench/probe.c | $(B)
	$(MPICC) $(CPPFLAGS) $(CFLAGS) $(WARN) $< $(LDFLAGS) $(BLAS_LIBS) -lm -o $@

scaling: deps
	@$(MAKE) --no-print-directory all
	@scripts/scaling.sh

FUZZ_TIME ?= 60
fuzz: | $(B)
	@mkdir -p $(B)/fuzz-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
	    tests/fuzz/fuzz_npy.c src/npy_header.c src/status.c -o $(B)/fuzz_npy
	$(B)/fuzz_npy -max_total_time=$(FUZZ_TIME) -dict=tests/fuzz/npy.dict \
	    $(B)/fuzz-corpus tests/fuzz/corpus tests/data 2>&1 | tail -n 5

# examples/fit.c against the build tree (make check builds it against an installed tree).
examples: $(B)/examples/fit
$(B)/examples/fit: examples/fit.c $(B)/librrr.a
	@mkdir -p $(dir $@)
	$(MPICC) -Iinclude $(CFLAGS) $(WARN) $< $(B)/librrr.a $(LDFLAGS) $(LDLIBS) -o $@

# make install PREFIX=DIR [DESTDIR=STAGE]: bin/rrr, the headers, librrr.a, librrr.so
# (soname librrr.so.MAJOR) and lib/pkgconfig/rrr.pc, so that a program builds with
#   cc prog.c $(pkg-config --cflags --libs rrr)           (or --static for librrr.a)
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MPI_PKG    ?= ompi-c
PC_REQUIRES := $(shell $(PKG_CONFIG) --exists $(MPI_PKG) 2>/dev/null && echo $(MPI_PKG))
install: $(BIN) $(B)/librrr.a $(B)/librrr.so rrr.pc.in
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/rrr
	install -m 644 include/rrr.h include/rrr_base.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(B)/librrr.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/librrr.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|; s|@REQUIRES@|$(PC_REQUIRES)|' \
	    -e 's|@LIBS_PRIVATE@|$(strip $(HDF5_LIBS) $(SCALAPACK_LIBS) $(BLAS_LIBS)) -lm|' \
	    rrr.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/rrr.pc

clean:
	rm -rf build build-san bin

-include $(wildcard $(B)/*.d)
