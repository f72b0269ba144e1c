# plot-maps.gp - one layer's outputs for one image, epoch by epoch (Figures 4-5): a
# grid with a row per epoch (top to bottom) and a column per filter, each tile one
# output channel's map, under ONE grey scale for the whole figure, so that a map's
# brightness can be compared across epochs and filters (per-tile scales had hidden
# how the amplitudes grow); labelled rows and columns; each value a K x K block of
# pixels, K as large as fits about 1500 x 1800 pixels (3 to 12).
# Variables:
#   file     the stacked maps as text (npy2txt of a [epochs*filters, H, W] stack:
#            tile t = epoch e, filter c with t = e*filters + c; matrix index t)
#   filters  output channels per epoch (tiles per row)
#   epochs   the rows' epoch numbers, space-separated ("0 1 2 3 4")
#   out, name  output PNG and figure title
#   term     (optional) the gnuplot terminal, pngcairo unless given (tests: svg)
if (!exists("term")) { term = "pngcairo" }
C = filters
E = words(epochs)
N = E * C
# a tile's size (H rows, W columns) and the range over every tile
stats file matrix index 0 using 1 nooutput
W = int(STATS_max) + 1
stats file matrix index 0 using 2 nooutput
H = int(STATS_max) + 1
lo = 1e300; hi = -1e300
do for [t=0:N-1] {
    stats file matrix index t using 3 nooutput
    if (STATS_min < lo) { lo = STATS_min }
    if (STATS_max > hi) { hi = STATS_max }
}
if (hi <= lo) { hi = lo + 1 }
# the gap between tiles, in values; K pixels per value
g = ceil(W / 10.0)
K = floor(1500.0 / (C * (W + g)))
K2 = floor(1800.0 / (E * (H + g)))
K = K2 < K ? K2 : K
K = K < 3 ? 3 : (K > 12 ? 12 : K)
gw = C * (W + g) - g
gh = E * (H + g) - g
# margins in pixels: epoch labels left, colour bar right, title and filter labels on top
lm = 80; rm = 110; tm = 75; bm = 15
PW = gw * K + lm + rm
PH = gh * K + tm + bm
set terminal @term size PW, PH font "sans,10"
set output out
set lmargin at screen real(lm) / PW
set rmargin at screen 1 - real(rm) / PW
set tmargin at screen 1 - real(tm) / PH
set bmargin at screen real(bm) / PH
set xrange [-0.5:gw - 0.5]
set yrange [gh - 0.5:-0.5]
unset xtics
unset ytics
unset border
unset key
set palette grey
set cbrange [lo:hi]
set cbtics out scale 0.5 font ",9"
set colorbox user origin screen 1 - (rm - 25.0) / PW, screen real(bm) / PH size screen 14.0 / PW, screen real(gh * K) / PH
set title name font "sans,12" offset 0,1
do for [e=0:E-1] {
    set label sprintf("epoch %s", word(epochs, e + 1)) at -g, e * (H + g) + (H - 1) / 2.0 right font ",10"
}
# the filter numbers 10 pixels above the top row, "filter" left of them
ytop = -0.5 - 10.0 / K
do for [c=0:C-1] {
    set label sprintf("%d", c) at c * (W + g) + (W - 1) / 2.0, ytop center font ",10"
}
set label "filter" at -g, ytop right font ",10"
plot for [t=0:N-1] file matrix index t using ($1 + (t % C) * (W + g)):($2 + int(t / C) * (H + g)):3 with image
