#!/usr/bin/env bash
# wino-ab.sh REV [RUNS [BATCH]] - the Winograd convolution of git revision REV
# (A: its tools/nn/winograd.c) against the working tree's (B), in one process,
# by turns, best of RUNS (5), on ResNet-18's four stride-1 geometries at batch
# BATCH (512): forward, backward with dW alone, with dX alone (wino_ab.c).
# Both link the working tree's sgemm.c.  Prints a line per geometry with each
# build's milliseconds and whether their bits agree.  Builds in a temporary
# directory; run from anywhere.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: tests/bench/wino-ab.sh REV [RUNS [BATCH]]" >&2
    exit 2
fi
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git show "$1:tools/nn/winograd.c" > "$tmp/a.c"
cflags=(-std=c11 -O2 -fopenmp -D_POSIX_C_SOURCE=200809L -Itools/nn -Itools/lib)
names=$(sed -n 's/^\(int\|size_t\|void\) \(wino_[a-z_0-9]*\)(.*/\2/p' tools/nn/winograd.c "$tmp/a.c" |
        sort -u)
for v in a b; do
    src=$tmp/a.c
    [[ $v == b ]] && src=tools/nn/winograd.c
    defs=()
    for f in $names; do defs+=("-D$f=${v}_$f"); done
    cc "${cflags[@]}" "${defs[@]}" -c "$src" -o "$tmp/$v.o"
done
cc "${cflags[@]}" -c tools/nn/sgemm.c -o "$tmp/sgemm.o"
cc "${cflags[@]}" tests/bench/wino_ab.c "$tmp/a.o" "$tmp/b.o" "$tmp/sgemm.o" -lm -o "$tmp/wino_ab"
for s in "64 28" "128 14" "256 7" "512 4"; do
    # shellcheck disable=SC2086
    "$tmp/wino_ab" $s "${3:-512}" "${2:-5}"
done
