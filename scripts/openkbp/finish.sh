#!/usr/bin/env bash
# After scripts/openkbp/train.sh: ship the run's best checkpoint as models/openkbp-$NAME (model card
# with scores, bootstrap CIs, floor, wall time, machine), then score it the way a user would:
# `openkbp predict` on the validation patients and `openkbp score` with the resolution floor, the
# training record and the leaderboard anchors.
#   EXP=openkbp-64-b16 NAME=64-b16 [REFINER=runs/<refine-train run>] [MEMBERS="runs/<run>/checkpoints/best ..."] \
#     bash scripts/openkbp/finish.sh [--tta]
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENKBP_DIR="${OPENKBP_DIR:-../shared/data/openkbp}"
EXP="${EXP:-openkbp-64-b16}"
NAME="${NAME:-64-b16}"
VAL="$OPENKBP_DIR/npz/validation"
REF=()
if [ -n "${REFINER:-}" ]; then REF=(--refiner-run "$REFINER"); fi
for m in ${MEMBERS:-}; do REF+=(--member "$m"); done
npx tsx scripts/openkbp/ship_model.ts --run "runs/$EXP" --name "$NAME" --val-dir "$VAL" "${REF[@]}" "$@" > /dev/null
OUT="predictions/openkbp-$NAME-validation"
rm -rf "$OUT"
node bin/vmat.js openkbp predict --model "models/openkbp-$NAME" --input-dir "$VAL" --out "$OUT"
node bin/vmat.js openkbp score --ref-dir "$VAL" --pred-dir "$OUT" --floor --model "models/openkbp-$NAME"
