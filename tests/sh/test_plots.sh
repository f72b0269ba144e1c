#!/usr/bin/env bash
# test_plots.sh - the gnuplot scripts' epoch axis: a tic every epoch up to 12
# epochs, every 5 beyond (at 30 epochs one label per epoch ran together).  Each
# script is run on made-up data and asked, after it ends, for its x tics.
# Then plot-matrices.gp's colour bars and kernel key (Figures 6-7), read from what
# gnuplot really prints: the script drawn as SVG, where every label is text; Figure
# 1's zoomed and log panels, Figure 8's key, Figures 4-5's maps (plot-maps.gp), and
# featevo-npy2txt(1)'s gnuplot example (row 0 at the top).
# Env: FE_ROOT (repository root).
set -euo pipefail
: "${FE_ROOT:?set FE_ROOT}"
command -v gnuplot > /dev/null || { echo "SKIP: test_plots.sh needs gnuplot"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
G=$FE_ROOT/pipeline

# xstep SCRIPT VARS: the step of the x tics the script leaves set
xstep() {
    gnuplot -e "$2" "$G/$1" -e "show xtics" 2>&1 | sed -n 's/^[[:space:]]*series by \([0-9.]*\).*/\1/p'
}

metrics() {   # metrics N: a train metrics.tsv for epochs 0..N
    printf 'epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\ttest_loss\ttest_acc\tseconds\timages_per_s\ttrain_acc_batchmean\n'
    for e in $(seq 0 "$1"); do printf '%d\t1\t50\t1\t50\t1\t50\t1\t1\t50\n' "$e"; done
}
for c in 3:1 12:1 13:5 30:5; do
    metrics "${c%%:*}" > "$tmp/m.tsv"
    s=$(xstep plot-curves.gp "metrics='$tmp/m.tsv'; out='/dev/null'; name='t'")
    [[ $s == "${c##*:}" ]] || fail "plot-curves.gp, ${c%%:*} epochs: x tics by '$s', want ${c##*:}"
    checks=$((checks + 1))
done

# Figure 1's run: accuracy from 10% to 99.x%, loss from 2.3 to 0.002.  The last
# panel is the accuracy zoomed to 95-100% (the y range the script leaves set; on
# 0-100 the report's 98-99% claims were flat), and the loss panel is on a log
# scale: its tic labels (the script drawn as SVG) include 0.001.
{ printf 'epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\ttest_loss\ttest_acc\tseconds\timages_per_s\ttrain_acc_batchmean\n'
  printf '0\t\t\t2.3\t10\t2.3\t10\t0\t\t\n'
  for e in $(seq 1 30); do
      awk -v e="$e" 'BEGIN { l = 2.3 * exp(-e / 4); a = 100 - 90 * exp(-e / 2) - 0.6 * (e > 3)
          printf "%d\t%.6f\t%.3f\t%.6f\t%.3f\t%.6f\t%.3f\t1\t1\t%.3f\n", e, l, a, l, a, l, a, a }'
  done; } > "$tmp/m.tsv"
yr=$(gnuplot -e "metrics='$tmp/m.tsv'; out='/dev/null'; name='t'" "$G/plot-curves.gp" -e "show yrange" 2>&1 |
    sed -n 's/.*set yrange \[ *\([-0-9.e+]*\) *: *\([-0-9.e+]*\) *\].*/\1:\2/p')
awk -v r="$yr" 'BEGIN { split(r, v, ":"); exit !(v[1] == 95 && v[2] == 100) }' ||
    fail "plot-curves.gp: the last panel's y range '$yr', want 95:100 (the zoomed accuracy)"
gnuplot -e "metrics='$tmp/m.tsv'; out='$tmp/m.svg'; term='svg'; name='t'" "$G/plot-curves.gp" ||
    fail "plot-curves.gp failed"
grep -q '<tspan[^>]*> *0.001</tspan>' "$tmp/m.svg" || fail "plot-curves.gp: no tic 0.001: the loss is not on a log scale"
checks=$((checks + 1))

