#!/usr/bin/env bash
# What pre-training brings: SST-2 dev accuracy of rose-mini fine-tuned from its pre-trained weights vs the
# same architecture and tokenizer from random initialisation (--from-scratch), same budget, several training
# set sizes and seeds. Prints one line per run: size seed init accuracy (after the last epoch: the dev set
# picks nothing).
# MODEL (default models/rose-mini), SIZES (rows; "all" for the whole training set), SEEDS, INITS ("pretrained scratch"),
# FT (fine-tuning flags; default 1 epoch, batch 32, lr 1e-4, warm-up 6%).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/pretraining-gain}
SIZES=${SIZES:-1000 3000 12000}
SEEDS=${SEEDS:-1 2 3}
DATA=../shared/data/glue/sst2
MODEL=${MODEL:-models/rose-mini}
FT=${FT:---num-train-epochs 1 --batch-size 32 --learning-rate 1e-4 --warmup-ratio 0.06}
mkdir -p "$OUT"
for n in $SIZES; do
  for seed in $SEEDS; do
    for init in ${INITS:-pretrained scratch}; do
      flag=""; [ "$init" = scratch ] && flag="--from-scratch"
      dir="$OUT/$init-n$n-seed$seed"
      rows=""; [ "$n" = all ] || rows="--max-train-samples $n"
      # shellcheck disable=SC2086
      [ -f "$dir.json" ] || node bin/rose.js train --model "$MODEL" $flag --task sst2 --train-file $DATA/train.tsv \
        --validation-file $DATA/dev.tsv --output-dir "$dir" --overwrite-output-dir $rows $FT \
        --max-seq-length 64 --weight-decay 0.01 --adam-beta2 0.98 --seed "$seed" ${THREADS:+--threads $THREADS} \
        --save-steps 0 --quiet > "$dir.json"
      rm -rf "$dir"
      echo "$n $seed $init $(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.eval?.accuracy??r.best_metric)' "$dir.json")"
    done
  done
done
