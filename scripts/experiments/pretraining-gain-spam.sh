#!/usr/bin/env bash
# Pre-trained vs from-scratch on the demo's SpamAssassin split (run `npm run demo` first for the files):
# vanilla AdamW, three seeds. Prints: seed init accuracy f1.
# MODEL (default models/rose-mini), FT (fine-tuning flags; default the demo's), INITS (default "pretrained scratch"),
# MAXLEN (tokens per message, training and evaluation; default 64). Finished runs are kept (rerun to resume).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-demo-output}
OUT=${2:-runs/pretraining-gain-spam}
mkdir -p "$OUT"
MODEL=${MODEL:-models/rose-mini}
FT=${FT:---num-train-epochs 2 --batch-size 16 --learning-rate 1e-4 --warmup-ratio 0.1}
for seed in ${SEEDS:-1 2 3}; do
  for init in ${INITS:-pretrained scratch}; do
    flag=""; [ "$init" = scratch ] && flag="--from-scratch"
    dir="$OUT/$init-seed$seed"
    if [ ! -f "$dir.eval.json" ]; then
      # shellcheck disable=SC2086
      node bin/rose.js train --model "$MODEL" $flag --train-file "$D/train.tsv" --output-dir "$dir" --overwrite-output-dir \
        $FT --max-seq-length "${MAXLEN:-64}" --weight-decay 0.01 --adam-beta2 0.98 --seed "$seed" --save-steps 0 ${THREADS:+--threads $THREADS} --quiet > /dev/null
      node bin/rose.js eval --model "$dir" --data "$D/test.tsv" --max-seq-length "${MAXLEN:-64}" ${THREADS:+--threads $THREADS} --json > "$dir.eval.tmp"
      mv "$dir.eval.tmp" "$dir.eval.json"
    fi
    echo "$seed $init $(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.accuracy, r.f1)' "$dir.eval.json")"
    rm -rf "$dir"
  done
done
