#!/usr/bin/env bash
# test_idx2bin.sh - idx2bin end to end: pipes and -o, raw and gzip, every IDX type,
# the real MNIST labels when ../shared/mnist exists, errors (exit 1, message
# "idx2bin: ...", no output or temp file left), usage (exit 2), terminals refused.
# Env: BIN (directory holding idx2bin), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN to the directory holding idx2bin}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
i2b=$BIN/idx2bin
[[ -x $i2b ]] || { echo "FAIL: $i2b not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
numpy=0
if /usr/bin/python3 -c 'import numpy' > /dev/null 2>&1; then numpy=1; else
    echo "note: /usr/bin/python3 has no numpy; comparing bytes only"; fi

# --- a small IDX made here: 5 labels --------------------------------------
printf '\0\0\010\001\0\0\0\005\007\002\001\000\004' > "$tmp/lab.idx"
"$i2b" < "$tmp/lab.idx" > "$tmp/a.npy"
"$i2b" < "$tmp/lab.idx" | cat > "$tmp/b.npy"  # stdout a pipe
# shellcheck disable=SC2002 # stdin a pipe, on purpose
cat "$tmp/lab.idx" | "$i2b" > "$tmp/b2.npy"
"$i2b" -o "$tmp/c.npy" "$tmp/lab.idx"
"$i2b" -o"$tmp/d.npy" - < "$tmp/lab.idx"
gzip -c "$tmp/lab.idx" > "$tmp/lab.idx.gz"
"$i2b" "$tmp/lab.idx.gz" > "$tmp/e.npy"
gzip -c "$tmp/lab.idx" | "$i2b" -o "$tmp/f.npy"
for x in b b2 c d e f; do cmp "$tmp/a.npy" "$tmp/$x.npy" || fail "output $x differs"; done
ok
# byte-level: 128-byte header (numpy's alignment), then the five values
[[ $(wc -c < "$tmp/a.npy") -eq 133 ]] || fail "size $(wc -c < "$tmp/a.npy") != 133"
head -c 10 "$tmp/a.npy" | od -An -tx1 | tr -d ' \n' | grep -qx '934e554d505901007600' || fail "bad npy prefix"
head -c 80 "$tmp/a.npy" | tail -c +11 | grep -qF "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }" || fail "bad header"
[[ $(tail -c 5 "$tmp/a.npy" | od -An -tu1 | tr -s ' ' | sed 's/^ //;s/ $//') == "7 2 1 0 4" ]] || fail "bad data"
ok
if ((numpy)); then
    /usr/bin/python3 - "$tmp/a.npy" <<'PY' || fail "numpy disagrees on lab.idx"
import sys, io, numpy as np
a = np.load(sys.argv[1])
assert a.dtype == np.uint8 and a.shape == (5,) and a.tolist() == [7, 2, 1, 0, 4], (a.dtype, a)
b = io.BytesIO(); np.save(b, a)
assert b.getvalue() == open(sys.argv[1], "rb").read(), "not byte-identical to np.save"
PY
    ok
fi

# --- every IDX type from the fixtures, checked against numpy's own parse ----
for f in tests/fixtures/*.idx tests/fixtures/*.idx.gz; do
    "$i2b" -o "$tmp/x.npy" "$f" || fail "$f: conversion failed"
    if ((numpy)); then
        /usr/bin/python3 - "$f" "$tmp/x.npy" <<'PY' || fail "$f: numpy disagrees"
import sys, gzip, numpy as np
raw = open(sys.argv[1], "rb").read()
if raw[:2] == b"\x1f\x8b":
    raw = gzip.decompress(raw)
code, nd = raw[2], raw[3]
dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
src = {8: ">u1", 9: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
want = {8: np.uint8, 9: np.int32, 0x0B: np.int32, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}[code]
ref = np.frombuffer(raw[4 + 4 * nd:], dtype=src).reshape(dims).astype(want)
got = np.load(sys.argv[2])
assert got.dtype == want and got.shape == ref.shape and (got == ref).all(), (got, ref)
PY
    fi
    ok
done

# --- the real MNIST test labels, when the local mirror is there -------------
if [[ -f ../shared/mnist/t10k-labels-idx1-ubyte.gz ]]; then
    gzip -dc ../shared/mnist/t10k-labels-idx1-ubyte.gz | "$i2b" > "$tmp/labels.npy"
    [[ $(wc -c < "$tmp/labels.npy") -eq $((128 + 10000)) ]] || fail "t10k labels: wrong size"
    if ((numpy)); then
        /usr/bin/python3 -c '
import sys, numpy as np
a = np.load(sys.argv[1])
assert a.shape == (10000,) and a.dtype == np.uint8, (a.shape, a.dtype)
assert a[:5].tolist() == [7, 2, 1, 0, 4] and a.max() == 9
assert np.bincount(a).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
' "$tmp/labels.npy" || fail "t10k labels: numpy disagrees"
    fi
    ok
fi

# --- bad inputs: exit 1, "idx2bin: FILE: ...", nothing left behind ------------
mkdir "$tmp/bad" "$tmp/out"
head -c 10 "$tmp/lab.idx" > "$tmp/bad/truncated"
printf '\0\0\010\001\0\0\0\005\007\002\001\000\004\011' > "$tmp/bad/trailing"
printf '\0\0\010\002\0\020\0\0\0\020\0\0\0' > "$tmp/bad/absurd"
printf '\0\0\016\010\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377' > "$tmp/bad/overflow"
printf '\1\0\010\001\0\0\0\001\0' > "$tmp/bad/magic"
printf '\0\0\007\001\0\0\0\001\0' > "$tmp/bad/dtype"
printf '\0\0\010\000' > "$tmp/bad/ndim0"
: > "$tmp/bad/empty"
head -c 4000 /dev/urandom > "$tmp/bad/junk"
printf '\0\0' >> "$tmp/bad/junk"  # (urandom starting with 0 0 8..: practically impossible)
head -c 30 "$tmp/lab.idx.gz" > "$tmp/bad/truncated.gz"
gzip -c "$tmp/bad/absurd" > "$tmp/bad/absurd.gz"
declare -A expect=(
    [truncated]="truncated" [trailing]="trailing data" [absurd]="truncated data: header says"
    [overflow]="overflows" [magic]="bad magic" [dtype]="unknown data type" [ndim0]="dimensions 0"
    [empty]="empty" [junk]="" [truncated.gz]="truncated gzip" [absurd.gz]="truncated data"
)
for f in "$tmp"/bad/*; do
    name=$(basename "$f")
    rc=0
    "$i2b" -o "$tmp/out/x.npy" "$f" 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "$name: exit $rc, expected 1"
    grep -q "^idx2bin: $f: .*${expect[$name]}" "$tmp/err" || fail "$name: message: $(cat "$tmp/err")"
    [[ -z $(ls -A "$tmp/out") ]] || fail "$name: left files behind: $(ls -A "$tmp/out")"
    rc=0
    "$i2b" < "$f" > "$tmp/stdout.npy" 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "$name (stdin): exit $rc, expected 1"
    grep -q "^idx2bin: <stdin>: " "$tmp/err" || fail "$name (stdin): message: $(cat "$tmp/err")"
    ok
done
# an existing output survives a failed conversion untouched
"$i2b" -o "$tmp/out/keep.npy" "$tmp/lab.idx"
cp "$tmp/out/keep.npy" "$tmp/keep.ref"
"$i2b" -o "$tmp/out/keep.npy" "$tmp/bad/truncated" 2> /dev/null && fail "bad input accepted"
cmp "$tmp/out/keep.npy" "$tmp/keep.ref" || fail "old output was changed"
[[ $(ls -A "$tmp/out") == keep.npy ]] || fail "temp files left: $(ls -A "$tmp/out")"
ok
# missing input, unwritable output directory
rc=0; "$i2b" /nonexistent/x.idx > /dev/null 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -qx "idx2bin: /nonexistent/x.idx: No such file or directory" "$tmp/err"; } ||
    fail "missing input: exit $rc: $(cat "$tmp/err")"
rc=0; "$i2b" -o /nonexistent/dir/x.npy "$tmp/lab.idx" 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "^idx2bin: /nonexistent/dir/x.npy: " "$tmp/err"; } || fail "bad -o dir: exit $rc"
ok
# a full disk on stdout is an error, not silence
if [[ -w /dev/full ]]; then
    rc=0; "$i2b" < "$tmp/lab.idx" > /dev/full 2> "$tmp/err" || rc=$?
    { [[ $rc -eq 1 ]] && grep -q "No space left on device" "$tmp/err"; } || fail "/dev/full: exit $rc: $(cat "$tmp/err")"
    ok
fi

# --- usage ---------------------------------------------------------------
"$i2b" --help > "$tmp/help" || fail "--help failed"
{ grep -q "^usage: idx2bin" "$tmp/help" &&
  grep -qF "gzip -dc t10k-labels-idx1-ubyte.gz | idx2bin > labels.npy" "$tmp/help"; } || fail "--help text"
"$i2b" -h | cmp - "$tmp/help" || fail "-h differs from --help"
"$i2b" --version | grep -q '^idx2bin' || fail "--version"
for args in "-x" "--bogus" "a b" "-o" "-o x -o y"; do
    rc=0
    # shellcheck disable=SC2086 # split on purpose
    "$i2b" $args < /dev/null > /dev/null 2> "$tmp/err" || rc=$?
    [[ $rc -eq 2 ]] || fail "usage '$args': exit $rc, expected 2"
    { [[ $(wc -l < "$tmp/err") -eq 1 ]] && grep -q "^idx2bin: .* (see idx2bin --help)$" "$tmp/err"; } ||
        fail "usage '$args': message: $(cat "$tmp/err")"
done
ok

# --- terminals: binary output to a tty is refused, and so is reading one -----
if command -v script > /dev/null && script -qec true /dev/null > /dev/null 2>&1; then
    out=$(cd "$tmp" && script -qec "'$i2b' < lab.idx" /dev/null 2>&1) && fail "wrote to a terminal"
    grep -q "idx2bin: <stdout>: refusing to write binary data to a terminal; use -o FILE or a pipe" <<< "$out" ||
        fail "tty message: $out"
    out=$(cd "$tmp" && script -qec "'$i2b' -o tty.npy" /dev/null 2>&1) && fail "read a terminal"
    grep -q "idx2bin: <stdin>: refusing to read binary data from a terminal" <<< "$out" || fail "tty in: $out"
    [[ ! -e $tmp/tty.npy ]] || fail "tty.npy left behind"
    leftovers=("$tmp"/.*.tmp.*)
    [[ ! -e ${leftovers[0]} ]] || fail "temp left behind: ${leftovers[*]}"
    ok
else
    echo "note: script(1) unusable here; terminal checks skipped"
fi
echo "test_idx2bin: $checks checks passed"
