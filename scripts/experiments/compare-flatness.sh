#!/usr/bin/env bash
# The flatness check of docs/flatness/, end to end as a user runs it: fine-tune vanilla and ROSE-ensemble on the same SST-2 rows
# (same seed and settings), compare their loss landscapes on the same directions, attack both, and open the
# report of the two runs in headless Chromium (screenshot). Resumable per step.
#   bash scripts/experiments/compare-flatness.sh [MODEL] [OUT]
# Knobs (environment): ROWS (training rows, default 8000), EPOCHS (2), LR (1e-4), POINTS (21), SAMPLES (256),
# ATTACK (examples attacked with pwws, 100), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-models/rose-mini}
OUT=${2:-runs/compare-flatness}
ROWS=${ROWS:-8000} EPOCHS=${EPOCHS:-2} LR=${LR:-1e-4} POINTS=${POINTS:-21} SAMPLES=${SAMPLES:-256} ATTACK=${ATTACK:-100} THREADS=${THREADS:-2}
SST=../shared/data/glue/sst2
mkdir -p "$OUT"
for m in vanilla rose-ensemble; do
  [ -f "$OUT/$m.trained" ] || { node bin/rose.js train --model "$MODEL" --task sst2 --train-file $SST/train.tsv \
    --max-train-samples "$ROWS" --validation-file $SST/dev.tsv --num-train-epochs "$EPOCHS" --learning-rate "$LR" \
    --batch-size 32 --warmup-ratio 0.06 --max-seq-length 64 --method "$m" --seed 1 --save-steps 0 --threads "$THREADS" \
    --output-dir "$OUT/$m" --overwrite-output-dir --quiet && touch "$OUT/$m.trained"; }
  [ -f "$OUT/$m/robustness.json" ] || node bin/rose.js robustness --model "$OUT/$m" --task sst2 --data $SST/dev.tsv \
    --recipes pwws --num-examples "$ATTACK" --max-seq-length 64 --threads "$THREADS" --quiet --output "$OUT/$m/robustness.json"
done
# Landscapes on SST-2 dev rows, written into the vanilla run (the report finds landscape.json one level below).
[ -f "$OUT/vanilla/landscape/landscape.json" ] || /usr/bin/time -v node bin/rose.js landscape --model "$OUT/vanilla" \
  --compare "$OUT/rose-ensemble" --task sst2 --data $SST/dev.tsv --max-samples "$SAMPLES" --max-seq-length 64 \
  --points "$POINTS" --seed 0 --threads "$THREADS" --output-dir "$OUT/vanilla/landscape" 2> "$OUT/landscape.time"
node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const m of l.models)console.log(m.name,JSON.stringify(m.sharpness))' "$OUT/vanilla/landscape/landscape.json"
node bin/rose.js report "$OUT/vanilla" "$OUT/rose-ensemble" --out "$OUT/report.html"
node --import tsx scripts/experiments/report-screenshot.ts "$OUT/report.html" "$OUT/report.png" > "$OUT/report-check.json"
echo "report: $OUT/report.html, screenshot: $OUT/report.png, check: $OUT/report-check.json"
