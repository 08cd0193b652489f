#!/bin/bash
# device.sh : the one GPU command (run from the repository root on the GPU machine, after prepare.sh here).
# Installs the carried wheels and the pinned ComfyUI under /tmp/gpubench, then benchmarks/gpu/run.py
# writes the synthetic weights, starts ComfyUI on the GPU and runs the matrix; everything ends within
# BENCH_BUDGET_S (default 540 s) of this script's start. Results: $OUT/results.{json,md}, comfyui.log.
set -euo pipefail
DEADLINE=$(( $(date +%s) + ${BENCH_BUDGET_S:-540} ))
W=benchmarks/gpu/.wheels; B=/tmp/gpubench; OUT="${OUT:-$B/out}"
mkdir -p "$B" "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$B/site" "$W"/*.whl
export PYTHONPATH="$B/site" PYTHONUNBUFFERED=1
rm -rf "$B/ComfyUI"; tar -xzf "$W"/comfyui-*.tar.gz -C "$B"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
df -h /tmp | tee -a "$OUT/gpu.txt"
python3 benchmarks/gpu/run.py --comfy-dir "$B/ComfyUI" --out "$OUT" --deadline "$DEADLINE" 2>&1 | tee "$OUT/run.log"
