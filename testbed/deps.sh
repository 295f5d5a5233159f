#!/usr/bin/env bash
# Install the host packages the build, the testbed and the tests need.
# Idempotent: installs only what is missing; `apt-get update` only then.
set -euo pipefail

pkgs=(
	qemu-system-x86 qemu-utils mmdebstrap e2fsprogs cpio xz-utils
	python3 cmake make gcc libc6-dev pkg-config ca-certificates
	debian-archive-keyring apt-utils libibverbs-dev
	curl patch git perl clang-format util-linux gnuplot-nox
	pandoc # man/
	debhelper dh-dkms dkms lintian fakeroot dpkg-dev chrpath # make deb
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
