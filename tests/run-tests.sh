#!/usr/bin/env bash
# run-tests.sh BIN_DIR BUILD_DIR LABEL - run every test once against one build.
#
#   cmocka unit tests   BUILD_DIR/tests/test_*   (one per tests/unit/test_*.c)
#   shell tests         tests/sh/test_*.sh       (env BIN=BIN_DIR, FE_ROOT=repo root,
#                                                 FE_BUILD=BUILD_DIR)
#   PyTorch oracles     tests/torch/test_*.py    (run by /usr/bin/python3, env BIN, FE_ROOT;
#                       FE_SKIP_TORCH=REASON reports them skipped for that reason)
# A test passes with exit 0, is skipped with exit 77, fails otherwise.  Each test
# file counts once.  Ends with the line "LABEL: N passed, N failed, N skipped" and
# exits non-zero if anything failed.
set -u
if [[ $# -ne 3 ]]; then
    echo "usage: tests/run-tests.sh BIN_DIR BUILD_DIR LABEL" >&2
    exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
abs() { case $1 in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }
BIN=$(abs "$1")
build=$(abs "$2")
label=$3
export BIN FE_ROOT=$root FE_BUILD=$build
# Sanitizer settings (ignored by binaries built without them).  Reports go to
# files of their own: a tool whose refusal the test expects (exit 1) could
# otherwise hide a leak or an error reported after its message; any report fails
# the test that caused it.
reports=$build/sanitizer-reports
# exitcode=99: a tool that found an error exits 99, never the 1 of an expected
# refusal (also when it cannot write its report, as a tool run as nobody from a
# private checkout cannot)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:exitcode=99:log_path=$reports/asan
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:exitcode=99:log_path=$reports/ubsan
timeout_s=${FE_TEST_TIMEOUT:-600}
logs=$build/test-logs
mkdir -p "$logs"
pass=0 fail=0 skip=0

# run NAME CMD...: run one test, print its result line
run() {
    local name=$1
    shift
    local log
    log=$logs/$(echo "$name" | tr '/' '_').log
    local t0=$SECONDS rc=0 r
    rm -rf "$reports" && mkdir -p "$reports" && chmod 1777 "$reports"   # some tests run tools as nobody
    timeout "$timeout_s" "$@" > "$log" 2>&1 || rc=$?
    for r in "$reports"/*; do
        [[ -s $r ]] || continue
        { echo "sanitizer report $r:"; cat "$r"; } >> "$log"
        [[ $rc -eq 0 || $rc -eq 77 ]] && rc=98
    done
    local dt=$((SECONDS - t0))
    if [[ $rc -eq 0 ]]; then
        echo "PASS: $name (${dt}s)"
        pass=$((pass + 1))
    elif [[ $rc -eq 77 ]]; then
        echo "SKIPPED: $name ($(tail -n 1 "$log"))"
        skip=$((skip + 1))
    else
        [[ $rc -eq 124 ]] && echo "    (timed out after ${timeout_s}s)" >> "$log"
        echo "FAIL: $name (exit $rc; log: $log)"
        tail -n 40 "$log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}

shopt -s nullglob
for src in tests/unit/test_*.c; do
    name=$(basename "$src" .c)
    bin=$build/tests/$name
    if [[ -x $bin ]]; then
        run "tests/unit/$name" "$bin"
    else
        echo "FAIL: tests/unit/$name (not built: $bin missing; run make tests-build)"
        fail=$((fail + 1))
    fi
done
for t in tests/sh/test_*.sh; do
    run "$t" bash "$t"
done
torch_tests=(tests/torch/test_*.py)
if ((${#torch_tests[@]})); then
    if [[ -n ${FE_SKIP_TORCH:-} ]]; then      # FE_SKIP_TORCH=REASON
        for t in "${torch_tests[@]}"; do
            echo "SKIPPED: $t ($FE_SKIP_TORCH)"
            skip=$((skip + 1))
        done
    elif /usr/bin/python3 -c 'import torch, numpy' > /dev/null 2>&1; then
        for t in "${torch_tests[@]}"; do
            run "$t" /usr/bin/python3 "$t"
        done
    else
        for t in "${torch_tests[@]}"; do
            echo "SKIPPED: $t (python3-torch not installed: apt-get install python3-torch)"
            skip=$((skip + 1))
        done
    fi
fi
echo "$label: $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
