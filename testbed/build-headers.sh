#!/usr/bin/env bash
# Build (or reuse) a minimal Debian rootfs with a suite's kernel headers and
# compiler, to compile-check the modules against other kernels than the
# guest's (bookworm 6.1, sid 7.x). Cached under $P2PBAR_CACHE/headers keyed
# by package versions and this script; prints its directory, laid out like a
# guest image directory (rootfs/, image.env) for testbed/kbuild.sh.
# usage: build-headers.sh SUITE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 SUITE" >&2; exit 2; }
export P2PBAR_SUITE=$1
. "$here/common.sh"
log() { echo "build-headers: $*" >&2; }

packages=(linux-headers-amd64 build-essential)
versions=""
if guest_apt_setup && guest_apt apt-get update -qq >/dev/null 2>&1; then
	versions=$(guest_apt apt-cache show --no-all-versions linux-headers-amd64 gcc |
		awk '/^Package:/{p=$2} /^Version:/{print p "=" $2}')
fi
root="$P2PBAR_CACHE/headers"
if [ -z "$versions" ]; then
	latest=$(ls -dt "$root/$P2PBAR_SUITE"-*/ 2>/dev/null | head -n1 || true)
	if [ -n "$latest" ] && [ -f "$latest/ready" ]; then
		log "mirror unreachable; reusing ${latest%/}"
		echo "${latest%/}"
		exit 0
	fi
	log "cannot resolve $P2PBAR_SUITE package versions from the mirror"
	exit 1
fi
key=$( (echo "$versions"; cat "$0") | sha256sum | cut -c1-16)
dir="$root/$P2PBAR_SUITE-$key"
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi

log "building $P2PBAR_SUITE headers root $key: $(echo $versions)"
mkdir -p "$root"
tmp=$(mktemp -d "$root/.build-XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
mmdebstrap --variant=apt --mode=root --quiet \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--include="$(IFS=,; echo "${packages[*]}")" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--customize-hook='mkdir -p "$1/p2pbar/build"' \
	"$P2PBAR_SUITE" "$tmp/rootfs" "$(debian_mirror)" >&2
kver=$(ls "$tmp/rootfs/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -n1)
[ -n "$kver" ] || { log "no amd64 headers installed"; exit 1; }
{
	echo "KVER=$kver"
	echo "SUITE=$P2PBAR_SUITE"
} >"$tmp/image.env"
touch "$tmp/ready"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
log "ready in $((SECONDS - start)) s: $dir"
ls -dt "$root/$P2PBAR_SUITE"-*/ | tail -n +3 | xargs -r rm -rf
echo "$dir"
