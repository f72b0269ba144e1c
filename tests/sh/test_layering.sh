#!/usr/bin/env bash
# test_layering.sh - the library's layers, read from the built objects' symbols
# (nm): which object uses a function or table another one defines.
#   - no two files of tools/nn use each other, directly or round a longer circle
#     (model.c -> lenet5.c, resnet18.c -> builder.c, ops.c -> the layers);
#   - tools/lib uses nothing of tools/nn or tools/cli, and tools/nn nothing of
#     tools/cli (the programs -> cli -> nn -> lib).
# A negative control checks that the cycle finder finds a planted circle.
# Env: FE_BUILD (the build directory holding nn/*.o and lib/*.o).
set -euo pipefail
: "${FE_BUILD:?set FE_BUILD}"
command -v nm > /dev/null || { echo "SKIP: test_layering.sh needs nm (binutils)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
shopt -s nullglob
objs=("$FE_BUILD"/nn/*.o "$FE_BUILD"/lib/*.o "$FE_BUILD"/cli/*.o)
((${#objs[@]} > 10)) || fail "no objects under $FE_BUILD (build first)"

# defs: SYMBOL DIR/FILE; uses: DIR/FILE SYMBOL
for o in "${objs[@]}"; do
    name=$(basename "$(dirname "$o")")/$(basename "$o" .o)
    nm --defined-only -g "$o" | awk -v f="$name" 'NF == 3 { print $3, f }' >> "$tmp/defs"
    nm --undefined-only -g "$o" | awk -v f="$name" '{ print f, $NF }' >> "$tmp/uses"
done
# edges: A B when A uses something B defines (A != B)
awk 'NR == FNR { def[$1] = $2; next } ($2 in def) && def[$2] != $1 { print $1, def[$2] }' \
    "$tmp/defs" "$tmp/uses" | sort -u > "$tmp/edges"
grep -q '^nn/model nn/lenet5$' "$tmp/edges" || fail "the symbol reader found no model.c -> lenet5.c"

# cycles among tools/nn: tsort reports a loop on stderr
cycles() { grep '^nn/[^ ]* nn/' "$1" | tsort 2>&1 > /dev/null | grep -v '^tsort: -: input contains a loop:$' || true; }
found=$(cycles "$tmp/edges")
[[ -z $found ]] || fail "files of tools/nn that use each other (a circle): $(echo $found)"
{ cat "$tmp/edges"; echo "nn/builder nn/model"; } > "$tmp/planted"
[[ -n $(cycles "$tmp/planted") ]] || fail "negative control: a planted builder -> model circle was not found"

up=$(awk '($1 ~ /^lib\// && $2 ~ /^(nn|cli)\//) || ($1 ~ /^nn\// && $2 ~ /^cli\//)' "$tmp/edges")
[[ -z $up ]] || fail "a lower layer uses a higher one: $(echo $up)"
echo "test_layering: $(grep -c '^nn/[^ ]* nn/' "$tmp/edges") uses between the files of tools/nn, no circle; lib below nn below cli"
