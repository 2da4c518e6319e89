#!/usr/bin/env bash
# The one script run on the lent GPU machine (issue 5). Usage: bash bench/run_gpu_device.sh
# Writes $OUT/bench_gpu.{json,png}, $OUT/diagnostics.json and $OUT/log.txt (OUT defaults to
# bench/results/device). Each group of contenders runs in its own process (own CUDA context, own
# time limit), so a faulting or hanging hand-written kernel cannot take the other rows with it;
# then the per-process JSONs are merged into $OUT/bench_gpu.json (+ plot).
set -uo pipefail
OUT="${OUT:-bench/results/device}"
BATCHES="${BATCHES:-1,16,256,4096,65536}"
WORK="${WORK:-$OUT}"  # per-group results (merged into $OUT)
mkdir -p "$OUT" "$WORK"
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
run() {  # run NAME SECONDS CONTENDERS [BATCHES]
  echo "=== $1: $3"
  timeout "$2" python bench/bench_gpu.py --out "$WORK/$1" --batches "${4:-$BATCHES}" --repeats 200 --budget-s 1 --only "$3"
  echo "=== $1 rc=$?"
}
{
  nvidia-smi || true
  python -c "import torch, onnxruntime, cupy; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available()); print('onnxruntime', onnxruntime.__version__, 'cupy', cupy.__version__)"
  timeout 60 python bench/gpu_diagnostics.py --out "$OUT"; echo "=== diagnostics rc=$?"
  run mma 120 mma-zerocopy-graph-fp16,mma-graph-io-fp16,mma-pipeline-graph-fp16,mma-pipeline-streams-graph-fp16,mma-persistent-fp16 "$BATCHES,262144"
  run base 70 fused-zerocopy-graph-fp32,tc-pipeline-fp16-packed,torch-graph-io-fp16-packed,pipeline-fp16-packed
  run others 70 torch-eager-fp32,torch-graph-fp32,torch-graph-fp16,onnxruntime-cpu-fp32
  python bench/bench_gpu.py --out "$OUT" --merge "$WORK/mma,$WORK/base,$WORK/others"
  echo "rc=$?"
  # the GPU tests of the kernel and its runtime backend (skipped in CI, which has no GPU)
  timeout 120 python -m pytest -q -p no:cacheprovider tests/runtime/test_kernel_runner.py tests/runtime/test_gpu_mma.py \
    || timeout 120 python -m pytest -q -p no:cacheprovider -W default tests/runtime/test_kernel_runner.py
  echo "=== pytest rc=$?"
} 2>&1 | tee "$OUT/log.txt"
