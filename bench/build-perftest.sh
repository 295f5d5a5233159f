#!/usr/bin/env bash
# Build perftest with our p2pbar memory type (bench/perftest/*.patch) from
# the Debian source of exactly the guest's perftest, in the guest image's
# chroot (so it matches the guest's libibverbs): Debian's own patch series
# first, then ours, so the result is the stock guest binary plus our
# backend. libp2pbar is compiled in the chroot as a static library from
# lib/ (perftest's other build dependencies, libibumad-dev and libpci-dev,
# are in the image). The .orig and .debian tarballs are downloaded once
# (sha256 from the Sources index) and unpacked into
# $P2PBAR_CACHE/perftest-VERSION;
# the patched copy and its build live in OUT (binaries in OUT/src).
# Our series: bench/perftest/*.patch (trixie's perftest), or perftest/VERSION/
# for VERSION and newer (testbed/common.sh patch_series). --outcome FILE
# (sid): a series that no longer applies or builds is recorded in FILE, not
# a build failure.
# usage: build-perftest.sh [--outcome FILE] IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
image_build_args "$@"
P2PBAR_SUITE=$SUITE # the image's Debian suite has its source
full=$VERSION_PERFTEST # e.g. 25.01.0+0.80-1
cache="$P2PBAR_CACHE/perftest-$full"
ours=$(patch_series "$here/perftest" "${full%-*}")
patches=("$ours"/*.patch)
# What does not fit: fail (trixie), or record it (sid).
unsupported() {
	local what="the perftest patch series ${ours#"$top"/} $1 perftest $full"
	[ -n "$outcome" ] || { echo "build-perftest: $what: rebase it (bench/README.md)" >&2; exit 1; }
	mkdir -p "$(dirname "$outcome")"
	outcome_unsupported "$outcome" "$what (Debian moved the guest's perftest past our patch): \
port it to ${full%-*} as bench/perftest/${full%-*}/ (bench/README.md)"
	exit 0
}

if [ ! -f "$cache/.unpacked" ]; then
	echo "build-perftest: fetching perftest $full source" >&2
	debian_source_unpack --debian "$cache" "perftest=$full"
fi

root="$image/rootfs"
# shellcheck disable=SC2046
stamp=$( (echo "$ours"; cat "${patches[@]}") | cat - $(libp2pbar_files "$top") "$0" |
	sha256sum | cut -c1-16)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/src"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	cp -a "$cache/." "$src/"
	# Debian's quilt series (commented-out entries are not applied)
	series=()
	if [ -f "$src/debian/patches/series" ]; then
		while read -r p _; do
			case $p in '' | '#'*) continue ;; esac
			series+=("$src/debian/patches/$p")
		done <"$src/debian/patches/series"
	fi
	apply_patches "$src" 1 ${series[@]+"${series[@]}"}
	apply_patches "$src" 1 "${patches[@]}" || { rm -rf "$src"; unsupported "does not apply to"; }
	stage_libp2pbar "$top" "$out"
	echo "$stamp" >"$src/.stamp"
fi

chroot "$root" sh -c 'command -v autoreconf && command -v make && command -v cc &&
	printf "#include <infiniband/umad.h>\n#include <pci/pci.h>\n" | cc -E -' >/dev/null 2>&1 || {
	echo "build-perftest: the image lacks autoconf/make/cc or perftest's -dev packages (testbed/build-image.sh)" >&2
	exit 1
}
chroot_build build-perftest "$root" "$top" "$out" '
	cd /p2pbar/build/src
	if [ ! -f Makefile ]; then
		autoreconf -fi >/dev/null 2>&1
		./configure -q --enable-p2pbar --with-p2pbar=/p2pbar/build/libp2pbar >/dev/null
	fi
	make -j2 >/dev/null' >&2 ||
	{ [ -n "$outcome" ] && rm -f "$src/.stamp" && unsupported "does not build against"; } ||
	exit 1
[ -z "$outcome" ] || outcome_ok "$outcome"
ls "$out/src/ib_write_bw"
