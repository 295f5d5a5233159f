set terminal pngcairo size 900,560
set output 'registration.png'
set title 'MR registration cost'
set xlabel 'MR size (bytes)'
set ylabel 'µs'
set logscale x 2
set format x '%.0b%B'
set key outside right
set grid
set logscale y 10
plot 'registration.dat' index 0 using 1:2:3:4 with yerrorlines lc 1 dt 1 title 'reg host', 'registration.dat' index 1 using 1:2:3:4 with yerrorlines lc 1 dt 2 title 'reg dmabuf', 'registration.dat' index 2 using 1:2:3:4 with yerrorlines lc 2 dt 1 title 'dereg host', 'registration.dat' index 3 using 1:2:3:4 with yerrorlines lc 2 dt 2 title 'dereg dmabuf'
