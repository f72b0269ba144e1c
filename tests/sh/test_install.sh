#!/usr/bin/env bash
# test_install.sh - featevo as an installed Unix tool suite:
#   - `make install DESTDIR=... PREFIX=/usr` puts the front end in bindir, every
#     tool in libexecdir/featevo, every man page in man1/man7; `man -l` renders
#     each page and `mandoc -Tlint` finds nothing in tools/man/;
#   - the installed tools run a pipe (train, then snapshot | featmat | heatmap)
#     from a directory outside the checkout, through `featevo TOOL`;
#   - the Python module lands in share/featevo/python and, from there, reads
#     that run's metrics.tsv (numpy) and loads its checkpoint (if torch is there);
#   - the front end: --help lists every tools/NAME.c with the summary its first
#     line gives, --exec-path, --version (every tool's --version says the same
#     version), unknown tools refused (exit 2, "featevo: ...");
#   - `make uninstall` with the same variables leaves no file behind;
#   - `make help` (and plain `make`) lists the main jobs first, and every target
#     it names exists;
#   - pipeline/setup-debian.sh --auto (what make quick/all/test run first), with
#     stand-ins for dpkg-query, apt-get, id and sudo: silent when all is there,
#     installs what is missing as root, stops with the one command to run when it
#     may not, and `make quick` stops before building anything then.
# Env: BIN (unused: the installed copy is tested), FE_ROOT (repository root).
set -euo pipefail
: "${FE_ROOT:?set FE_ROOT}"
# make is run here as a user would, not as a sub-make of `make test`
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
FE_ROOT=$(cd "$FE_ROOT" && pwd)
cd "$FE_ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
# every tools/NAME.c is a tool
tools=()
for f in tools/*.c; do tools+=("$(basename "$f" .c)"); done

# --- man pages lint-clean in the checkout ----------------------------------------------
command -v mandoc > /dev/null || fail "mandoc is not installed (pipeline/setup-debian.sh installs it)"
lint=$(mandoc -Tlint tools/man/*.1 tools/man/*.7 2>&1 || true)
[[ -z $lint ]] || fail "mandoc -Tlint tools/man: $lint"
for t in "${tools[@]}"; do
    [[ -f tools/man/featevo-$t.1 ]] || fail "no man page tools/man/featevo-$t.1"
done
[[ -f tools/man/featevo.1 && -f tools/man/featevo.7 ]] || fail "no featevo.1 or featevo.7"
ok "a man page per tool, featevo(1) and featevo(7), mandoc -Tlint silent"

# --- install into a staging directory ---------------------------------------------------
stage=$tmp/stage
make -s --no-print-directory install DESTDIR="$stage" PREFIX=/usr > "$tmp/install.log" 2>&1 ||
    fail "make install: $(cat "$tmp/install.log")"
[[ -x $stage/usr/bin/featevo ]] || fail "no $stage/usr/bin/featevo"
for t in "${tools[@]}"; do
    [[ -x $stage/usr/libexec/featevo/$t ]] || fail "tool $t not installed"
    [[ ! -e $stage/usr/bin/$t ]] || fail "bare $t installed into bindir"
    [[ -f $stage/usr/share/man/man1/featevo-$t.1 ]] || fail "man page featevo-$t.1 not installed"
done
[[ -f $stage/usr/share/man/man1/featevo.1 && -f $stage/usr/share/man/man7/featevo.7 ]] ||
    fail "featevo.1 or featevo.7 not installed"
cmp -s "$stage/usr/share/featevo/python/featevo.py" tools/python/featevo.py ||
    fail "tools/python/featevo.py not installed as share/featevo/python/featevo.py"
n=0
for page in "$stage"/usr/share/man/man[17]/*; do
    out=$(MANWIDTH=80 man -l -P cat "$page" 2> "$tmp/man.err") || fail "man -l $page: $(cat "$tmp/man.err")"
    [[ $(wc -l <<< "$out") -gt 10 ]] || fail "man -l $page rendered only: $out"
    n=$((n + 1))
done
ok "make install DESTDIR=... PREFIX=/usr: featevo in bin, ${#tools[@]} tools in libexec/featevo, $n man pages that man -l renders"

# --- the installed suite, run from elsewhere ------------------------------------------
fe=$stage/usr/bin/featevo
away=$tmp/elsewhere
mkdir "$away"
cd "$away"
"$fe" --help > help.txt
version=$("$fe" --version | sed -n 's/^featevo //p')
for t in "${tools[@]}"; do
    # listed with the summary its source opens with ("/* NAME - summary.")
    summary=$(sed -n "1s|^/\* $t - \(.*\)|\1|p" "$FE_ROOT/tools/$t.c" | sed 's| *\*/$||; s|\.$||')
    [[ -n $summary ]] || fail "tools/$t.c does not open with '/* $t - summary.'"
    grep -qxF "  $(printf '%-8s' "$t")  $summary" help.txt || fail "featevo --help does not list $t: $summary"
    [[ $("$fe" "$t" --version) == "$t (featevo) $version" ]] ||
        fail "featevo $t --version: '$("$fe" "$t" --version)', not '$t (featevo) $version'"
    # one command-line style: options anywhere, after an operand too; one usage
    # spelling; one message for an unknown option
    [[ $("$fe" "$t" x.npy --version) == "$t (featevo) $version" ]] || fail "$t x.npy --version"
    "$fe" "$t" x.npy -h > "$t.help" || fail "$t x.npy -h: exit $?"
    [[ $(head -1 "$t.help") == "usage: $t "* ]] || fail "$t -h: $(head -1 "$t.help")"
    "$fe" "$t" --help | cmp -s - "$t.help" || fail "$t --help differs from $t x.npy -h"
    rc=0
    "$fe" "$t" x.npy --bogus < /dev/null > /dev/null 2> err.txt || rc=$?
    ((rc == 2)) && [[ $(cat err.txt) == "$t: unknown option '--bogus' (see $t --help)" ]] ||
        fail "$t --bogus: exit $rc, '$(cat err.txt)'"
    # the help's examples use the runs make quick leaves (runs/quick-mnist/...)
    ! grep -q "runs/\(lenet5\|resnet18\|mnist\)/" "$t.help" || fail "$t --help: $(grep "runs/" "$t.help")"