# cnfa.tsv: the last panel (the Table 1 run) decides the step left set; the
# correlations lie inside the y range [-0.2, 1.05] but the epochs do not, so
# counting them with the y range set would find epoch 1 as the last
cnfa() {   # cnfa N: LeNet-5 for 4 epochs, both ResNet-18 runs for N
    printf 'model\tlayer\tepoch\tcorr_nfm_agop\tcorr_nfm_init\n'
    for e in $(seq 0 4); do printf 'lenet5\tconv1\t%d\t0.9\t1\n' "$e"; done
    for m in resnet18 t1run; do
        for e in $(seq 0 "$1"); do printf '%s\tconv1\t%d\t0.5\t0.9\n' "$m" "$e"; done
    done
}
for c in 3:1 30:5; do
    cnfa "${c%%:*}" > "$tmp/c.tsv"
    s=$(xstep plot-cnfa.gp "data='$tmp/c.tsv'; out='/dev/null'; lenet='conv1'; resnet='conv1'; lr_resnet='1e-4'; t1='t1run'")
    [[ $s == "${c##*:}" ]] || fail "plot-cnfa.gp, ${c%%:*} epochs: x tics by '$s', want ${c##*:}"
    checks=$((checks + 1))
done

# Figure 8's key: below each panel, under its x label "epoch" (inside the panel
# it covered the dashed lines near 0).  The SVG's text: each key entry's y is
# below (greater than) every "epoch"'s.
gnuplot -e "data='$tmp/c.tsv'; out='$tmp/c.svg'; term='svg'; lenet='conv1'; resnet='conv1'; lr_resnet='1e-4'; t1='t1run'" \
    "$G/plot-cnfa.gp" || fail "plot-cnfa.gp failed"
ys() {   # ys TEXT: the y of each text element that reads TEXT
    grep -B1 "<text><tspan[^>]*>$1</tspan></text>" "$tmp/c.svg" | sed -n 's/.*translate([0-9.]*,\([0-9.]*\)).*/\1/p'
}
key=$(ys conv1) epoch=$(ys epoch)
[[ $(wc -w <<< "$key") == 3 && $(wc -w <<< "$epoch") == 3 ]] || fail "plot-cnfa.gp: key entries '$key', x labels '$epoch'"
lowest=$(sort -g <<< "$epoch" | tail -1)
for y in $key; do
    awk -v y="$y" -v e="$lowest" 'BEGIN { exit !(y > e) }' || fail "plot-cnfa.gp: a key entry (y $y) above the x label (y $lowest): inside the panel"
done
checks=$((checks + 1))

# sweep.tsv: epochs in column 3
printf 'lr\tinit\tepoch\truns\ttrain_acc_mean\ttrain_acc_sd\tval_acc_mean\tval_acc_sd\ttest_acc_mean\ttest_acc_sd\n' > "$tmp/s.tsv"
for e in $(seq 0 20); do printf '1e-7\t1e-4\t%d\t2\t50\t1\t50\t1\t50\t1\n' "$e" >> "$tmp/s.tsv"; done
s=$(xstep plot-sweep.gp "data='$tmp/s.tsv'; out='/dev/null'; groups='1e-7/1e-4'; name='t'")
[[ $s == 5 ]] || fail "plot-sweep.gp, 20 epochs: x tics by '$s', want 5"
checks=$((checks + 1))

# plot-matrices.gp: each panel's colour-bar labels, parsed back to numbers, lie in
# [min, max] of its matrix and are all different, and say their exponent in full
# ("2.5e-14"; gnuplot's default wrote 2.5x10^-14, clipped at the figure's edge, and
# 0.000001 for 1.0e-6 and 1.001e-6 alike); none runs past the figure's right edge
# (its width guessed at 0.6 em a character); a 9x9 matrix with kernel=3 has the
# index -> (kh, kw) key on its y axis.  The ranges: the quick run's AGOP at epoch 3,
# the full run's NFM at epoch 3, a narrow one, a small one across 0, epoch 0's AGOP,
# and one about 1.
if [[ ! -x /usr/bin/python3 ]]; then
    echo "note: no /usr/bin/python3; the colour-bar checks skipped"
else
    ranges="-5e-15:3.6e-14 1.5e-7:2.05e-6 1.000e-6:1.004e-6 -0.002:0.0125 -1.2e-28:5.3e-28 0.25:1.3"
    files=
    i=0
    for r in $ranges; do
        i=$((i + 1))
        # 9x9, min and max both present, the rest spread between them
        awk -v lo="${r%%:*}" -v hi="${r##*:}" 'BEGIN { for (a = 0; a < 9; a++) { l = "";
            for (b = 0; b < 9; b++) { k = (a * 9 + b) * 37 % 81; l = l (b ? " " : "") sprintf("%.9g", lo + (hi - lo) * k / 80) }
            print l } }' > "$tmp/m$i.txt"
        files="$files $tmp/m$i.txt"
    done
    gnuplot -e "files='${files# }'; titles='a b c d e f'; rows=2; rowscale=2; kernel=3; term='svg'; out='$tmp/m.svg'; name='t'" \
        "$G/plot-matrices.gp" || fail "plot-matrices.gp failed"
    # shellcheck disable=SC2086 # the file names, one argument each
    /usr/bin/python3 - "$tmp/m.svg" 2 $files <<'PY' || fail "plot-matrices.gp: colour bars or kernel key (above)"
