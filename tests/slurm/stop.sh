#!/usr/bin/env bash
# stop.sh - stop the test cluster that tests/slurm/start.sh DIR started: its jobs,
# slurmd, slurmctld and munged (each by the pid file in DIR), waiting until they
# are gone; then removes DIR.  Safe to call twice, or after a failed start.
#   usage: tests/slurm/stop.sh DIR
set -uo pipefail
dir=${1:?usage: stop.sh DIR}
[[ -d $dir ]] || exit 0
if [[ -f $dir/slurm.conf ]] && command -v scancel > /dev/null; then
    SLURM_CONF=$dir/slurm.conf timeout 10 scancel --quiet --user=root 2> /dev/null || true
fi
for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    [[ -f $dir/$f ]] || continue
    pid=$(cat "$dir/$f")
    kill "$pid" 2> /dev/null || continue
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2> /dev/null || true
done
rm -rf "$dir"
