#!/usr/bin/env bash
# The README's first command: the main job on the embedded default (synthetic prostate cohort).
# Interim version (foundation issue): set up, generate the cohort, verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=${VMAT_DATA_DIR:-data/synthetic}
node bin/vmat.js synth --out "$DATA" --cases "${VMAT_CASES:-24}" --seed "${VMAT_SEED:-42}"
node bin/vmat.js verify-npz "$DATA"
