#!/bin/sh
# table1-seeds.sh METRICS.TSV... - the Table 1 run over several seeds: per epoch the
# number of runs, then mean and sample standard deviation of the train accuracy
# (train_acc_batchmean, as the report measured it), the validation and the test
# accuracy, as TSV.
# table1-seeds.sh --md TABLE1-SEEDS.TSV - that table as Markdown beside the report's
# two runs (pipeline/report-table1.tsv).
set -eu
if [ "${1:-}" = --md ]; then
    report=$(dirname "$0")/report-table1.tsv
    printf '| epoch | runs | train acc %% mean ± sd | val acc %% mean ± sd | test acc %% mean ± sd | report run A: train / test | report run B: train / test |\n'
    printf '|---|---|---|---|---|---|---|\n'
    awk -F'\t' 'function pm(m, s) { return m == "" ? "" : s == "" ? m : m " ± " s }
        function pair(a, b) { return (a == "" ? "-" : a) " / " b }
        FNR == 1 { next }
        NR == FNR { r[$1] = pair($2, $3) " | " pair($4, $5); next }
        { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, pm($3, $4), pm($5, $6), pm($7, $8),
                 ($1 in r) ? r[$1] : " | " }' "$report" "$2"
    exit 0
fi
[ $# -ge 1 ] || { echo "usage: table1-seeds.sh METRICS.TSV... | --md TABLE.TSV" >&2; exit 2; }
for f in "$@"; do
    head -n 1 "$f" | grep -q 'train_acc_batchmean$' ||
        { echo "table1-seeds.sh: $f: not a metrics.tsv with train_acc_batchmean" >&2; exit 1; }
done
printf 'epoch\truns\ttrain_acc_mean\ttrain_acc_sd\tval_acc_mean\tval_acc_sd\ttest_acc_mean\ttest_acc_sd\n'
awk -F'\t' '
    FNR == 1 { next }
    {
        e = $1 + 0; if (e > maxe) maxe = e; seen[e]++
        # columns: 10 train_acc_batchmean, 5 val_acc, 7 test_acc
        split("10 5 7", col, " ")
        for (k = 1; k <= 3; k++) if ($(col[k]) != "") {
            n[e, k]++; s[e, k] += $(col[k]); q[e, k] += $(col[k]) * $(col[k])
        }
    }
    END {
        for (e = 0; e <= maxe; e++) {
            if (!(e in seen)) continue
            printf "%d\t%d", e, seen[e]
            for (k = 1; k <= 3; k++) {
                if (!n[e, k]) { printf "\t\t"; continue }
                m = s[e, k] / n[e, k]
                printf "\t%.3f", m
                if (n[e, k] > 1) {
                    v = (q[e, k] - n[e, k] * m * m) / (n[e, k] - 1)
                    printf "\t%.3f", (v > 0 ? sqrt(v) : 0)
                } else printf "\t"
            }
            printf "\n"
        }
    }' "$@"
