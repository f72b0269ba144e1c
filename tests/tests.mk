# tests/tests.mk - test targets (included by the Makefile).
#
#   make test         release build + tests, ASan/UBSan build + tests, the quick
#                     valgrind pass, fuzz smoke, then `make quick` and a check of every
#                     figure and table it made (tests/run-all.sh: two parts at a time)
#   make test-plain   the release build only          make test-asan   the sanitizer build only
#   make test-valgrind  the memcheck pass in full: ResNet-18 steps, the I/O tools' shell
#                     tests and test_train.sh included (tests/run-valgrind.sh)
#   make test-slurm   the Make graph, sbatch and MPI under a private one-node SLURM
#                     (tests/slurm/test_slurm.sh, about 2 minutes; root and the SLURM
#                     packages, pipeline/setup-debian.sh --slurm); .ci/run runs it too
#   make fuzz-smoke   each libFuzzer harness for FUZZ_SMOKE_SECONDS (5)
#   make fuzz         each harness for FUZZ_SECONDS (300), or for FUZZ_RUNS executions
#                     when that is set (make fuzz FUZZ_RUNS=10000000)
# Each part ends with a line "LABEL: N passed, N failed, N skipped".

.PHONY: fuzz-build fuzz-smoke test-valgrind test-slurm

FUZZ_SECONDS       ?= 300
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_RUNS          ?=
FUZZ_CC            ?= clang
# The readers the harnesses exercise (not the whole library: no BLAS needed).
FUZZ_LIB_SRC := $(addprefix tools/lib/,util.c tensor.c io.c esc.c zin.c npy.c idx.c)
FUZZ_LIB_OBJ := $(patsubst tools/lib/%.c,build/fuzz/lib/%.o,$(FUZZ_LIB_SRC))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_CFLAGS  := -std=c11 -O1 -g -Wall -Wextra -Wshadow -D_POSIX_C_SOURCE=200809L -Itools/lib \
                -fno-omit-frame-pointer -fno-sanitize-recover=all

# The unit tests also include their shared helper header.
$(UNITS): tests/unit/fe_test.h
# SIMDe's emulated 64-byte vectors are passed by value: GCC notes an old ABI change.
$(O)/tests/test_bf16_kernels_emulated: CFLAGS += -Wno-psabi

# The parts, two at a time, each part's time printed at the end: tests/run-all.sh
test:
	@MAKE='$(MAKE)' tests/run-all.sh

test-plain:
	@$(MAKE) --no-print-directory SAN=0 tests-build
	@tests/run-tests.sh bin build/release plain

test-asan:
	@$(MAKE) --no-print-directory SAN=1 tests-build
	@tests/run-tests.sh build/asan/bin build/asan asan

# kept out of make test for its 15-minute budget; 77 (skipped) counts as a pass
test-slurm:
	@$(MAKE) --no-print-directory SAN=0 tools
	@rc=0; BIN=bin FE_ROOT=. tests/slurm/test_slurm.sh || rc=$$?; \
	  if [ $$rc -eq 77 ]; then echo "slurm: 0 passed, 0 failed, 1 skipped"; \
	  elif [ $$rc -eq 0 ]; then echo "slurm: 1 passed, 0 failed"; \
	  else echo "slurm: 0 passed, 1 failed"; exit 1; fi

test-valgrind:
	@$(MAKE) --no-print-directory SAN=0 tests-build
	@tests/run-valgrind.sh full

ifeq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
fuzz-build:
	@echo "fuzz: $(FUZZ_CC) not found; libFuzzer needs clang (apt-get install clang)"
else
fuzz-build: $(FUZZ_BINS)
endif

build/fuzz/lib/%.o: tools/lib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined,float-cast-overflow -c $< -o $@

# The checkpoint harness also needs the models (tools/nn); their OpenMP pragmas
# are ignored here (one thread) and their GEMMs go to OpenBLAS.
FUZZ_NN_OBJ := $(patsubst tools/nn/%.c,build/fuzz/nn/%.o,$(sort $(wildcard tools/nn/*.c)))
build/fuzz/nn/%.o: tools/nn/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itools/nn -Wno-source-uses-openmp \
	  -fsanitize=fuzzer-no-link,address,undefined,float-cast-overflow -c $< -o $@

build/fuzz/fuzz_ckpt: tests/fuzz/fuzz_ckpt.c $(FUZZ_NN_OBJ) $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itools/nn -fsanitize=fuzzer,address,undefined,float-cast-overflow $^ -lopenblas -lz -lm -o $@

$(filter-out build/fuzz/fuzz_ckpt,$(FUZZ_BINS)): build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined,float-cast-overflow $^ -lz -lm -o $@

fuzz-smoke: fuzz-build
	@tests/fuzz/run-fuzz.sh $(FUZZ_SMOKE_SECONDS) fuzz-smoke

fuzz: fuzz-build
	@tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) fuzz $(FUZZ_RUNS)

# make bench: throughput, GFLOP/s and peak RSS of both models against PyTorch
.PHONY: bench
$(O)/tests/bench_train: tests/bench/bench_train.c $(O)/libfeatevo.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) $< $(O)/libfeatevo.a $(LDLIBS) -o $@
# the cross-rank sums alone (run by bench.sh under mpirun where train has MPI)
$(O)/tests/bench_comm: tests/bench/bench_comm.c $(O)/libfeatevo.a $(O)/lib/$(COMM).o tools/lib/comm.h
	@mkdir -p $(@D)
	$(CC) $(FE_CFLAGS) $(CFLAGS) $(SANFLAGS) $< $(O)/lib/$(COMM).o $(O)/libfeatevo.a $(LDLIBS) \
	  $(MPI_LIBS) -o $@
bench: $(O)/tests/bench_train $(O)/tests/bench_comm
	tests/bench/bench.sh
