# featevo - every figure and table of the paper from raw MNIST.
# `make` (or `make help`) lists the targets; `make -n TARGET` shows exactly how
# anything is made.

SHELL := /bin/bash
# A recipe line fails when any command in it fails (-e), a pipe's first stage
# included (pipefail: snapshot | featmat), not only when its last command does.
.SHELLFLAGS := -eo pipefail -c

# The main jobs first check that the Debian packages they need are installed; what
# is missing they name with its purpose and install, asking first at a terminal
# (pipeline/setup-debian.sh --auto: the figures need the run group, make test the
# test group too); not for make -n, and not with FEATEVO_SETUP=no.
SETUP_GROUP := $(if $(filter test bench,$(MAKECMDGOALS)),test,run)
ifneq ($(filter quick all paper-short table1-seeds sweep test bench,$(MAKECMDGOALS)),)
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
ifneq ($(shell FEATEVO_SETUP=$(FEATEVO_SETUP) pipeline/setup-debian.sh --auto --for $(SETUP_GROUP) >&2; echo $$?),0)
$(error stopped: the packages above are missing)
endif
endif
endif
.DELETE_ON_ERROR:
.SUFFIXES:

# The pipeline's settings, each with its source; make VAR=value overrides any of them.
include pipeline/config.mk

CC      ?= cc
CFLAGS  ?= -O2 -g
# featevo's version: `featevo --version`, every tool's --version (tools/cli/cli.c).
VERSION := 0.5
# Flags the project needs whatever the user's CFLAGS say.
# A function used without its declaration is an error, not a warning: a build run
# before setup-debian.sh had switched cblas.h to OpenBLAS's took
# openblas_get_corename() as returning int, and every tool crashed on the cut pointer.
FE_CFLAGS := -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror=implicit-function-declaration \
             -D_POSIX_C_SOURCE=200809L \
             -fopenmp -Itools/cli -Itools/lib -Itools/nn $(shell pkg-config --cflags libpng 2>/dev/null)
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

# SAN=1 builds everything with AddressSanitizer + UBSan into build/asan/, and
# float-cast-overflow (a real number cast to an integer it does not fit), which
# neither GCC's nor clang's -fsanitize=undefined includes; both compilers take it.
ifeq ($(SAN),1)
  O      := build/asan
  BIN    := build/asan/bin
  SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
else
  O      := build/release
  BIN    := bin
  SANFLAGS :=
endif

