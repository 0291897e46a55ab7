#!/usr/bin/env bash
# The README's first command — the main job on the embedded synthetic cohort (fresh Debian/Ubuntu):
#   set up -> generate the cohort -> train the baseline and the asymmetric-PTV condition at a CPU
#   configuration -> predict + evaluate the test cases -> execute the report notebooks headless.
# Leaves runs/<experiment>_seed<N>/ (with run.log and environment_snapshot.txt), predictions/<run>/,
# figures/<experiment>/fig*.png|pdf with the executed notebooks + HTML, and figures/EXPERIMENTS_INDEX.md.
# Everything it writes is git-ignored: the working tree stays clean.
#
# Everything is configurable through the environment. Defaults = the CPU configuration of the
# acceptance experiment in docs/results-synthetic.md (64x64x48 grid at 5.9x5.9x3.3 mm, U-Net base 8,
# 4 levels, patch 32, 30 epochs, lr 1e-3; about 2 min per training run on an idle 2-core machine
# with the native engine). Raise them when the machine is faster or a GPU is present.
#   VMAT_DATA_DIR (data/synthetic)  VMAT_CASES (24)  VMAT_SEED (42: training seed)  VMAT_COHORT_SEED (42: cohort)
#   VMAT_SHAPE (64,64,48)  VMAT_SPACING_MM (5.859375,5.859375,3.3333333)
#   VMAT_EPOCHS (30)  VMAT_PATCH (32)  VMAT_BASE_CHANNELS (8)  VMAT_LEVELS (4)  VMAT_BATCH (2)
#   VMAT_PATCHES_PER_VOLUME (2)  VMAT_LR (1e-3)  VMAT_VAL_EVERY (10)  VMAT_OVERLAP (8)
#   VMAT_MAX_MINUTES (per training run, 8)  VMAT_GAMMA_SUBSAMPLE (1)
#   VMAT_RUN_BASELINE (baseline_seed<SEED>)  VMAT_RUN_ASYM (asymmetric_ptv_seed<SEED>): runs are named
#   <experiment>_seed<N>, the naming the notebooks and aggregate_seeds expect (more seeds: VMAT_SEED=123 …)
#   VMAT_SKIP_SETUP=1, VMAT_SKIP_ASYM_NOTEBOOK=1, VMAT_BUDGET_MINUTES (25: the asymmetric notebook
#   is skipped when the job is already past 80 % of this budget)
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$SECONDS
step() { printf '\n== [%dm%02ds] %s\n' $(((SECONDS - T0) / 60)) $(((SECONDS - T0) % 60)) "$*"; }

if [ "${VMAT_SKIP_SETUP:-0}" != "1" ]; then
  step "setup (Node packages, Jupyter, Chromium)"
  bash scripts/setup.sh
fi

DATA=${VMAT_DATA_DIR:-data/synthetic}
CASES=${VMAT_CASES:-24}
SEED=${VMAT_SEED:-42}
COHORT_SEED=${VMAT_COHORT_SEED:-42}
EPOCHS=${VMAT_EPOCHS:-30}
PATCH=${VMAT_PATCH:-32}
BASE=${VMAT_BASE_CHANNELS:-8}
LEVELS=${VMAT_LEVELS:-4}
BATCH=${VMAT_BATCH:-2}
PPV=${VMAT_PATCHES_PER_VOLUME:-2}
LR=${VMAT_LR:-1e-3}
VAL_EVERY=${VMAT_VAL_EVERY:-10}
OVERLAP=${VMAT_OVERLAP:-8}
SHAPE=${VMAT_SHAPE:-64,64,48}
SPACING=${VMAT_SPACING_MM:-5.859375,5.859375,3.3333333}
MAXMIN=${VMAT_MAX_MINUTES:-8}
GSUB=${VMAT_GAMMA_SUBSAMPLE:-1}
RUN_B=${VMAT_RUN_BASELINE:-baseline_seed$SEED}
RUN_A=${VMAT_RUN_ASYM:-asymmetric_ptv_seed$SEED}
BUDGET=${VMAT_BUDGET_MINUTES:-25}
export VMAT_DATA_DIR="$DATA" VMAT_RUN_BASELINE="$RUN_B" VMAT_RUN_ASYM="$RUN_A" VMAT_SEED="$SEED"

