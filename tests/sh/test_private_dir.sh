#!/usr/bin/env bash
# test_private_dir.sh - a checkout in a directory that only its owner can enter (a
# clone under /root, or in a mode-700 `mktemp -d`) passes the tests that run a tool
# as another user.  test_badinput.sh runs train as nobody when it is root; here it
# runs from a copy of the checkout (Makefile, tests/, this build's tools) inside a
# mode-700 directory, and its check as nobody must run, not be skipped.  (The same
# under valgrind, whose wrapper scripts nobody must read, is part of
# tests/run-valgrind.sh: it runs test_badinput.sh from such a copy.)
# Env: BIN (directory holding the tools), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
fail() { echo "FAIL: $*" >&2; exit 1; }
if [[ $(id -u) -ne 0 ]] || ! command -v setpriv > /dev/null; then
    echo "SKIP: needs root with setpriv (only then does test_badinput.sh run a tool as another user)"
    exit 77
fi
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if ! "${nobody[@]}" test -x "${TMPDIR:-/tmp}"; then
    echo "SKIP: user nobody cannot enter ${TMPDIR:-/tmp}, where the tests keep their files"
    exit 77
fi
priv=$(mktemp -d)
trap 'rm -rf "$priv"' EXIT
chmod 700 "$priv"
co=$priv/featevo
mkdir -p "$co/bin"
cp -r "$FE_ROOT/Makefile" "$FE_ROOT/tests" "$co/"
cp "$BIN"/* "$co/bin/"
# the premise: nobody cannot read anything in the copy
"${nobody[@]}" test -r "$co/Makefile" 2> /dev/null && fail "nobody can read $co/Makefile: not a private directory"
skipped="SKIPPED the unwritable --out check"

rc=0
BIN=$co/bin FE_ROOT=$co bash "$co/tests/sh/test_badinput.sh" > "$priv/plain.log" 2>&1 || rc=$?
((rc == 0)) || { tail -n 20 "$priv/plain.log"; fail "test_badinput.sh in a mode-700 directory: exit $rc"; }
grep -q "$skipped" "$priv/plain.log" && fail "test_badinput.sh in a mode-700 directory skipped its nobody check"
echo "ok: test_badinput.sh passes from a mode-700 directory with $(basename "$BIN")/ tools, nobody check included"

