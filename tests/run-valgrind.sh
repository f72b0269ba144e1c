#!/usr/bin/env bash
# run-valgrind.sh - the tests again under valgrind memcheck (release build).
#
# Every cmocka unit test runs under valgrind, and the shell tests run with each
# tool in bin/ replaced by a wrapper that execs it under valgrind.  A test fails
# on any memcheck error (invalid read or write, use of uninitialised memory, bad
# free) and on any definitely or indirectly lost block: no leaks in the tools.
# ("Possibly lost" and still-reachable blocks are the thread pools of OpenMP and
# OpenBLAS, which live until exit by design.)
# Usage: tests/run-valgrind.sh [quick|full]
#   quick  (part of make test) the unit tests of the library and the layers, and
#          the shell test of the analysis tools that run the models (test_analysis)
#          with FE_SKIP_RESNET=1: it leaves out its ResNet-18 computation (a
#          ResNet-18 forward and backward of a few images takes minutes under
#          memcheck), and runs its refusals outside memcheck (FE_VG_DIRECT; their
#          error paths are leak-checked by LeakSanitizer in make test's ASan part).
#   full   (make test-valgrind) the same with the ResNet-18 steps, plus
#          test_badinput.sh (bad input to every tool, mostly refusals: 203 s of the
#          quick pass when it was in it, under LeakSanitizer in make test's ASan
#          part), run from a copy of the checkout's tests in a mode-700 directory,
#          so that this pass also checks that a checkout nobody else can enter
#          passes (its nobody check must run); the shell tests of the I/O tools
#          (test_idx2bin, test_heatmap, test_faults: their readers and writers are
#          already under memcheck through the unit tests, under ASan in make test
#          and fuzzed), and test_train.sh without its ResNet-18 determinism check
#          (two ResNet-18 trainings: not done after 20 minutes under memcheck; the
#          same training code runs here through test_badinput.sh's ResNet-18 run).
#          Here the refusals of test_analysis.sh run under memcheck too.
# Left out of both, as too slow under valgrind: test_model (its gradient checks
# of ResNet-18 had not finished after 20 minutes), test_kill.sh (its kills at
# random moments in the first second would mostly land in valgrind's start-up)
# and the PyTorch comparisons.  They run in the plain and ASan passes.
# Override the lists with VG_UNITS / VG_SHELL.
# The wrappers pin OPENBLAS_CORETYPE=Haswell: valgrind's virtual CPU has no
# AVX-512, and a pinned core keeps train and agop from re-executing themselves
# to pick one (a re-executed child would run outside valgrind).
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
mode=${1:-full}
case $mode in
    full) unset FE_SKIP_RESNET ;;
    quick) export FE_SKIP_RESNET=1 ;;
    *) echo "usage: tests/run-valgrind.sh [quick|full]" >&2; exit 2 ;;
esac
if ! command -v valgrind > /dev/null; then
    echo "SKIPPED: valgrind not installed (apt-get install valgrind)"
    echo "valgrind: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
units=${VG_UNITS:-test_npy test_npz test_idx test_zin test_esc test_io test_heatmap test_layers test_tensor}
shells="test_analysis"
[[ $mode == full ]] && shells+=" test_badinput test_idx2bin test_heatmap test_faults test_train"   # see above
shells=${VG_SHELL:-$shells}
vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=yes)
logs=build/valgrind/logs
rm -rf "$logs" && mkdir -p "$logs"
# The wrappers, the binaries they run and the memcheck reports live outside the
# checkout, in a directory every user can enter: test_badinput.sh runs train as
# nobody, who must read the wrapper script and the binary and write a report, also
# when the checkout sits in a private directory (a clone under /root).
stage=$(mktemp -d "${TMPDIR:-/tmp}/featevo-valgrind.XXXXXX") || exit 1
# the private copy for test_badinput.sh (mktemp -d: mode 700)
priv=$(mktemp -d) || exit 1
chmod 700 "$priv"
trap 'rm -rf "$stage" "$priv"' EXIT
mkdir "$priv/featevo" && cp -r Makefile tests "$priv/featevo/"
wrap=$stage/bin reports=$stage/reports
mkdir -p "$wrap" "$stage/real" "$reports"
chmod 755 "$stage" "$wrap" "$stage/real"
chmod 1777 "$reports"
for t in bin/*; do
    [[ -x $t ]] || continue
    name=$(basename "$t")
    install -m 755 "$t" "$stage/real/$name"
    # every run of a tool reports to its own file (tests that expect a failure
    # would not notice exit 99); a non-empty report fails the test that ran it
    printf '#!/bin/sh\nOPENBLAS_CORETYPE=Haswell exec %s %q %q "$@"\n' "${vg[*]}" \
        "--log-file=$reports/report.%p" "$stage/real/$name" > "$wrap/$name"
    chmod 755 "$wrap/$name"
done
# Can nobody enter the staging directory?  Not if TMPDIR is private: then
# test_badinput.sh skips its check as nobody, rightly, and that is no failure here.
nobody_ok=0
[[ $(id -u) -eq 0 ]] && command -v setpriv > /dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$wrap" && nobody_ok=1
pass=0 fail=0 skip=0
result() {  # NAME RC LOG SECONDS
    if [[ $2 -eq 0 ]]; then
        echo "PASS: $1 (${4}s)"; pass=$((pass + 1))
    elif [[ $2 -eq 77 ]]; then
        echo "SKIPPED: $1 ($(tail -n 1 "$3"))"; skip=$((skip + 1))
    else
        echo "FAIL: $1 (exit $2; log: $3)"; tail -n 40 "$3" | sed 's/^/    /'; fail=$((fail + 1))
    fi
}
for u in $units; do
    log=$logs/$u.log t0=$SECONDS rc=0
    FE_ROOT=$root "${vg[@]}" "build/release/tests/$u" > "$log" 2>&1 || rc=$?
    result "valgrind tests/unit/$u" $rc "$log" $((SECONDS - t0))
done
for s in $shells; do
    log=$logs/$s.log t0=$SECONDS rc=0
    rm -f "$reports"/report.*
    skip_rn=${FE_SKIP_RESNET:-}
    [[ $s == test_train ]] && skip_rn=1
    from=$root
    [[ $s == test_badinput ]] && from=$priv/featevo
    direct=
    [[ $mode == quick ]] && direct=$stage/real
    BIN=$wrap FE_ROOT=$from FE_SKIP_RESNET=$skip_rn FE_VALGRIND=1 FE_VG_DIRECT=$direct timeout 1200 bash "$from/tests/sh/$s.sh" > "$log" 2>&1 || rc=$?
    if [[ $s == test_badinput && $rc -eq 0 && $nobody_ok == 1 ]] &&
        grep -q "SKIPPED the unwritable --out check" "$log"; then
        echo "FAIL: from a mode-700 directory, the check as user nobody was skipped" >> "$log"
        rc=1
    fi
    for r in "$reports"/report.*; do
        [[ -s $r ]] || continue
        { echo "memcheck report $r:"; cat "$r"; } >> "$log"
        [[ $rc -eq 0 ]] && rc=98
    done
    result "valgrind tests/sh/$s.sh" $rc "$log" $((SECONDS - t0))
done
echo "valgrind ($mode): $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
