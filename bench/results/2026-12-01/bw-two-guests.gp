set terminal pngcairo size 900,560
set output 'bw-two-guests.png'
set title 'RDMA bandwidth over rxe, two-guests'
set xlabel 'message size (bytes)'
set ylabel 'MiB/s'
set logscale x 2
set format x '%.0b%B'
set key outside right
set grid
set yrange [0:*]
plot 'bw-two-guests.dat' index 0 using 1:2:3:4 with yerrorlines lc 1 dt 1 title 'WRITE host', 'bw-two-guests.dat' index 1 using 1:2:3:4 with yerrorlines lc 1 dt 2 title 'WRITE dmabuf', 'bw-two-guests.dat' index 2 using 1:2:3:4 with yerrorlines lc 2 dt 1 title 'READ host', 'bw-two-guests.dat' index 3 using 1:2:3:4 with yerrorlines lc 2 dt 2 title 'READ dmabuf', 'bw-two-guests.dat' index 4 using 1:2:3:4 with yerrorlines lc 3 dt 1 title 'SEND host', 'bw-two-guests.dat' index 5 using 1:2:3:4 with yerrorlines lc 3 dt 2 title 'SEND dmabuf'
