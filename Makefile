# featevo - every figure and table of the paper from raw MNIST.
#   make tools   build the programs into bin/
#   make data    raw MNIST -> data/mnist/*.npy (verified by SHA-256)
#   make test    unit, shell, PyTorch-oracle and fuzz-smoke tests: plain, ASan+UBSan, valgrind
#   make fuzz    longer libFuzzer runs      make test-valgrind   the full memcheck pass
# `make -n TARGET` shows exactly how anything is made.

SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:

CC      ?= cc
CFLAGS  ?= -O2 -g
# Flags the project needs whatever the user's CFLAGS say.
FE_CFLAGS := -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_POSIX_C_SOURCE=200809L \
             -fopenmp -Itools/lib -Itools/nn $(shell pkg-config --cflags libpng 2>/dev/null)
# The layers' own loops run on OpenMP threads; OpenBLAS's OpenMP build shares that
# thread pool, where the default pthread build would spin its own threads against
# ours. Debian installs it beside the default (libopenblas-openmp-dev).
OPENBLAS_OMP := /usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null)/openblas-openmp
ifneq ($(wildcard $(OPENBLAS_OMP)/libopenblas.so),)
  BLASLIB := -L$(OPENBLAS_OMP) -Wl,-rpath,$(OPENBLAS_OMP) -lopenblas
else
  BLASLIB := -lopenblas
endif
LDLIBS  := $(BLASLIB) -lpng -lz -lm -fopenmp

# SAN=1 builds everything with AddressSanitizer + UBSan into build/asan/.
ifeq ($(SAN),1)
  O      := build/asan
  BIN    := build/asan/bin
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
  O      := build/release
  BIN    := bin
  SANFLAGS :=
endif

LIB_SRC := $(sort $(filter-out tools/lib/comm_%.c,$(wildcard tools/lib/*.c)) $(wildcard tools/nn/*.c))
LIB_OBJ := $(patsubst tools/%.c,$(O)/%.o,$(LIB_SRC))
HDRS    := $(wildcard tools/lib/*.h tools/nn/*.h)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOLS   := $(patsubst tools/%.c,$(BIN)/%,$(TOOL_SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS   := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))

.PHONY: all tools tests-build test test-plain test-asan fuzz clean data help
.DEFAULT_GOAL := help

help:
	@sed -n '2,6p' Makefile | sed 's/^# *//'

tools: $(TOOLS)

$(O)/%.o: tools/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

# The layers' loops over rows and tiles have trip counts known only at run time,
# which GCC's default -O2 cost model ("very cheap") never vectorises; this is the
# -O3 model. Vectorising without reassociation (no -ffast-math) and without
# contraction (-std=c11) leaves every result bit-for-bit the same.
VECT_FLAG := $(shell $(CC) -fvect-cost-model=dynamic -E -x c /dev/null > /dev/null 2>&1 && \
               echo -fvect-cost-model=dynamic)
$(filter $(O)/nn/%,$(LIB_OBJ)): FE_CFLAGS += $(VECT_FLAG)

$(O)/libfeatevo.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# train runs data-parallel under mpirun when Open MPI's mpicc is found (Debian:
# libopenmpi-dev); otherwise, or with NO_MPI=1 or SAN=1 (Open MPI's own allocations
# would drown the leak reports), it is linked with comm_single.c: one process.
ifeq ($(SAN)$(NO_MPI),)
  MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
  MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
endif
COMM := $(if $(MPI_LIBS),comm_mpi,comm_single)
$(O)/lib/$(COMM).o: tools/lib/$(COMM).c tools/lib/comm.h
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) $(MPI_CFLAGS) -c $< -o $@
# (the choice is part of the object's name, so switching rebuilds train)
$(BIN)/train: tools/train.c $(O)/libfeatevo.a $(O)/lib/$(COMM).o $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) $< $(O)/lib/$(COMM).o $(O)/libfeatevo.a $(LDLIBS) \
	  $(MPI_LIBS) -o $@

$(BIN)/%: tools/%.c $(O)/libfeatevo.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) $< $(O)/libfeatevo.a $(LDLIBS) -o $@

$(O)/tests/%: tests/unit/%.c $(O)/libfeatevo.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) $< $(O)/libfeatevo.a -lcmocka $(LDLIBS) -o $@

tests-build: $(TOOLS) $(UNITS)

clean:
	rm -rf build bin

include pipeline/data.mk
include tests/tests.mk
include pipeline/paper.mk
