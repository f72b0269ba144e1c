#!/bin/sh
# sweep.sh DIR "LRS" "INITS" "SEEDS" - the table of `make sweep`: for every learning
# rate and initial std, the runs DIR/LR@INIT@SEED of all seeds summarised per epoch
# by table1-seeds.sh (runs, then mean and sample standard deviation of the train,
# validation and test accuracy), as TSV with the columns lr and init first.
set -eu
[ $# -eq 4 ] || { echo "usage: sweep.sh DIR \"LRS\" \"INITS\" \"SEEDS\"" >&2; exit 2; }
dir=$1 lrs=$2 inits=$3 seeds=$4
here=$(dirname "$0")
first=1
for lr in $lrs; do
    for init in $inits; do
        set --
        for s in $seeds; do
            f=$dir/$lr@$init@$s/metrics.tsv
            [ -f "$f" ] || { echo "sweep.sh: $f: no such run" >&2; exit 1; }
            set -- "$@" "$f"
        done
        "$here/table1-seeds.sh" "$@" | awk -F'\t' -v lr="$lr" -v init="$init" -v first="$first" \
            'NR == 1 { if (first) print "lr\tinit\t" $0; next } { print lr "\t" init "\t" $0 }'
        first=0
    done
done
