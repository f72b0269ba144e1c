#!/usr/bin/env bash
# run-fuzz.sh SECONDS LABEL [RUNS] - run each libFuzzer harness in build/fuzz/ for
# SECONDS, or, when RUNS is given, for RUNS executions (no time limit).
#
# New inputs go to build/fuzz/corpus/NAME/ (the committed seeds in
# tests/fuzz/corpus/NAME/ are read, never written); crashes to
# build/fuzz/artifacts/.  Prints one line per harness and the summary line
# "LABEL: N passed, N failed, N skipped".
set -u
secs=${1:-5}
label=${2:-fuzz}
runs_limit=${3:-}
if [[ -n $runs_limit ]]; then
    limit=(-runs="$runs_limit")
    what="$runs_limit runs"
else
    limit=(-max_total_time="$secs")
    what="${secs}s"
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
pass=0 fail=0 skip=0
mkdir -p build/fuzz/artifacts build/fuzz/logs
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    kind=${name#fuzz_}
    bin=build/fuzz/$name
    if [[ ! -x $bin ]]; then
        echo "SKIPPED: $name (not built; libFuzzer needs clang)"
        skip=$((skip + 1))
        continue
    fi
    mkdir -p "build/fuzz/corpus/$kind"
    log=build/fuzz/logs/$name.log
    t0=$(date +%s)
    if "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$name-" \
        "build/fuzz/corpus/$kind" "tests/fuzz/corpus/$kind" > "$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "PASS: $name ($what: ${runs:-?} executions in $(( $(date +%s) - t0 ))s, no crash)"
        pass=$((pass + 1))
    else
        echo "FAIL: $name (log: $log; crash input in build/fuzz/artifacts/)"
        tail -n 40 "$log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done
echo "$label: $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
