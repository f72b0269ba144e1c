#!/usr/bin/env bash
# test_bomb.sh - compressed input costs what its header declares, not what its
# stream could inflate to (issue 30, item 3): .npz members (snapshot) and gzip IDX
# (idx2bin) that would inflate to 2 GiB from 2 MB, or whose header declares a huge
# array over a small stream, are refused from the first bytes past what they
# declare, in well under a second, and under a `ulimit -v` cap (ASan build: its
# allocator's max_allocation_size_mb instead) that a 2 GiB buffer would exceed,
# while good files pass under the same cap.  The bombs are made here by
# /usr/bin/python3's zlib (skipped without it).
# Env: BIN (directory holding snapshot, idx2bin), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN to the directory holding the tools}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
for t in snapshot idx2bin; do [[ -x $BIN/$t ]] || { echo "FAIL: $BIN/$t not built" >&2; exit 1; }; done
/usr/bin/python3 -c 'import zlib' 2> /dev/null || { echo "skipped: no /usr/bin/python3 to make the bombs"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
# one BLAS and OpenMP thread: their threads' stacks would take the virtual memory
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

/usr/bin/python3 - "$tmp" <<'PY'
import os, struct, sys, zlib
out, MiB, BOMB = sys.argv[1], 1 << 20, 2048          # each bomb: 2048 MiB of zeros
def npy_head(shape):
    d = ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape).ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()
def zeros_stream(head, mib):
    """raw deflate of head + mib MiB of zeros: one full-flushed 1 MiB block, repeated"""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    blk = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    assert blk == c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    return first + blk * mib + c.flush(zlib.Z_FINISH)
def npz(name, comp, crc, usize):
    n = name.encode()
    lh = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0x21, crc, len(comp), usize,
                     len(n), 0) + n
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 8, 0, 0x21, crc, len(comp),
                     usize, len(n), 0, 0, 0, 0, 0, 0) + n
    return lh + comp + cd + struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 1, 1, len(cd),
                                        len(lh) + len(comp), 0)
def w(name, b):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)
def gz(b):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(b) + c.flush()
# a 2-float array, then 2 GiB of zeros; the zip declares all that its ratio allows
h = npy_head("(2,)")
s = zeros_stream(h + bytes(8), BOMB)
w("trail.npz", npz("a.npy", s, 0, min(len(s) * 1032, 0xFFFFFFFE)))
# the same stream, the zip declaring the array's true size
w("past.npz", npz("a.npy", s, 0, len(h) + 8))
# a header declaring 1 GiB over 1 MiB of data, the zip declaring 1 GiB too
h, rnd = npy_head("(268435456,)"), os.urandom(MiB)
c = zlib.compressobj(0, zlib.DEFLATED, -15)
w("shape.npz", npz("a.npy", c.compress(h + rnd) + c.flush(), zlib.crc32(h + rnd),
                   len(h) + (1 << 30)))
# gzip IDX: 2 bytes declared, then 2 GiB of zeros in concatenated gzip members
w("trail.idx.gz", gz(b"\0\0\x08\x01\0\0\0\x02\x07\x02") + gz(bytes(MiB)) * BOMB)
# gzip IDX: 60000x784x32 bytes declared over 100
w("shape.idx.gz", gz(b"\0\0\x08\x03\0\0\xea\x60\0\0\x03\x10\0\0\0\x20" + bytes(100)))
# good ones: a deflated member, and an MNIST-sized gzip IDX (10000x28x28)
h, data = npy_head("(1000,)"), struct.pack("<1000f", *range(1000))
c = zlib.compressobj(9, zlib.DEFLATED, -15)
w("good.npz", npz("a.npy", c.compress(h + data) + c.flush(), zlib.crc32(h + data),
                  len(h) + len(data)))
w("good.idx.gz", gz(b"\0\0\x08\x03\0\0\x27\x10\0\0\0\x1c\0\0\0\x1c" + bytes(7840000)))
PY
[[ $(stat -c %s "$tmp/trail.npz") -lt 4000000 ]] || fail "the bomb is not small"

