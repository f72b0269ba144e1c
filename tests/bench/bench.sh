#!/usr/bin/env bash
# bench.sh - `make bench`: featevo against PyTorch on this machine, side by side.
# Each measurement is its own process (so peak RSS is per model), one at a time.
# The machine may be shared: featevo and PyTorch alternate, BENCH_REPEAT times
# each, and the ratios are of the medians (each run's line is printed too).
# Env: BENCH_STEPS (timed steps; default 60 for LeNet-5, whose step takes ~20 ms, 5 for
# ResNet-18 at batch 512, ~5 s, and 20 at the small batches), BENCH_BATCH (512),
# BENCH_SMALL (the small batches ResNet-18 also runs at: "16 32 64"; "" for none),
# BENCH_THREADS (all cores), BENCH_REPEAT (3).  Where the CPU has AVX512_BF16, ResNet-18
# also runs in bf16 and float32 alternately at the main batch, and the ratio is printed;
# where it has AMX, bf16 in the plain layout too (its convolutions on the AMX tiles).
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=${BENCH_BATCH:-512} small=${BENCH_SMALL-16 32 64} threads=${BENCH_THREADS:-$(nproc)} repeat=${BENCH_REPEAT:-3}
echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), batch $batch, $threads threads, ResNet-18 also at batch ${small:-(none)}, timed steps after 1 warm-up: ${BENCH_STEPS:-60 (LeNet-5), 5 (ResNet-18), 20 (small batches)}, $repeat runs each"
torch_ok=0
/usr/bin/python3 -c 'import torch' 2> /dev/null && torch_ok=1
((torch_ok)) || echo "bench: PyTorch comparison SKIPPED (python3-torch not installed)"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }
# median KEY LINE...: the median of KEY over the lines
median() {
    local key=$1 line
    shift
    for line in "$@"; do get "$key" "$line"; done | sort -g | awk '{ v[NR] = $1 }
        END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ResNet-18's medians at each batch, "featevo torch" per pass, for the best-against-best lines
declare -A best_train best_eval
runs=("lenet5 $batch" "resnet18 $batch")
for b in $small; do runs+=("resnet18 $b"); done
for run in "${runs[@]}"; do
    read -r model rb <<< "$run"      # (rb: not batch, which the bf16 runs below use)
    steps=${BENCH_STEPS:-$([[ $model == lenet5 ]] && echo 60 || { ((rb >= 128)) && echo 5 || echo 20; })}
    ours=() theirs=()
    for ((r = 1; r <= repeat; r++)); do
        ours+=("$(build/release/tests/bench_train --model "$model" --batch "$rb" --steps "$steps" --threads "$threads")")
        echo "${ours[-1]}"
        if ((torch_ok)); then
            theirs+=("$(/usr/bin/python3 tests/bench/bench_torch.py "$model" "$rb" "$steps" "$threads")")
            echo "${theirs[-1]}"
        fi
    done
    a=$(median train_img_s "${ours[@]}") c=$(median eval_img_s "${ours[@]}") e=$(median peak_rss_mb "${ours[@]}")
    # the distance to the machine's limit: the share of the measured FMA peak
    echo "median of $repeat model=$model batch=$rb featevo share of the FMA peak ($(get fma_isa "${ours[0]}"), $(median fma_peak_gflops "${ours[@]}") GFLOP/s on $threads threads): train $(median train_pct_fma_peak "${ours[@]}")% eval $(median eval_pct_fma_peak "${ours[@]}")% (multiply-adds of direct convolution; Winograd's saved ones count, so this can pass 100%)"
    # against the arithmetic featevo's algorithms really execute: the ceiling at the FMA peak
    echo "median of $repeat model=$model batch=$rb featevo executes $(median exec_train_gflop_img "${ours[@]}") GFLOP per training image, $(median exec_eval_gflop_img "${ours[@]}") per evaluated one: at the FMA peak at most $(median ceiling_train_img_s "${ours[@]}") train / $(median ceiling_eval_img_s "${ours[@]}") eval img/s; reached train $(median train_pct_ceiling "${ours[@]}")% eval $(median eval_pct_ceiling "${ours[@]}")%"
    if ((torch_ok)); then
        b=$(median train_img_s "${theirs[@]}") d=$(median eval_img_s "${theirs[@]}") f=$(median peak_rss_mb "${theirs[@]}")
        [[ $model == resnet18 ]] && best_train[$rb]="$a $b" best_eval[$rb]="$c $d"
        awk -v m="$model" -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v e="$e" -v f="$f" -v n="$repeat" \
            -v bs="$rb" 'BEGIN { printf "median of %d model=%s batch=%s train_img_s featevo=%s torch=%s (%.2fx) eval_img_s featevo=%s torch=%s (%.2fx) peak_rss_mb featevo=%s torch=%s (%.2f)\n", n, m, bs, a, b, a / b, c, d, c / d, e, f, e / f }'
    else
        echo "median of $repeat model=$model batch=$rb train_img_s featevo=$a eval_img_s featevo=$c peak_rss_mb featevo=$e"
    fi
done
# each side at its fastest batch: the comparison that holds whatever batch a user picks
# best NAME ARRAY: "NAME featevo=X (batch B) torch=Y (batch C) (ratio)" from "featevo torch" per batch
best() {
    local -n m=$2
    local k line=""
    for k in "${!m[@]}"; do line+="$k ${m[$k]}"$'\n'; done
    awk -v n="$1" 'NF == 3 { if ($2 > f) { f = $2; fb = $1 } if ($3 > t) { t = $3; tb = $1 } }
        END { if (t > 0) printf "%s featevo=%s (batch %s) torch=%s (batch %s) (%.2fx)\n", n, f, fb, t, tb, f / t }' <<< "$line"
}
if ((torch_ok)) && ((${#best_train[@]} > 1)); then
    echo "median of $repeat model=resnet18 each at its fastest batch: $(best train_img_s best_train | tr -d '\n') $(best eval_img_s best_eval)"
fi
# bf16 against float32 (train --precision bf16), ResNet-18 at the main batch, alternating in
# the same minutes; with the CPU's VDPBF16PS peak over its FMA peak, the rate bf16 can gain.
# Where the CPU has AMX, also bf16 in the plain layout, whose convolutions run on
# fe_gemm_bf16's AMX tiles (bench_train --plain-layout 1).
if grep -qw avx512_bf16 /proc/cpuinfo; then
    steps=${BENCH_STEPS:-5} fp=() bf=() amx=()
    for ((r = 1; r <= repeat; r++)); do
        fp+=("$(build/release/tests/bench_train --model resnet18 --batch "$batch" --steps "$steps" --threads "$threads")")
        echo "${fp[-1]}"
        bf+=("$(build/release/tests/bench_train --model resnet18 --batch "$batch" --steps "$steps" --threads "$threads" --precision bf16)")
        echo "${bf[-1]}"
        if grep -qw amx_bf16 /proc/cpuinfo; then
            amx+=("$(build/release/tests/bench_train --model resnet18 --batch "$batch" --steps "$steps" --threads "$threads" --precision bf16 --plain-layout 1)")
            echo "${amx[-1]}"
        fi
    done
    awk -v n="$repeat" -v bs="$batch" -v ft="$(median train_img_s "${fp[@]}")" -v bt="$(median train_img_s "${bf[@]}")" \
        -v fe="$(median eval_img_s "${fp[@]}")" -v be="$(median eval_img_s "${bf[@]}")" \
        -v dp="$(median bf16_dot_peak_gflops "${bf[@]}")" -v fm="$(median fma_peak_gflops "${bf[@]}")" \
        'BEGIN { printf "median of %d model=resnet18 batch=%s bf16 against fp32: train_img_s %s / %s (%.2fx) eval_img_s %s / %s (%.2fx); VDPBF16PS peak %s GFLOP/s = %.2fx the FMA peak %s\n", n, bs, bt, ft, bt / ft, be, fe, be / fe, dp, dp / fm, fm }'
    if ((${#amx[@]})); then
        awk -v n="$repeat" -v bs="$batch" -v ft="$(median train_img_s "${fp[@]}")" -v at="$(median train_img_s "${amx[@]}")" \
            -v fe="$(median eval_img_s "${fp[@]}")" -v ae="$(median eval_img_s "${amx[@]}")" -v ag="$(get bf16_gemm "${amx[0]}")" \
            'BEGIN { printf "median of %d model=resnet18 batch=%s bf16 plain layout (fe_gemm_bf16: %s) against fp32: train_img_s %s / %s (%.2fx) eval_img_s %s / %s (%.2fx)\n", n, bs, ag, at, ft, at / ft, ae, fe, ae / fe }'
    fi
else
    echo "bench: bf16 against fp32 SKIPPED (this CPU has no AVX512_BF16)"
fi
# data-parallel training's communication: the sums of one ResNet-18 step over 2 ranks
if command -v mpirun > /dev/null && bin/train --help | grep -q "built with Open MPI"; then
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        mpirun -np 2 --oversubscribe --bind-to none build/release/tests/bench_comm
else
    echo "bench: MPI communication SKIPPED (no mpirun, or train built without MPI)"
fi
