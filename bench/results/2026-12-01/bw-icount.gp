set terminal pngcairo size 900,560
set output 'bw-icount.png'
set title 'RDMA bandwidth over rxe, loopback, instructions counted'
set xlabel 'message size (bytes)'
set ylabel 'MiB per 10^9 instructions'
set logscale x 2
set format x '%.0b%B'
set key outside right
set grid
set yrange [0:*]
plot 'bw-icount.dat' index 0 using 1:2:3:4 with yerrorlines lc 1 dt 1 title 'WRITE host', 'bw-icount.dat' index 1 using 1:2:3:4 with yerrorlines lc 1 dt 2 title 'WRITE dmabuf', 'bw-icount.dat' index 2 using 1:2:3:4 with yerrorlines lc 2 dt 1 title 'READ host', 'bw-icount.dat' index 3 using 1:2:3:4 with yerrorlines lc 2 dt 2 title 'READ dmabuf', 'bw-icount.dat' index 4 using 1:2:3:4 with yerrorlines lc 3 dt 1 title 'SEND host', 'bw-icount.dat' index 5 using 1:2:3:4 with yerrorlines lc 3 dt 2 title 'SEND dmabuf'
