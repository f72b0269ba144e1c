#!/usr/bin/env bash
# test_bench.sh - bench_train (make bench's measuring program): its usage, and the
# arithmetic it counts, against numbers worked out by hand from the architectures.
# Which convs run by Winograd is decided in one place, fe_conv_algo_select() (ops.c),
# and the count asks each conv's row for its multiply-adds; a change to the
# table, to wino_applies() or to the layers' shapes that the count does not
# follow fails here (the ceiling make bench prints would be wrong).
#   ResNet-18 on 28x28 MNIST, forward multiply-adds (MACs):
#     direct convolution: 455,800,832 -> 0.912 GFLOP forward; training is 3
#       times that less conv1's input gradient (0.235 MFLOP): 2.734 GFLOP
#     executed: the 13 Winograd convs as 36 GEMMs of tiles * cin * cout,
#       4 * 36*49*64*64 + 3 * 36*16*128^2 + 3 * 36*4*256^2 + 3 * 36*1*512^2
#       = 113,836,032, plus conv1, the three stride-2 3x3 convs, the three 1x1
#       shortcuts and fc (53,540,864, direct) = 167,376,896 MACs
#       -> 0.334754 GFLOP forward, 1.003358 training
#   LeNet-5 runs every conv directly: conv1 28*28*6*25 + conv2 10*10*16*6*25 +
#     fc 400*120 + 120*84 + 84*10 = 416,520 MACs -> 0.000833 GFLOP forward,
#     3 * 0.833040 - 0.235200 (conv1) = 2.263920 MFLOP training
# Env: FE_BUILD (the build directory holding tests/bench_train), FE_ROOT.
set -euo pipefail
: "${FE_BUILD:?set FE_BUILD to the build directory}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
bt=$FE_BUILD/tests/bench_train
[[ -x $bt ]] || { echo "FAIL: $bt not built" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }
# the ASan pass (FE_BUILD=build/asan) leaves to the plain pass what only repeats it
asan=0
[[ $(basename "$FE_BUILD") == asan ]] && asan=1

"$bt" --help | grep -q '^usage: bench_train' || fail "--help prints no usage"
rc=0; "$bt" --batch 2> /dev/null || rc=$?
((rc == 2)) || fail "an option without a value: exit $rc, not 2"
rc=0; "$bt" --frobnicate 1 2> /dev/null || rc=$?
((rc == 2)) || fail "an unknown option: exit $rc, not 2"

rc=0; "$bt" --col-mfloats -3 2> /dev/null || rc=$?
((rc == 2)) || fail "--col-mfloats -3: exit $rc, not 2"

line=$("$bt" --model resnet18 --batch 2 --steps 1 --threads 1)
echo "$line"
if [[ $(get fma_isa "$line") == none ]]; then
    echo "SKIPPED: this CPU has neither AVX-512 nor AVX2+FMA: no FMA peak to measure"
    exit 77
fi
[[ $(get layout "$line") == blocked ]] || fail "resnet18: not layout=blocked by default: $line"
[[ $(get train_gflop_img "$line") == 2.734 ]] || fail "resnet18 direct training GFLOP/image $(get train_gflop_img "$line"), not 2.734"
[[ $(get exec_eval_gflop_img "$line") == 0.334754 ]] || fail "resnet18 executed forward GFLOP/image $(get exec_eval_gflop_img "$line"), not 0.334754"
[[ $(get exec_train_gflop_img "$line") == 1.003358 ]] || fail "resnet18 executed training GFLOP/image $(get exec_train_gflop_img "$line"), not 1.003358"
# the ceiling is the FMA peak over the executed arithmetic, and nothing passes it
awk -v p="$(get fma_peak_gflops "$line")" -v c="$(get ceiling_train_img_s "$line")" \
    -v t="$(get train_pct_ceiling "$line")" -v e="$(get eval_pct_ceiling "$line")" \
    'BEGIN { r = p / 1.003358208; exit !(p > 0 && c > 0.99 * r && c < 1.01 * r && t > 0 && t <= 100 && e > 0 && e <= 100) }' ||
    fail "resnet18 ceiling or its share inconsistent: $line"
awk -v o="$(get wino_gemm_gflops "$line")" -v b="$(get wino_gemm_openblas_gflops "$line")" \
    'BEGIN { exit !(o > 0 && b > 0) }' || fail "resnet18: no wino_gemm_gflops beside OpenBLAS's: $line"

# the bf16 GEMM's kernel and speed, and the AMX tile peak where that kernel runs
case $(get bf16_gemm "$line") in
    none) ;;
    avx512) awk -v g="$(get bf16_gemm_gflops "$line")" 'BEGIN { exit !(g > 0) }' || fail "no bf16_gemm_gflops: $line" ;;
    amx) awk -v g="$(get bf16_gemm_gflops "$line")" -v a="$(get amx_bf16_peak_gflops "$line")" \
             'BEGIN { exit !(g > 0 && a > 0) }' || fail "bf16_gemm=amx without its speed or peak: $line" ;;
    *) fail "bf16_gemm is neither none, avx512 nor amx: $line" ;;
esac
line=$("$bt" --model lenet5 --batch 8 --steps 1 --threads 1)
[[ $(get exec_eval_gflop_img "$line") == 0.000833 && $(get exec_train_gflop_img "$line") == 0.002264 ]] ||
    fail "lenet5: executed $(get exec_eval_gflop_img "$line") / $(get exec_train_gflop_img "$line") GFLOP/image, not 0.000833 / 0.002264: $line"
