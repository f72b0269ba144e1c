# plot-matrices.gp - square matrices side by side as grey images with colour bars
# (Figures 6, 6b, 7).  Variables:
#   files    space-separated text matrices (npy2txt output)
#   titles   one per file (underscores shown as spaces)
#   rows     panel rows; files fill them row by row
#   rowscale 0: one grey scale shared by every panel; 1: one scale per row;
#            2: each panel its own scale
#   out, name  output PNG and figure title
#   kernel   (optional) K: matrices of K*K rows are a KxK kernel's W^T W (one input
#            channel), row i the kernel entry (kh, kw) with i = K*kh + kw: their y
#            tics say so, "4 (1,1)"
#   term     (optional) the gnuplot terminal, pngcairo unless given (tests: svg)
n = words(files)
cols = n / rows
if (!exists("kernel")) { kernel = 0 }
if (!exists("term")) { term = "pngcairo" }
set terminal @term size 360*cols+100, 330*rows+50 font "sans,10"
set output out
set palette grey
set size ratio -1
set yrange [*:*] reverse
unset key
set tics out scale 0.5 font ",8"
# the scales: over everything, or per row
array lo[n]
array hi[n]
array dim[n]
do for [r=1:n] {
    lo[r] = 1e300; hi[r] = -1e300
}
do for [i=1:n] {
    r = rowscale == 2 ? i : (rowscale ? int((i - 1) / cols) + 1 : 1)
    stats word(files, i) matrix using 3 nooutput
    dim[i] = int(sqrt(STATS_records) + 0.5)
    if (STATS_min < lo[r]) { lo[r] = STATS_min }
    if (STATS_max > hi[r]) { hi[r] = STATS_max }
}
if (rowscale == 0) { do for [r=2:n] { lo[r] = lo[1]; hi[r] = hi[1] } }
# The colour bars' tics: about five, a round step apart (1, 2 or 5 times a power of
# ten), labelled mantissa and exponent in full ("2.5e-14", or "0": gnuplot's default "%h"
# wrote 2.5x10^-14, whose exponent the figure's edge clipped, or 0.000002 for
# 1.5e-6 and 2e-6 alike), with as many mantissa digits as the step needs, so
# that no two labels read the same.
cbstep(a, b) = (cb_r = (b - a) / 5.0, cb_m = 10**floor(log10(cb_r)), cb_n = cb_r / cb_m, \
    (cb_n < 1.5 ? 1 : cb_n < 3 ? 2 : cb_n < 7 ? 5 : 10) * cb_m)
cbbig(a, b) = abs(a) > abs(b) ? abs(a) : abs(b)
cbdigits(a, b, s) = (cb_d = floor(log10(cbbig(a, b))) - floor(log10(s)), cb_d > 0 ? cb_d : 0)
set multiplot layout rows, cols title name font "sans,12"
do for [i=1:n] {
    r = rowscale == 2 ? i : int((i - 1) / cols) + 1
    cmin = lo[r]; cmax = hi[r] > lo[r] ? hi[r] : lo[r] + 1
    set cbrange [cmin:cmax]
    step = cbstep(cmin, cmax)
    fmt = sprintf("%%.%dte%%T", cbdigits(cmin, cmax, step))
    ct = ""
    do for [k=ceil(cmin / step):floor(cmax / step)] {
        ct = ct.sprintf('%s"%s" %.17g', ct eq "" ? "" : ", ", k == 0 ? "0" : gprintf(fmt, k * step), k * step)
    }
    eval "set cbtics (".ct.")"
    set title system("echo '".word(titles, i)."' | tr _ ' '")
    d = dim[i]
    set xrange [-0.5:d-0.5]
    set yrange [d-0.5:-0.5]
    if (kernel > 0 && d == kernel * kernel) {
        yt = ""
        do for [k=0:d-1] { yt = yt.sprintf('%s"%d (%d,%d)" %d', k ? ", " : "", k, k / kernel, k % kernel, k) }
        eval "set ytics (".yt.")"
        set xtics 1
        set xlabel sprintf("index = %d kh + kw", kernel) font ",8" offset 0,0.5
    } else {
        set ytics autofreq
        set xtics autofreq
        unset xlabel
    }
    set colorbox
    set cbtics font ",7"
    plot word(files, i) matrix with image
}
unset multiplot
