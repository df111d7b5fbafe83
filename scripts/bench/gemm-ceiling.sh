#!/usr/bin/env bash
# What float32 matmul speed this machine allows, next to what onnxruntime's matmul reaches on the same
# shapes: the FMA peak (bench/ceiling/fma_peak.c), oneDNN and OpenBLAS (bench/ceiling/sgemm.c, the libraries
# Debian's python3-torch installs) and `npm run bench -- gemm`. One JSON line per measurement.
# Needs gcc and: apt-get install -y python3-torch libopenblas0-pthread
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB=/usr/lib/x86_64-linux-gnu
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
gcc -O2 -mavx512f -o "$OUT/fma_peak" bench/ceiling/fma_peak.c -lpthread
gcc -O2 -o "$OUT/sgemm" bench/ceiling/sgemm.c "$LIB/libdnnl.so.2" "$LIB/libopenblas.so.0"
THREADS=$(nproc)
"$OUT/fma_peak" 1
"$OUT/fma_peak" "$THREADS"
for shape in 1024x768x3072 1024x3072x768 1024x768x768; do
  OMP_NUM_THREADS=$THREADS "$OUT/sgemm" ${shape//x/ }
  npm run -s bench -- gemm --shape "$shape" --json
done