# The cap: 400 MiB of address space (the tools with one BLAS thread run in about
# 200; a 2 GiB buffer cannot).  The ASan build reserves terabytes of shadow memory
# and cannot run under ulimit -v: there its allocator refuses any one allocation
# over 256 MiB instead (and returns NULL, which the tools report).
if ldd "$BIN/snapshot" 2> /dev/null | grep libasan > /dev/null; then   # no -q: see test_numeric.sh
    echo "note: ASan build: no ulimit -v; ASAN_OPTIONS max_allocation_size_mb=256 instead"
    capped() { ASAN_OPTIONS=${ASAN_OPTIONS:-}:max_allocation_size_mb=256:allocator_may_return_null=1 \
                 timeout 20 "$@"; }
else
    capped() { ( ulimit -v 409600; exec timeout 20 "$@" ); }
fi

# run NAME EXPECTED-MESSAGE CMD...: exit 1, that message, in under 2 s, no output left
refused() {
    local name=$1 want=$2 rc=0 t0 ms
    shift 2
    t0=$(date +%s%N)
    capped "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    [[ $rc -eq 1 ]] || fail "$name: exit $rc, expected 1: $(cat "$tmp/err")"
    grep -qF "$want" "$tmp/err" || fail "$name: message: $(cat "$tmp/err") (expected \"$want\")"
    [[ $ms -lt 2000 ]] || fail "$name: took ${ms} ms"
    [[ ! -s $tmp/out && ! -e $tmp/o.npy ]] || fail "$name: wrote output"
    ok
}
refused "npz trailing 2 GiB" "member 'a.npy': more than 65536 bytes of trailing data after the array" \
    "$BIN/snapshot" --ckpt "$tmp/trail.npz" --list
refused "npz trailing 2 GiB (--tensor)" "more than 65536 bytes of trailing data" \
    "$BIN/snapshot" --ckpt "$tmp/trail.npz" --tensor a -o "$tmp/o.npy"
refused "npz past its size" "more than 65536 bytes of trailing data after the array" \
    "$BIN/snapshot" --ckpt "$tmp/past.npz" --list
refused "npz huge shape" "truncated data: header says 1073741824 bytes, file has 1048576" \
    "$BIN/snapshot" --ckpt "$tmp/shape.npz" --list
refused "gzip IDX trailing 2 GiB" \
    "trailing data: more than 65536 bytes after the 2 bytes the header describes" \
    "$BIN/idx2bin" -o "$tmp/o.npy" "$tmp/trail.idx.gz"
refused "gzip IDX trailing 2 GiB (stdin)" "idx2bin: <stdin>: trailing data: more than 65536" \
    "$BIN/idx2bin" -o "$tmp/o.npy" - < "$tmp/trail.idx.gz"
refused "gzip IDX huge shape" "header says 1505280000 bytes, more than the 39 bytes of gzip data" \
    "$BIN/idx2bin" -o "$tmp/o.npy" "$tmp/shape.idx.gz"

# good files pass under the same cap
capped "$BIN/snapshot" --ckpt "$tmp/good.npz" --list > "$tmp/list" || fail "good .npz refused"
[[ $(cat "$tmp/list") == $'a\tfloat32\t[1000]' ]] || fail "good .npz: $(cat "$tmp/list")"
capped "$BIN/snapshot" --ckpt "$tmp/good.npz" --tensor a -o "$tmp/a.npy" || fail "good member"
[[ $(stat -c %s "$tmp/a.npy") -eq 4128 ]] || fail "good member: size"
capped "$BIN/idx2bin" -o "$tmp/i.npy" "$tmp/good.idx.gz" || fail "good gzip IDX refused"
[[ $(stat -c %s "$tmp/i.npy") -eq 7840128 ]] || fail "good gzip IDX: size"
rm -f "$tmp/a.npy" "$tmp/i.npy"
ok
echo "test_bomb: $checks checks passed"