done
ok "every tool: --version, -h after an operand, 'usage: TOOL', \"unknown option '--bogus'\""
[[ $(grep -c "^  [a-z0-9]\+ " help.txt) -eq ${#tools[@]} ]] || fail "featevo --help lists other tools: $(cat help.txt)"
[[ $("$fe" --exec-path) == "$stage/usr/libexec/featevo" ]] || fail "--exec-path: $("$fe" --exec-path)"
"$fe" --version | grep -q '^featevo [0-9]' || fail "--version: $("$fe" --version)"
rc=0
"$fe" frobnicate 2> err.txt || rc=$?
((rc == 2)) && grep -q "^featevo: 'frobnicate' is not a featevo tool" err.txt ||
    fail "unknown tool: exit $rc, $(cat err.txt)"
"$fe" train --help | grep -q -- "--model" || fail "featevo train --help"
# 32 images: an IDX file made here (MNIST's format), labels 0..9
{
    printf '\x00\x00\x08\x03\x00\x00\x00\x20\x00\x00\x00\x1c\x00\x00\x00\x1c'
    head -c $((32 * 784)) /dev/urandom
} > x.idx
{
    printf '\x00\x00\x08\x01\x00\x00\x00\x20'
    for i in $(seq 0 31); do printf "\\x0$((i % 10))"; done
} > y.idx
"$fe" idx2bin -o x.npy x.idx
"$fe" idx2bin -o y.npy y.idx
"$fe" train --model lenet5 --images x.npy --labels y.npy --out run --epochs 1 --batch 16 \
    --optimizer sgd --lr 0.01 --seed 0 --threads 1 --quiet
"$fe" snapshot --ckpt run/epoch-001.npz --tensor conv1.weight | "$fe" featmat | "$fe" heatmap -o nfm.png
[[ $(head -c 8 nfm.png | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "nfm.png is not a PNG"
ok "installed tools, from $away: idx2bin, train, then snapshot | featmat | heatmap -> a PNG"
# the installed Python module, on that run (numpy only; the model too where torch is)
if /usr/bin/python3 -c 'import numpy' 2> /dev/null; then
    py=$(PYTHONPATH=$stage/usr/share/featevo/python /usr/bin/python3 -c '
import featevo
print(featevo.__file__, featevo.read_metrics("run/metrics.tsv")["epoch"].tolist(), end=" ")
print(type(featevo.load("run/epoch-001.npz")).__name__ if featevo.torch else "LeNet5")' 2>&1) ||
        fail "the installed featevo.py: $py"
    [[ $py == "$stage/usr/share/featevo/python/featevo.py [0, 1] LeNet5" ]] ||
        fail "the installed featevo.py: $py"
    ok "the installed featevo.py reads the run's metrics.tsv$(/usr/bin/python3 -c 'import torch' \
        2> /dev/null && echo " and loads its checkpoint")"
fi
cd "$FE_ROOT"

# --- the front end of a checkout, and through a symbolic link --------------------------
# A checkout's layout in $tmp/co: bin/ with the front end (a copy: the script is
# what is tested) and the tools, tools/man/ with the pages, run from elsewhere.
co=$tmp/co
mkdir -p "$co/bin" "$co/tools" "$tmp/home/bin" "$tmp/links"
feb=${BIN:-$FE_ROOT/bin}
[[ -x $feb/featevo ]] || make -s --no-print-directory "$feb/featevo" BIN="$feb" > /dev/null
cp "$feb/featevo" "$co/bin/featevo"
for t in "${tools[@]}"; do ln -s "$(cd "$feb" && pwd)/$t" "$co/bin/$t"; done
ln -s "$FE_ROOT/tools/man" "$co/tools/man"
cd "$away"
# featevo help TOOL in a checkout: tools/man/featevo-TOOL.1 (nothing installed anywhere)
out=$(MANPAGER=cat MANWIDTH=80 MANPATH=$tmp/nowhere "$co/bin/featevo" help agop 2> "$tmp/help.err") ||
    fail "featevo help agop in a checkout: exit $?: $(cat "$tmp/help.err")"
grep -q "featevo-agop" <<< "$out" && grep -q "average gradient outer product" <<< "$out" ||
    fail "featevo help agop in a checkout shows: $(head -5 <<< "$out")"
# ~/bin/featevo -> checkout/bin/featevo: the checkout's tools; also a relative link and a
# link to a link
real=$(cd "$co/bin" && pwd -P)
ln -s "$co/bin/featevo" "$tmp/home/bin/featevo"
ln -s ../../co/bin/featevo "$tmp/home/bin/featevo-rel"
ln -s "$tmp/home/bin/featevo" "$tmp/links/featevo"
for link in "$tmp/home/bin/featevo" "$tmp/home/bin/featevo-rel" "$tmp/links/featevo"; do
    [[ $("$link" --exec-path) == "$real" ]] || fail "$link --exec-path: $("$link" --exec-path), not $real"
    [[ $("$link" corr --version 2>&1) == "corr (featevo) $version" ]] ||
        fail "$link corr --version: $("$link" corr --version 2>&1)"
done
out=$(MANPAGER=cat MANWIDTH=80 MANPATH=$tmp/nowhere "$tmp/links/featevo" help stack 2>&1) ||
    fail "featevo help stack through a link: exit $?: $out"
grep -q "featevo-stack" <<< "$out" || fail "featevo help stack through a link: $(head -3 <<< "$out")"
cd "$FE_ROOT"
ok "a checkout's front end: help TOOL shows tools/man/featevo-TOOL.1; through symbolic links (absolute, relative, chained) it runs the checkout's tools"

# --- install-strip: the same files, the programs without debugging symbols -----------
stage2=$tmp/stage-strip
make -s --no-print-directory install-strip DESTDIR="$stage2" PREFIX=/usr > "$tmp/install-strip.log" 2>&1 ||
    fail "make install-strip: $(cat "$tmp/install-strip.log")"
diff <(cd "$stage" && find . | sort) <(cd "$stage2" && find . | sort) > /dev/null ||
    fail "make install-strip installs other files than make install"
for t in "${tools[@]}"; do
    readelf -S "$stage/usr/libexec/featevo/$t" | grep -q '\.symtab' || fail "make install stripped $t"
    ! readelf -S "$stage2/usr/libexec/featevo/$t" | grep -q '\.symtab\|\.debug_' || fail "make install-strip: $t not stripped"
    "$stage2/usr/libexec/featevo/$t" --version > /dev/null || fail "stripped $t does not run"
done
cmp -s "$stage/usr/bin/featevo" "$stage2/usr/bin/featevo" || fail "install-strip changed the front end"
ok "make install-strip: the same files, every tool without symbols, and they run"

# --- uninstall ------------------------------------------------------------------------
make -s --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr > "$tmp/uninstall.log" 2>&1 ||
    fail "make uninstall: $(cat "$tmp/uninstall.log")"
left=$(find "$stage" -type f)
[[ -z $left ]] || fail "make uninstall left: $left"
ok "make uninstall removes every installed file"

# --- make help --------------------------------------------------------------------------
make --no-print-directory > "$tmp/help.txt"
cmp -s "$tmp/help.txt" <(make --no-print-directory help) || fail "make and make help differ"
first=$(grep -m1 -o 'make [a-z0-9-]*' "$tmp/help.txt")
[[ $first == "make quick" ]] || fail "make help: the first job listed is '$first', not make quick"
for job in quick all paper-short table1-seeds sweep test bench tools data install uninstall; do
    grep -q "make $job\b" "$tmp/help.txt" || fail "make help does not list $job"
done
make -pq --no-print-directory help > "$tmp/db.txt" 2> /dev/null || true
for target in $(grep -o 'make [a-z][a-z0-9-]*' "$tmp/help.txt" | cut -d' ' -f2 | sort -u); do
    grep -q "^$target:" "$tmp/db.txt" || fail "make help names '$target', which make does not define"
done
rc=0
make -n --no-print-directory all PRECISION=fp16 > "$tmp/prec.out" 2>&1 || rc=$?
((rc != 0)) && grep -q "PRECISION must be fp32 or bf16, not 'fp16'" "$tmp/prec.out" ||
    fail "make all PRECISION=fp16: exit $rc, $(cat "$tmp/prec.out")"
ok "make (= make help) lists the main jobs first, and every target it names exists; PRECISION=fp16 is refused"

# --- setup-debian.sh --auto with stand-ins ----------------------------------------------
# What these checks set, not what make test was run with (FEATEVO_SETUP=no make
# test is a documented way to skip the set-up, and would silence every one)
unset FEATEVO_SETUP
stubs=$tmp/stubs
mkdir "$stubs"
# dpkg-query: every package installed except those in $MISSING
cat > "$stubs/dpkg-query" << 'EOF'
#!/bin/sh
eval "pkg=\${$#}"
for p in $MISSING; do [ "$p" = "$pkg" ] && exit 1; done
printf 'install ok installed'
EOF
cat > "$stubs/apt-get" << 'EOF'
#!/bin/sh
echo "apt-get $*" >> "$LOG"
EOF
cat > "$stubs/id" << 'EOF'
#!/bin/sh
echo "$FAKE_UID"
EOF
cat > "$stubs/sudo" << 'EOF'
#!/bin/sh
exit 1
EOF
chmod +x "$stubs"/*
export LOG=$tmp/apt.log
# run_auto MISSING UID [GROUP]: --auto --for GROUP (default test) with the stand-ins
run_auto() { PATH=$stubs:$PATH MISSING=$1 FAKE_UID=$2 pipeline/setup-debian.sh --auto --for "${3:-test}"; }
out=$(run_auto "" 0 2>&1) || fail "--auto with everything installed failed: $out"
[[ -z $out && ! -e $LOG ]] || fail "--auto with everything installed said or did something: $out"
run_auto "mandoc gnuplot-nox" 0 > "$tmp/auto.out" 2>&1 || fail "--auto as root: $(cat "$tmp/auto.out")"
grep -q "^apt-get install -y --no-install-recommends gnuplot-nox mandoc" "$LOG" ||
    fail "--auto as root did not install the missing packages: $(cat "$LOG")"
# it said what it installs and why, before apt-get ran
grep -q "^  gnuplot-nox (the plotted figures)" "$tmp/auto.out" &&
    grep -q "^  mandoc (the manual pages' lint)" "$tmp/auto.out" &&
    grep -q "installing them with apt-get (no terminal to ask" "$tmp/auto.out" ||
    fail "--auto as root did not say what it installs and why: $(cat "$tmp/auto.out")"
rm -f "$LOG"
# the figures need no test tool: --for run ignores a missing valgrind, cmocka or torch
out=$(run_auto "valgrind libcmocka-dev python3-torch" 0 run 2>&1) || fail "--auto --for run: $out"
[[ -z $out && ! -e $LOG ]] || fail "--auto --for run installed or said something for test-only packages: $out"
run_auto "python3-torch" 1000 > "$tmp/auto.out" 2>&1 || fail "--auto, only optional missing: $(cat "$tmp/auto.out")"
[[ ! -e $LOG ]] || fail "--auto installed optional packages without root"
rc=0
run_auto "mandoc" 1000 > "$tmp/auto.out" 2>&1 || rc=$?
((rc == 1)) && grep -q "sudo pipeline/setup-debian.sh" "$tmp/auto.out" && [[ ! -e $LOG ]] ||
    fail "--auto without root or sudo: exit $rc, $(cat "$tmp/auto.out")"
# at a terminal it asks first: "n" installs nothing and names the command
if command -v script > /dev/null; then
    rc=0
    printf 'n\n' | PATH=$stubs:$PATH MISSING=gnuplot-nox FAKE_UID=0 \
        script -qec "pipeline/setup-debian.sh --auto --for run" /dev/null > "$tmp/ask.out" 2>&1 || rc=$?
    ((rc == 1)) && grep -q "Install them now with apt-get? \[Y/n\]" "$tmp/ask.out" &&
        grep -q "sudo pipeline/setup-debian.sh" "$tmp/ask.out" && [[ ! -e $LOG ]] ||
        fail "--auto at a terminal, answer n: exit $rc, apt: $(cat "$LOG" 2> /dev/null), $(cat "$tmp/ask.out")"
    printf 'y\n' | PATH=$stubs:$PATH MISSING=gnuplot-nox FAKE_UID=0 \
        script -qec "pipeline/setup-debian.sh --auto --for run" /dev/null > "$tmp/ask.out" 2>&1 ||
        fail "--auto at a terminal, answer y: $(cat "$tmp/ask.out")"
    grep -q "^apt-get install -y --no-install-recommends gnuplot-nox" "$LOG" ||
        fail "--auto at a terminal, answer y, did not install: $(cat "$LOG" 2> /dev/null)"
    rm -f "$LOG"
else
    echo "note: script(1) is missing: the terminal prompt of --auto is not checked"
fi
# make quick stops at once, before building anything, naming the command, when a
# package the figures need is missing; FEATEVO_SETUP=no skips the check
rc=0
PATH=$stubs:$PATH MISSING=gnuplot-nox FAKE_UID=1000 make --no-print-directory quick BIN="$tmp/nobin" \
    > "$tmp/quick.out" 2>&1 || rc=$?
((rc != 0)) && grep -q "sudo pipeline/setup-debian.sh" "$tmp/quick.out" && [[ ! -e $tmp/nobin ]] ||
    fail "make quick with a package missing and no root: exit $rc, $(cat "$tmp/quick.out")"
# make test needs the test group: a missing valgrind stops it
rc=0
PATH=$stubs:$PATH MISSING=valgrind FAKE_UID=1000 make --no-print-directory test BIN="$tmp/nobin" \
    > "$tmp/mtest.out" 2>&1 || rc=$?
((rc != 0)) && grep -q "^  valgrind (the memcheck tests)" "$tmp/mtest.out" && [[ ! -e $tmp/nobin ]] ||
    fail "make test with valgrind missing and no root: exit $rc, $(cat "$tmp/mtest.out")"
out=$(FEATEVO_SETUP=no run_auto "gnuplot-nox" 1000 2>&1) && [[ -z $out && ! -e $LOG ]] ||
    fail "FEATEVO_SETUP=no did not skip the set-up: $out"
ok "setup-debian.sh --auto: silent when set up; says what it installs and why; asks at a terminal; --for run ignores the test tools; installs as root, else stops naming the command (make quick and make test too); FEATEVO_SETUP=no skips it"

echo "test_install.sh: $checks checks passed"
