#!/usr/bin/env bash
# Reproduces docs/RESULTS.md: SST-2 (train on the first 12,000 rows of train, evaluate on dev) with the shipped pre-trained model,
# vanilla vs ROSE-first vs ROSE-second vs ROSE-ensemble, 3 seeds each; clean dev accuracy and accuracy
# under pwws and deepwordbug on the same 300 dev examples (the first 300 in file order).
# Usage: bash scripts/experiments/results-sst2.sh [OUT_DIR]   (MODEL=..., SEEDS="1 2 3", METHODS="...", THREADS=1 override;
# two workers with THREADS=1 and different METHODS run side by side on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/results-sst2}
MODEL=${MODEL:-models/rose-mini}
DATA=${DATA:-../shared/data/glue/sst2}
SEEDS=${SEEDS:-1 2 3}
METHODS=${METHODS:-vanilla rose-first rose-second rose-ensemble}
EPOCHS=${EPOCHS:-1}
TRAIN_SAMPLES=${TRAIN_SAMPLES:-12000}
THREADS=${THREADS:+--threads $THREADS}
mkdir -p "$OUT"
# The paper's SST-2 / base `upper` per variant (first 60, second 30, ensemble 40); one learning rate for all.
upper_for() { case $1 in rose-first) echo 60 ;; rose-second) echo 30 ;; rose-ensemble) echo 40 ;; *) echo 100 ;; esac; }
for seed in $SEEDS; do
  for method in $METHODS; do
    dir="$OUT/$method-seed$seed"
    if [ ! -f "$dir/robust.json" ]; then
      echo "== $method seed $seed" >&2
      node bin/rose.js train --model "$MODEL" --task sst2 --train-file "$DATA/train.tsv" --validation-file "$DATA/dev.tsv" \
        --output-dir "$dir" --overwrite-output-dir --method "$method" --upper "$(upper_for "$method")" --gamma 0.5 --kl-dropout 0.1 \
        --learning-rate 1e-4 --batch-size 32 --num-train-epochs "$EPOCHS" --max-train-samples "$TRAIN_SAMPLES" --max-seq-length 64 --warmup-ratio 0.06 \
        --weight-decay 0.01 --adam-beta2 0.98 --seed "$seed" --save-steps 0 --logging-steps 50 $THREADS --quiet > "$dir.train.json"
      node bin/rose.js eval --model "$dir" --task sst2 --data "$DATA/dev.tsv" --max-seq-length 64 $THREADS --json > "$dir/eval.json"
      node bin/rose.js robustness --model "$dir" --task sst2 --data "$DATA/dev.tsv" --recipes pwws,deepwordbug \
        --num-examples 300 --seed "$seed" --max-seq-length 64 $THREADS --json --quiet > "$dir/robust.json"
      # Keep the record small: drop checkpoints and the best-model copy (the final model is the best).
      rm -rf "$dir"/checkpoint-* "$dir/best"
    fi
    cat "$dir/eval.json" "$dir/robust.json" >&2
  done
done
node --import tsx scripts/tables/results-table.ts "$OUT"
