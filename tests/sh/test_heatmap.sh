#!/usr/bin/env bash
# test_heatmap.sh - heatmap end to end: files and pipes, PNG header and size,
# exact pixels (decoded by a small stdlib-only Python PNG reader), the automatic
# scale, tiles and gaps, every colormap (viridis ends, RdBu_r against matplotlib's
# interpolation rule recomputed with numpy), NaN colour, deterministic bytes,
# refusals (exit 1, "heatmap: FILE: ...", nothing left behind), usage (exit 2),
# terminals refused.  Inputs come from tests/fixtures; numpy makes more when
# /usr/bin/python3 has it (those checks are skipped otherwise).
# Env: BIN (directory holding heatmap), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN to the directory holding heatmap}" "${FE_ROOT:?set FE_ROOT}"
BIN=$(cd "$BIN" && pwd) FE_ROOT=$(cd "$FE_ROOT" && pwd)
cd "$FE_ROOT"
hm=$BIN/heatmap
[[ -x $hm ]] || { echo "FAIL: $hm not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
fx=tests/fixtures
py=0
if /usr/bin/python3 -c 'import zlib' > /dev/null 2>&1; then py=1; else
    echo "note: no /usr/bin/python3; pixel checks skipped"; fi
numpy=0
if /usr/bin/python3 -c 'import numpy' > /dev/null 2>&1; then numpy=1; else
    echo "note: /usr/bin/python3 has no numpy; checks needing generated inputs skipped"; fi

# ihdr FILE -> "WIDTH HEIGHT DEPTH COLOURTYPE INTERLACE" from the PNG's IHDR bytes
ihdr() {
    [[ $(head -c 16 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a0000000d49484452 ]] ||
        fail "$1: not a PNG starting with IHDR"
    local b
    read -r -a b <<< "$(head -c 29 "$1" | tail -c 13 | od -An -tu1 | tr -s ' \n' '  ')"
    echo "$(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3])) $(((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7])) ${b[8]} ${b[9]} ${b[12]}"
}
# expect_size FILE W H: an 8-bit RGB, non-interlaced PNG of W x H pixels
expect_size() {
    local got
    got=$(ihdr "$1")
    [[ $got == "$2 $3 8 2 0" ]] || fail "$1: IHDR '$got', expected '$2 $3 8 2 0'"
    if command -v file > /dev/null; then
        file "$1" | grep -q "PNG image data, $2 x $3, 8-bit/color RGB, non-interlaced" ||
            fail "file(1) says: $(file "$1")"
    fi
}
# A PNG reader on zlib alone: prints "W H" then one line per row of "r,g,b" pixels.
cat > "$tmp/pngpix.py" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, chunks = 8, b"", []
while pos < len(d):
    n, typ = struct.unpack(">I4s", d[pos:pos + 8])
    body = d[pos + 8:pos + 8 + n]
    assert zlib.crc32(typ + body) == struct.unpack(">I", d[pos + 8 + n:pos + 12 + n])[0], "bad CRC"
    chunks.append(typ.decode())
    if typ == b"IHDR":
        w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", body)
        assert (depth, ctype, lace) == (8, 2, 0)
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
assert chunks[0] == "IHDR" and chunks[-1] == "IEND" and set(chunks) == {"IHDR", "IDAT", "IEND"}, chunks
raw, stride, prev, rows = zlib.decompress(idat), 3 * w, None, []
assert len(raw) == h * (stride + 1)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    up = prev or bytearray(stride)
    for i in range(stride):
        a = line[i - 3] if i >= 3 else 0
        b, c = up[i], (up[i - 3] if i >= 3 else 0)
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else: assert f == 0, f
    rows.append(line)
    prev = line
print(w, h)
for r in rows:
    print(" ".join("%d,%d,%d" % tuple(r[i:i + 3]) for i in range(0, stride, 3)))
PY
pix() { /usr/bin/python3 "$tmp/pngpix.py" "$1"; }

# --- a 2x3 uint8 matrix (0..5), raw pixels: exact grey levels, row 0 on top ----
"$hm" --scale 1 -o "$tmp/a.png" $fx/u1.npy
expect_size "$tmp/a.png" 3 2
ok "u1.npy --scale 1: 3x2 8-bit RGB PNG"
if ((py)); then
    [[ $(pix "$tmp/a.png") == $'3 2\n0,0,0 51,51,51 102,102,102\n153,153,153 204,204,204 255,255,255' ]] ||
        fail "grey pixels: $(pix "$tmp/a.png")"
    ok "grey levels 0 51 102 / 153 204 255, row 0 at the top"
fi

# --- files, pipes, '-', -oFILE, --output=FILE: the same bytes every time -------
"$hm" < $fx/u1.npy > "$tmp/b1.png"
"$hm" < $fx/u1.npy | cat > "$tmp/b2.png"
# shellcheck disable=SC2002 # stdin a pipe, on purpose
cat $fx/u1.npy | "$hm" > "$tmp/b3.png"
"$hm" -o "$tmp/b4.png" - < $fx/u1.npy
"$hm" -o"$tmp/b5.png" $fx/u1.npy
"$hm" --output="$tmp/b6.png" $fx/u1.npy
"$hm" $fx/u1.npy -o "$tmp/b7.png"
for x in b2 b3 b4 b5 b6 b7; do cmp "$tmp/b1.png" "$tmp/$x.png" || fail "output $x differs"; done
# automatic scale: short side 2 -> K = 128
expect_size "$tmp/b1.png" 384 256
ok "stdin/stdout, pipes, '-', -oFILE, --output=: identical bytes; auto scale 2x3 -> 384x256"
if ((py)); then
    pix "$tmp/b1.png" | /usr/bin/python3 -c '
import sys
lines = sys.stdin.read().split("\n")
rows = [l.split() for l in lines[1:257]]
for y in range(256):
    for x in range(384):
        g = 51 * (3 * (y // 128) + x // 128)
        assert rows[y][x] == "%d,%d,%d" % (g, g, g), (x, y, rows[y][x])
' || fail "upscaled blocks are not uniform 128x128"
    ok "each 128x128 block uniform"
fi

# --- a 3-D int32 stack [2,3,4] as tiles ---------------------------------------
"$hm" -o "$tmp/t.png" $fx/i4.npy
# cols 2, rows 1; short side 3 -> K 86, gap max(1, 86/4) = 21
expect_size "$tmp/t.png" $((2 * 4 * 86 + 21)) $((3 * 86))
"$hm" --scale 1 --gap 2 -o "$tmp/t1.png" $fx/i4.npy
expect_size "$tmp/t1.png" 10 3
"$hm" --scale 1 --gap 0 --cols 1 -o "$tmp/t2.png" $fx/i4.npy
expect_size "$tmp/t2.png" 4 6
ok "3-D [2,3,4]: default grid 709x258, --gap 2 -> 10x3, --cols 1 -> 4x6"
if ((py)); then
    # values -12..11 over [-12, 11]: pixel = round((v + 12) / 23 * 255); gap #3c5078
    pix "$tmp/t1.png" | /usr/bin/python3 -c '
import sys
rows = [l.split() for l in sys.stdin.read().split("\n")[1:4]]
for y in range(3):
    for x in range(10):
        if x in (4, 5):
            want = (0x3c, 0x50, 0x78)
        else:
            n, c = (0, x) if x < 4 else (1, x - 6)
            v = n * 12 + y * 4 + c - 12
            g = int((v + 12) / 23 * 255 + 0.5)
            want = (g, g, g)
        assert rows[y][x] == "%d,%d,%d" % want, (x, y, rows[y][x], want)
' || fail "tile pixels"
    ok "tile pixels and the blue-grey gap"
fi

# --- colormaps, NaN, per-tile, dtypes (inputs made with numpy) ----------------
if ((numpy)); then
    /usr/bin/python3 - "$tmp" <<'PY'
import sys, numpy as np
d = sys.argv[1]
np.save(d + "/ramp.npy", np.arange(256, dtype=np.float64).reshape(1, 256))
np.save(d + "/nan.npy", np.array([[np.nan, 0.0], [1.0, 2.0]], dtype=np.float32))
np.save(d + "/allnan.npy", np.full((3, 3), np.nan, dtype=np.float32))
np.save(d + "/allinf.npy", np.array([[np.inf, -np.inf], [np.nan, np.inf]]))
np.save(d + "/sym.npy", np.array([[-2, 0, 1]], dtype=np.int64))
np.save(d + "/big.npy", np.zeros((2, 2), dtype=np.float32))
np.save(d + "/tiles.npy", np.array([[[0, 1]], [[10, 20]]], dtype=np.float32))
np.save(d + "/stack.npy", np.random.RandomState(0).randn(16, 9, 9).astype(np.float32))
np.save(d + "/z3.npy", np.zeros((4, 0, 2), dtype=np.float32))
PY
    # viridis: ramp 0..255 over [0, 255] gives the table itself
    "$hm" --cmap viridis --scale 1 -o "$tmp/v.png" "$tmp/ramp.npy"
    expect_size "$tmp/v.png" 256 1
    read -r -a v <<< "$(pix "$tmp/v.png" | sed -n 2p)"
    [[ ${v[0]} == 68,1,84 && ${v[128]} == 33,145,140 && ${v[255]} == 253,231,37 ]] ||
        fail "viridis: ${v[0]} ${v[128]} ${v[255]}"
    ok "viridis(0) = #440154, entry 128 = #21918c, viridis(1) = #fde725"
    # diverging = RdBu_r: matplotlib's LinearSegmentedColormap rule, rounded
    "$hm" --cmap diverging --vmin 0 --vmax 255 --scale 1 -o "$tmp/d.png" "$tmp/ramp.npy"
    pix "$tmp/d.png" | sed -n 2p | /usr/bin/python3 -c '
import sys, numpy as np
rdbu = ["67001f", "b2182b", "d6604d", "f4a582", "fddbc7", "f7f7f7",
        "d1e5f0", "92c5de", "4393c3", "2166ac", "053061"][::-1]
stops = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in rdbu], float)
x = np.linspace(0, 1, 256)
want = np.stack([np.interp(x, np.linspace(0, 1, 11), stops[:, c]) for c in range(3)], 1)
want = np.floor(want + 0.5).astype(int)
got = np.array([[int(c) for c in p.split(",")] for p in sys.stdin.read().split()])
assert got.shape == (256, 3) and (got == want).all(), np.argwhere(got != want)[:5]
assert tuple(got[0]) == (5, 48, 97) and tuple(got[255]) == (103, 0, 31)
assert min(got[128]) >= 240
' || fail "diverging LUT differs from RdBu_r"
    ok "diverging: all 256 entries equal RdBu_r (ColorBrewer RdBu reversed, interpolated)"
    # diverging default range is symmetric: -2, 0, 1 -> entries 0, 128, 191
    "$hm" --cmap diverging --scale 1 -o "$tmp/s.png" "$tmp/sym.npy"
    read -r -a s <<< "$(pix "$tmp/s.png" | sed -n 2p)"
    read -r -a dl <<< "$(pix "$tmp/d.png" | sed -n 2p)"
    [[ ${s[0]} == "${dl[0]}" && ${s[1]} == "${dl[128]}" && ${s[2]} == "${dl[191]}" ]] ||
        fail "diverging symmetric: ${s[*]}"
    ok "diverging default range is [-max|x|, max|x|] (int64 input)"
    # NaN is magenta; range from the finite values
    "$hm" --scale 1 -o "$tmp/n.png" "$tmp/nan.npy"
    [[ $(pix "$tmp/n.png") == $'2 2\n255,0,255 0,0,0\n128,128,128 255,255,255' ]] ||
        fail "NaN pixels: $(pix "$tmp/n.png")"
    ok "NaN drawn magenta #ff00ff, range from the finite values"
    # --vmin/--vmax clamp
    "$hm" --scale 1 --vmin 64 --vmax 191 -o "$tmp/c.png" "$tmp/ramp.npy"
    read -r -a c <<< "$(pix "$tmp/c.png" | sed -n 2p)"
    [[ ${c[0]} == 0,0,0 && ${c[64]} == 0,0,0 && ${c[191]} == 255,255,255 && ${c[255]} == 255,255,255 &&
       ${c[128]} == 129,129,129 ]] || fail "clamping: ${c[0]} ${c[64]} ${c[128]} ${c[191]} ${c[255]}"
    ok "--vmin/--vmax clamp outside values to the ends"
    # per-tile ranges
    "$hm" --scale 1 --gap 1 -o "$tmp/p0.png" "$tmp/tiles.npy"
    "$hm" --scale 1 --gap 1 --per-tile -o "$tmp/p1.png" "$tmp/tiles.npy"
    [[ $(pix "$tmp/p0.png" | sed -n 2p) == "0,0,0 13,13,13 60,80,120 128,128,128 255,255,255" ]] ||
        fail "shared range: $(pix "$tmp/p0.png")"
    [[ $(pix "$tmp/p1.png" | sed -n 2p) == "0,0,0 255,255,255 60,80,120 0,0,0 255,255,255" ]] ||
        fail "--per-tile: $(pix "$tmp/p1.png")"
    ok "shared range across tiles by default, --per-tile gives each its own"
    # a 16-tile 9x9 stack: 4x4 grid, K = ceil(256/36) = 8, gap 2
    "$hm" --cmap viridis "$tmp/stack.npy" > "$tmp/stack.png"
    expect_size "$tmp/stack.png" $((4 * 9 * 8 + 3 * 2)) $((4 * 9 * 8 + 3 * 2))
    ok "16x9x9 stack -> 4x4 grid of 72-pixel tiles, 294x294"
fi

# --- a 4-D conv weight [O,I,KH,KW]: a grid row per output channel, I tiles each ---
# f4.npy is (1, 2, 3, 4): one row of two 3x4 tiles; K = ceil(256/3) = 86, gap 21
"$hm" -o "$tmp/w4.png" $fx/f4.npy
expect_size "$tmp/w4.png" $((2 * 4 * 86 + 21)) $((3 * 86))
ok "4-D (1, 2, 3, 4) -> one row of 2 tiles, 709x258"
if ((numpy)); then
    /usr/bin/python3 -c '
import sys, numpy as np
r = np.random.RandomState(1)
for name, shape in (("w16", (16, 6, 5, 5)), ("w6", (6, 1, 5, 5))):
    w = r.randn(*shape).astype(np.float32)
    np.save(f"{sys.argv[1]}/{name}.npy", w)
    np.save(f"{sys.argv[1]}/{name}-3d.npy", w.reshape(-1, shape[2], shape[3]))' "$tmp"
    # [16,6,5,5] is the stack [96,5,5] in 6 columns; [6,1,5,5] the stack [6,5,5]
    "$hm" --cmap diverging -o "$tmp/w16.png" "$tmp/w16.npy"
    "$hm" --cmap diverging --cols 6 -o "$tmp/w16-3d.png" "$tmp/w16-3d.npy"
    cmp -s "$tmp/w16.png" "$tmp/w16-3d.png" || fail "4-D [16,6,5,5] is not the stack [96,5,5] in 6 columns"
    "$hm" --per-tile < "$tmp/w6.npy" > "$tmp/w6.png"
    "$hm" --per-tile -o "$tmp/w6-3d.png" "$tmp/w6-3d.npy"
    cmp -s "$tmp/w6.png" "$tmp/w6-3d.png" || fail "4-D [6,1,5,5] is not the stack [6,5,5]"
    "$hm" --cols 4 -o "$tmp/w16c.png" "$tmp/w16.npy"
    "$hm" --cols 4 -o "$tmp/w16c-3d.png" "$tmp/w16-3d.npy"
    cmp -s "$tmp/w16c.png" "$tmp/w16c-3d.png" || fail "4-D with --cols 4 is not the stack with --cols 4"
    ok "4-D [16,6,5,5] = the stack [96,5,5] in 6 columns, [6,1,5,5] = [6,5,5], --cols wins"
fi

# --- bad inputs: exit 1, "heatmap: FILE: ...", nothing left behind -------------
mkdir "$tmp/bad" "$tmp/out"
cp $fx/i8.npy "$tmp/bad/1d.npy"
# a 5-D float32 (1, 1, 1, 1, 1): the .npy header written here (128 bytes in all)
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }"
hdr=$(printf '%-117s' "$hdr")
{ printf '\x93NUMPY\x01\x00\x76\x00%s\n' "$hdr"; printf '\x00\x00\x80\x3f'; } > "$tmp/bad/5d.npy"
cp $fx/f8.npy "$tmp/bad/0d.npy"
cp $fx/empty.npy "$tmp/bad/empty.npy"
head -c 100 $fx/u1.npy > "$tmp/bad/truncated.npy"
echo "not a npy" > "$tmp/bad/junk.npy"
declare -A expect=(
    [1d.npy]="need a 2-D matrix, a 3-D \[N,H,W\] stack or a 4-D \[O,I,KH,KW\] conv weight, got 1-D shape (5,)"
    [5d.npy]="got 5-D shape (1, 1, 1, 1, 1)" [0d.npy]="got 0-D" [empty.npy]="zero-sized dimension"
    [truncated.npy]="" [junk.npy]=""
)
if ((numpy)); then
    mv "$tmp/allnan.npy" "$tmp/allinf.npy" "$tmp/z3.npy" "$tmp/bad/"
    expect[allnan.npy]="no finite values"
    expect[allinf.npy]="no finite values"
    expect[z3.npy]="shape (4, 0, 2) has a zero-sized dimension"
fi
for f in "$tmp"/bad/*; do
    name=$(basename "$f")
    rc=0
    "$hm" -o "$tmp/out/x.png" "$f" 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "$name: exit $rc, expected 1"
    grep -q "^heatmap: $f: .*${expect[$name]}" "$tmp/err" || fail "$name: message: $(cat "$tmp/err")"
    [[ -z $(ls -A "$tmp/out") ]] || fail "$name: left files behind: $(ls -A "$tmp/out")"
    rc=0
    "$hm" < "$f" > "$tmp/stdout.png" 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "$name (stdin): exit $rc, expected 1"
    grep -q "^heatmap: <stdin>: .*${expect[$name]}" "$tmp/err" || fail "$name (stdin): message: $(cat "$tmp/err")"
    ok "refused $name: $(cat "$tmp/err")"
done
# absurd sizes
rc=0; "$hm" --scale 20000 -o "$tmp/out/x.png" $fx/u1.npy 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "^heatmap: $fx/u1.npy: the image would be 60000 x 40000 pixels, over 32768 per side" "$tmp/err"; } ||
    fail "--scale 20000: exit $rc: $(cat "$tmp/err")"
rc=0; "$hm" --scale 9000 -o "$tmp/out/x.png" $fx/u1.npy 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "^heatmap: $fx/u1.npy: .* MiB), over 256 MiB" "$tmp/err"; } ||
    fail "--scale 9000: exit $rc: $(cat "$tmp/err")"
[[ -z $(ls -A "$tmp/out") ]] || fail "too large: left files behind"
ok "absurd image sizes refused (32768 per side, 256 MiB)"
# one end given, the other from the data, inverted
rc=0; "$hm" --vmin 9 -o "$tmp/out/x.png" $fx/u1.npy 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "^heatmap: $fx/u1.npy: vmin 9 is above vmax 5 (vmax from the data)" "$tmp/err"; } ||
    fail "--vmin 9: exit $rc: $(cat "$tmp/err")"
ok "--vmin above the data's max refused"
# an existing output survives a failed run untouched
"$hm" -o "$tmp/out/keep.png" $fx/u1.npy
cp "$tmp/out/keep.png" "$tmp/keep.ref"
"$hm" -o "$tmp/out/keep.png" "$tmp/bad/1d.npy" 2> /dev/null && fail "bad input accepted"
cmp "$tmp/out/keep.png" "$tmp/keep.ref" || fail "old output was changed"
[[ $(ls -A "$tmp/out") == keep.png ]] || fail "temp files left: $(ls -A "$tmp/out")"
ok "failed run keeps the old output, leaves no temp file"
# missing input, unwritable output directory
rc=0; "$hm" /nonexistent/x.npy > /dev/null 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -qx "heatmap: /nonexistent/x.npy: No such file or directory" "$tmp/err"; } ||
    fail "missing input: exit $rc: $(cat "$tmp/err")"
rc=0; "$hm" -o /nonexistent/dir/x.png $fx/u1.npy 2> "$tmp/err" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "^heatmap: /nonexistent/dir/x.png: " "$tmp/err"; } || fail "bad -o dir: exit $rc"
ok "missing input and unwritable output: exit 1, 'heatmap: NAME: ...'"
if [[ -w /dev/full ]]; then
    rc=0; "$hm" < $fx/u1.npy > /dev/full 2> "$tmp/err" || rc=$?
    { [[ $rc -eq 1 ]] && grep -q "^heatmap: <stdout>: .*\(No space left on device\|Write Error\)" "$tmp/err"; } ||
        fail "/dev/full: exit $rc: $(cat "$tmp/err")"
    ok "a full disk on stdout is an error"
fi

# --- usage: exit 2 with a hint --------------------------------------------------
"$hm" --help > "$tmp/help" || fail "--help failed"
{ grep -q "^usage: heatmap" "$tmp/help" &&
  grep -qF "featmat | heatmap -o nfm.png" "$tmp/help" &&
  grep -qF "snapshot --ckpt runs/quick-mnist/lenet5/epoch-004.npz --tensor conv1.weight |" "$tmp/help"; } ||
    fail "--help text"
"$hm" -h | cmp - "$tmp/help" || fail "-h differs from --help"
"$hm" --version | grep -q '^heatmap' || fail "--version"
ok "--help (with the example pipeline), -h, --version"
for args in "-x" "--bogus" "a b" "-o" "-o x -o y" "--cmap" "--cmap jet" "--scale 0" "--scale 1.5" \
            "--scale x" "--vmin nan" "--vmax inf" "--vmin 1 --vmax 1" "--vmin 2 --vmax 1" "--cols 0" \
            "--gap -1" "--per-tile=1"; do
    rc=0
    # shellcheck disable=SC2086 # split on purpose
    "$hm" $args < /dev/null > /dev/null 2> "$tmp/err" || rc=$?
    [[ $rc -eq 2 ]] || fail "usage '$args': exit $rc, expected 2"
    { [[ $(wc -l < "$tmp/err") -eq 1 ]] && grep -q "^heatmap: .* (see heatmap --help)$" "$tmp/err"; } ||
        fail "usage '$args': message: $(cat "$tmp/err")"
done
ok "usage errors exit 2 with a hint"

# --- terminals: PNG to a tty is refused, and so is reading one -----------------
if command -v script > /dev/null && script -qec true /dev/null > /dev/null 2>&1; then
    out=$(cd "$tmp" && script -qec "'$hm' < '$FE_ROOT/$fx/u1.npy'" /dev/null 2>&1) && fail "wrote to a terminal"
    grep -q "heatmap: <stdout>: refusing to write binary data to a terminal; use -o FILE or a pipe" <<< "$out" ||
        fail "tty message: $out"
    out=$(cd "$tmp" && script -qec "'$hm' -o tty.png" /dev/null 2>&1) && fail "read a terminal"
    grep -q "heatmap: <stdin>: refusing to read binary data from a terminal" <<< "$out" || fail "tty in: $out"
    [[ ! -e $tmp/tty.png ]] || fail "tty.png left behind"
    leftovers=("$tmp"/.*.tmp.*)
    [[ ! -e ${leftovers[0]} ]] || fail "temp left behind: ${leftovers[*]}"
    ok "terminal refused for output and for input"
else
    echo "note: script(1) unusable here; terminal checks skipped"
fi
echo "test_heatmap: $checks checks passed"
