#!/usr/bin/env bash
# What NOSH and the ranking loss buy (scripts/bench_nosh.py) at GPU scale, time-boxed to one device call
# (< 10 min): C=16 cells on 12,000 Fashion-MNIST images (9,600 train / 2,400 validation), budgets
# 1/3/9/27, 150 epochs per search, every method, 10 seeds, many searches at once on the device; the final
# choices are retrained at C=16 for 5 epochs on all 60,000 images. Runs that finish write their JSON; the
# grid is skipped run by run next time, so a cut-short call loses only the runs in flight.
#
#   bash scripts/gpu_nosh.sh prepare      # here: Fashion-MNIST into .data/ (git-ignored), ~30 MB
#   # the device tool: command "bash scripts/gpu_nosh.sh run", carry [".data"], timeout_s 600
#   # back here: copy $OUT/nosh_gpu/*.json into benchmarks/results/nosh_gpu/, then
#   python scripts/bench_nosh.py --merge --out benchmarks/results/nosh_gpu
#   bash scripts/gpu_nosh.sh tiny         # the same path on the CPU at a tiny size (the test suite's)
#
# Not confirmed on a device yet: the sizes (MAX_TRAIN, SEEDS, PROCESSES) are a first guess for an H200
# shared by 16 processes; each JSON records its search and retraining seconds to size the next call.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu_common.sh

OUT=${OUT:-benchmarks/results}
BENCH=(python3 scripts/bench_nosh.py --out "$OUT/nosh_gpu")

case "${1:-run}" in
prepare)
    prepare_fashion_mnist
    ;;
run)
    start_device_run
    # leave ~60 s of the 600-s call for start-up and copying $OUT back
    timeout "${BUDGET_S:-520}" "${BENCH[@]}" --seeds "${SEEDS:-0,1,2,3,4,5,6,7,8,9}" --channels 16 \
        --max-train "${MAX_TRAIN:-12000}" --batch-size 256 --lr 0.1 --final-channels 16 \
        --processes "${PROCESSES:-16}" --device cuda --data-root .data/fashion-mnist ||
        echo "time box reached: the finished runs are in $OUT/nosh_gpu"
    ls "$OUT/nosh_gpu"
    ;;
tiny)
    "${BENCH[@]}" --tiny --methods "${METHODS_TINY:-rank-nosh,uniform-sh}" --seeds 0 --processes 2 --device cpu
    ;;
*)
    echo "usage: $0 prepare | run | tiny" >&2
    exit 2
    ;;
esac
