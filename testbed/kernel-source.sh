#!/usr/bin/env bash
# Fetch the guest kernel's source (Debian's linux-source-X.Y package of
# exactly the guest kernel's version) and extract the parts we need, cached
# under $P2PBAR_CACHE/linux-source-VERSION. Prints that directory.
# usage: kernel-source.sh IMAGE [--all | PATH_IN_TREE...]
#   IMAGE: the guest image directory or a file holding its path
#   PATH_IN_TREE: what to extract (default: checkpatch and its data files)
#   --all: the whole tree (to build a kernel), marked complete by .complete
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
image=$1
shift
[ -f "$image" ] && image=$(cat "$image")
. "$image/image.env"
P2PBAR_SUITE=$SUITE # the image's Debian suite has its source
[ $# -gt 0 ] || set -- scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch

version=$VERSION_LINUX_IMAGE_AMD64
series=$(echo "$KVER" | cut -d. -f1,2)
dir="$P2PBAR_CACHE/linux-source-$version"
missing=()
if [ "$1" = --all ]; then
	[ -e "$dir/.complete" ] || missing=(.)
else
	for p in "$@"; do
		[ -e "$dir/$p" ] || missing+=("$p")
	done
fi
if [ ${#missing[@]} -eq 0 ]; then
	echo "$dir"
	exit 0
fi

echo "kernel-source: extracting ${missing[*]} from linux-source-$series $version" >&2
guest_apt_setup
guest_apt apt-get update -qq >/dev/null
mkdir -p "$dir/.deb"
(cd "$dir/.deb" && [ -f "linux-source-${series}_${version}_all.deb" ] ||
	guest_apt apt-get download -qq "linux-source-$series=$version" >&2)
deb="$dir/.deb/linux-source-${series}_${version}_all.deb"
members=()
[ "${missing[*]}" = . ] || members=("${missing[@]/#/linux-source-$series/}")
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/linux-source-$series.tar.xz" |
	xz -dc -T0 | tar -x -C "$dir" --strip-components=1 "${members[@]}"
[ ${#members[@]} -gt 0 ] || touch "$dir/.complete"
echo "$dir"
