#!/bin/bash
# A single-node Slurm cluster for tests, started without systemd (issue 41): munged, slurmctld and slurmd
# run as root with their state in one directory. Prints the `export SLURM_CONF=...` line clients need.
# Usage: .ci/slurm_up.sh [STATE_DIR]   (as root; Debian: apt-get install slurmctld slurmd slurm-client munge)
# Clients then need SLURM_CONF=STATE_DIR/slurm.conf. Running it again on a running cluster changes nothing.
set -euo pipefail
D=${1:-/tmp/nas-slurm}
if [ -f "$D/slurm.conf" ] && SLURM_CONF="$D/slurm.conf" timeout 10 sinfo -h >/dev/null 2>&1; then
  echo "export SLURM_CONF=$D/slurm.conf"  # already up
  exit 0
fi
mkdir -p "$D/state" "$D/spool" "$D/munge"
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat > "$D/slurm.conf" <<CONF
ClusterName=nas-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.socket
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
MinJobAge=30
KillWait=5
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF="$D/slurm.conf"
if [ ! -s "$D/munge/munge.key" ]; then
  dd if=/dev/urandom bs=1 count=1024 of="$D/munge/munge.key" 2>/dev/null
  chmod 400 "$D/munge/munge.key"
fi
munged --force --key-file="$D/munge/munge.key" --socket="$D/munge/munge.socket" \
  --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" --seed-file="$D/munge/seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  if sinfo -h -o %T 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
echo "slurm did not come up; logs in $D" >&2
sinfo >&2 || true
exit 1
