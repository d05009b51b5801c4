# plot.gp - msgs/s against concurrency from milter_bench.tsv (gnuplot)
#
#   gnuplot -e "tsv='OUT/milter_bench.tsv'; out='docs/performance.svg'" \
#       tests/bench/plot.gp
#
# Columns of the TSV: 1 size, 2 alg, 3 transport, 4 c, 5 egress-milter
# msgs/s, 17 OpenDKIM msgs/s (see milter_bench.sh).
set terminal svg size 760,420 dynamic font "sans,11"
set output out
set title "Signing over the milter protocol (unix socket, 2 cores)"
set xlabel "concurrent milter connections"
set ylabel "messages per second"
set logscale x 2
set xtics (1, 8, 32)
set key top left
set grid ytics
sel(s, a) = sprintf("< awk -F'\t' '$1==\"%s\" && $2==\"%s\" && $3==\"unix\"' %s", s, a, tsv)
plot sel("4k", "rsa") using 4:5 with linespoints lw 2 title "egress-milter RSA-2048, 4 KiB", \
     sel("4k", "rsa") using 4:17 with linespoints lw 2 dt 2 title "OpenDKIM RSA-2048, 4 KiB", \
     sel("4k", "ed25519") using 4:5 with linespoints lw 2 title "egress-milter Ed25519, 4 KiB", \
     sel("4k", "ed25519") using 4:17 with linespoints lw 2 dt 2 title "OpenDKIM Ed25519, 4 KiB", \
     sel("4k", "dual") using 4:5 with linespoints lw 2 title "egress-milter RSA + Ed25519, 4 KiB"
