#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for trying `seqarena slurm` and for its integration test
# (tests/slurm-cluster.test.ts; .ci/run installs the packages).
#
#   bash scripts/slurm-local.sh up DIR     start munged, slurmctld and slurmd with everything under DIR;
#                                          prints `export SLURM_CONF=DIR/slurm.conf` for the clients
#   bash scripts/slurm-local.sh down DIR   cancel its jobs, stop its daemons, wait until they are gone
#
# Needs root (slurmd starts jobs as their user) and Debian's `slurm-wlm` and `munge`
# (apt-get install -y slurm-wlm munge). Each DIR is its own cluster: own ports, munge socket and key,
# spool and state, so several can run on one machine at once and nothing under /etc is touched.
# The node offers every CPU of this machine (`CPUS=n` to offer fewer) in one partition, `debug`.
set -euo pipefail

usage() {
  echo "usage: $0 up|down DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$2

# A TCP port nobody listens on, from a range clear of the usual services.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free TCP port found in 20000-39999" >&2
  exit 1
}

# The pid written in file $1, or nothing when there is none (a daemon removes its file as it exits).
pid_of() {
  cat "$1" 2>/dev/null || true
}

# Whether process $1 still runs. A zombie has ended: where PID 1 does not reap orphans, daemons that
# exited stay behind as zombies.
running() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# Stop the process whose pid is in file $1: SIGTERM, then SIGKILL if it still runs after $2 seconds.
stop() {
  local pid
  pid=$(pid_of "$1")
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$(($2 * 10))"); do
    running "$pid" || return 0
    sleep 0.1
  done
  echo "process $pid ($1) still running after $2 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

up() {
  for tool in munged mungekey slurmctld slurmd sbatch scontrol; do
    if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
      echo "$tool is not installed; install Slurm and munge: apt-get install -y slurm-wlm munge" >&2
      exit 1
    fi
  done
  if [ "$(id -u)" -ne 0 ]; then
    echo "a local Slurm cluster needs root (slurmd starts jobs as their user); run as root" >&2
    exit 1
  fi
  if [ -f "$dir/slurm.conf" ]; then
    echo "$dir already holds a cluster; stop it first: $0 down $dir" >&2
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/munge" "$dir/ctld" "$dir/spool" "$dir/log"
  chmod 700 "$dir/munge"
  PATH=$PATH:/usr/sbin
  mungekey --create --keyfile="$dir/munge/munge.key" --force
  chmod 400 "$dir/munge/munge.key"
  # --force: munged refuses to run as root otherwise; this cluster runs only root's daemons.
  munged --force --socket="$dir/munge/socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"

  local host cpus ctld_port slurmd_port
  host=$(hostname -s)
  cpus=${CPUS:-$(nproc)}
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster for seqarena's tests.
ClusterName=seqarena-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Finished jobs stay visible to scontrol for an hour (there is no accounting database for sacct).
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 100); do
    if scontrol show node "$host" 2>/dev/null | grep -qE 'State=IDLE'; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return
    fi
    sleep 0.2
  done
  echo "the node did not become idle within 20 s; see $dir/log/" >&2
  scontrol show node "$host" >&2 || true
  exit 1
}

down() {
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  export SLURM_CONF=$dir/slurm.conf
  PATH=$PATH:/usr/sbin
  if [ -f "$SLURM_CONF" ] && running "$(pid_of "$dir/slurmctld.pid")"; then
    scancel --user="$(id -un)" 2>/dev/null || true
    # Give the cancelled jobs' steps a moment to end before their slurmd goes.
    for _ in $(seq 1 50); do
      [ -z "$(squeue --noheader --states=RUNNING,COMPLETING 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop "$dir/slurmd.pid" 20
  stop "$dir/slurmctld.pid" 20
  stop "$dir/munge/munged.pid" 10
  rm -f "$dir/slurm.conf"
}

case "$action" in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
