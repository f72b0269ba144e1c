#!/bin/sh
# table1-md.sh TABLE1.TSV - Table 1 as Markdown, beside the report's two runs
# (pipeline/report-table1.tsv, from pipeline/SOURCES.md: run A is the
# paper's Table 1, a new optimiser every epoch; run B kept one optimiser).
# "train" is the mean of the epoch's per-batch accuracies in all columns; the
# report's "validation" column is the test set.
set -eu
report=$(dirname "$0")/report-table1.tsv
printf '| epoch | train acc %% | val acc %% | test acc %% | report run A: train | run A: test | report run B: train | run B: test |\n'
printf '|---|---|---|---|---|---|---|---|\n'
awk -F'\t' 'FNR == 1 { next }
    NR == FNR { r[$1] = $2 " | " $3 " | " $4 " | " $5; next }
    { printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, ($1 in r) ? r[$1] : " | | | " }' \
    "$report" "$1"
