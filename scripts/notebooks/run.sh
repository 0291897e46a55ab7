#!/usr/bin/env bash
# Execute notebooks headless and export them (see run.py --help). Example:
#   bash scripts/notebooks/run.sh notebooks/2026-02-24_baseline_v23_preliminary.ipynb
# Parameters reach the notebooks as environment variables (VMAT_DATA_DIR, VMAT_RUN_*, …; see
# environment.md). Afterwards figures/EXPERIMENTS_INDEX.md (git-ignored) is regenerated from runs/, so
# running notebooks leaves the tracked tree unchanged (commit an index deliberately with
# node --import tsx scripts/notebooks/update-index.ts --out notebooks/EXPERIMENTS_INDEX.md).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VMAT_ROOT"
if [ -z "$VMAT_PYTHON" ]; then
  echo "run.sh: Jupyter (python3 with nbclient + nbformat) is not installed: run bash scripts/setup.sh (see environment.md)" >&2
  exit 3
fi
status=0
"$VMAT_PYTHON" scripts/notebooks/run.py "$@" || status=$?
if [ "${VMAT_SKIP_INDEX:-0}" != "1" ]; then
  node --import tsx scripts/notebooks/update-index.ts || echo "run.sh: warning: EXPERIMENTS_INDEX.md not updated" >&2
fi
exit $status
