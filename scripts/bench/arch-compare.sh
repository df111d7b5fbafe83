#!/usr/bin/env bash
# Fine-tuning throughput of each architecture next to PyTorch: rose (`npm run bench -- train --arch A`) and the
# PyTorch re-statement of the same model (bench/torch/torch_baseline_arch.py), run in alternated pairs (this
# machine's speed drifts by 30% and more; the order within a pair flips every round), one JSON line per run.
# Needs Debian's python3 with torch: apt-get install -y python3-torch libopenblas0-pthread
# Usage: bash scripts/bench/arch-compare.sh [ROUNDS] > arch.jsonl
#        node --import tsx scripts/bench/bench-summary.ts arch.jsonl   (medians and the median of the paired ratios)
# ARCHS, CONFIG, METHODS and STEPS override the defaults below (ARCHS may include bert).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
ARCHS=${ARCHS:-electra deberta modernbert}
CONFIG=${CONFIG:-mini}
METHODS=${METHODS:-vanilla ensemble}
STEPS=${STEPS:-5}
PY=/usr/bin/python3
FLAGS="--config $CONFIG --batch 32 --seq 128 --steps $STEPS"
# Model check first: the PyTorch re-statements must compute what rose does (golden logits and gradients).
$PY bench/torch/check_golden.py >&2
rose() { npm run -s bench -- train --arch "$1" --method "$2" $FLAGS --json; }
pytorch() { $PY bench/torch/torch_baseline_arch.py --arch "$1" --method "$2" $FLAGS; }
for r in $(seq "$ROUNDS"); do
  for a in $ARCHS; do
    for m in $METHODS; do
      if ((r % 2)); then rose "$a" "$m"; pytorch "$a" "$m"; else pytorch "$a" "$m"; rose "$a" "$m"; fi
    done
  done
done