import re, sys
svg, rows, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
s = open(svg).read()
W, H = (float(x) for x in re.search(r'<svg[^>]*width="([\d.]+)"[^>]*height="([\d.]+)"', s, re.S).groups())
cb, yt = {}, {}
for m in re.finditer(r'<g transform="translate\(([\d.]+),([\d.]+)\)"([^>]*)>\s*<text>(.*?)</text>', s, re.S):
    x, y, attrs, text = float(m.group(1)), float(m.group(2)), m.group(3), re.sub(r"<[^>]*>", "", m.group(4)).strip()
    size = float(re.search(r'font-size="([\d.]+)"', attrs).group(1))
    row = int(y // (H / rows))
    if 'text-anchor="start"' in attrs:      # colour-bar labels: one x per panel
        cb.setdefault((row, x), []).append((text, size))
    elif 'text-anchor="end"' in attrs:      # y tic labels, left of each panel
        yt.setdefault((row, x), []).append(text)
bad = []
panels = sorted(cb)
if len(panels) != len(files):
    bad.append(f"{len(panels)} colour bars for {len(files)} panels")
for (row, x), f in zip(panels, files):
    vals = [float(v) for l in open(f) for v in l.split()]
    lo, hi = min(vals), max(vals)
    labels = [t for t, _ in cb[(row, x)]]
    try:
        nums = [float(t) for t in labels]
    except ValueError:
        bad.append(f"{f}: labels {labels} are not numbers as printed"); continue
    if len(nums) < 3:
        bad.append(f"{f}: only {len(nums)} labels {labels}")
    if len(set(labels)) != len(labels) or len(set(nums)) != len(nums):
        bad.append(f"{f}: labels {labels} repeat")
    tol = (hi - lo) * 1e-6
    if any(not lo - tol <= v <= hi + tol for v in nums):
        bad.append(f"{f}: labels {labels} outside [{lo:g}, {hi:g}]")
    # a label that rounds to 0 while it stands for another value ("0.000000")
    for t, v in zip(labels, nums):
        if v != 0 and abs(v) < (hi - lo) * 1e-3:
            bad.append(f"{f}: label {t} reads as 0 against a span of {hi - lo:g}")
    for t, size in cb[(row, x)]:
        if x + 0.6 * size * len(t) > W:
            bad.append(f"{f}: label {t} at x {x} runs past the figure's right edge {W}")
want = [f"{k} ({k // 3},{k % 3})" for k in range(9)]
for key in sorted(yt):
    if sorted(yt[key]) != sorted(want):
        bad.append(f"y tics {yt[key]}, want {want}")
print("\n".join(bad) if bad else f"{len(panels)} colour bars, {len(yt)} kernel keys: ok")
sys.exit(1 if bad or len(yt) != len(files) else 0)
PY
    checks=$((checks + 1))
fi
# plot-maps.gp (Figures 4-5): E epochs x C filters of HxW maps from npy2txt's 3-D
# text (two blank lines between tiles); epoch e's maps are (e+1) times epoch 0's.
# One colour scale for the figure: the range the script leaves set is [0, E] over
# all tiles (each tile its own scale hid the growth); the rows and columns are
# labelled "epoch e" and the filter numbers; at least 4 pixels a value
# ((SVG width - the 190 pixels of margins) / the grid's width in values).
stack() {   # stack E C H W: the text of the stack
    awk -v E="$1" -v C="$2" -v H="$3" -v W="$4" 'BEGIN { for (e = 0; e < E; e++) for (c = 0; c < C; c++) {
        if (e || c) printf "\n\n"
        for (i = 0; i < H; i++) { l = ""; for (j = 0; j < W; j++) l = l (j ? " " : "") (e + 1) * ((i * W + j + c) % 7) / 6; print l } } }'
}
for c in 3:4:5:5 11:6:28:28 11:16:10:10; do
    IFS=: read -r e nc h w <<< "$c"
    stack "$e" "$nc" "$h" "$w" > "$tmp/s.txt"
    cbr=$(gnuplot -e "file='$tmp/s.txt'; filters=$nc; epochs='$(seq -s ' ' 0 $((e - 1)))'; term='svg'; out='$tmp/s.svg'; name='t'" \
        "$G/plot-maps.gp" -e "show cbrange" 2>&1 | sed -n 's/.*set cbrange \[ *\([-0-9.e+]*\) *: *\([-0-9.e+]*\) *\].*/\1:\2/p')
    awk -v r="$cbr" -v e="$e" 'BEGIN { split(r, v, ":"); exit !(v[1] == 0 && v[2] == e) }' ||
        fail "plot-maps.gp $c: colour range '$cbr', want 0:$e (one scale over every tile)"
    for l in "epoch 0" "epoch $((e - 1))" filter 0 $((nc - 1)); do
        grep -q "<tspan[^>]*> *$l</tspan>" "$tmp/s.svg" || fail "plot-maps.gp $c: no label '$l'"
    done
    width=$(sed -n 's/.*<svg[^>]*width="\([0-9.]*\)".*/\1/p;s/^ *width="\([0-9.]*\)".*/\1/p' "$tmp/s.svg" | head -1)
    awk -v W="$width" -v g=$(((w + 9) / 10)) -v nc="$nc" -v w="$w" 'BEGIN { exit !((W - 190) / (nc * (w + g) - g) >= 4) }' ||
        fail "plot-maps.gp $c: $width pixels wide: under 4 pixels a value"
    checks=$((checks + 1))
