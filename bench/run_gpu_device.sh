#!/usr/bin/env bash
# The one script run on the lent GPU machine (issue 5). Usage: bash bench/run_gpu_device.sh
# Writes $OUT/bench_gpu.{json,png} and $OUT/log.txt (OUT defaults to bench/results/device).
# Each group of contenders runs in its own process (own CUDA context, own time limit), so a
# faulting or hanging hand-written kernel cannot take the other rows with it; then the
# per-process JSONs are merged into $OUT/bench_gpu.json (+ plot).
set -uo pipefail
OUT="${OUT:-bench/results/device}"
BATCHES="${BATCHES:-1,16,256,4096,65536}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
run() {  # run NAME SECONDS CONTENDERS [BATCHES]
  echo "=== $1: $3"
  timeout "$2" python bench/bench_gpu.py --out "$OUT/$1" --batches "${4:-$BATCHES}" --repeats 200 --budget-s 1 --only "$3"
  echo "=== $1 rc=$?"
}
{
  nvidia-smi || true
  python -c "import torch, onnxruntime, cupy; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available()); print('onnxruntime', onnxruntime.__version__, 'cupy', cupy.__version__)"
  run base 55 fused-kernel-graph-io-fp32,torch-graph-io-fp16-packed,pipeline-fp16-packed
  run zerocopy 35 fused-zerocopy-kernel-fp32,fused-zerocopy-graph-fp32
  run tc 45 tc-zerocopy-fp16-packed,tc-pipeline-fp16-packed "$BATCHES,262144"
  run persistent 25 fused-persistent-fp32
  python bench/bench_gpu.py --out "$OUT" --merge "$OUT/base,$OUT/zerocopy,$OUT/tc,$OUT/persistent"
  echo "rc=$?"
} 2>&1 | tee "$OUT/log.txt"