if [ -f "$DATA/split.json" ] && [ "${VMAT_RESYNTH:-0}" != "1" ]; then
  step "synthetic cohort: reusing $DATA (VMAT_RESYNTH=1 regenerates it)"
else
  step "synthetic cohort: $CASES cases, seed $COHORT_SEED -> $DATA"
  node bin/vmat.js synth --out "$DATA" --cases "$CASES" --seed "$COHORT_SEED" --shape "$SHAPE" --spacing-mm "$SPACING"
fi

train() { # run-name extra-flags...  (the run log and the environment snapshot go into the run folder)
  local run=$1; shift
  rm -rf "runs/$run" "predictions/$run"
  mkdir -p "runs/$run"
  node bin/vmat.js env > "runs/$run/environment_snapshot.txt"
  node bin/vmat.js train --data-dir "$DATA" --exp-name "$run" --runs-dir runs --seed "$SEED" \
    --epochs "$EPOCHS" --patch-size "$PATCH" --base-channels "$BASE" --levels "$LEVELS" \
    --batch-size "$BATCH" --patches-per-volume "$PPV" --max-minutes "$MAXMIN" --lr "$LR" --val-every "$VAL_EVERY" --val-overlap "$OVERLAP" "$@" \
    2>&1 | tee "runs/$run/run.log"
}
best_checkpoint() { # run-name
  node -e "const s=require('./runs/$1/training_summary.json'); const c=s.best_checkpoint||'runs/$1/checkpoints/last'; process.stdout.write(c)"
}
infer() { # run-name
  local run=$1
  node bin/vmat.js infer --checkpoint "$(best_checkpoint "$run")" --input-dir "$DATA" --output-dir "predictions/$run" \
    --cases-from "runs/$run/test_cases.json" --overlap "$OVERLAP" --compute-metrics --gamma-subsample "$GSUB"
}

step "train $RUN_B (MSE baseline): $EPOCHS epochs, patch $PATCH, base $BASE, levels $LEVELS"
train "$RUN_B"
step "train $RUN_A (+ asymmetric PTV loss)"
train "$RUN_A" --use-asymmetric-ptv
step "predict + evaluate $RUN_B"
infer "$RUN_B"
step "predict + evaluate $RUN_A"
infer "$RUN_A"

step "report notebook (headless): baseline"
bash scripts/notebooks/run.sh notebooks/2026-02-24_baseline_v23_preliminary.ipynb
if [ "${VMAT_SKIP_ASYM_NOTEBOOK:-0}" != "1" ] && [ $((SECONDS - T0)) -lt $((BUDGET * 60 * 4 / 5)) ]; then
  step "report notebook (headless): asymmetric PTV loss"
  bash scripts/notebooks/run.sh notebooks/2026-01-23_asymmetric_ptv_loss.ipynb
else
  step "skipping the asymmetric-PTV notebook (time budget; run: bash scripts/notebooks/run.sh notebooks/2026-01-23_asymmetric_ptv_loss.ipynb)"
fi

step "done"
for run in "$RUN_B" "$RUN_A"; do
  [ -d "figures/$run" ] || continue
  echo "figures/$run/:"
  ls -1 "figures/$run" | sed 's/^/  /'
done
echo "Experiments index: figures/EXPERIMENTS_INDEX.md — open the notebooks with: npm run lab"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$(git status --porcelain)" ]; then
  echo "note: the working tree has changes (git status) — they were there before or come from outside this job" >&2
fi
