#!/usr/bin/env bash
# test_slurm.sh - the Make graph through a real SLURM: a one-node cluster on
# 127.0.0.1 (tests/slurm/start.sh, stopped again on every way out), then
#   - a featevo tool as a job step (srun) writes the bytes it writes without it;
#   - the small graph of test_pipeline.sh (LeNet-5's curves, maps and CNFA rows,
#     and `make -j2 sweep` of ResNet-18 over 2 learning rates x 2 seeds on 128
#     images) with RUN='srun -n1 -c1' RUN_TRAIN='srun -n1 -c2' gives byte for byte
#     the files a plain make gives (same THREADS), and every training and AGOP of
#     it is a finished job in the cluster's job record (jobcomp), nothing else is.
# Runs in the release lane (BIN=.../bin); skipped (77) without root or the SLURM
# packages (pipeline/setup-debian.sh --slurm).  Env: BIN, FE_ROOT.
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
FE_ROOT=$(cd "$FE_ROOT" && pwd)
cd "$FE_ROOT"
if [[ $(cd "$BIN" && pwd) != "$FE_ROOT/bin" ]]; then
    echo "SKIPPED: runs against the release build only (BIN=$BIN)"
    exit 77
fi
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
tmp=$(mktemp -d)
cluster=$tmp/cluster
trap 'tests/slurm/stop.sh "$cluster"; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }

rc=0
env_line=$(tests/slurm/start.sh "$cluster") || rc=$?
if ((rc == 77)); then
    echo "SKIPPED: no SLURM here (see above)"
    exit 77
fi
((rc == 0)) || fail "the test cluster did not start"
eval "$env_line"
[[ $(sinfo -h -o '%P %t %D') == "test* idle 1" ]] || fail "sinfo: $(sinfo)"
ok "one-node cluster up: $(sinfo -h -o '%N, %c CPUs, partition %P')"

# a tool as a job step: the same bytes
"$BIN/idx2bin" -o "$tmp/plain.npy" tests/fixtures/img.idx
srun -n1 -c1 "$BIN/idx2bin" -o "$tmp/srun.npy" tests/fixtures/img.idx
cmp -s "$tmp/plain.npy" "$tmp/srun.npy" || fail "idx2bin under srun wrote other bytes"
grep -q "Name=idx2bin JobState=COMPLETED" "$cluster/jobcomp.log" || fail "no idx2bin job: $(cat "$cluster/jobcomp.log")"
ok "srun idx2bin: the same bytes, a completed job"

settings=(PROFILE=quick LIMIT=128 TEST_LIMIT=64 EPOCHS_LENET=2 EPOCHS_T1=1 FEATURE_EPOCHS="0 1"
          SEEDS="1 2" LRS="1e-3 1e-2" THREADS=1 AGOP_COUNT_LENET=32)
graph() {
    local d=$1
    shift
    make --no-print-directory "$@" "${settings[@]}" RUNS="$d/runs" RES="$d/res" \
        "$d/res/figures/fig2-lenet5-curves.png" "$d/res/figures/fig4-lenet5-conv1-maps.png" \
        "$d/runs/analysis/cnfa/lenet5@conv1@002.tsv" "$d/runs/analysis/cnfa/lenet5@fc1@001.tsv" \
        "$d/res/tables/lenet5-metrics.tsv" sweep > "$d.log" 2>&1 || fail "make $*: $(tail -n 20 "$d.log")"
}
graph "$tmp/A" -j1
jobs_before=$(wc -l < "$cluster/jobcomp.log")
graph "$tmp/B" -j2 RUN="srun -n1 -c1" RUN_TRAIN="srun -n1 -c1"
(cd "$tmp/A" && find . -type f ! -name '*.tmp' | sort) > "$tmp/A.files"
(cd "$tmp/B" && find . -type f ! -name '*.tmp' | sort) > "$tmp/B.files"
cmp -s "$tmp/A.files" "$tmp/B.files" || fail "plain make and make through srun made different files: $(diff "$tmp/A.files" "$tmp/B.files")"
n=0
while read -r f; do
    case $f in
    */metrics.tsv) cmp -s <(cut -f1-7,10 "$tmp/A/$f") <(cut -f1-7,10 "$tmp/B/$f") ;;
    *) cmp -s "$tmp/A/$f" "$tmp/B/$f" ;;
    esac || fail "plain make and make through srun differ in $f"
    n=$((n + 1))
done < "$tmp/A.files"
((n > 40)) || fail "only $n files compared"
ok "make -j2 with RUN='srun -n1 -c1' gives the same $n files as plain make -j1"

# the job record: the trainings and AGOPs and map snapshots, all completed, nothing else
tail -n +$((jobs_before + 1)) "$cluster/jobcomp.log" > "$tmp/jobs"
trains=$(grep -c "Name=train JobState=COMPLETED" "$tmp/jobs" || true)
agops=$(grep -c "Name=agop JobState=COMPLETED" "$tmp/jobs" || true)
maps=$(grep -c "Name=snapshot JobState=COMPLETED" "$tmp/jobs" || true)
total=$(wc -l < "$tmp/jobs")
((trains == 5 && agops == 2 && maps == 3 && total == 10)) ||
    fail "jobs: $trains trainings, $agops AGOPs, $maps snapshots of $total, expected 5, 2, 3 of 10: $(cut -d' ' -f1-5 "$tmp/jobs")"
ok "the cluster ran the $trains trainings, $agops AGOPs and $maps map snapshots as jobs, nothing else"

echo "test_slurm.sh: $checks checks passed"
