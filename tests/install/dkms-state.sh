#!/usr/bin/env bash
# The guest disk state after DKMS built our two modules (the install
# test's fixture, for tests/install/install-packages.sh): a qcow2 overlay of the image in which
# a fresh guest apt-installed p2pbar-dkms and rdma-rxe-p2pbar-dkms offline
# and DKMS compiled both for the guest's kernel (tests/install/install-dkms.sh).
# The guest compiles slowly under TCG, so the overlay is cached under
# $P2PBAR_CACHE/dkms-state, keyed by the image, its kernel and the
# content of the two packages (every file but the changelog, which names
# the commit): any change to what DKMS builds builds it again. Links it as
# BUILD_DIR/deb/root-dkms.qcow2.
# usage: dkms-state.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/testbed/common.sh"
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
image=$(cat "$build/testbed/image.path")
. "$image/image.env"
debs=()
for p in p2pbar-dkms rdma-rxe-p2pbar-dkms; do
	f=$(ls "$build"/deb/"$p"_*.deb 2>/dev/null | head -n1)
	[ -n "$f" ] || { echo "dkms-state: no $p package in $build/deb (make deb)" >&2; exit 1; }
	debs+=("$f")
done

# A package's content: its files and control files with their hashes,
# but not the changelog nor what changes with it (md5sums, Installed-Size).
deb_content() {
	local d
	d=$(mktemp -d)
	dpkg-deb -R "$1" "$d"
	(cd "$d" && find . \( -type f -o -type l \) ! -path './usr/share/doc/*' \
		! -path ./DEBIAN/md5sums ! -path ./DEBIAN/control -print0 | sort -z |
		xargs -0 sha256sum && grep -v '^Installed-Size:' DEBIAN/control)
	rm -rf "$d"
}
key=$( (basename "$image"; echo "$KVER"; for f in "${debs[@]}"; do deb_content "$f"; done) |
	sha256sum | cut -c1-16)
cache=$P2PBAR_CACHE/dkms-state
dir=$cache/$key
link=$build/deb/root-dkms.qcow2
if [ -f "$dir/ready" ]; then
	touch "$dir"
	ln -sfn "$dir/root.qcow2" "$link"
	echo "RESULT: cached DKMS state $key (image $(basename "$image"), kernel $KVER): $(cat "$dir/ready")"
	exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
qemu-img create -q -f qcow2 -b "$image/rootfs.ext4" -F raw "$tmp/root.qcow2"
start=$SECONDS
"$top/testbed/run-in-guest" --build-dir "$build" --name install-dkms --timeout 2700 \
	--root-overlay "$tmp/root.qcow2" --root-overlay-write "$top/tests/install/install-dkms.sh"
echo "built in a guest in $((SECONDS - start)) s on $(date -u +%F)" >"$tmp/ready"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
ln -sfn "$dir/root.qcow2" "$link"
# The overlays of older packages or images are dead weight: keep four.
ls -dt "$cache"/*/ | tail -n +5 | xargs -r rm -rf
echo "RESULT: DKMS state $key made: $(cat "$dir/ready")"
