# plot-matrices.gp - square matrices side by side as grey images with colour bars
# (Figures 6, 6b, 7).  Variables:
#   files    space-separated text matrices (npy2txt output)
#   titles   one per file (underscores shown as spaces)
#   rows     panel rows; files fill them row by row
#   rowscale 0: one grey scale shared by every panel; 1: one scale per row;
#            2: each panel its own scale
#   out, name  output PNG and figure title
n = words(files)
cols = n / rows
set terminal pngcairo size 340*cols+90, 330*rows+50 font "sans,10"
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
set multiplot layout rows, cols title name font "sans,12"
do for [i=1:n] {
    r = rowscale == 2 ? i : int((i - 1) / cols) + 1
    set cbrange [lo[r]:(hi[r] > lo[r] ? hi[r] : lo[r] + 1)]
    set title system("echo '".word(titles, i)."' | tr _ ' '")
    d = dim[i]
    set xrange [-0.5:d-0.5]
    set yrange [d-0.5:-0.5]
    set colorbox
    set cbtics font ",7"
    plot word(files, i) matrix with image
}
unset multiplot
