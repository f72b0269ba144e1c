#!/usr/bin/env bash
# estimate.sh - say, before make starts, how much training and AGOP work is left
# and about how long it takes (make all / paper-short / figures / tables print it).
#
#   pipeline/estimate.sh WHAT SCALE RESNET_S AGOP_S RUN...
#
# WHAT      the goal's name and results directory, for the message
# SCALE     the share of the 60,000 training images a run uses (LIMIT/60000, or 1)
# RESNET_S  seconds per full-data ResNet-18 epoch (training and evaluation) and
# AGOP_S    per epoch's AGOPs and CNFA rows of a ResNet-18 run (EST_* in config.mk)
# RUN       DIR:EPOCHS:KIND, KIND resnet, or lenet (seconds an epoch: not counted)
# EST_MACHINE (environment): the machine RESNET_S and AGOP_S were measured on
#
# A run's epochs left to train are EPOCHS minus its epoch-NNN.npz files after epoch 0;
# its AGOPs left, the epochs without a conv1 CNFA row in DIR/../analysis/cnfa.  It
# reads the run directories only; it never fails the build (exit 0 always).
set -u
what=$1 scale=$2 resnet_s=$3 agop_s=$4
shift 4
left_train=0 left_agop=0
for spec in "$@"; do
    IFS=: read -r dir epochs kind <<< "$spec"
    have=$(find "$dir" -maxdepth 1 -name 'epoch-*.npz' 2> /dev/null | wc -l)
    todo=$((epochs - (have > 0 ? have - 1 : 0)))   # epoch-000.npz: no training
    ((todo < 0)) && todo=0
    [[ $kind == resnet ]] || continue
    left_train=$((left_train + todo))
    # one row per layer and epoch: an epoch with conv1's row counts as done
    done_ep=$(find "$(dirname "$dir")/analysis/cnfa" -maxdepth 1 -name "$(basename "$dir")@conv1@*" \
              2> /dev/null | wc -l)
    ag=$((epochs + 1 - done_ep)); ((ag < 0)) && ag=0
    left_agop=$((left_agop + ag))
done
secs=$(awk -v t="$left_train" -v a="$left_agop" -v s="$scale" -v r="$resnet_s" -v g="$agop_s" \
       'BEGIN { printf "%d", t * r * s + a * g + 0.5 }')
if ((left_train + left_agop == 0)); then
    echo "$what: every training and AGOP is done; what is left takes minutes at most" >&2
    exit 0
fi
if ((secs >= 3600)); then
    human="$((secs / 3600)) h $(((secs % 3600 + 59) / 60)) min"
else
    human="$(((secs + 59) / 60)) min"
fi
echo "$what: $left_train ResNet-18 epochs to train and $left_agop epochs' AGOPs to measure:" \
     "about $human on ${EST_MACHINE:-2 cores of an AMD EPYC} (EST_* in pipeline/config.mk; other" \
     "machines scale with their speed). Ctrl-C stops it; the same command resumes after the last" \
     "finished epoch" >&2
exit 0
