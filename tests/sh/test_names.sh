#!/usr/bin/env bash
# test_names.sh - names from a file reach the terminal escaped (issue 30, item 7a):
# an .npz whose member names hold a newline, a carriage return, ESC sequences,
# DEL, a tab, a backslash, bytes that are not UTF-8, a C1 control in UTF-8 and a
# 300-byte name.  snapshot --list shows one line per member, every such byte as
# \n \r \t \\ \xHH (well-formed UTF-8 as it is) and the long name cut at 255
# characters with the marker \...; snapshot --tensor's "no tensor" message, the
# reader's message about a bad member and the model's "unexpected tensor" are
# one line each, escaped the same way.  The archives are made here by
# /usr/bin/python3 (skipped without it).
# Env: BIN (directory holding snapshot), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN to the directory holding the tools}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
[[ -x $BIN/snapshot ]] || { echo "FAIL: $BIN/snapshot not built" >&2; exit 1; }
/usr/bin/python3 -c 'import zlib' 2> /dev/null || { echo "skipped: no /usr/bin/python3 to make the archives"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

/usr/bin/python3 - "$tmp" <<'PY'
import os, struct, sys, zlib
out = sys.argv[1]
def npy(shape, dtype, data):
    d = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape)).ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + data
def npz(members):                      # stored members: (name bytes, .npy bytes)
    body, cd = b"", b""
    for name, b in members:
        crc = zlib.crc32(b)
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0, 0x21, crc, len(b),
                          len(b), len(name), 0, 0, 0, 0, 0, len(body)) + name
        body += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, crc, len(b), len(b),
                            len(name), 0) + name + b
    return body + cd + struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(members), len(members),
                                   len(cd), len(body), 0)
def w(name, b):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)
one = npy("(1,)", "<f4", bytes(4))
names = [b"a\nb", b"c\rd", b"e\x1b[31mf", b"g\x7fh", b"tab\there", b"back\\slash", b"bad\xff",
         b"caf\xc3\xa9", b"csi\xc2\x9b2J", b"x" * 300]
w("names.npz", npz([(n + b".npy", one) for n in names]))
# a member that is not a .npy, its name an ESC sequence and a newline
w("bad.npz", npz([(b"evil\x1b]0;owned\x07\nnext", one)]))
# a LeNet-5 checkpoint (zeros) with one tensor more, of a hostile name
shapes = {"conv1.weight": (6, 1, 5, 5), "conv1.bias": (6,), "conv2.weight": (16, 6, 5, 5),
          "conv2.bias": (16,), "fc1.weight": (120, 400), "fc1.bias": (120,),
          "fc2.weight": (84, 120), "fc2.bias": (84,), "fc3.weight": (10, 84), "fc3.bias": (10,)}
ms = []
for k, s in shapes.items():
    n = 1
    for d in s:
        n *= d
    ms.append((k.encode() + b".npy", npy(repr(s), "<f4", bytes(4 * n))))
ms.append((b"x\x1b[2J\ny.npy", one))
w("ckpt.npz", npz(ms))
w("img.npy", npy("(1, 28, 28)", "|u1", bytes(784)))
PY

# only tabs and newlines may be control bytes in what the tool printed
clean() { ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$1"; }

"$BIN/snapshot" --ckpt "$tmp/names.npz" --list > "$tmp/list" 2> "$tmp/err" || fail "--list: $(cat "$tmp/err")"
[[ $(wc -l < "$tmp/list") -eq 10 ]] || fail "--list: not one line per member: $(cat -A "$tmp/list")"
clean "$tmp/list" || fail "--list printed control bytes: $(cat -A "$tmp/list")"
long=$(printf 'x%.0s' {1..255})
printf '%s\tfloat32\t[1]\n' 'a\nb' 'c\rd' 'e\x1B[31mf' 'g\x7Fh' 'tab\there' 'back\\slash' \
    'bad\xFF' 'café' 'csi\xC2\x9B2J' "$long\\..." > "$tmp/want"
diff "$tmp/want" "$tmp/list" > "$tmp/diff" || fail "--list: $(cat "$tmp/diff")"
ok
# the "no tensor" message: one line, the names (and the name asked for) escaped
rc=0
"$BIN/snapshot" --ckpt "$tmp/names.npz" --tensor $'no\e[1m' > /dev/null 2> "$tmp/err" || rc=$?
[[ $rc -eq 1 && $(wc -l < "$tmp/err") -eq 1 ]] || fail "no tensor: exit $rc: $(cat -A "$tmp/err")"
clean "$tmp/err" || fail "no tensor: control bytes: $(cat -A "$tmp/err")"
grep -qF "no tensor 'no\\x1B[1m'; it holds: a\\nb, c\\rd, e\\x1B[31mf" "$tmp/err" ||
    fail "no tensor: $(cat "$tmp/err")"
ok
# a tensor named with a newline can still be asked for
"$BIN/snapshot" --ckpt "$tmp/names.npz" --tensor $'a\nb' -o "$tmp/t.npy" || fail "--tensor \$'a\\nb'"
ok
# the reader's message about a bad member
rc=0
"$BIN/snapshot" --ckpt "$tmp/bad.npz" --list > /dev/null 2> "$tmp/err" || rc=$?
[[ $rc -eq 1 && $(wc -l < "$tmp/err") -eq 1 ]] || fail "bad member: exit $rc: $(cat -A "$tmp/err")"
clean "$tmp/err" || fail "bad member: control bytes: $(cat -A "$tmp/err")"
grep -qF "member 'evil\\x1B]0;owned\\x07\\nnext' is not a .npy file" "$tmp/err" ||
    fail "bad member: $(cat "$tmp/err")"
ok
# the model's "unexpected tensor"
rc=0
"$BIN/snapshot" --ckpt "$tmp/ckpt.npz" --images "$tmp/img.npy" --index 0 --layer conv1 \
    > /dev/null 2> "$tmp/err" || rc=$?
[[ $rc -eq 1 && $(wc -l < "$tmp/err") -eq 1 ]] || fail "unexpected tensor: exit $rc: $(cat -A "$tmp/err")"
clean "$tmp/err" || fail "unexpected tensor: control bytes: $(cat -A "$tmp/err")"
grep -qF "unexpected tensor 'x\\x1B[2J\\ny' for a lenet5" "$tmp/err" ||
    fail "unexpected tensor: $(cat "$tmp/err")"
ok
echo "test_names: $checks checks passed"
