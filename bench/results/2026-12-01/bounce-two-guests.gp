set terminal pngcairo size 900,560
set output 'bounce-two-guests.png'
set title 'direct vs bounce, two-guests'
set xlabel 'message size (bytes)'
set ylabel 'MiB/s'
set logscale x 2
set format x '%.0b%B'
set key outside right
set grid
set yrange [0:*]
plot 'bounce-two-guests.dat' index 0 using 1:2:3:4 with yerrorlines lc 1 dt 1 title 'direct', 'bounce-two-guests.dat' index 1 using 1:2:3:4 with yerrorlines lc 1 dt 2 title 'bounce'
