#!/usr/bin/env bash
# start.sh - a one-node SLURM cluster on 127.0.0.1 for the tests: munged,
# slurmctld and slurmd with a private key, configuration and state under DIR, on
# ports of their own, so nothing of the machine's own /etc/slurm or /run/munge is
# used or touched.  The node is this machine (its cores and memory), partition
# "test".  Prints the line to eval in the shell that will use it
# (export SLURM_CONF=DIR/slurm.conf) and waits until sinfo shows the node idle.
#
#   usage: tests/slurm/start.sh DIR        (stop: tests/slurm/stop.sh DIR)
#
# Needs root (slurmd runs jobs as their users), and the packages slurmd,
# slurmctld, slurm-client and munge (pipeline/setup-debian.sh --slurm).
# Exit 77 (skipped) when they are missing or this is not root; 1 when the
# cluster does not come up, with the daemons' logs on stderr.
set -euo pipefail
dir=${1:?usage: start.sh DIR}
say() { echo "start.sh: $*" >&2; }
for b in munged slurmctld slurmd sinfo srun; do
    command -v "$b" > /dev/null || { say "$b is not installed (pipeline/setup-debian.sh --slurm)"; exit 77; }
done
[[ $(id -u) -eq 0 ]] || { say "needs root (slurmd starts jobs as their users)"; exit 77; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/ctld" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"

# munge: a key of our own and a socket in DIR
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/seed"

# ports: the first free pair from 16817 (ss lists the listening ones)
port=16817
while ss -ltn 2>/dev/null | awk '{print $4}' | grep -Eq ":($port|$((port + 1)))\$"; do
    port=$((port + 2))
done
node=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/^MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
# written by tests/slurm/start.sh: a one-node test cluster
ClusterName=featevo-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmdDebug=verbose
# no cgroups or systemd here: processes are tracked by their parents
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# every finished job, one line each (no slurmdbd, so no sacct)
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$node"
for _ in $(seq 1 60); do
    if [[ $(sinfo -h -n "$node" -o %t 2>/dev/null) == idle ]]; then
        echo "export SLURM_CONF=$dir/slurm.conf"
        exit 0
    fi
    sleep 0.5
done
say "the node did not become idle in 30 s; sinfo: $(sinfo 2>&1 | tail -2)"
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" "$dir/munge/munged.log" >&2 || true
exit 1
