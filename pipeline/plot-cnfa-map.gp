# plot-cnfa-map.gp - Figure 9: the CNFA statistic of every ResNet-18 convolution at
# every epoch, as maps with their values written in: layers in network order down,
# epochs across; top corr(NFM, AGOP), bottom corr(NFM at epoch t, NFM at epoch 0);
# left Figure 1's run, right the Table 1 run; one colour scale for all four.
#   data    cnfa.tsv: model layer epoch corr_nfm_agop corr_nfm_init
#   layers  the convolutions, space-separated, in network order
#   run1 run2  the two runs' names in cnfa.tsv's model column;  name1 name2  their titles
#   count   images the AGOPs average over;  out  output PNG
set terminal pngcairo size 2300,1500 font "sans,10"
set output out
set datafile separator "\t"
nl = words(layers)
# a layer's row (1 = the first of layers), NaN for other models and layers
pos(w, i) = i > nl ? NaN : (word(layers, i) eq w ? i : pos(w, i + 1))
row(m) = strcol(1) eq m ? pos(strcol(2), 1) : NaN

# the scale: from 0 (or below the lowest value, to a tenth) to 1
stats data every ::1 using (row(run1) == row(run1) || row(run2) == row(run2) ? ($4 < $5 ? $4 : $5) : NaN) name "V" nooutput
cbmin = V_min < 0 ? floor(V_min * 10) / 10.0 : 0
set cbrange [cbmin:1]
set palette defined (0 "#fff7ec", 0.35 "#fdd49e", 0.6 "#fc8d59", 0.8 "#d7301f", 1 "#67000d")
# white labels on the dark end of the scale
dark = cbmin + 0.72 * (1 - cbmin)
stats data every ::1 using (row(run1) == row(run1) ? $3 : NaN) name "E1" nooutput
stats data every ::1 using (row(run2) == row(run2) ? $3 : NaN) name "E2" nooutput

set yrange [nl + 0.5:0.5]
set ytics scale 0 font ",9"
set for [i=1:nl] ytics add (word(layers, i) i)
set xtics 1 scale 0 font ",9" out
set xlabel "epoch"
set border 0
set tics nomirror
set cbtics 0.1 font ",9"

cell(m, c) = sprintf("'%s' every ::1 using 3:(row('%s')):(0.5):(0.5):%d with boxxyerror fs solid 1.0 noborder lc palette notitle, '' every ::1 using 3:(row('%s')):(sprintf('%%.2f', column(%d))):(column(%d) > dark ? 0xffffff : 0) with labels tc rgb variable font ',%d' notitle", data, m, c, m, c, c, fs)

set multiplot title "CNFA for every convolution of ResNet-18: Pearson correlations of the neural feature matrix W^T W" font ",13"
lw = 0.74
do for [p=1:4] {
    left = (p - 1) % 2 == 0
    top = p <= 2
    set origin (left ? 0 : lw), (top ? 0.48 : 0)
    set size (left ? lw : 1 - lw), 0.47
    m = left ? run1 : run2
    set xrange [-0.5:(left ? E1_max : E2_max) + 0.5]
    fs = ((left ? E1_max : E2_max) > 12) ? 7 : 10
    if (left) { unset colorbox } else { set colorbox user origin 0.975, (top ? 0.53 : 0.05) size 0.01, 0.37 }
    if (left) { set lmargin 17 } else { set lmargin 17 }
    set rmargin (left ? 2 : 10)
    set title sprintf("%s: %s", left ? name1 : name2, top ? "corr(NFM, AGOP over ".count." images)" : "corr(NFM at epoch t, NFM at epoch 0)") noenhanced
    eval "plot ".cell(m, top ? 4 : 5)
}
unset multiplot
