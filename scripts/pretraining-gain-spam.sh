#!/usr/bin/env bash
# Pre-trained vs from-scratch on the demo's SpamAssassin split (run `npm run demo` first for the files):
# the demo's fine-tuning settings, vanilla AdamW, three seeds. Prints: seed init accuracy f1.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-demo-output}
OUT=${2:-runs/pretraining-gain-spam}
mkdir -p "$OUT"
for seed in ${SEEDS:-1 2 3}; do
  for init in pretrained scratch; do
    flag=""; [ "$init" = scratch ] && flag="--from-scratch"
    dir="$OUT/$init-seed$seed"
    node bin/rose.js train --model models/rose-mini $flag --train-file "$D/train.tsv" --output-dir "$dir" --overwrite-output-dir \
      --num-train-epochs 2 --batch-size 16 --learning-rate 1e-4 --max-seq-length 64 --warmup-ratio 0.1 --weight-decay 0.01 \
      --adam-beta2 0.98 --seed "$seed" --save-steps 0 ${THREADS:+--threads $THREADS} --quiet > /dev/null
    node bin/rose.js eval --model "$dir" --data "$D/test.tsv" --max-seq-length 64 ${THREADS:+--threads $THREADS} --json > "$dir.eval.json"
    echo "$seed $init $(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.accuracy, r.f1)' "$dir.eval.json")"
    rm -rf "$dir"
  done
done
