# What an installed system's user does, shared by the install tests
# (sourced): a member of group p2pbar runs the CLI, builds a program
# against libp2pbar-dev, and runs the installed perftest over rxe.

# Add the member "tenant"; it runs the CLI and a libp2pbar-dev program.
tenant_uses_library() {
	useradd -m -G p2pbar tenant
	as_tenant() { su tenant -s /bin/bash -c "$*"; }
	as_tenant 'p2pbar list | grep "^p2pbar0 " && p2pbar info >/dev/null &&
		p2pbar alloc --fill 7 --migrate host --migrate device --verify 7 1M' || die "the CLI as a member of p2pbar"
	printf '#include <libp2pbar.h>\nint main(void)\n{\n\tchar n[2][P2PBAR_NAME_MAX];\n\treturn p2pbar_list_devices(n, 2) != 1;\n}\n' >/tmp/t.c
	# shellcheck disable=SC2046
	cc -std=c11 -Wall -Werror $(pkg-config --cflags p2pbar) /tmp/t.c -o /tmp/t $(pkg-config --libs p2pbar) ||
		die "a program does not build against libp2pbar-dev"
	as_tenant /tmp/t || die "the program does not find p2pbar0"
	result "a member of p2pbar runs the CLI and a libp2pbar-dev program"
}

# As "tenant": p2pbar-ib_write_bw --use_p2pbar over rxe0 in loopback,
# dma-buf MRs on both sides (the host checks the written bytes).
tenant_write_bw() {
	# The BAR cleared (root's raw write): the CLI's buffer, moved, left
	# copies in it; the only copy the host may find is the write's.
	dd if=/dev/zero of=/dev/p2pbar0 bs=1M count=$((P2PBAR_BAR_SIZE >> 20)) conv=notrunc status=none ||
		die "cannot clear the BAR"
	rxe_link_up
	size=65536
	args="-d rxe0 -s $size -n 200 ${PERFTEST_OPTS[*]} --use_p2pbar"
	as_tenant "p2pbar-ib_write_bw $args" >/tmp/server.log 2>&1 &
	server=$!
	sleep 2
	as_tenant "p2pbar-ib_write_bw $args $NODE_IP" >/tmp/client.log 2>&1 || {
		cat /tmp/server.log /tmp/client.log
		die "p2pbar-ib_write_bw client failed"
	}
	wait "$server" || { cat /tmp/server.log; die "p2pbar-ib_write_bw server failed"; }
	for f in /tmp/server.log /tmp/client.log; do
		grep -c 'ibv_reg_dmabuf_mr' "$f" >/dev/null || { cat "$f"; die "$f: no dma-buf MR"; }
	done
	bw=$(perftest_bw /tmp/client.log "$size") || die "no bandwidth in the output"
	result "installed p2pbar-ib_write_bw --use_p2pbar as a member, rxe loopback, dma-buf MRs both sides: $bw MiB/s"
}
