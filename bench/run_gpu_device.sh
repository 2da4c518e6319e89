#!/usr/bin/env bash
# The one script run on the lent GPU machine (issue 5). Usage: bash bench/run_gpu_device.sh
# Writes $OUT/bench_gpu.{json,png} and $OUT/log.txt (OUT defaults to bench/results/device).
set -uo pipefail
OUT="${OUT:-bench/results/device}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
{
  nvidia-smi || true
  python -c "import torch, onnxruntime; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available()); print('onnxruntime', onnxruntime.__version__)"
  timeout 300 python bench/bench_gpu.py --out "$OUT" --batches 1,16,256,4096,65536 --repeats 200 --budget-s 2
  echo "rc=$?"
} 2>&1 | tee "$OUT/log.txt"
