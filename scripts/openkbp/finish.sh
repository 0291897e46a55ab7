#!/usr/bin/env bash
# After scripts/openkbp/train.sh: ship the recipe's stages as models/openkbp-<name> (manifest, networks,
# model card with scores, bootstrap CIs, floor, training record), then score the shipped folder the way
# a user would: `openkbp predict` on the validation patients and `openkbp score` with the resolution floor,
# the training record and the leaderboard anchors.
#   OPENKBP_DIR=/path/to/openkbp [RECIPE=recipes/openkbp-64-b16.json] bash scripts/openkbp/finish.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENKBP_DIR="${OPENKBP_DIR:-../shared/data/openkbp}"
RECIPE="${RECIPE:-recipes/openkbp-64-b16.json}"
NAME=$(node -e "process.stdout.write(require('./$RECIPE').name)")
VAL="$OPENKBP_DIR/npz/validation"
OUT="predictions/$NAME-validation"
node bin/vmat.js openkbp ship --recipe "$RECIPE" --data-dir "$OPENKBP_DIR/npz/train" --val-dir "$VAL" "$@"
rm -rf "$OUT"
node bin/vmat.js openkbp predict --model "models/$NAME" --input-dir "$VAL" --out "$OUT"
node bin/vmat.js openkbp score --ref-dir "$VAL" --pred-dir "$OUT" --floor --model "models/$NAME"
