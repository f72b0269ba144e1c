# plot-cnfa.gp - the CNFA statistic per epoch (Figure 8): corr(NFM, AGOP) for each
# layer (solid), and corr(NFM at epoch 0, NFM at epoch t) as the baseline (dashed).
#   data   cnfa.tsv: model layer epoch corr_nfm_agop corr_nfm_init (models lenet5,
#          resnet18 and the Table 1 run)
#   lenet, resnet   space-separated layer names;  lr_resnet  Figure 1's learning rate;
#   t1  the Table 1 run's name (resnet18-table1-lrLR-fresh|kept-seedS);  out  output PNG
#   term  (optional) the gnuplot terminal, pngcairo unless given (tests: svg)
if (!exists("term")) { term = "pngcairo" }
set terminal @term size 1900,580 font "sans,11"
set output out
set datafile separator "\t"
set multiplot layout 1,3 title "CNFA: Pearson correlation of NFM = W^T W with the patch AGOP (solid), and of NFM with its epoch-0 value (dashed)" font "sans,12"
set xlabel "epoch"
set ylabel "correlation"
set yrange [-0.2:1.05]
set grid
# the key below each panel, outside it: inside, it hid the dashed lines near 0
set key outside below center horizontal maxcols 3 font ",9" height 1.5
sel(m, l) = (strcol(1) eq m && strcol(2) eq l) ? $3 : NaN
# a tic every epoch up to 12 epochs, else every 5 (30 labels would run together)
# (stats counts only values inside the y range: the epochs are counted without it)
ticks(m, layers) = sprintf('set autoscale y; stats data every ::1 using (sel("%s", word("%s", 1))) nooutput; set yrange [-0.2:1.05]; tstep = STATS_max <= 12 ? 1 : 5; set xtics tstep; set mxtics tstep', m, layers)
panel(m, layers) = ticks(m, layers).'; '.sprintf('plot for [i=1:words("%s")] data every ::1 using (sel("%s", word("%s", i))):4 with linespoints lw 2 pt 7 lc i title word("%s", i), for [i=1:words("%s")] data every ::1 using (sel("%s", word("%s", i))):5 with lines lw 1 dt 2 lc i notitle', layers, m, layers, layers, layers, m, layers)
set title "LeNet-5"
eval panel("lenet5", lenet)
set title "ResNet-18, SGD lr ".lr_resnet." (Figure 1's run)"
eval panel("resnet18", resnet)
set title "ResNet-18, the Table 1 run (".t1.")" noenhanced
eval panel(t1, resnet)
unset multiplot
