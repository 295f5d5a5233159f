#!/usr/bin/env bash
# make deb: the Debian packages (pkg/debian), built with debhelper from a
# staged copy of the tree plus what the testbed built for the guest
# (trixie) from Debian sources: the patched rxe sources (DKMS package),
# the patched rxe provider and perftest with --use_p2pbar. Runs lintian.
# usage: build-deb.sh BUILD_DIR OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
out=$2
image=$(cat "$build/testbed/image.path")
root=$image/rootfs
. "$image/image.env"
version=$(sed -n 's/^project(p2pbar VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
provider=/usr/lib/$multiarch/libibverbs/librxe-rdmav34.so
rxe_src=$build/verbs-provider/kernel/src
rxe_provider=$build/verbs-provider/rdma-core/build/lib/librxe-rdmav34.so
perftest=$build/bench/perftest/src
for f in "$rxe_src/Kbuild" "$rxe_provider" "$perftest/ib_write_bw"; do
	[ -e "$f" ] || { echo "build-deb: $f is missing (make build first)" >&2; exit 1; }
done

rm -rf "$out"
stage=$out/p2pbar-$version
mkdir -p "$stage"
out=$(cd "$out" && pwd)
(cd "$top" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$stage")
cp -r "$top/pkg/debian" "$stage/debian"
cp "$top/p2p-kmod/udev/60-p2pbar.rules" "$stage/debian/p2pbar-tools.p2pbar.udev"
mkdir -p "$stage/prebuilt"
cp -a "$rxe_src" "$stage/prebuilt/rxe"
rm -f "$stage/prebuilt/rxe/.stamp"
cp "$rxe_provider" "$stage/prebuilt/"
# rdma-core links its build tree in as RUNPATH
chrpath -d "$stage/prebuilt/librxe-rdmav34.so" >/dev/null
for f in "$perftest"/ib_*; do
	[ -x "$f" ] && [ -f "$f" ] && cp "$f" "$stage/prebuilt/p2pbar-${f##*/}"
done

# DKMS builds the patched rxe only for the kernel series it was patched
# from (its rxe changes between series).
series=$(echo "$KVER" | cut -d. -f1,2)
rxe_series="^${series//./\\.}\\."
dkms_conf=$(cat "$stage/debian/rdma-rxe-p2pbar-dkms.dkms")
echo "${dkms_conf//#RXE_SERIES#/$rxe_series}" >"$stage/debian/rdma-rxe-p2pbar-dkms.dkms"
sed -i "s|\${p2pbar:RxeSeries}|Linux $series|" "$stage/debian/control"
sed -i "s|#PROVIDER#|$provider|g" "$stage/debian"/ibverbs-provider-rxe-p2pbar.*
cat >"$stage/debian/rdma-rxe-p2pbar-dkms.install" <<EOT
prebuilt/rxe/* usr/src/rdma-rxe-p2pbar-$version/
EOT
cat >"$stage/debian/ibverbs-provider-rxe-p2pbar.install" <<EOT
prebuilt/librxe-rdmav34.so usr/lib/$multiarch/libibverbs/
EOT
(cd "$stage/prebuilt" && ls p2pbar-ib_*) | sed 's|^|prebuilt/|; s|$| usr/bin/|' \
	>"$stage/debian/perftest-p2pbar.install"

# What the guest-built binaries need, from the guest image's package
# database: "package (>= version)" for each library they link.
guest_depends() {
	local so path pkg ver
	for so in $(readelf -d "$@" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
		path=$(chroot "$root" /sbin/ldconfig -p | awk -v so="$so" '$1 == so { print $NF; exit }')
		[ -n "$path" ] || { echo "build-deb: $so not in the guest image" >&2; return 1; }
		pkg=$(chroot "$root" dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) ||
			pkg=$(chroot "$root" dpkg -S "$(readlink -f "$root$path" | sed "s|^$root||")" | head -1 | cut -d: -f1)
		ver=$(chroot "$root" dpkg-query -W -f '${Version}' "$pkg")
		echo "$pkg (>= $ver)"
	done | sort -u | paste -sd, | sed 's/,/, /g'
}
# The provider uses libibverbs' private ABI: exactly the rdma-core it was
# built from.
provider_depends="ibverbs-providers (= $VERSION_IBVERBS_PROVIDERS), libibverbs1 (= $VERSION_RDMA_CORE)"
provider_depends+=", $(guest_depends "$stage/prebuilt/librxe-rdmav34.so")"
perftest_depends=$(guest_depends "$stage"/prebuilt/p2pbar-ib_*)

cat >"$stage/debian/changelog" <<EOT
p2pbar ($version) unstable; urgency=medium

  * Built from $(git -C "$top" describe --always --dirty).

 -- p2pbar developers <p2pbar@example.org>  $(date -R -d @"$(git -C "$top" log -1 --format=%ct)")
EOT

export P2PBAR_VERSION=$version P2PBAR_PROVIDER_DEPENDS=$provider_depends
export P2PBAR_PERFTEST_DEPENDS=$perftest_depends
(cd "$stage" && dpkg-buildpackage -b -us -uc -j2) >"$out/build.log" 2>&1 || {
	tail -30 "$out/build.log"
	echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
}
lintian --tag-display-limit 0 "$out"/p2pbar_*.changes >"$out/lintian.log" 2>&1 || true
ls -l "$out"/*.deb
cat "$out/lintian.log"
! grep -q '^E:' "$out/lintian.log" || { echo "build-deb: lintian errors" >&2; exit 1; }
