# plot-curves.gp - loss and accuracy per epoch from a train metrics.tsv (Figures 1-2).
# gnuplot -e "metrics='runs/mnist/lenet5/metrics.tsv'; out='fig.png'; name='LeNet-5'" plot-curves.gp
# Columns: epoch train_loss train_acc val_loss val_acc test_loss test_acc seconds images_per_s
# (term: optional, the gnuplot terminal, pngcairo unless given; tests: svg)
# Three panels: the loss on a log scale (a linear one left the last epochs' 0.02-0.03
# flat on the floor), the accuracy on 0-100%, and the accuracy again zoomed to the
# top: from 95% down to just under the lowest validation or test accuracy of the
# second half of the run (Figure 1: 95-100%, where the report's claims are).
if (!exists("term")) { term = "pngcairo" }
set terminal @term size 1650,500 font "sans,11"
set output out
set datafile separator "\t"
set datafile missing ""
set key autotitle columnhead
# a tic every epoch up to 12 epochs, else every 5 (30 labels would run together)
stats metrics every ::1 using 1 nooutput
last = STATS_max
tstep = last <= 12 ? 1 : 5
stats metrics every ::1 using ($1 >= last / 2.0 ? ($5 < $7 ? $5 : $7) : NaN) nooutput
zlo = floor(STATS_min) - 1
zlo = zlo < 95 ? zlo : 95
zlo = zlo > 0 ? zlo : 0
set multiplot layout 1,3 title name font "sans,13"
set xlabel "epoch"
set xtics tstep
set mxtics tstep
set grid
# the test line: as heavy as the others, dashed, with its own points
test_style = "linespoints lw 2 dt 2 pt 9 ps 1.1 lc rgb '#d55e00'"
set key top right
set title "loss"
set ylabel "cross-entropy loss (log scale)"
set logscale y
eval 'plot metrics using 1:2 with linespoints lw 2 pt 7 title "train (during the epoch, over its batches)", '. \
     'metrics using 1:4 with linespoints lw 2 pt 5 title "validation", '. \
     'metrics using 1:6 with '.test_style.' title "test"'
unset logscale y
# one key, in the loss panel: the accuracy panels' lines share its styles
unset key
set ylabel "accuracy (%)"
acc = 'plot metrics using 1:3 with linespoints lw 2 pt 7, '. \
      'metrics using 1:5 with linespoints lw 2 pt 5, metrics using 1:7 with '.test_style
set title "accuracy"
set yrange [0:100]
eval acc
set title sprintf("accuracy zoomed to %g-100%%", zlo)
set yrange [zlo:100]
eval acc
unset multiplot
