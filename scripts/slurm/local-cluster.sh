#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for trying and testing `vmat study run --executor slurm`
# with the real sbatch / squeue / scontrol (Debian's slurm-wlm + munge; scripts/setup.d/60-slurm.sh
# installs them):
#
#   bash scripts/slurm/local-cluster.sh start    # munged + slurmctld + slurmd on localhost; prints SLURM_CONF=...
#   bash scripts/slurm/local-cluster.sh status   # exit 0 when the cluster answers and its node is usable
#   bash scripts/slurm/local-cluster.sh stop     # stops the three daemons it started (by their pid files)
#   bash scripts/slurm/local-cluster.sh env      # prints the `export SLURM_CONF=...` line only
#
# Nothing is written to /etc: the configuration (slurm.conf), a munge key of its own, the munge
# socket, the daemons' state, spool, logs and pid files all live in one state folder,
# $VMAT_SLURM_DIR (default /tmp/vmat-slurm-<uid>). The clients find the cluster through
# SLURM_CONF=<state>/slurm.conf (munge's socket path is in slurm.conf's AuthInfo), so export the
# printed line (or `eval "$(bash scripts/slurm/local-cluster.sh env)"`).
#
# Plugins: proctrack/linuxproc, task/none, select/cons_tres (CR_Core_Memory), no accounting, no
# cgroups. One node "localhost" with this machine's cores and 90 % of its memory, one partition
# "local" (default). Ports: $VMAT_SLURM_CTLD_PORT (6817) and $VMAT_SLURM_SLURMD_PORT (6818).
#
# Needs root (slurmd starts jobs and munged guards the credentials); as another user it re-runs
# itself through `sudo -n`, and exits with code 3 and a message saying so when neither is possible.
# Idempotent: `start` on a running cluster only prints its SLURM_CONF.
set -euo pipefail

cmd=${1:-status}
STATE=${VMAT_SLURM_DIR:-${TMPDIR:-/tmp}/vmat-slurm-$(id -u)}
CTLD_PORT=${VMAT_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${VMAT_SLURM_SLURMD_PORT:-6818}
CONF=$STATE/slurm.conf
export SLURM_CONF=$CONF

say() { echo "local-cluster: $*" >&2; }
die() {
  say "$1"
  exit "${2:-1}"
}

need_root() {
  if [ "$(id -u)" -eq 0 ]; then return 0; fi
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n env VMAT_SLURM_DIR="$STATE" VMAT_SLURM_CTLD_PORT="$CTLD_PORT" VMAT_SLURM_SLURMD_PORT="$SLURMD_PORT" \
      bash "$0" "$@"
  fi
  die "needs root or password-less sudo to run slurmd and munged (you are $(id -un), sudo -n is not available)" 3
}

need_tools() {
  local missing=()
  for t in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing ${missing[*]}: install Debian's slurm-wlm and munge (bash scripts/setup.sh does, through scripts/setup.d/60-slurm.sh)" 4
  fi
}

# the pid file's process is alive and is the daemon it names (a stale pid may belong to another program)
pid_alive() {
  [ -f "$1" ] || return 1
  local pid name
  pid=$(cat "$1")
  name=$(basename "$1" .pid)
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

# 0 when slurmctld answers and the node is in a usable state
cluster_up() {
  [ -f "$CONF" ] || return 1
  pid_alive "$STATE/slurmctld.pid" || return 1
  pid_alive "$STATE/slurmd.pid" || return 1
  scontrol ping 2>/dev/null | grep -q 'is UP' || return 1
  local st
  st=$(sinfo -h -n localhost -o '%T' 2>/dev/null | head -n1)
  case "$st" in
    idle* | mixed* | allocated* | completing*) return 0 ;;
    *) return 1 ;;
  esac
}

write_config() {
  local cpus mem_mb
  cpus=$(nproc)
  mem_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
  mkdir -p "$STATE"/{ctld,spool,log,munge}
  chmod 0755 "$STATE"
  chmod 0700 "$STATE/munge"
  cat >"$CONF" <<EOF
# one-node cluster written by scripts/slurm/local-cluster.sh (state folder $STATE)
ClusterName=vmatlocal
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket,cred_expire=10
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool/%n
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  if [ ! -s "$STATE/munge/munge.key" ]; then
    # a key of this cluster's own (munge needs >= 32 bytes; 1024 random bytes as mungekey writes)
    (umask 077 && head -c 1024 /dev/urandom >"$STATE/munge/munge.key")
  fi
  chmod 0400 "$STATE/munge/munge.key"
}

start() {
  need_tools
  if cluster_up; then
    say "already running (state $STATE)"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  stop_daemons quiet
  write_config
  say "starting munged, slurmctld, slurmd (state $STATE)"
  munged --force --socket="$STATE/munge/munge.socket" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/log/munged.log" \
    --seed-file="$STATE/munge/munged.seed" ||
    die "munged did not start; see $STATE/log/munged.log"
  for _ in $(seq 50); do [ -S "$STATE/munge/munge.socket" ] && break; sleep 0.1; done
  # -c: a clean start (no jobs from an earlier run of this state folder); -i: ignore a stale state file
  slurmctld -c -i -f "$CONF" || die "slurmctld did not start; see $STATE/log/slurmctld.log"
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
  slurmd -N localhost -f "$CONF" || die "slurmd did not start; see $STATE/log/slurmd.log"
  local st=""
  for _ in $(seq 150); do
    st=$(sinfo -h -n localhost -o '%T' 2>/dev/null | head -n1)
    case "$st" in
      idle*) break ;;
      down* | drain* | fail*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
  done
  if ! cluster_up; then
    say "the cluster did not come up (node state '${st:-none}'); last lines of the logs:"
    tail -n 5 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
    exit 1
  fi
  say "running: node localhost ($(nproc) CPUs), partition 'local'"
  echo "export SLURM_CONF=$CONF"
}

# stops the daemons this script started, by their pid files (never by name)
stop_daemons() {
  local quiet=${1:-}
  for p in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/munge/munged.pid"; do
    if pid_alive "$p"; then
      local pid
      pid=$(cat "$p")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
      [ -n "$quiet" ] || say "stopped $(basename "$p" .pid) ($pid)"
    fi
    rm -f "$p"
  done
}

case "$cmd" in
  start)
    need_root "$@"
    start
    ;;
  stop)
    need_root "$@"
    stop_daemons
    ;;
  status)
    if cluster_up; then
      say "running (state $STATE): $(sinfo -h -o '%P %D %T %C' | head -n1) [partition nodes state cpus A/I/O/T]"
      echo "export SLURM_CONF=$CONF"
      exit 0
    fi
    say "not running (state $STATE)"
    exit 1
    ;;
  env)
    echo "export SLURM_CONF=$CONF"
    ;;
  *)
    die "usage: $0 start|stop|status|env" 2
    ;;
esac
