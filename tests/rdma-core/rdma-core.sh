#!/bin/bash
# rdma-core's own python test suite (its tests/ and pyverbs, built from the
# guest's rdma-core with our patches: verbs-provider/build-pyverbs.sh) on
# rxe0, first on the stock rdma_rxe and provider, then on ours, in one
# guest; tests/rdma-core/suite.py runs each module in its own process and
# compares: a test that passes on stock must pass on ours. The dma-buf
# tests allocate from p2pbar's BAR (stock: vgem's primary node; it
# skips them either way), then again from vgem on ours: with `all` every
# one, else only DmaBufTestCase (traffic; DmaBufMRTest's read and write
# loops take ~90 s on vgem under TCG, and run on the BAR). On ours every
# one of them must pass.
# usage: rdma-core.sh all | MODULE...   (MODULE: test_mr, test_qp, ...;
# test_mr+test_qp: in one process, tests/rdma-core/suite.py)
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
vp=$P2PBAR_IMAGE_BUILD/verbs-provider
require_supported "$vp/pyverbs/outcome"
[ -f "$vp/pyverbs/suite/.stamp" ] || die "no rdma-core test suite in $vp/pyverbs (verbs-provider/build-pyverbs.sh)"
# every test process loads pyverbs: from the guest's disk, not over 9p
suite=/tmp/rdma-core-suite
cp -r "$vp/pyverbs/suite" "$suite"
tool=$P2PBAR_SRC/tests/rdma-core/suite.py
out=$P2PBAR_RUN/rdma-core
mkdir -p "$out"
export PYTHONDONTWRITEBYTECODE=1

modules=("$@")
if [ "${modules[*]}" = all ]; then
	modules=()
	for f in "$suite"/tests/test_*.py; do
		modules+=("$(basename "$f" .py)")
	done
fi
dmabuf=() # what runs again on vgem
for m in "${modules[@]}"; do
	case "+$m+" in *+test_mr+*) dmabuf=(test_mr.DmaBufTestCase) ;; esac
done
[ "$*" != all ] || dmabuf=(test_mr.DmaBufMRTest+test_mr.DmaBufTestCase)

# vgem's primary node: a platform device, a faux one from 6.15 on
vgem_card() {
	local c
	for c in /sys/class/drm/card[0-9]*; do
		case $(readlink -f "$c") in */vgem/drm/*) basename "$c" && return 0 ;; esac
	done
	return 1
}
modprobe vgem || die "no vgem"
wait_for 10 vgem_card >/dev/null || die "no vgem DRM device"
vgem=/dev/dri/$(vgem_card)
log "rdma-core $(dpkg-query -W -f='${Version}' rdma-core), dma-bufs from vgem $vgem"

side() {
	local name=$1 start=$SECONDS
	shift
	log "== $name: $*"
	python3 "$tool" run "$suite" "$out/$name" rxe0 "$@" || die "suite.py run $name failed"
	log "== $name: $((SECONDS - start)) s"
}

dmesg -n 1
modprobe rdma_rxe || die "cannot load the stock rdma_rxe"
rxe_link_up
PYVERBS_DMABUF_DEVICE=$vgem side stock "${modules[@]}"
rdma link delete rxe0
rmmod rdma_rxe || die "cannot unload the stock rdma_rxe"

rxe_p2pbar_up
PYVERBS_DMABUF_DEVICE=$P2PBAR_NODE side ours "${modules[@]}"
if [ ${#dmabuf[@]} -gt 0 ]; then
	PYVERBS_DMABUF_DEVICE=$vgem side ours-vgem "${dmabuf[@]}"
fi

args=("$out/stock" "$out/ours" --flaky "$P2PBAR_SRC/tests/rdma-core/known-flaky.txt")
if [ ${#dmabuf[@]} -gt 0 ]; then
	args+=(--require-pass tests.test_mr.DmaBufMRTest. "$out/ours"
		--require-pass tests.test_mr.DmaBufTestCase. "$out/ours"
		--require-pass tests.test_mr.DmaBuf "$out/ours-vgem")
fi
rc=0
python3 "$tool" compare "${args[@]}" || rc=$?
rxe_dmabuf_down "$P2PBAR_DEV"
[ $rc -eq 0 ] || die "rdma-core's suite: a test that passes on stock does not on ours, or a dma-buf test did not pass (above)"
result "rdma-core suite ($(grep -c . "$out/stock") tests): $(python3 "$tool" compare "$out/stock" "$out/ours" | head -2 | tr '\n' ';')"
