#!/usr/bin/env bash
# The model card's fine-tuning measurements of a pre-trained model: the settings grids (validation splits carved from
# training data), then the targets with the chosen settings, three seeds each: the demo's held-out split
# (vanilla; pre-trained vs random init) and SST-2 dev after fine-tuning on the full training set (pre-trained,
# plus random init for one seed). Usage: bash scripts/experiments/rose-mini-eval.sh [MODEL] [OUT]   (resumable per step)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-models/rose-mini}
OUT=${2:-runs/rose-mini-eval}
mkdir -p "$OUT"
best() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).best.flags)' "$1/sweep/results.json"; }
[ -f "$OUT/grid-demo/sweep/results.json" ] || node --import tsx scripts/experiments/finetune-grid.ts --data demo --model "$MODEL" --out "$OUT/grid-demo"
DEMO_FT=$(best "$OUT/grid-demo")
echo "demo settings: $DEMO_FT"
# The grid's length (if it varied it) for training and evaluation alike; the grid's warm-up.
DEMO_LEN=$(echo "$DEMO_FT" | sed -n 's/.*--max-seq-length \([0-9]*\).*/\1/p')
[ -f "$OUT/spam.txt" ] || MAXLEN="${DEMO_LEN:-64}" FT="$DEMO_FT --warmup-ratio 0.1" MODEL="$MODEL" bash scripts/experiments/pretraining-gain-spam.sh "$OUT/grid-demo/data" "$OUT/spam" | tee "$OUT/spam.txt"
[ -f "$OUT/grid-sst2/sweep/results.json" ] || node --import tsx scripts/experiments/finetune-grid.ts --data sst2 \
  --train-file ../shared/data/glue/sst2/train.tsv --max-train-samples 12000 --model "$MODEL" --out "$OUT/grid-sst2"
SST_FT=$(best "$OUT/grid-sst2")
echo "SST-2 settings: $SST_FT"
[ -f "$OUT/sst2.txt" ] || SIZES=all INITS=pretrained FT="$SST_FT" MODEL="$MODEL" bash scripts/experiments/pretraining-gain.sh "$OUT/sst2" | tee "$OUT/sst2.txt"
[ -f "$OUT/sst2-scratch.txt" ] || SIZES=all SEEDS=1 INITS=scratch FT="$SST_FT" MODEL="$MODEL" bash scripts/experiments/pretraining-gain.sh "$OUT/sst2" | tee "$OUT/sst2-scratch.txt"
