#!/usr/bin/env bash
# run-all.sh - what `make test` runs: the builds, then every part of the suite, two
# parts at a time, then each part's output in a fixed order and the time of each.
#
#   first: build (the release build and its unit tests; every part but asan and
#           fuzz-smoke needs it, so if it fails nothing else runs)
#   lane 1: valgrind (tests/run-valgrind.sh quick; valgrind runs a program's threads
#           one at a time, so it leaves the second core to lane 2), then results
#           (make quick + tests/check-results.py + tests/examples.sh, and make
#           table1-seeds on a small subset, -j2)
#   lane 2: plain, asan (builds build/asan first; leaves the PyTorch comparisons and
#           most finite differences to the plain part)
#   then, in whichever lane ends first: fuzz-smoke (builds its harnesses first); a
#           part whose build fails fails alone
# Side by side, OpenMP threads wait passively (OMP_WAIT_POLICY=passive): spinning
# threads of one part would take the core the other part needs (measured: the
# plain part's test_model took 192 s beside valgrind, against 64 s for the ASan
# build of it alone).  That changes no result, only who waits how.
#
# A part's output goes to build/test-all/PART.log and is printed when all are done;
# lines "PART: started" / "PART: done (N s)" show progress meanwhile.  Ends with
# "total: N passed, N failed, N skipped" (the sum of the parts' closing lines; a part
# that failed without such a line counts one failure) and exits non-zero if any part
# failed.  FE_TEST_LANES=1 runs the parts one after another instead.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
make=${MAKE:-make}
out=build/test-all
rm -rf "$out" && mkdir -p "$out"
t_all=$SECONDS

# part NAME CMD...: run one part, its output to $out/NAME.log, its exit status and
# seconds to $out/NAME.rc and $out/NAME.sec
part() {
    local name=$1 t0=$SECONDS rc=0
    shift
    echo "$name: started"
    "$@" > "$out/$name.log" 2>&1 || rc=$?
    echo "$rc" > "$out/$name.rc"
    echo $((SECONDS - t0)) > "$out/$name.sec"
    echo "$name: done ($((SECONDS - t0)) s$( ((rc)) && echo ", FAILED"))"
}

build() { $make --no-print-directory -j2 SAN=0 tests-build; }
asan() {
    $make --no-print-directory -j2 SAN=1 tests-build || return 1
    # FE_TEST_MEMCHECK: the unit tests keep every code path but fewer finite
    # differences (test_model: 60 s instead of 4 min); the plain part runs them all
    FE_TEST_MEMCHECK=1 FE_SKIP_TORCH="numerical oracles: run in the plain part" \
        tests/run-tests.sh build/asan/bin build/asan asan
}
results() {
    rm -rf runs/quick-mnist results/quick build/test-seeds || return 1
    local t0=$SECONDS
    $make --no-print-directory quick || return 1
    echo "make quick: $((SECONDS - t0)) s"
    # (4 3 3: the LeNet-5, ResNet-18 and Table 1 run epochs of the quick profile)
    tests/check-results.py results/quick 4 3 3 || return 1
    # every example of the README and the manual pages, on make quick's runs
    tests/examples.sh || return 1
    # make table1-seeds, two seeds side by side, on 256 images into build/test-seeds
    local s=build/test-seeds
    $make --no-print-directory -j2 table1-seeds PROFILE=quick SEEDS="1 2" LIMIT=256 TEST_LIMIT=100 \
        RUNS=$s/runs RES=$s/results || return 1
    tests/check-results.py --seeds $s/results/tables/table1-seeds.tsv $s/runs/resnet18-table1-*-seed[12]/metrics.tsv
}
# fuzz-smoke (its own clang build, nothing shared) goes to the lane that ends
# first: on a 2-core Zen 5 lane 2 ran 846 s before it and lane 1 655 s, on an
# Intel Xeon 421 and 441 s, so a fixed lane was the slow one on one of them.
fuzz_if_first() {
    mkdir "$out/fuzz-smoke.claim" 2> /dev/null || return 0
    part fuzz-smoke $make --no-print-directory -j2 fuzz-smoke
}
lane1() {
    part valgrind tests/run-valgrind.sh quick
    part results results
    fuzz_if_first
}
lane2() {
    part plain tests/run-tests.sh bin build/release plain
    part asan asan
    fuzz_if_first
}

part build build
if [[ $(cat "$out/build.rc") -ne 0 ]]; then
    cat "$out/build.log"
    echo "total: 0 passed, 1 failed, 0 skipped"
    echo "make test: FAILED (the release build failed; nothing else was run)"
    exit 1
fi
if [[ ${FE_TEST_LANES:-2} == 1 ]]; then
    lane1
    lane2
else
    export OMP_WAIT_POLICY=passive
    lane1 &
    lane2
    wait
fi

parts=(build plain asan valgrind fuzz-smoke results)
pass=0 fail=0 skip=0 failed=()
for p in "${parts[@]}"; do
    echo
    echo "==== $p ($(cat "$out/$p.sec") s) ===="
    cat "$out/$p.log"
    rc=$(cat "$out/$p.rc")
    # the part's own closing line "LABEL: N passed, N failed[, N skipped]"
    # (every such line of the part, unindented: results has two)
    read -r a b c < <(grep -E '^[^ ]+( \([a-z]+\))?: [0-9]+ passed, [0-9]+ failed' "$out/$p.log" |
        sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' |
        awk '{ a += $1; b += $2; c += $3 } END { print a + 0, b + 0, c + 0 }')
    pass=$((pass + a)) fail=$((fail + b)) skip=$((skip + c))
    if ((rc != 0)); then
        failed+=("$p")
        ((b == 0)) && fail=$((fail + 1))   # failed without counting a failure
    fi
done
echo
echo "time per part (s; lane 1: valgrind, results; lane 2: plain, asan; side by side; fuzz-smoke in the lane that ended first):"
for p in "${parts[@]}"; do printf '  %-11s %5d%s\n' "$p" "$(cat "$out/$p.sec")" "$( (($(cat "$out/$p.rc"))) && echo "  FAILED")"; done
printf '  %-11s %5d\n' "wall" $((SECONDS - t_all))
echo "total: $pass passed, $fail failed, $skip skipped"
if ((${#failed[@]})); then
    echo "make test: FAILED (${failed[*]}; see the logs above)"
    exit 1
fi
echo "make test: all passed"
