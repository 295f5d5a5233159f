#!/usr/bin/env bash
# Build (or reuse) the debug guest kernel: Debian's linux-source of exactly
# the guest kernel's version, configured as tinyconfig + debug-kernel.config
# (lockdep, KASAN, kmemleak, DMA-API debug, dma-buf move-notify, P2PDMA),
# built in the guest image's chroot (its gcc, the one our out-of-tree
# modules use). Cached under $P2PBAR_CACHE by source version, fragment and
# this script. Prints the cache directory, which holds:
#   bzImage, kernel.release, config, build-seconds
#   modules/lib/modules/KVER/          (modules_install, modules.builtin...)
#   modules/lib/modules/KVER/build/    (what out-of-tree modules build against)
# usage: build-debug-kernel.sh IMAGE   (the image directory or a file naming it)
# P2PBAR_KERNEL_JOBS: make -j (default: the number of CPUs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
[ $# -eq 1 ] || { echo "usage: $0 IMAGE" >&2; exit 2; }
image=$1
[ -f "$image" ] && image=$(cat "$image")
image=$(cd "$image" && pwd)
. "$image/image.env"
fragment=$here/debug-kernel.config
log() { echo "build-debug-kernel: $*" >&2; }

version=$VERSION_LINUX_IMAGE_AMD64
key=$( (echo "$version $VERSION_GCC"; cat "$fragment" "$0") | sha256sum | cut -c1-16)
dir="$P2PBAR_CACHE/debug-kernel/$version-$key"
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi

ksrc=$("$here/kernel-source.sh" "$image" --all)
# Objects persist per source version, so a fragment change rebuilds only
# what it touches. One build at a time per object tree.
obj="$P2PBAR_CACHE/debug-kernel/obj-$version"
mkdir -p "$obj"
exec 9>"$obj.lock"
flock 9
[ -f "$dir/ready" ] && { echo "$dir"; exit 0; }
tmp="$dir.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"

log "building $version ($key) in $obj"
start=$SECONDS
# A private mount namespace: source, objects and output appear under the
# chroot's /mnt (a tmpfs, so the image is not touched) and vanish with us.
cd /
unshare --mount --propagation private -- bash -euo pipefail -c '
	root=$1 ksrc=$2 obj=$3 out=$4 fragment=$5 jobs=$6
	mount -t proc proc "$root/proc"
	mount -t tmpfs tmpfs "$root/mnt"
	mkdir "$root/mnt/src" "$root/mnt/obj" "$root/mnt/out"
	mount --bind -o ro "$ksrc" "$root/mnt/src"
	mount --bind "$obj" "$root/mnt/obj"
	mount --bind "$out" "$root/mnt/out"
	cp "$fragment" "$root/mnt/debug.config"
	kmake() { chroot "$root" make -s -C /mnt/src O=/mnt/obj "$@"; }
	kmake tinyconfig >/dev/null
	chroot "$root" sh -c "cd /mnt/obj && /mnt/src/scripts/kconfig/merge_config.sh \
		-m -O /mnt/obj .config /mnt/debug.config" >/dev/null
	kmake olddefconfig
	# Every line of the fragment must have survived: an unmet dependency
	# silently drops an option otherwise.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}
			! grep -q "^$sym=" "$obj/.config" ;;
		*) continue ;;
		esac || { echo "build-debug-kernel: not in .config: $line" >&2; bad=1; }
	done <"$fragment"
	[ $bad -eq 0 ]
	kmake -j"$jobs" bzImage modules
	kmake INSTALL_MOD_PATH=/mnt/out/modules modules_install >/dev/null
	kver=$(cat "$obj/include/config/kernel.release")
	rm -f "$out/modules/lib/modules/$kver/build"
	kmake run-command KBUILD_RUN_COMMAND="\$(srctree)/scripts/package/install-extmod-build /mnt/out/modules/lib/modules/$kver/build"
' build-debug-kernel "$image/rootfs" "$ksrc" "$obj" "$tmp" "$fragment" \
	"${P2PBAR_KERNEL_JOBS:-$(nproc)}"

cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$tmp/"
mv "$tmp/.config" "$tmp/config"
cp "$obj/include/config/kernel.release" "$tmp/"
echo $((SECONDS - start)) >"$tmp/build-seconds"
log "built $(cat "$tmp/kernel.release") in $((SECONDS - start)) s"
rm -rf "$dir"
mv "$tmp" "$dir"
touch "$dir/ready"
echo "$dir"
