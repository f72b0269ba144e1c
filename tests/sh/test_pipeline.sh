#!/usr/bin/env bash
# test_pipeline.sh - the Make graph on a cluster's terms, on a small graph (LeNet-5's
# curves, maps and CNFA rows, and `make sweep` of ResNet-18 over 2 learning rates x
# 2 seeds, on 128 images):
#   - `make -j2` gives byte for byte the files `make -j1` gives (figures, tables,
#     checkpoints, analysis files; metrics without their timing columns);
#   - RUN and RUN_TRAIN dispatch: with a wrapper that records what it ran, every
#     training went through RUN_TRAIN and every AGOP and map snapshot through RUN,
#     nothing else through either, and the results are the same as without it;
#   - make sweep's table: a row per learning rate, init and epoch, over 2 runs.
# Runs in the release lane only (BIN=.../bin): the graph's tools are make's own.
# Env: BIN, FE_ROOT.
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
FE_ROOT=$(cd "$FE_ROOT" && pwd)
cd "$FE_ROOT"
if [[ $(cd "$BIN" && pwd) != "$FE_ROOT/bin" ]]; then
    echo "SKIPPED: runs against the release build only (BIN=$BIN)"
    exit 77
fi
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES     # a user's make, not make test's sub-make
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }

cat > "$tmp/wrap" << 'EOF2'
#!/bin/sh
# records the command it is asked to run, then runs it (a stand-in for srun)
echo "$*" >> "$WRAP_LOG"
exec "$@"
EOF2
chmod +x "$tmp/wrap"

# settings, graph and same_files: the small graph, shared with test_slurm.sh
. tests/sh/small-graph.sh
graph "$tmp/A" -j1
WRAP_LOG=$tmp/wrap.log graph "$tmp/B" -j2 RUN="$tmp/wrap" RUN_TRAIN="$tmp/wrap"
[[ -s $tmp/A/res/tables/sweep.tsv && -s $tmp/A/res/figures/fig-sweep.png ]] || fail "make sweep made nothing"

# a finished graph has nothing left to do: make -n lists no command that makes a
# file, and make runs none (a FORCE'd stamp or a checkpoint older than its run's
# marker made make -n list the whole analysis again)
# shellcheck disable=SC2046
make -n --no-print-directory "${settings[@]}" RUNS="$tmp/A/runs" RES="$tmp/A/res" \
    $(graph_targets "$tmp/A") > "$tmp/again.n" 2>&1 || fail "make -n again: $(cat "$tmp/again.n")"
grep -v -e "^pipeline/estimate.sh" -e "^  " -e "^make: .* is up to date" -e "^make: Nothing to be done" \
    "$tmp/again.n" > "$tmp/again.cmds" || true
[[ ! -s $tmp/again.cmds ]] || fail "make -n after a finished make lists work: $(head -5 "$tmp/again.cmds")"
cp -a "$tmp/A" "$tmp/A2"
graph "$tmp/A2"
grep -q "bin/\|gnuplot" "$tmp/A2.log" && fail "make again ran: $(grep "bin/\|gnuplot" "$tmp/A2.log" | head -3)"
rm -rf "$tmp/A2" "$tmp/A2.log"
ok "after a finished make, make -n lists nothing to do and make does nothing"

# the same files, byte for byte (metrics.tsv: without seconds and images/s)
same_files "$tmp/A" "$tmp/B" "make -j1 and -j2 (with RUN)"
ok "make -j2 with RUN/RUN_TRAIN gives the same $nfiles files as make -j1 (figures, tables, checkpoints, analysis)"

# what went through the wrapper: trainings, AGOPs and map snapshots, nothing else
trains=$(grep -c "/train --model " "$tmp/wrap.log" || true)
agops=$(grep -c "/agop --ckpt " "$tmp/wrap.log" || true)
maps=$(grep -c "/snapshot --ckpt .* --layer " "$tmp/wrap.log" || true)
total=$(wc -l < "$tmp/wrap.log")
((trains == 5)) || fail "RUN_TRAIN ran $trains trainings, expected 5 (LeNet-5 and 4 sweep runs): $(cat "$tmp/wrap.log")"
((agops == 2 && maps == 3)) || fail "RUN ran $agops AGOPs and $maps map snapshots, expected 2 and 3"
((total == trains + agops + maps)) || fail "the wrapper ran something else: $(cat "$tmp/wrap.log")"
grep -q "resnet18 .*--init normal:1e-4 --fresh-optimizer" "$tmp/wrap.log" || fail "sweep runs without their init"
ok "RUN_TRAIN ran the $trains trainings and RUN the $agops AGOPs and $maps map snapshots, nothing else"

# make sweep's table
rows=$(awk -F'\t' 'NR > 1 && $4 == 2' "$tmp/A/res/tables/sweep.tsv" | wc -l)
((rows == 4)) || fail "sweep.tsv: $rows rows over 2 runs, expected 4 (2 lrs x epochs 0-1): $(cat "$tmp/A/res/tables/sweep.tsv")"
head -n 1 "$tmp/A/res/tables/sweep.tsv" | grep -q "^lr	init	epoch	runs	train_acc_mean" || fail "sweep.tsv header"
ok "make -j2 sweep: a row per learning rate and epoch over both seeds, and its figure"

echo "test_pipeline.sh: $checks checks passed"
