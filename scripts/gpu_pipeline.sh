#!/usr/bin/env bash
# README command 1 (`nas pipeline`, the whole main job) on one GPU, timed cold and warm by
# scripts/bench_pipeline.py (issue 44: target a couple of minutes), in one device call.
#
#   bash scripts/gpu_pipeline.sh prepare      # here: Fashion-MNIST into .data/ (git-ignored), ~30 MB
#   # the device tool: command "bash scripts/gpu_pipeline.sh run", carry [".data"], timeout_s 600
#   # back here: copy $OUT/bench_pipeline_gpu.json (and .png) into benchmarks/results/
#
# Not run on a device yet.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu_common.sh

OUT=${OUT:-benchmarks/results}

case "${1:-run}" in
prepare)
    prepare_fashion_mnist
    ;;
run)
    start_device_run
    timeout "${BUDGET_S:-540}" python3 scripts/bench_pipeline.py --conditions cold,warm --device cuda \
        --data-root .data/fashion-mnist --work /tmp/bench_pipeline_gpu --out "$OUT/bench_pipeline_gpu.json"
    ;;
*)
    echo "usage: $0 prepare | run" >&2
    exit 2
    ;;
esac
