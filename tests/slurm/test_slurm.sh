#!/usr/bin/env bash
# test_slurm.sh - the Make graph through a real SLURM: a one-node cluster on
# 127.0.0.1 (tests/slurm/start.sh, stopped again on every way out), then
#   - a featevo tool as a job step (srun) writes the bytes it writes without it;
#   - the small graph of test_pipeline.sh (LeNet-5's curves, maps and CNFA rows,
#     and `make -j2 sweep` of ResNet-18 over 2 learning rates x 2 seeds on 128
#     images) with RUN='srun -n1 -c1' RUN_TRAIN='srun -n1 -c2' gives byte for byte
#     the files a plain make gives (same THREADS), and every training and AGOP of
#     it is a finished job in the cluster's job record (jobcomp), nothing else is;
#   - MPI under SLURM: `srun -n2 --mpi=pmix train` writes the bytes of `mpirun
#     -np 2 train` (and not those of one process), and a run cancelled with
#     scancel mid-training resumes with the same command to the bytes of the
#     uninterrupted run (skipped, saying so, without an MPI build of train);
#   - pipeline/slurm/featevo-all.sbatch, submitted with sbatch --wait for the same
#     small graph, gives the same files, each training, AGOP and snapshot a step
#     of its job (slurmd's log).
# `make test-slurm` (not in make test, for its time budget; .ci/run runs both).
# Release build only (BIN=.../bin); skipped (77) without root or the SLURM
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

# settings, graph, graph_targets and same_files: the small graph of test_pipeline.sh
. tests/sh/small-graph.sh
graph "$tmp/A" -j1
jobs_before=$(wc -l < "$cluster/jobcomp.log")
# (the most jobs running at once, sampled every 0.1 s while it runs)
( while :; do squeue -h -t R | wc -l; sleep 0.1; done ) > "$tmp/running" 2> /dev/null &
poll=$!
graph "$tmp/B" -j2 RUN="srun -n1 -c1" RUN_TRAIN="srun -n1 -c1"
kill "$poll" 2> /dev/null; wait "$poll" 2> /dev/null || true
same_files "$tmp/A" "$tmp/B" "plain make and make through srun"
ok "make -j2 with RUN='srun -n1 -c1' gives the same $nfiles files as plain make -j1"

# the job record: the trainings and AGOPs and map snapshots, all completed, nothing else
tail -n +$((jobs_before + 1)) "$cluster/jobcomp.log" > "$tmp/jobs"
trains=$(grep -c "Name=train JobState=COMPLETED" "$tmp/jobs" || true)
agops=$(grep -c "Name=agop JobState=COMPLETED" "$tmp/jobs" || true)
maps=$(grep -c "Name=snapshot JobState=COMPLETED" "$tmp/jobs" || true)
total=$(wc -l < "$tmp/jobs")
((trains == 5 && agops == 2 && maps == 3 && total == 10)) ||
    fail "jobs: $trains trainings, $agops AGOPs, $maps snapshots of $total, expected 5, 2, 3 of 10: $(cut -d' ' -f1-5 "$tmp/jobs")"
ok "the cluster ran the $trains trainings, $agops AGOPs and $maps map snapshots as jobs, nothing else"
most=$(sort -n "$tmp/running" | tail -n 1)
((most == 2)) || fail "make -j2 ran at most ${most:-0} jobs at once, expected 2"
ok "make -j2 had two jobs running at once on the cluster's two cores"

# --- the batch script users copy ------------------------------------------------------
# one core, as THREADS=1 of the plain run (the script sets THREADS to the job's cores)
timeout 600 sbatch --wait --cpus-per-task=1 -o "$tmp/sbatch.log" pipeline/slurm/featevo-all.sbatch \
    $(graph_targets "$tmp/C") "${settings[@]}" RUNS="$tmp/C/runs" RES="$tmp/C/res" > "$tmp/sbatch.out" ||
    fail "sbatch featevo-all.sbatch: $(tail -n 20 "$tmp/sbatch.log")"
