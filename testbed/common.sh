# Shared settings of the testbed scripts (sourced, not run).

# Heavy artefacts live outside the clone so a second run is fast.
P2PBAR_CACHE=${P2PBAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/p2pbar}
P2PBAR_SUITE=${P2PBAR_SUITE:-trixie}

# The Debian mirror: the one this machine's apt already uses, unless set.
debian_mirror() {
	if [ -n "${P2PBAR_DEBIAN_MIRROR:-}" ]; then
		echo "$P2PBAR_DEBIAN_MIRROR"
		return
	fi
	local uri
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE '(https?|file)://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ')
	if [ -z "$uri" ]; then
		echo "testbed: no Debian mirror in /etc/apt; set P2PBAR_DEBIAN_MIRROR" >&2
		return 1
	fi
	echo "${uri%/}"
}

# The mirror may be a frozen snapshot whose Release files have expired,
# hence Check-Valid-Until=false (signatures are still checked).
# Project-owned apt state for looking up guest package versions: the
# system's sources and lists are never touched.
# usage: guest_apt apt-get|apt-cache ARGS...
guest_apt() {
	local dir="$P2PBAR_CACHE/apt-$P2PBAR_SUITE" tool=$1
	shift
	"$tool" -q -o Dir::Etc::SourceList="$dir/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State="$dir/state" -o Dir::Cache="$dir/cache" \
		-o Dir::State::status=/dev/null \
		-o APT::Architecture=amd64 \
		-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root "$@"
}

guest_apt_setup() {
	local dir="$P2PBAR_CACHE/apt-$P2PBAR_SUITE" mirror
	mirror=$(debian_mirror) || return 1
	mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial"
	cat >"$dir/sources.list" <<-SRC
		deb $mirror $P2PBAR_SUITE main
		deb-src $mirror $P2PBAR_SUITE main
	SRC
}

# Apply our patch files (in name order) to an upstream source copy.
# usage: apply_patches DIR STRIP PATCH...   (STRIP as for patch -pN)
apply_patches() {
	local dir=$1 strip=$2 p
	shift 2
	for p in "$@"; do
		[ -e "$p" ] || continue
		patch -s -p"$strip" -d "$dir" <"$p" || {
			echo "$(basename "$p") does not apply to $dir" >&2
			return 1
		}
	done
}

# Download the file named by one line of apt's --print-uris output
# ('URL' NAME SIZE SHA256:SUM) to DEST and check its sha256.
apt_uri_fetch() {
	local line=$1 dest=$2 url sum
	url=$(echo "$line" | awk '{print $1}' | tr -d "'")
	sum=$(echo "$line" | awk '{print $4}' | sed 's/^SHA256://')
	curl -fsSL -o "$dest" "$url"
	echo "$sum  $dest" | sha256sum -c --quiet
}

# One file of a Debian source package (PATTERN: .orig.tar, .debian.tar),
# downloaded into DIR and checked; prints its path. The caller has run
# guest_apt_setup and apt-get update.
# usage: debian_source_file PKG=VERSION PATTERN DIR
debian_source_file() {
	local spec=$1 pattern=$2 dir=$3 line name
	line=$(guest_apt apt-get source --download-only --print-uris "$spec" 2>/dev/null |
		grep -F "$pattern" | head -n1)
	[ -n "$line" ] || { echo "no $pattern in the Debian source of $spec" >&2; return 1; }
	name=$(echo "$line" | awk '{print $2}')
	apt_uri_fetch "$line" "$dir/$name"
	echo "$dir/$name"
}

