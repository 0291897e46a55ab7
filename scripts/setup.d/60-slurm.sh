#!/usr/bin/env bash
# SLURM for `vmat study run --executor slurm` and its tests: Debian's slurm-wlm (slurmctld, slurmd,
# sbatch/squeue/scontrol) and munge. Nothing is configured here: scripts/slurm/local-cluster.sh
# starts a one-node cluster with its own configuration in a state folder (not /etc) when asked.
# Idempotent: apt_install only installs what is missing.
set -euo pipefail
SUDO=${SUDO:-${VMAT_SUDO:-}}
export SUDO
if command -v apt-get >/dev/null 2>&1; then
  apt_install slurm-wlm slurm-client munge
else
  echo "setup: not a Debian/Ubuntu system; install SLURM (slurmctld, slurmd, client) and munge yourself for the SLURM executor (see environment.md)" >&2
fi
