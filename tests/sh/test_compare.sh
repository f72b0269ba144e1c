#!/usr/bin/env bash
# test_compare.sh - pipeline/compare.sh (make compare) and pipeline/estimate.sh
# (what make all says before it starts), on a scratch git repository:
#   - a regeneration with the same bytes, or numbers within the tolerances, exits 0;
#   - an accuracy 0.6 points off, a correlation 0.03 off, a committed row or file
#     gone, exit 1 and name the column or file; new rows and a changed PNG are
#     reported, not failed;
#   - estimate.sh counts the epochs left from a run directory's checkpoints and
#     names the machine its figures were measured on (EST_MACHINE).
# Env: FE_ROOT.
set -euo pipefail
: "${FE_ROOT:?set FE_ROOT}"
FE_ROOT=$(cd "$FE_ROOT" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
cmp_=$FE_ROOT/pipeline/compare.sh

cd "$tmp"
git init -q repo && cd repo
git config user.email t@example.org && git config user.name t
mkdir -p results/tables results/figures
printf 'epoch\ttrain_acc\ttest_loss\ttest_acc\n0\t\t2.30\t10.0\n1\t90.0\t0.20\t95.0\n' > results/tables/m.tsv
printf 'model\tlayer\tepoch\tcorr_nfm_agop\nr\tconv1\t0\t0.80\nr\tconv1\t1\t0.90\n' > results/tables/cnfa.tsv
printf 'PNG1' > results/figures/f.png
git add -A && git commit -qm base

out=$("$cmp_") || fail "same bytes: exit $?: $out"
grep -q "results/tables/m.tsv: same bytes" <<< "$out" || fail "same bytes not said: $out"
ok "unchanged results: exit 0, same bytes"

printf 'epoch\ttrain_acc\ttest_loss\ttest_acc\n0\t\t2.35\t10.0\n1\t90.4\t0.21\t95.3\n2\t97.0\t0.1\t97.0\n' > results/tables/m.tsv
printf 'PNG2' > results/figures/f.png
out=$("$cmp_") || fail "within tolerance: exit $?: $out"
grep -q "m.tsv: numbers differ.* train_acc 0.4.*1 new rows" <<< "$out" &&
    grep -q "f.png: regenerated (bytes differ)" <<< "$out" || fail "within tolerance, report: $out"
ok "accuracies 0.4 points and losses 5% off, a new epoch, a new PNG: exit 0, each reported"

printf 'epoch\ttrain_acc\ttest_loss\ttest_acc\n0\t\t2.30\t10.0\n1\t90.6\t0.20\t95.0\n' > results/tables/m.tsv
rc=0; out=$("$cmp_") || rc=$?
((rc == 1)) && grep -q "train_acc OUT OF TOLERANCE 0.6" <<< "$out" || fail "acc 0.6 off: exit $rc: $out"
printf 'epoch\ttrain_acc\ttest_loss\ttest_acc\n0\t\t2.30\t10.0\n1\t90.0\t0.20\t95.0\n' > results/tables/m.tsv
printf 'model\tlayer\tepoch\tcorr_nfm_agop\nr\tconv1\t0\t0.83\nr\tconv1\t1\t0.90\n' > results/tables/cnfa.tsv
rc=0; out=$("$cmp_") || rc=$?
((rc == 1)) && grep -q "corr_nfm_agop OUT OF TOLERANCE 0.03" <<< "$out" || fail "corr 0.03 off: exit $rc: $out"
printf 'model\tlayer\tepoch\tcorr_nfm_agop\nr\tconv1\t0\t0.80\n' > results/tables/cnfa.tsv
rc=0; out=$("$cmp_") || rc=$?
((rc == 1)) && grep -q "1 committed rows GONE" <<< "$out" || fail "row gone: exit $rc: $out"
git checkout -q results/tables/cnfa.tsv && rm results/figures/f.png
rc=0; out=$("$cmp_") || rc=$?
((rc == 1)) && grep -q "f.png: GONE" <<< "$out" || fail "file gone: exit $rc: $out"
ok "an accuracy 0.6 points off, a correlation 0.03 off, a row gone, a figure gone: exit 1, named"

# estimate.sh: 2 of 5 ResNet-18 epochs trained (epoch-000..002), none of 3 of another
mkdir -p runs/a runs/b runs/analysis/cnfa
touch runs/a/epoch-00{0,1,2}.npz runs/analysis/cnfa/a@conv1@00{0,1,2}.tsv
out=$("$FE_ROOT/pipeline/estimate.sh" "make all" 1 100 10 runs/a:5:resnet runs/b:3:resnet runs/l:10:lenet 2>&1)
# left: 3 + 3 epochs of training (600 s), 3 + 4 AGOP epochs (70 s): 670 s = 12 min
grep -q "make all: 6 ResNet-18 epochs to train and 7 epochs' AGOPs to measure: about 12 min" <<< "$out" ||
    fail "estimate: $out"
# the machine the EST_* figures were measured on, as config.mk names it
out=$(EST_MACHINE="a test machine" "$FE_ROOT/pipeline/estimate.sh" "make all" 1 100 10 runs/b:3:resnet 2>&1)
grep -q "about .* on a test machine (EST_" <<< "$out" || fail "estimate, EST_MACHINE: $out"
touch runs/a/epoch-00{3,4,5}.npz runs/analysis/cnfa/a@conv1@00{3,4,5}.tsv
out=$("$FE_ROOT/pipeline/estimate.sh" "make all" 1 100 10 runs/a:5:resnet 2>&1)
grep -q "every training and AGOP is done" <<< "$out" || fail "estimate, all done: $out"
ok "estimate.sh: epochs and AGOPs left counted from the run directories, the machine named"

echo "test_compare.sh: $checks checks passed"
