#!/usr/bin/env bash
# Trains every stage of the OpenKBP recipe that made models/openkbp-64-b16 (recipes/openkbp-64-b16.json),
# resumably: run it again after an interruption and unfinished stages continue from their checkpoints.
#   OPENKBP_DIR=/path/to/openkbp bash scripts/openkbp/train.sh [--plan] [--stage s1 ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENKBP_DIR="${OPENKBP_DIR:-../shared/data/openkbp}"
RECIPE="${RECIPE:-recipes/openkbp-64-b16.json}"
exec node bin/vmat.js openkbp train --recipe "$RECIPE" \
  --data-dir "$OPENKBP_DIR/npz/train" --val-dir "$OPENKBP_DIR/npz/validation" "$@"
