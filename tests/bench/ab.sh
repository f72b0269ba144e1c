#!/usr/bin/env bash
# ab.sh sgemm|wino|direct REV [RUNS [ARG]] - git revision REV's build of one engine
# file (A) against the working tree's (B), in one process, by turns, best of
# RUNS: on a shared machine whose speed drifts by 10-30% from minute to minute,
# two binaries timed one after the other cannot show a 5% change.  Both files
# are compiled with their public functions renamed (a_..., b_...) into one
# program that prints a line per case: each build's speed and whether their
# bits agree.  Builds in a temporary directory; run from anywhere.
#   sgemm: tools/nn/sgemm.c on the 12 products ResNet-18 runs at batch 512
#          (sgemm_ab.c), ARG (36) of them at once on the OpenMP threads; 1:
#          one product on one thread, the kernel's in-cache speed.  RUNS 40.
#   wino:  tools/nn/winograd.c (both on the tree's sgemm.c) on ResNet-18's
#          four stride-1 geometries at batch ARG (512): the forward, the
#          backward with dW alone and with dX alone (wino_ab.c).  RUNS 5.
#   direct: tools/nn/conv2d_sgemm.c (both on the tree's sgemm.c and conv2d.c)
#          on ResNet-18's stride-2 convolutions, 3x3 and 1x1, at batch ARG
#          (512), the same three passes (direct_ab.c).  RUNS 5.
set -euo pipefail
case ${1:-} in
    sgemm) file=tools/nn/sgemm.c; runs=${3:-40}; arg=${4:-36} ;;
    wino) file=tools/nn/winograd.c; runs=${3:-5}; arg=${4:-512} ;;
    direct) file=tools/nn/conv2d_sgemm.c; runs=${3:-5}; arg=${4:-512} ;;
    *) echo "usage: tests/bench/ab.sh sgemm|wino|direct REV [RUNS [ARG]]" >&2; exit 2 ;;
esac
[[ $# -ge 2 ]] || { echo "usage: tests/bench/ab.sh sgemm|wino|direct REV [RUNS [ARG]]" >&2; exit 2; }
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git show "$2:$file" > "$tmp/a.c"
cflags=(-std=c11 -O2 -fopenmp -D_POSIX_C_SOURCE=200809L -Itools/nn -Itools/lib)
# the functions either file defines with external linkage
names=$(sed -n 's/^\(int \|size_t \|void \|const char \*\)\(fe_sgemm[a-z_]*\|wino_[a-z_0-9]*\|conv2d_[a-z_]*_sgemm\)(.*/\2/p' \
        "$file" "$tmp/a.c" | sort -u)
for v in a b; do
    src=$tmp/a.c
    [[ $v == b ]] && src=$file
    defs=()
    for f in $names; do defs+=("-D$f=${v}_$f"); done
    cc "${cflags[@]}" "${defs[@]}" -c "$src" -o "$tmp/$v.o"
done
if [[ $1 == sgemm ]]; then
    cc "${cflags[@]}" tests/bench/sgemm_ab.c "$tmp/a.o" "$tmp/b.o" -lm -o "$tmp/ab"
    # The products as the model runs them at batch 512 with its default 32 Mi
    # floats of chunk scratch: layer1 and layer2 forward fused (a tile row of 16
    # images: 112 and 64 columns); their backward and layers 3-4 by chunks of
    # 144, 224, 448 and 512 images (T = 7056, 3584, 1792, 512 tiles).
    # M N K TRANS_A TRANS_B:
    cases=("64 112 64 0 0" "128 64 128 0 0" "256 1792 256 0 0" "512 512 512 0 0"
           "64 7056 64 1 0" "128 3584 128 1 0" "256 1792 256 1 0" "512 512 512 1 0"
           "64 64 7056 0 1" "128 128 3584 0 1" "256 256 1792 0 1" "512 512 512 0 1")
    for s in "${cases[@]}"; do
        # shellcheck disable=SC2086
        "$tmp/ab" $s "$runs" "$arg"
    done
elif [[ $1 == direct ]]; then
    for f in sgemm conv2d; do cc "${cflags[@]}" -c tools/nn/$f.c -o "$tmp/$f.o"; done
    ob=/usr/lib/$(cc -print-multiarch)/openblas-openmp     # the OpenBLAS the Makefile links
    blas=(-lopenblas)
    [[ -e $ob/libopenblas.so ]] && blas=(-L"$ob" -Wl,-rpath,"$ob" -lopenblas)
    cc "${cflags[@]}" tests/bench/direct_ab.c "$tmp/a.o" "$tmp/b.o" "$tmp/sgemm.o" "$tmp/conv2d.o" \
        "${blas[@]}" -lm -o "$tmp/ab"
    for s in "64 128 3 28" "128 256 3 14" "256 512 3 7" "64 128 1 28" "128 256 1 14" "256 512 1 7"; do
        # shellcheck disable=SC2086
        "$tmp/ab" $s "$arg" "$runs"                     # CIN COUT K SIZE
    done
else
    cc "${cflags[@]}" -c tools/nn/sgemm.c -o "$tmp/sgemm.o"
    cc "${cflags[@]}" tests/bench/wino_ab.c "$tmp/a.o" "$tmp/b.o" "$tmp/sgemm.o" -lm -o "$tmp/ab"
    for s in "64 28" "128 14" "256 7" "512 4"; do       # CHANNELS SIZE
        # shellcheck disable=SC2086
        "$tmp/ab" $s "$arg" "$runs"
    done
fi
