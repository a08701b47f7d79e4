#!/usr/bin/env bash
# The differentiable methods' signature behaviours (scripts/bench_signatures.py) at the papers' width on
# one GPU, time-boxed to fit one device call (< 10 min): C=16, 50 search epochs, Fashion-MNIST padded to
# 32x32, every method, 3 seeds, many searches at once on the device. Runs that finish write their JSON;
# the rest resume from their checkpoints next time (same command, same $OUT copied back).
#
#   bash scripts/gpu_signatures.sh prepare     # here: Fashion-MNIST into .data/ (git-ignored), ~30 MB
#   # the device tool: command "bash scripts/gpu_signatures.sh run", carry [".data"], timeout_s 600
#   # back here: copy $OUT/signatures_gpu/*.json into benchmarks/results/signatures_gpu/, then
#   python scripts/bench_signatures.py --merge --out benchmarks/results/signatures_gpu
#   bash scripts/gpu_signatures.sh tiny        # the same path on the CPU at a tiny size (the test suite's)
#
# Sizes the device has not confirmed yet: MAX_TRAIN (search images, half for w, half for alpha) and N
# (cells per stage; the papers: 5) default to what the first GPU run should measure, not to paper scale;
# the JSON records them and the per-epoch seconds, so the next run can be sized from it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu_common.sh

METHODS=${METHODS:-darts,sdarts-rs,r-darts,drnas,sp-darts,darts-2nd,sdarts-adv,darts-plus,gdas,pc-darts}
OUT=${OUT:-benchmarks/results}
BENCH=(python3 scripts/bench_signatures.py --out "$OUT/signatures_gpu")

case "${1:-run}" in
prepare)
    prepare_fashion_mnist
    ;;
run)
    start_device_run
    # leave ~60 s of the 600-s call for start-up and copying $OUT back
    # DATASET=cifar10 DATA_ROOT=<the python-format batches> for the papers' setting; SPACE=s2|s3 for R-DARTS's
    timeout "${BUDGET_S:-520}" "${BENCH[@]}" --methods "$METHODS" --seeds 0,1,2 --channels 16 \
        --cells-per-stage "${N:-1}" --epochs 50 --batch-size 64 --pad-to 32 --max-train "${MAX_TRAIN:-10000}" \
        --space "${SPACE:-nb201}" --dataset "${DATASET:-fashion-mnist}" \
        --processes "${PROCESSES:-15}" --device cuda --data-root "${DATA_ROOT:-.data/fashion-mnist}" ||
        echo "time box reached: the finished runs are in $OUT/signatures_gpu, the rest resume next time"
    ls "$OUT/signatures_gpu"
    ;;
tiny)
    "${BENCH[@]}" --tiny --methods "${METHODS_TINY:-darts,drnas}" --seeds 0 --processes 2 --device cpu \
        ${DATA_ROOT:+--data-root "$DATA_ROOT"}
    ;;
*)
    echo "usage: $0 prepare | run | tiny" >&2
    exit 2
    ;;
esac
