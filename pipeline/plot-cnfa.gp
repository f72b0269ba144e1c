# plot-cnfa.gp - the CNFA statistic per epoch (Figure 8): corr(NFM, AGOP) for each
# layer (solid), and corr(NFM at epoch 0, NFM at epoch t) as the baseline (dashed).
#   data   cnfa.tsv: model layer epoch corr_nfm_agop corr_nfm_init
#   lenet, resnet   space-separated layer names;  out  output PNG
set terminal pngcairo size 1300,520 font "sans,11"
set output out
set datafile separator "\t"
set multiplot layout 1,2 title "CNFA: Pearson correlation of NFM = W^T W with the patch AGOP (solid), and of NFM with its epoch-0 value (dashed)" font "sans,12"
set xlabel "epoch"
set xtics 1
set ylabel "correlation"
set yrange [-0.2:1.05]
set grid
set key bottom right font ",9"
sel(m, l) = (strcol(1) eq m && strcol(2) eq l) ? $3 : NaN
set title "LeNet-5"
plot for [i=1:words(lenet)] data every ::1 using (sel("lenet5", word(lenet, i))):4 \
         with linespoints lw 2 pt 7 lc i title word(lenet, i), \
     for [i=1:words(lenet)] data every ::1 using (sel("lenet5", word(lenet, i))):5 \
         with lines lw 1 dt 2 lc i notitle
set title "ResNet-18"
plot for [i=1:words(resnet)] data every ::1 using (sel("resnet18", word(resnet, i))):4 \
         with linespoints lw 2 pt 7 lc i title word(resnet, i), \
     for [i=1:words(resnet)] data every ::1 using (sel("resnet18", word(resnet, i))):5 \
         with lines lw 1 dt 2 lc i notitle
unset multiplot
