#!/usr/bin/env bash
# examples.sh - run every example of the README and the manual pages, as written,
# on make quick's runs (make test runs it right after make quick, in its results
# part), and fail if any fails.
#
#   tests/examples.sh [FILE...]      (default: README.md and tools/man/*.[17])
#
# What counts as an example:
#   README.md       every fenced block marked ```sh (blocks of make commands are
#                   marked ```make and are not run: they are the jobs themselves)
#   manual pages    every .Bd -literal block, unless the line before it is a roff
#                   comment '.\" not run: REASON' (the reason is printed); after
#                   '.\" needs: CMD' it runs where CMD is installed (mpirun: as
#                   root with OMPI_ALLOW_RUN_AS_ROOT=1 and _CONFIRM=1, which the
#                   page says to add)
# An example whose pipe ends early on purpose (| head) may see a stage die of
# SIGPIPE: exit 141 counts as a pass.
# A block whose lines start with "$ " is a session: those lines are the commands,
# the lines after each the output it must print, exactly.  The blocks of one file
# run in order, in one scratch directory of their own (a block may use the files an
# earlier one wrote), with the checkout's bin/ first on PATH and its data/ and
# runs/quick-mnist/ linked in, under bash -e -o pipefail.  Roff escapes are undone
# (\- -> -, \e -> \, \& -> nothing) before a man page's block runs.
set -uo pipefail
# mpirun as root (the examples that need it say to add these)
[[ $(id -u) -eq 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
if [[ ! -e runs/quick-mnist/lenet5/trained-4 || ! -e runs/quick-mnist/resnet18/trained-3 ]]; then
    echo "examples.sh: runs/quick-mnist is not complete: run make quick first" >&2
    exit 1
fi
(($#)) || set -- README.md tools/man/*.[17]
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ran=0 failed=0 skipped=0

# blocks FILE: writes $tmp/blocks/N (the code) and $tmp/blocks/N.what (a label), or
# $tmp/blocks/N.skip (the reason) for a block that is not run
blocks() {
    rm -rf "$tmp/blocks" && mkdir -p "$tmp/blocks"
    case $1 in
    *.md)
        awk -v d="$tmp/blocks" '
            /^```sh[ \t]*$/ { n++; f = d "/" n; printf "line %d", NR > (f ".what"); inb = 1; next }
            inb && /^```/ { inb = 0; next }
            inb { print > f }' "$1" ;;
    *)
        awk -v d="$tmp/blocks" '
            /^\.\\" not run: / { why = substr($0, index($0, "not run: ") + 9); next }
            /^\.\\" needs: / { need = substr($0, index($0, "needs: ") + 7); next }
            /^\.Bd -literal/ { n++; f = d "/" n; printf "line %d", NR > (f ".what")
                               if (why != "") { print why > (f ".skip") }
                               if (need != "") { print need > (f ".needs") }
                               why = ""; need = ""; inb = 1; next }
            inb && /^\.Ed/ { inb = 0; next }
            inb { gsub(/\\-/, "-"); gsub(/\\&/, ""); gsub(/\\e/, "\\"); print > f; next }
            { why = ""; need = "" }' "$1" ;;
    esac
}

# session BLOCK: a "$ " block: run each command, compare its output
session() {
    awk -v d="$tmp/sess" 'BEGIN { n = 0 }
        /^\$ / { n++; print substr($0, 3) > (d "." n ".cmd"); printf "" > (d "." n ".want"); next }
        n { print >> (d "." n ".want") }' "$1"
    local c
    for c in "$tmp"/sess.*.cmd; do
        bash -e -o pipefail "$c" > "${c%.cmd}.got" 2>&1 || return 1
        cmp -s "${c%.cmd}.want" "${c%.cmd}.got" || {
            echo "the output differs from the example's (- shown, + printed):"
            diff "${c%.cmd}.want" "${c%.cmd}.got"
            return 1
        }
    done
    rm -f "$tmp"/sess.*
}

for file in "$@"; do
    blocks "$file"
    work=$tmp/work/$(basename "$file")
    mkdir -p "$work/runs"
    ln -s "$root/data" "$work/data"
    ln -s "$root/runs/quick-mnist" "$work/runs/quick-mnist"
    for b in $(ls "$tmp/blocks" | grep -E '^[0-9]+$' | sort -n); do
        what="$file, example $b ($(cat "$tmp/blocks/$b.what"))"
        if [[ -e $tmp/blocks/$b.skip ]]; then
            echo "skipped: $what: $(cat "$tmp/blocks/$b.skip")"
            skipped=$((skipped + 1))
            continue
        fi
        if [[ -e $tmp/blocks/$b.needs ]] && ! command -v "$(cat "$tmp/blocks/$b.needs")" > /dev/null; then
            echo "skipped: $what: needs $(cat "$tmp/blocks/$b.needs"), not installed"
            skipped=$((skipped + 1))
            continue
        fi
        t0=$SECONDS
        if grep -q '^\$ ' "$tmp/blocks/$b"; then
            (cd "$work" && PATH=$root/bin:$PATH session "$tmp/blocks/$b") > "$tmp/out" 2>&1
        else
            (cd "$work" && PATH=$root/bin:$PATH bash -e -o pipefail "$tmp/blocks/$b") > "$tmp/out" 2>&1
        fi
        rc=$?
        ((rc == 141)) && rc=0     # | head: a stage ended by SIGPIPE
        ran=$((ran + 1))
        if ((rc == 0)); then
            echo "ok: $what, $((SECONDS - t0)) s"
        else
            failed=$((failed + 1))
            echo "FAIL: $what (exit $rc):"
            sed 's/^/    /' "$tmp/blocks/$b"
            echo "  printed:"
            tail -n 15 "$tmp/out" | sed 's/^/    /'
        fi
    done
done
echo "examples: $ran run, $failed failed, $skipped not run"
((failed == 0 && ran > 0))
