# plot-curves.gp - loss and accuracy per epoch from a train metrics.tsv (Figures 1-2).
# gnuplot -e "metrics='runs/mnist/lenet5/metrics.tsv'; out='fig.png'; name='LeNet-5'" plot-curves.gp
# Columns: epoch train_loss train_acc val_loss val_acc test_loss test_acc seconds images_per_s
set terminal pngcairo size 1200,480 font "sans,11"
set output out
set datafile separator "\t"
set datafile missing ""
set key autotitle columnhead
set multiplot layout 1,2 title name font "sans,13"
set xlabel "epoch"
# a tic every epoch up to 12 epochs, else every 5 (30 labels would run together)
stats metrics every ::1 using 1 nooutput
tstep = STATS_max <= 12 ? 1 : 5
set xtics tstep
set mxtics tstep
set grid
set key top right
set ylabel "cross-entropy loss"
plot metrics using 1:2 with linespoints lw 2 pt 7 title "train (mean over the epoch's batches)", \
     metrics using 1:4 with linespoints lw 2 pt 5 title "validation", \
     metrics using 1:6 with lines lw 1 dt 2 title "test"
set key bottom right
set ylabel "accuracy (%)"
set yrange [0:100]
plot metrics using 1:3 with linespoints lw 2 pt 7 title "train", \
     metrics using 1:5 with linespoints lw 2 pt 5 title "validation", \
     metrics using 1:7 with lines lw 1 dt 2 title "test"
unset multiplot
