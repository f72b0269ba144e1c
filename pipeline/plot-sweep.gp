# plot-sweep.gp - `make sweep`: accuracy per epoch, mean +- sample sd over the seeds,
# one line per learning rate and initial std.
# gnuplot -e "data='sweep.tsv'; out='fig.png'; groups='1e-7/1e-4 1e-6/1e-4'; name='...'" plot-sweep.gp
# Columns: lr init epoch runs train_acc_mean train_acc_sd val_acc_mean val_acc_sd
#          test_acc_mean test_acc_sd
set terminal pngcairo size 1200,480 font "sans,11"
set output out
set datafile separator "\t"
set datafile missing ""
set multiplot layout 1,2 title name font "sans,13"
set xlabel "epoch"
# a tic every epoch up to 12 epochs, else every 5 (30 labels would run together)
stats data every ::1 using 3 nooutput
tstep = STATS_max <= 12 ? 1 : 5
set xtics tstep
set mxtics tstep
set grid
set xrange [0:*]
set key bottom right
set yrange [0:100]
in(g) = (strcol(1) . "/" . strcol(2) eq g)
sd(c) = (valid(c) ? column(c) : 0)
set ylabel "train accuracy (%, mean of the batches'), mean +- sd"
plot for [g in groups] data using (in(g) && valid(5) ? $3 : NaN):5:(sd(6)) \
     with yerrorlines lw 2 pt 7 title sprintf("lr %s, init std %s", g[1:strstrt(g, "/") - 1], g[strstrt(g, "/") + 1:])
set ylabel "test accuracy (%), mean +- sd"
plot for [g in groups] data using (in(g) ? $3 : NaN):9:(sd(10)) \
     with yerrorlines lw 2 pt 7 title sprintf("lr %s, init std %s", g[1:strstrt(g, "/") - 1], g[strstrt(g, "/") + 1:])
unset multiplot