# The patch series of ours for an upstream VERSION (X.Y...): the
# subdirectory of DIR named for the newest version not newer than
# VERSION (e.g. DIR/7.2 for 7.2.13 and for 7.3), else DIR itself (the
# series of trixie's version). Prints the directory.
# usage: patch_series DIR VERSION
patch_series() {
	local dir=$1 version=$2 best= v
	for v in "$dir"/*/; do
		[ -d "$v" ] || continue
		v=$(basename "$v")
		[ "$(printf '%s\n%s\n' "$v" "$version" | sort -V | head -n1)" = "$v" ] || continue
		[ -z "$best" ] || [ "$(printf '%s\n%s\n' "$v" "$best" | sort -V | tail -n1)" = "$v" ] &&
			best=$v
	done
	echo "$dir${best:+/$best}"
}

# Build steps of a distribution that moves (sid) record their outcome in
# a file instead of failing the build: "supported", or a note saying
# which patch no longer fits which version and what to do, which the
# guest tests that need the part print as "NOT RUN: ..." (testbed/guest/lib.sh
# require_supported). usage: outcome_ok FILE; outcome_unsupported FILE NOTE
outcome_ok() { echo supported >"$1"; }
outcome_unsupported() {
	echo "$2" >"$1"
	echo "WARNING: $2" >&2
}

# The arguments of a build in a guest image's chroot,
# [--outcome FILE] IMAGE OUT_DIR: sets outcome (FILE or empty), image (the
# image directory; IMAGE may be a file naming it) and out, and reads the
# image's image.env (SUITE, VERSION_*). usage: image_build_args "$@"
image_build_args() {
	outcome=
	[ "${1:-}" != --outcome ] || { outcome=$2; shift 2; }
	[ $# -eq 2 ] || { echo "usage: $0 [--outcome FILE] IMAGE OUT_DIR" >&2; exit 2; }
	image=$1 out=$2
	[ ! -f "$image" ] || image=$(cat "$image")
	image=$(cd "$image" && pwd)
	. "$image/image.env"
}

# A Debian source package unpacked once into DIR (a cache directory):
# its .orig tarball, unpacked with TAR_ARGS (e.g. a subtree), and with
# --debian its .debian tarball over it; downloaded and checked by
# debian_source_file. A no-op when DIR is there already.
# usage: debian_source_unpack [--debian] DIR PKG=VERSION [TAR_ARGS...]
debian_source_unpack() {
	local debian= dir spec f
	[ "$1" != --debian ] || { debian=1; shift; }
	dir=$1 spec=$2
	shift 2
	[ ! -f "$dir/.unpacked" ] || return 0
	guest_apt_setup
	guest_apt apt-get update -qq >/dev/null
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/src"
	f=$(debian_source_file "$spec" .orig.tar "$dir.tmp")
	tar -xf "$f" -C "$dir.tmp/src" --strip-components=1 "$@"
	rm -f "$f"
	if [ -n "$debian" ]; then
		f=$(debian_source_file "$spec" .debian.tar "$dir.tmp")
		tar -xf "$f" -C "$dir.tmp/src"
		rm -f "$f"
	fi
	touch "$dir.tmp/src/.unpacked"
	rm -rf "$dir"
	mv "$dir.tmp/src" "$dir"
	rmdir "$dir.tmp"
}

# What the builds in the image's chroot compile of ours (their stamps):
# libp2pbar's sources, <libp2pbar.h> and the uAPI header. usage: libp2pbar_files TOP
libp2pbar_files() {
	echo "$1"/lib/*.c "$1"/lib/*.h "$1"/lib/include/*.h "$1"/p2p-kmod/include/uapi/linux/*.h
}

# libp2pbar for a build in the image's chroot, in OUT/libp2pbar: its
# sources, <libp2pbar.h> and the uAPI as it is installed, <p2pbar/uapi.h>
# (include/); chroot_build compiles it there as lib/libp2pbar.a.
# usage: stage_libp2pbar TOP OUT
stage_libp2pbar() {
	local dir=$2/libp2pbar
	rm -rf "$dir"
	mkdir -p "$dir/include/p2pbar"
	cp "$1"/lib/*.c "$1"/lib/*.h "$dir/"
	cp "$1/lib/include/libp2pbar.h" "$dir/include/"
	cp "$1/p2p-kmod/include/uapi/linux/p2pbar.h" "$dir/include/p2pbar/uapi.h"
}

# Run the sh -e SCRIPT in the image's chroot ROOT, in a private mount
# namespace: /proc, the source tree TOP at /p2pbar/src, OUT at
# /p2pbar/build. A libp2pbar staged in OUT (stage_libp2pbar) is first
# compiled, once, as OUT/libp2pbar/lib/libp2pbar.a (static, so the result
# needs no libp2pbar in the guest). NAME names the build in messages.
# usage: chroot_build NAME ROOT TOP OUT SCRIPT
chroot_build() {
	unshare --mount --propagation private -- bash -euo pipefail -c '
		root=$1 top=$2 out=$3 script=$4
		mount -t proc proc "$root/proc"
		mount --bind "$top" "$root/p2pbar/src"
		mount --bind "$out" "$root/p2pbar/build"
		chroot "$root" sh -ec "
			lib=/p2pbar/build/libp2pbar
			if [ -d \$lib ] && [ ! -f \$lib/lib/libp2pbar.a ]; then
				cd \$lib
				mkdir -p lib
				for f in *.c; do
					cc -O2 -std=gnu11 -Wall -Wextra -Werror -fPIC -Iinclude -c \$f -o \${f%.c}.o
				done
				ar rcs lib/libp2pbar.a *.o
			fi
			$script"
	' "$1" "$2" "$3" "$4" "$5"
}