done

# featevo-npy2txt(1)'s gnuplot example, run as the page prints it on a 3x3 matrix
# whose row 0 is 1 (yellow in gnuplot's default palette), row 1 0.5 (red), row 2
# 0: row 0 must be drawn at the top like heatmap and Figures 6-7 (the yellow
# pixels above the red ones); it drew it at the bottom.
if [[ -x /usr/bin/python3 ]]; then
    mkdir "$tmp/ex"
    printf '1 1 1\n0.5 0.5 0.5\n0 0 0\n' > "$tmp/ex/nfm.txt"
    # the example's gnuplot command: from "gnuplot" to the line without a trailing
    # \e, with the roff escapes \- and \e undone
    /usr/bin/python3 - "$FE_ROOT/tools/man/featevo-npy2txt.1" > "$tmp/ex/run.sh" <<'PY'
import sys
lines, out = open(sys.argv[1]).read().split("\n"), []
for l in lines:
    if l.startswith("gnuplot ") or out:
        out.append(l.replace("\\-", "-").replace("\\e", "\\"))
        if not l.endswith("\\e"):
            break
print("\n".join(out))
PY
    grep -q "^gnuplot " "$tmp/ex/run.sh" || fail "featevo-npy2txt(1): no gnuplot example found"
    (cd "$tmp/ex" && bash run.sh) || fail "featevo-npy2txt(1)'s gnuplot example failed: $(cat "$tmp/ex/run.sh")"
    /usr/bin/python3 - "$tmp/ex/nfm.png" <<'PY' || fail "featevo-npy2txt(1)'s gnuplot example: row 0 not at the top"
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
pos, idat = 8, b""
while pos < len(d):
    n, typ = struct.unpack(">I4s", d[pos:pos + 8])
    if typ == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", d[pos + 8:pos + 18])
    elif typ == b"IDAT":
        idat += d[pos + 8:pos + 8 + n]
    pos += 12 + n
bpp = {2: 3, 6: 4}[ctype]
assert depth == 8, depth
raw, stride, prev, ys = zlib.decompress(idat), bpp * w, bytearray(bpp * w), {"yellow": [], "red": []}
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
        p = a + b - c
        pred = [0, a, b, (a + b) // 2, a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c)][f]
        line[i] = (line[i] + pred) & 255
    prev = line
    for x in range(0, stride, bpp):
        r, g, bl = line[x:x + 3]
        if r > 200 and g > 200 and bl < 80:
            ys["yellow"].append(y)
        elif r > 150 and g < 80 and bl < 60:
            ys["red"].append(y)
if not ys["yellow"] or not ys["red"]:
    sys.exit("no yellow or no red pixels")
my, mr = (sum(v) / len(v) for v in (ys["yellow"], ys["red"]))
print(f"row 0 (yellow) at y {my:.0f}, row 1 (red) at y {mr:.0f}")
sys.exit(0 if my < mr else 1)
PY
    checks=$((checks + 1))
fi
echo "test_plots.sh: $checks checks passed"
