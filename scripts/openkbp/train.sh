#!/usr/bin/env bash
# The full OpenKBP training run (64³, ≤ 3 h of training on 2 CPU cores), resumable: run the same
# command again after an interruption and it continues from runs/$EXP/checkpoints/last. The time
# budget counts training time over all sessions of the run; a run stopped by it is continued by
# raising MAX_MINUTES. Afterwards: scripts/openkbp/finish.sh scores the best checkpoint and ships it.
#   OPENKBP_DIR=/path/to/openkbp bash scripts/openkbp/train.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENKBP_DIR="${OPENKBP_DIR:-../shared/data/openkbp}"
EXP="${EXP:-openkbp-64-b16}"
EPOCHS="${EPOCHS:-12}"
MAX_MINUTES="${MAX_MINUTES:-175}"
RESUME=()
if [ -d "runs/$EXP/checkpoints/last" ]; then RESUME=(--resume); fi
exec node bin/vmat.js openkbp train \
  --data-dir "$OPENKBP_DIR/npz/train" --val-dir "$OPENKBP_DIR/npz/validation" \
  --exp-name "$EXP" --epochs "$EPOCHS" --base-channels 16 --levels 4 --lr 0.001 \
  --max-minutes "$MAX_MINUTES" "${RESUME[@]}" "$@"
