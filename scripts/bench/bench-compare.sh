#!/usr/bin/env bash
# Side-by-side benchmarks against the PyTorch baseline in ../shared/bench, alternating the two commands
# (this machine's speed drifts by 30% and more) and printing one JSON line per run.
# Needs Debian's python3 with torch: apt-get install -y python3-torch libopenblas0-pthread
# Usage: bash scripts/bench/bench-compare.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
PY=/usr/bin/python3
B=../shared/bench
for r in $(seq "$ROUNDS"); do
  npm run -s bench -- engine --json
  $PY $B/torch_layer.py
  for cfg in mini small; do
    for m in vanilla first second ensemble; do
      npm run -s bench -- train --config $cfg --method $m --batch 32 --seq 128 --steps 5 --json
      $PY $B/torch_baseline.py --config $cfg --method $m --batch 32 --seq 128 --steps 5
    done
  done
  npm run -s bench -- pretrain --config mini --vocab 8192 --batch 32 --seq 128 --steps 5 --json
  $PY $B/torch_baseline.py --config mini --method mlm --vocab 8192 --batch 32 --seq 128 --steps 5
  for cfg in mini base; do
    npm run -s bench -- infer --config $cfg --batch 32 --seq 128 --json
    $PY $B/torch_baseline.py --config $cfg --method eval --batch 32 --seq 128
  done
done
