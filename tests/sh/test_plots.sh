#!/usr/bin/env bash
# test_plots.sh - the gnuplot scripts' epoch axis: a tic every epoch up to 12
# epochs, every 5 beyond (at 30 epochs one label per epoch ran together).  Each
# script is run on made-up data and asked, after it ends, for its x tics.
# Env: FE_ROOT (repository root).
set -euo pipefail
: "${FE_ROOT:?set FE_ROOT}"
command -v gnuplot > /dev/null || { echo "SKIP: test_plots.sh needs gnuplot"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
G=$FE_ROOT/pipeline

# xstep SCRIPT VARS: the step of the x tics the script leaves set
xstep() {
    gnuplot -e "$2" "$G/$1" -e "show xtics" 2>&1 | sed -n 's/^[[:space:]]*series by \([0-9.]*\).*/\1/p'
}

metrics() {   # metrics N: a train metrics.tsv for epochs 0..N
    printf 'epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\ttest_loss\ttest_acc\tseconds\timages_per_s\ttrain_acc_batchmean\n'
    for e in $(seq 0 "$1"); do printf '%d\t1\t50\t1\t50\t1\t50\t1\t1\t50\n' "$e"; done
}
for c in 3:1 12:1 13:5 30:5; do
    metrics "${c%%:*}" > "$tmp/m.tsv"
    s=$(xstep plot-curves.gp "metrics='$tmp/m.tsv'; out='/dev/null'; name='t'")
    [[ $s == "${c##*:}" ]] || fail "plot-curves.gp, ${c%%:*} epochs: x tics by '$s', want ${c##*:}"
    checks=$((checks + 1))
done

# cnfa.tsv: the last panel (the Table 1 run) decides the step left set; the
# correlations lie inside the y range [-0.2, 1.05] but the epochs do not, so
# counting them with the y range set would find epoch 1 as the last
cnfa() {   # cnfa N: LeNet-5 for 4 epochs, both ResNet-18 runs for N
    printf 'model\tlayer\tepoch\tcorr_nfm_agop\tcorr_nfm_init\n'
    for e in $(seq 0 4); do printf 'lenet5\tconv1\t%d\t0.9\t1\n' "$e"; done
    for m in resnet18 t1run; do
        for e in $(seq 0 "$1"); do printf '%s\tconv1\t%d\t0.5\t0.9\n' "$m" "$e"; done
    done
}
for c in 3:1 30:5; do
    cnfa "${c%%:*}" > "$tmp/c.tsv"
    s=$(xstep plot-cnfa.gp "data='$tmp/c.tsv'; out='/dev/null'; lenet='conv1'; resnet='conv1'; lr_resnet='1e-4'; t1='t1run'")
    [[ $s == "${c##*:}" ]] || fail "plot-cnfa.gp, ${c%%:*} epochs: x tics by '$s', want ${c##*:}"
    checks=$((checks + 1))
done

# sweep.tsv: epochs in column 3
printf 'lr\tinit\tepoch\truns\ttrain_acc_mean\ttrain_acc_sd\tval_acc_mean\tval_acc_sd\ttest_acc_mean\ttest_acc_sd\n' > "$tmp/s.tsv"
for e in $(seq 0 20); do printf '1e-7\t1e-4\t%d\t2\t50\t1\t50\t1\t50\t1\n' "$e" >> "$tmp/s.tsv"; done
s=$(xstep plot-sweep.gp "data='$tmp/s.tsv'; out='/dev/null'; groups='1e-7/1e-4'; name='t'")
[[ $s == 5 ]] || fail "plot-sweep.gp, 20 epochs: x tics by '$s', want 5"
checks=$((checks + 1))
echo "test_plots.sh: $checks checks passed"
