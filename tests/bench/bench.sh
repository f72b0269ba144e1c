#!/usr/bin/env bash
# bench.sh - `make bench`: featevo against PyTorch on this machine, side by side.
# Each measurement is its own process (so peak RSS is per model), one at a time.
# Env: BENCH_STEPS (timed steps; default 60 for LeNet-5, whose step takes ~20 ms, and 5
# for ResNet-18, ~7 s), BENCH_BATCH (512), BENCH_THREADS (all cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=${BENCH_BATCH:-512} threads=${BENCH_THREADS:-$(nproc)}
echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), batch $batch, $threads threads, timed steps after 1 warm-up: ${BENCH_STEPS:-60 (LeNet-5), 5 (ResNet-18)}"
torch_ok=0
/usr/bin/python3 -c 'import torch' 2> /dev/null && torch_ok=1
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }
for model in lenet5 resnet18; do
    steps=${BENCH_STEPS:-$([[ $model == lenet5 ]] && echo 60 || echo 5)}
    ours=$(build/release/tests/bench_train --model "$model" --batch "$batch" --steps "$steps" --threads "$threads")
    echo "$ours"
    if ((torch_ok)); then
        theirs=$(/usr/bin/python3 tests/bench/bench_torch.py "$model" "$batch" "$steps" "$threads")
        echo "$theirs"
        awk -v m="$model" -v a="$(get train_img_s "$ours")" -v b="$(get train_img_s "$theirs")" \
            -v c="$(get eval_img_s "$ours")" -v d="$(get eval_img_s "$theirs")" \
            -v e="$(get peak_rss_mb "$ours")" -v f="$(get peak_rss_mb "$theirs")" \
            'BEGIN { printf "ratio model=%s train featevo/torch=%.2fx eval featevo/torch=%.2fx peak_rss featevo/torch=%.2f\n", m, a / b, c / d, e / f }'
    else
        echo "bench: PyTorch comparison SKIPPED (python3-torch not installed)"
    fi
done