job=$(awk '/Submitted batch job/ { print $4 }' "$tmp/sbatch.out")
same_files "$tmp/A" "$tmp/C" "plain make and the sbatch script"
steps=$(grep -c "launch task StepId=$job\.[0-9]" "$cluster/slurmd.log" || true)
grep -q "JobId=$job .*Name=featevo-all JobState=COMPLETED" "$cluster/jobcomp.log" || fail "job $job did not complete"
((steps == 10)) || fail "job $job ran $steps steps, expected 10 (5 trainings, 2 AGOPs, 3 snapshots)"
ok "sbatch --wait featevo-all.sbatch: job $job completed, the same $nfiles files, $steps job steps"

# --- MPI under SLURM ----------------------------------------------------------------
if ! "$BIN/train" --help | grep -q "this train: built with Open MPI" || ! command -v mpirun > /dev/null; then
    echo "skipped: MPI under SLURM (train built without MPI, or no mpirun)"
elif ! srun --mpi=list 2>&1 | grep -q pmix; then
    echo "skipped: MPI under SLURM (this SLURM has no PMIx plugin)"
else
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    # 64 random images (their labels too): idx2bin of a made-up IDX file
    head -c 50176 /dev/urandom | { printf '\x00\x00\x08\x03\x00\x00\x00\x40\x00\x00\x00\x1c\x00\x00\x00\x1c'; cat; } > "$tmp/img.idx"
    head -c 64 /dev/urandom | od -An -v -tu1 | tr -s ' ' '\n' | awk 'NF { printf "%c", $1 % 10 }' |
        { printf '\x00\x00\x08\x01\x00\x00\x00\x40'; cat; } > "$tmp/lab.idx"
    "$BIN/idx2bin" -o "$tmp/img.npy" "$tmp/img.idx"
    "$BIN/idx2bin" -o "$tmp/lab.npy" "$tmp/lab.idx"
    base=(--model lenet5 --images "$tmp/img.npy" --labels "$tmp/lab.npy" --batch 16 --optimizer adam
          --lr 1e-3 --seed 1 --threads 1 --quiet)
    timeout 300 mpirun -np 2 --oversubscribe --bind-to none "$BIN/train" "${base[@]}" --epochs 2 --out "$tmp/M"
    timeout 300 srun -n2 --mpi=pmix "$BIN/train" "${base[@]}" --epochs 2 --out "$tmp/S"
    "$BIN/train" "${base[@]}" --epochs 2 --out "$tmp/P"
    cmp -s "$tmp/M/epoch-002.npz" "$tmp/S/epoch-002.npz" || fail "srun -n2 --mpi=pmix differs from mpirun -np 2"
    cmp -s "$tmp/M/epoch-002.npz" "$tmp/P/epoch-002.npz" && fail "-np 2 gave one process's bytes: the comparison tells nothing"
    ok "srun -n2 --mpi=pmix train: the bytes of mpirun -np 2 (not those of one process)"
    # cancelled mid-run with scancel, resumed by the same command
    long=("${base[@]}" --batch 8 --lr 0.02 --epochs 40)
    timeout 300 srun -n2 --mpi=pmix "$BIN/train" "${long[@]}" --out "$tmp/K0"
    srun -n2 --mpi=pmix -J featevo-cancel "$BIN/train" "${long[@]}" --out "$tmp/K" 2> /dev/null &
    pid=$!
    for _ in $(seq 400); do [[ -e $tmp/K/epoch-002.npz ]] && break; sleep 0.05; done
    scancel --name featevo-cancel
    wait "$pid" 2> /dev/null || true
    [[ -e $tmp/K/epoch-001.npz ]] || fail "the run to cancel did not get to epoch 1"
    [[ ! -e $tmp/K/epoch-040.npz ]] || fail "the run finished before scancel: the test tests nothing"
    grep -q "Name=featevo-cancel JobState=CANCELLED" "$cluster/jobcomp.log" ||
        fail "no cancelled job in the record: $(tail -n 2 "$cluster/jobcomp.log")"
    timeout 300 srun -n2 --mpi=pmix "$BIN/train" "${long[@]}" --out "$tmp/K" --resume
    for f in epoch-040.npz state.npz; do
        cmp -s "$tmp/K0/$f" "$tmp/K/$f" || fail "cancelled and resumed under srun: $f differs from the uninterrupted run"
    done
    ok "a run cancelled with scancel resumes under srun -n2 to the uninterrupted run's bytes"
fi

echo "test_slurm.sh: $checks checks passed"