# bf16 (where the CPU has it): its products are not float32 FMAs, no float32 ceiling
if grep -q avx512_bf16 /proc/cpuinfo; then
    line=$("$bt" --model resnet18 --batch 2 --steps 1 --threads 1 --precision bf16)
    [[ -n $(get train_img_s "$line") && -z $(get ceiling_train_img_s "$line") ]] ||
        fail "bf16: a float32 ceiling printed, or no speed: $line"
fi
# --plain-layout 1 (every activation [C][N][H][W]): the same algorithms, so the same
# executed arithmetic; in bf16, where the CPU has it, a speed and no float32 ceiling.
# Plain pass only: the unit tests run the plain layout under ASan.
if ((!asan)); then
    line=$("$bt" --model resnet18 --batch 2 --steps 1 --threads 1 --plain-layout 1)
    [[ $(get layout "$line") == plain && $(get exec_train_gflop_img "$line") == 1.003358 &&
       -n $(get train_img_s "$line") ]] ||
        fail "--plain-layout 1: not layout=plain, executed $(get exec_train_gflop_img "$line") GFLOP/image (1.003358), or no speed: $line"
    if grep -q avx512_bf16 /proc/cpuinfo; then
        line=$("$bt" --model resnet18 --batch 2 --steps 1 --threads 1 --plain-layout 1 --precision bf16)
        [[ $(get layout "$line") == plain && -n $(get train_img_s "$line") &&
           -z $(get ceiling_train_img_s "$line") ]] ||
            fail "--plain-layout 1 --precision bf16: not layout=plain, a float32 ceiling printed, or no speed: $line"
    fi
fi
# the Winograd products (--gemms 1): a line for each of the 8 shapes, every speed measured
out=$("$bt" --gemms 1 --threads 1)
[[ $(grep -c '^gemm=' <<< "$out") == 8 ]] || fail "--gemms 1: not 8 lines: $out"
while read -r g; do
    for k in own_gflops openblas_gflops own_aligned_gflops openblas_aligned_gflops; do
        awk -v v="$(get $k "$g")" 'BEGIN { exit !(v > 0) }' || fail "--gemms 1: no $k in: $g"
    done
done <<< "$out"
# --layers 1: a line per conv (ResNet-18 has 20) and a total; every time measured, the
# backward also with dW alone and dX alone (conv1 takes no dX: 0)
out=$("$bt" --model resnet18 --batch 2 --steps 1 --threads 1 --layers 1)
[[ $(grep -c '^layer=' <<< "$out") == 20 && $(grep -c '^layers=all' <<< "$out") == 1 ]] ||
    fail "--layers 1: not 20 conv lines and a total: $out"
while read -r g; do
    for k in fwd_ms bwd_ms bwd_dw_only_ms bwd_dx_only_ms; do
        want="v > 0"
        [[ $k == bwd_dx_only_ms && $(get layer "$g") == conv1 ]] && want="v == 0"
        awk -v v="$(get $k "$g")" "BEGIN { exit !($want) }" || fail "--layers 1: $k not $want in: $g"
    done
done < <(grep '^layer=' <<< "$out")
# ab.sh sgemm, wino and direct (two builds of sgemm.c, winograd.c, conv2d_sgemm.c, timed by turns): they
# build, and print a line a case with both speeds and the same bits (HEAD against the
# working tree, in a clean checkout the same code); skipped outside a git checkout, and
# in the ASan pass: ab.sh builds its own programs, without sanitizers, so the plain pass
# has already run the same thing (11 s of make test's critical path saved)
rc=0; tests/bench/ab.sh 2> /dev/null || rc=$?
((rc == 2)) || fail "ab.sh without arguments: exit $rc, not 2"
rc=0; tests/bench/ab.sh gemm HEAD 2> /dev/null || rc=$?
((rc == 2)) || fail "ab.sh gemm (no such file): exit $rc, not 2"
if ((asan)); then
    echo "test_bench: ab.sh SKIPPED in the ASan pass (its programs are built without sanitizers; the plain pass runs it)"
    ab="(ab.sh in the plain pass)"
elif git rev-parse --verify -q HEAD > /dev/null 2>&1; then
    out=$(tests/bench/ab.sh sgemm HEAD 1)
    [[ $(grep -c 'bits=same$' <<< "$out") == 12 ]] || fail "ab.sh sgemm: not 12 shapes with the same bits: $out"
    while read -r g; do
        awk -v a="$(get a_gflops "$g")" -v b="$(get b_gflops "$g")" 'BEGIN { exit !(a > 0 && b > 0) }' ||
            fail "ab.sh sgemm: a speed missing in: $g"
    done <<< "$out"
    for e in "wino 4" "direct 6"; do
        read -r what cases <<< "$e"
        out=$(tests/bench/ab.sh "$what" HEAD 1 16)
        [[ $(grep -c 'bits=same$' <<< "$out") == "$cases" ]] ||
            fail "ab.sh $what: not $cases geometries with the same bits: $out"
        while read -r g; do
            for k in fwd_ms_a fwd_ms_b dw_only_ms_a dw_only_ms_b dx_only_ms_a dx_only_ms_b; do
                awk -v v="$(get $k "$g")" 'BEGIN { exit !(v > 0) }' || fail "ab.sh $what: no $k in: $g"
            done
        done <<< "$out"
    done
    ab="ab.sh sgemm, wino and direct"
else
    echo "test_bench: ab.sh SKIPPED: not a git checkout"
    ab="(ab.sh skipped)"
fi
echo "test_bench: usage, resnet18/lenet5 executed and direct arithmetic as worked out by hand, --plain-layout 1 (plain pass), --gemms 1, --layers 1, $ab"
