#!/usr/bin/env bash
# After scripts/openkbp/train.sh: ship the run's best checkpoint as models/openkbp-$NAME (model card
# with scores, bootstrap CIs, floor, wall time, machine), then score it the way a user would:
# `openkbp predict` on the validation patients and `openkbp score` with the resolution floor, the
# training record and the leaderboard anchors. The ship step's predictions (made from the staged model
# folder with the same code as `openkbp predict`) are kept in predictions/openkbp-$NAME-validation and
# scored; REPREDICT=1 predicts them again with the CLI from the shipped folder first (a second full pass).
#   EXP=openkbp-64-b16 NAME=64-b16 [REFINER=runs/<refine-train run>] [MEMBERS="runs/<run>/checkpoints/best ..."] \
#     [REPREDICT=1] bash scripts/openkbp/finish.sh [--tta] [--phase-tta]
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENKBP_DIR="${OPENKBP_DIR:-../shared/data/openkbp}"
EXP="${EXP:-openkbp-64-b16}"
NAME="${NAME:-64-b16}"
VAL="$OPENKBP_DIR/npz/validation"
REF=()
if [ -n "${REFINER:-}" ]; then REF=(--refiner-run "$REFINER"); fi
for m in ${MEMBERS:-}; do REF+=(--member "$m"); done
OUT="predictions/openkbp-$NAME-validation"
npx tsx scripts/openkbp/ship_model.ts --run "runs/$EXP" --name "$NAME" --val-dir "$VAL" "${REF[@]}" --predictions "$OUT" "$@" > /dev/null
if [ "${REPREDICT:-0}" = 1 ]; then
  rm -rf "$OUT"
  node bin/vmat.js openkbp predict --model "models/openkbp-$NAME" --input-dir "$VAL" --out "$OUT"
fi
node bin/vmat.js openkbp score --ref-dir "$VAL" --pred-dir "$OUT" --floor --model "models/openkbp-$NAME"
