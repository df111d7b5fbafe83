#!/usr/bin/env bash
# Rebuilds models/rose-mini from scratch: the corpus from npm packages, a WordPiece vocabulary and masked-LM
# pre-training with rose's own engine. Takes about an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs/rose-mini-build}
node --import tsx scripts/build-corpus.ts --out "$WORK/corpus"
node bin/rose.js pretrain --corpus "$WORK/corpus/train.txt" --heldout "$WORK/corpus/heldout.txt" \
  --output-dir "$WORK/pretrain" --overwrite-output-dir --config mini --vocab-size 8192 --max-steps 2500 --batch-size 32 \
  --learning-rate 5e-4 --warmup-ratio 0.06 --save-steps 250 --eval-steps 500 --logging-steps 25 --seed 42
node --import tsx scripts/ship-model.ts "$WORK/pretrain" models/rose-mini
