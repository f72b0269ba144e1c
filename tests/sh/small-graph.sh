# small-graph.sh - sourced by test_pipeline.sh and test_slurm.sh: the small Make
# graph they run with and without a cluster, and the byte-for-byte comparison of
# two of its outputs.  Needs fail() and $tmp from the test that sources it.

# LeNet-5's curves, maps and CNFA rows, and `make sweep` of ResNet-18 over 2
# learning rates x 2 seeds, on 128 images
settings=(PROFILE=quick LIMIT=128 TEST_LIMIT=64 EPOCHS_LENET=2 EPOCHS_T1=1 FEATURE_EPOCHS="0 1"
          SEEDS="1 2" LRS="1e-3 1e-2" THREADS=1 AGOP_COUNT_LENET=32)
# graph_targets DIR: its targets with runs in DIR/runs and results in DIR/res
graph_targets() {
    local d=$1
    echo "$d/res/figures/fig2-lenet5-curves.png" "$d/res/figures/fig4-lenet5-conv1-maps.png" \
        "$d/runs/analysis/cnfa/lenet5@conv1@002.tsv" "$d/runs/analysis/cnfa/lenet5@fc1@001.tsv" \
        "$d/res/tables/lenet5-metrics.tsv" sweep
}
# graph DIR MAKE-OPTIONS...: make the small graph into DIR (log: DIR.log)
graph() {
    local d=$1
    shift
    # shellcheck disable=SC2046
    make --no-print-directory "$@" "${settings[@]}" RUNS="$d/runs" RES="$d/res" \
        $(graph_targets "$d") > "$d.log" 2>&1 || fail "make $*: $(tail -n 20 "$d.log")"
}
# same_files A B WHAT: the same files under A and B, byte for byte (metrics.tsv:
# without its timing columns), at least 40 of them; sets $nfiles
same_files() {
    local a=$1 b=$2 what=$3 f
    (cd "$a" && find . -type f ! -name '*.tmp' | sort) > "$tmp/files.a"
    (cd "$b" && find . -type f ! -name '*.tmp' | sort) > "$tmp/files.b"
    cmp -s "$tmp/files.a" "$tmp/files.b" || fail "$what: different files: $(diff "$tmp/files.a" "$tmp/files.b")"
    nfiles=0
    while read -r f; do
        case $f in
        */metrics.tsv) cmp -s <(cut -f1-7,10 "$a/$f") <(cut -f1-7,10 "$b/$f") ;;
        *) cmp -s "$a/$f" "$b/$f" ;;
        esac || fail "$what: $f differs"
        nfiles=$((nfiles + 1))
    done < "$tmp/files.a"
    ((nfiles > 40)) || fail "$what: only $nfiles files compared"
}
