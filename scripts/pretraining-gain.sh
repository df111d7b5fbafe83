#!/usr/bin/env bash
# What pre-training brings: SST-2 dev accuracy of rose-mini fine-tuned from its pre-trained weights vs the
# same architecture and tokenizer from random initialisation (--from-scratch), same budget, several training
# set sizes and seeds. Prints one line per run: size seed init accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/pretraining-gain}
SIZES=${SIZES:-1000 3000 12000}
SEEDS=${SEEDS:-1 2 3}
DATA=../shared/data/glue/sst2
mkdir -p "$OUT"
for n in $SIZES; do
  for seed in $SEEDS; do
    for init in pretrained scratch; do
      flag=""; [ "$init" = scratch ] && flag="--from-scratch"
      dir="$OUT/$init-n$n-seed$seed"
      [ -f "$dir.json" ] || node bin/rose.js train --model models/rose-mini $flag --task sst2 --train-file $DATA/train.tsv \
        --validation-file $DATA/dev.tsv --output-dir "$dir" --overwrite-output-dir --max-train-samples "$n" --num-train-epochs 1 --batch-size 32 \
        --learning-rate 1e-4 --max-seq-length 64 --warmup-ratio 0.06 --weight-decay 0.01 --adam-beta2 0.98 --seed "$seed" \
        --save-steps 0 --quiet > "$dir.json"
      rm -rf "$dir"
      echo "$n $seed $init $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).best_metric)' "$dir.json")"
    done
  done
done