# The library, in layers that include one way, tools/*.c -> cli -> nn -> lib:
#   tools/cli  what the programs share: options, BLAS threads, messages that exit
#   tools/nn   layers and models          tools/lib  errors, tensors, files
# comm_mpi.c and comm_single.c are train's alternatives (below), not library members.
COMM_SRC := tools/lib/comm_mpi.c tools/lib/comm_single.c
LIB_SRC := $(sort $(filter-out $(COMM_SRC),$(wildcard tools/lib/*.c)) $(wildcard tools/nn/*.c) \
             $(wildcard tools/cli/*.c))
LIB_OBJ := $(patsubst tools/%.c,$(O)/%.o,$(LIB_SRC))
HDRS    := $(wildcard tools/lib/*.h tools/nn/*.h tools/cli/*.h)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOLS   := $(patsubst tools/%.c,$(BIN)/%,$(TOOL_SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS   := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))

# The layers' loops over rows and tiles have trip counts known only at run time,
# which GCC's default -O2 cost model ("very cheap") never vectorises; this is the
# -O3 model. Vectorising without reassociation (no -ffast-math) and without
# contraction (-std=c11) leaves every result bit-for-bit the same.
VECT_FLAG := $(shell $(CC) -fvect-cost-model=dynamic -E -x c /dev/null > /dev/null 2>&1 && \
               echo -fvect-cost-model=dynamic)

# train runs data-parallel under mpirun when Open MPI's mpicc is found (Debian:
# libopenmpi-dev); otherwise, or with NO_MPI=1 or SAN=1 (Open MPI's own allocations
# would drown the leak reports), it is linked with comm_single.c: one process.
ifeq ($(SAN)$(NO_MPI),)
  MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
  MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
endif
COMM := $(if $(MPI_LIBS),comm_mpi,comm_single)

# ---- install (GNU conventions: prefix, DESTDIR, bindir, libexecdir, mandir) ----
# bindir gets the front end `featevo` only; the tools go to libexecdir/featevo
# (`featevo --exec-path`), because `train` and `stack` would collide with other
# packages' commands on PATH.  Man pages: featevo(1), featevo-TOOL(1), featevo(7).
# The Python module for checkpoints (tools/python/featevo.py) goes to pythondir, as
# data: nothing installed runs it, and PyTorch users add it with PYTHONPATH.
PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir      ?= $(exec_prefix)/bin
libexecdir  ?= $(exec_prefix)/libexec
datarootdir ?= $(prefix)/share
mandir      ?= $(datarootdir)/man
man1dir     ?= $(mandir)/man1
man7dir     ?= $(mandir)/man7
pythondir   ?= $(datarootdir)/featevo/python
INSTALL         ?= install
INSTALL_PROGRAM ?= $(INSTALL)
INSTALL_DATA    ?= $(INSTALL) -m 644
TOOL_NAMES := $(patsubst tools/%.c,%,$(TOOL_SRC))
MAN1 := $(sort $(wildcard tools/man/*.1))
MAN7 := $(sort $(wildcard tools/man/*.7))

# Every rule file, included after the variables their targets name ($(BIN), $(O),
# $(COMM), ...) and before any rule.  (`all` and the pipeline's other goals:
# pipeline/paper.mk.)
include pipeline/data.mk
include tests/tests.mk
include pipeline/paper.mk

.PHONY: tools tests-build test test-plain test-asan fuzz clean data help install install-strip uninstall
.DEFAULT_GOAL := help

# Every user-facing target, one line each, main jobs first (tests/sh/test_install.sh
# checks that each one listed exists).
help:
	@echo "featevo $(VERSION): the paper's figures and tables from raw MNIST (README.md, featevo(7))"
	@echo
	@echo "Main jobs (each names missing Debian packages and installs them, asking first):"
	@echo "  make quick          the whole graph on a small subset, into results/quick/ (~3 min)"
	@echo "  make all            every figure and table at the paper's settings (hours)"
	@echo "  make paper-short    the same with Figure 1's ResNet-18 run cut to 3 epochs, into"
	@echo "                     results/paper-short/ (about 1 h; it says first)"
	@echo "  make compare        regenerated results/ against the committed ones (tolerances)"
	@echo "  make table1-seeds   the Table 1 run for SEEDS=\"0 1 2 3 4\": mean and spread"
	@echo "  make sweep          the Table 1 run over SEEDS x LRS x INITS (make -jN: N at once)"
	@echo "  make test           every test: plain, ASan+UBSan, valgrind, fuzz smoke (<15 min)"
	@echo "  make bench          speed and memory against PyTorch, and the machine's FMA peak"
	@echo
	@echo "Parts:"
	@echo "  make tools          build the programs and the featevo front end into bin/"
	@echo "  make data           raw MNIST -> data/mnist/*.npy (SHA-256 verified)"
	@echo "  make figures        the figures of the current settings (make tables: the tables)"
	@echo "  make install        install into PREFIX (/usr/local); DESTDIR stages; make uninstall"
	@echo "  make install-strip  the same, the programs without their debugging symbols"
	@echo "  make test-valgrind  the full memcheck pass    make fuzz   longer libFuzzer runs"
	@echo "  make clean          remove build/ and bin/ (not data/, runs/ or results/)"
	@echo
	@echo "Settings: make all VAR=value (pipeline/config.mk), e.g. EPOCHS_RESNET=10 SEED=1,"
	@echo "PRECISION=bf16, DATASET=fashion-mnist; RUN='srun ...' / RUN_TRAIN='mpirun -np 4' send"
	@echo "the heavy recipes to a cluster.  make -n TARGET shows how it is made."

tools: $(TOOLS) $(BIN)/featevo

# The front end `featevo TOOL` (tools/featevo.in): the exec path baked in is
# where `make install` puts the tools (it looks beside itself first); the list of
# tools and their summaries is made from each tools/NAME.c's first line,
# "/* NAME - summary." (tools/featevo.awk).
FRONTEND = awk -f tools/featevo.awk -v version='$(VERSION)' -v libexecdir='$(libexecdir)/featevo' \
             $(TOOL_SRC) tools/featevo.in
$(BIN)/featevo: tools/featevo.in tools/featevo.awk $(TOOL_SRC) Makefile
	@mkdir -p $(@D)
	$(FRONTEND) > $@.tmp
	chmod 755 $@.tmp
	mv $@.tmp $@

install: $(TOOLS) tools/featevo.in tools/featevo.awk $(MAN1) $(MAN7) tools/python/featevo.py
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libexecdir)/featevo $(DESTDIR)$(man1dir) \
	  $(DESTDIR)$(man7dir) $(DESTDIR)$(pythondir)
	$(INSTALL_PROGRAM) $(TOOLS) $(DESTDIR)$(libexecdir)/featevo/
	$(FRONTEND) > $(DESTDIR)$(bindir)/featevo.tmp
	chmod 755 $(DESTDIR)$(bindir)/featevo.tmp
	mv $(DESTDIR)$(bindir)/featevo.tmp $(DESTDIR)$(bindir)/featevo
	$(INSTALL_DATA) $(MAN1) $(DESTDIR)$(man1dir)/
	$(INSTALL_DATA) $(MAN7) $(DESTDIR)$(man7dir)/
	$(INSTALL_DATA) tools/python/featevo.py $(DESTDIR)$(pythondir)/

# GNU's install-strip: install with the programs stripped (install -s).
install-strip:
	$(MAKE) --no-print-directory INSTALL_PROGRAM='$(INSTALL_PROGRAM) -s' install

uninstall:
	rm -f $(DESTDIR)$(bindir)/featevo $(addprefix $(DESTDIR)$(libexecdir)/featevo/,$(TOOL_NAMES)) \
	  $(addprefix $(DESTDIR)$(man1dir)/,$(notdir $(MAN1))) \
	  $(addprefix $(DESTDIR)$(man7dir)/,$(notdir $(MAN7))) \
	  $(DESTDIR)$(pythondir)/featevo.py $(DESTDIR)$(pythondir)/__pycache__/featevo.*.pyc
	-rmdir $(DESTDIR)$(libexecdir)/featevo 2> /dev/null
	rmdir $(DESTDIR)$(pythondir)/__pycache__ $(DESTDIR)$(pythondir) $(DESTDIR)$(datarootdir)/featevo \
	  2> /dev/null || true

$(O)/%.o: tools/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@
# The tools' --version is the Makefile's VERSION (rebuilt when the Makefile changes).
$(O)/cli/cli.o: FE_CFLAGS += -DFE_VERSION='"$(VERSION)"'
$(O)/cli/cli.o: Makefile
# (VECT_FLAG: the -O3 vectoriser's cost model for the layers' loops, above)
$(filter $(O)/nn/%,$(LIB_OBJ)): FE_CFLAGS += $(VECT_FLAG)

$(O)/libfeatevo.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

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

tests-build: $(TOOLS) $(BIN)/featevo $(UNITS) $(O)/tests/bench_train

clean:
	rm -rf build bin

