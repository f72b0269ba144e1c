#!/usr/bin/env bash
# sgemm-ab.sh REV [RUNS [PRODUCTS]] - the GEMM of git revision REV (A) against
# the working tree's tools/nn/sgemm.c (B), in one process, by turns, best of
# RUNS (40), on the product shapes of ResNet-18's Winograd convolutions at
# batch 512 (sgemm_ab.c says why), PRODUCTS (36) of them at once on the OpenMP
# threads.  Prints a line per shape: GFLOP/s of each, B's speed-up, and
# whether the bits agree.  PRODUCTS 1: one product at a time, on one thread
# (the kernel's speed where the product fits in cache).  Builds in a temporary
# directory; run from anywhere.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: tests/bench/sgemm-ab.sh REV [RUNS [PRODUCTS]]" >&2
    exit 2
fi
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git show "$1:tools/nn/sgemm.c" > "$tmp/a.c"
cflags=(-std=c11 -O2 -fopenmp -Itools/nn)
for v in a b; do
    src=$tmp/a.c
    [[ $v == b ]] && src=tools/nn/sgemm.c
    cc "${cflags[@]}" -c "$src" -o "$tmp/$v.o" -Dfe_sgemm=${v}_fe_sgemm \
        -Dfe_sgemm_with=${v}_fe_sgemm_with -Dfe_sgemm_threads=${v}_fe_sgemm_threads \
        -Dfe_sgemm_isa=${v}_fe_sgemm_isa
done
cc "${cflags[@]}" tests/bench/sgemm_ab.c "$tmp/a.o" "$tmp/b.o" -lm -o "$tmp/sgemm_ab"
# The products as the model runs them at batch 512 with its default 32 Mi floats
# of chunk scratch: layer1 and layer2 forward fused (a tile row of 16 images:
# 112 and 64 columns); their backward and layers 3-4 by chunks of 144, 224,
# 448 and 512 images (T = 7056, 3584, 1792, 512 tiles).  M N K TRANS_A TRANS_B:
for s in "64 112 64 0 0" "128 64 128 0 0" "256 1792 256 0 0" "512 512 512 0 0" \
         "64 7056 64 1 0" "128 3584 128 1 0" "256 1792 256 1 0" "512 512 512 1 0" \
         "64 64 7056 0 1" "128 128 3584 0 1" "256 256 1792 0 1" "512 512 512 0 1"; do
    # shellcheck disable=SC2086
    "$tmp/sgemm_ab" $s "${2:-40}" "${3:-36}"
done
