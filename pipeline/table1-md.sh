#!/bin/sh
# table1-md.sh TABLE1.TSV - Table 1 as Markdown, beside the report's numbers.
set -eu
printf '| epoch | train acc %% | val acc %% | test acc %% | report: train acc %% | report: "validation" (test set) acc %% |\n'
printf '|---|---|---|---|---|---|\n'
awk -F'\t' 'NR > 1 {
    split("17.947 61.179 90.162", tr, " "); split("10.28 82.58 94.29", te, " ")
    printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, tr[$1], te[$1]
}' "$1"
