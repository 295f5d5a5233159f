#!/bin/bash
# The product builds and installs alone, as a user would (issue 17):
# - lib, CLI, examples and man pages configure, build and install into a
#   temporary prefix as an unprivileged user (nobody, when run as root)
#   with -DP2PBAR_TESTBED=OFF: no root, no deps.sh, no guest image;
# - libp2pbar exports exactly the calls its header declares (nm -D);
# - a program that includes only the installed <libp2pbar.h> compiles with
#   pkg-config's flags and runs against the installed library;
# - p2p-kmod builds with a plain `make -C p2p-kmod KDIR=...` (p2pbar.ko
#   only), and a compiler warning fails it only with P2PBAR_WERROR=y.
# usage: product-build.sh SRC_DIR HEADERS_ROOT_OR_PATHFILE WORK_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
root=$2
[ -f "$root" ] && root=$(cat "$root")
work=$3
fail() { echo "FAIL: $*"; exit 1; }

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chown nobody: "$work"
	as_user=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups
		env -i PATH=/usr/bin:/bin HOME="$work")
fi
"${as_user[@]}" bash -euo pipefail -c '
	src=$1 work=$2
	cmake -S "$src" -B "$work/build" -DP2PBAR_TESTBED=OFF -DP2PBAR_WERROR=ON \
		-DP2PBAR_KDIR= -DCMAKE_INSTALL_PREFIX="$work/prefix" >"$work/configure.log"
	cmake --build "$work/build" -j2 >"$work/build.log"
	cmake --install "$work/build" >"$work/install.log"
' product-build "$src" "$work" || fail "unprivileged product build (logs in $work)"
prefix=$work/prefix
echo "installed: $(cd "$prefix" && find . -type f -o -type l | sort | tr '\n' ' ')"

pc=$(find "$prefix" -name p2pbar.pc)
[ -n "$pc" ] || fail "no p2pbar.pc installed"
export PKG_CONFIG_PATH=${pc%/*}
libdir=$(pkg-config --variable=libdir p2pbar)
[ -f "$libdir/libp2pbar.so.0" ] || fail "pkg-config's libdir $libdir has no libp2pbar.so.0"
for f in bin/p2pbar include/libp2pbar.h include/p2pbar/uapi.h share/man/man1/p2pbar.1 \
	share/man/man3/libp2pbar.3 share/man/man3/p2pbar_open_device.3 share/man/man4/p2pbar.4; do
	[ -e "$prefix/$f" ] || fail "not installed: $f"
done

# The exported symbols are exactly the header's calls, all versioned.
declared=$(grep -oE '^[a-z].*[ *]p2pbar_[a-z_]+\(' "$prefix/include/libp2pbar.h" |
	grep -oE 'p2pbar_[a-z_]+\($' | tr -d '(' | sort)
exported=$(nm -D --defined-only "$libdir/libp2pbar.so.0" | awk '$2 == "T" { print $3 }' | sort)
[ "$(echo "$declared" | wc -l)" -ge 15 ] || fail "header parse found only: $declared"
[ "$(echo "$exported" | sed 's/@@P2PBAR_0.1$//')" = "$declared" ] ||
	fail "exported symbols differ from the header's calls:$(diff <(echo "$declared") <(echo "$exported"))"
echo "exported: $(echo "$exported" | wc -l) calls, all @@P2PBAR_0.1"

# The installed headers alone, with pkg-config's flags.
cat >"$work/t.c" <<'C'
#include <libp2pbar.h>
#include <stdio.h>

int main(void)
{
	char names[4][P2PBAR_NAME_MAX];
	struct p2pbar_info info = { .argsz = sizeof(info) };
	int n = p2pbar_list_devices(names, 4);

	printf("p2pbar_list_devices: %d (%s) placement %d argsz %u\n", n, n < 0 ? p2pbar_last_error() : "",
	       P2PBAR_PLACEMENT_DEVICE, info.argsz);
	return 0;
}
C
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags p2pbar) "$work/t.c" \
	-o "$work/t" $(pkg-config --libs p2pbar) -Wl,-rpath,"$libdir" ||
	fail "a program using the installed <libp2pbar.h> does not build"
"$work/t" || fail "the program does not run against the installed library"
[[ "$(ldd "$work/t")" == *"libp2pbar.so.0 => $libdir/"* ]] || fail "the program does not use the installed library"

# The module with plain make, as DKMS runs it: KDIR is a kernel build
# tree; the header root's Makefile names its chroot path, so point one
# at it from here (its gcc is the host's, both Debian bookworm).
. "$root/image.env"
kroot=$root/rootfs/usr/src/linux-headers-$KVER
[ -f "$kroot/Makefile" ] || fail "no kernel headers in $kroot"
kdir=$work/kdir
mkdir -p "$kdir"
for f in "$kroot"/* "$kroot"/.config "$kroot"/.kernelvariables; do
	[ "${f##*/}" = Makefile ] || ln -s "$(readlink -f "$f")" "$kdir/"
done
common=$(sed -n 's|^include /|/|p' "$kroot/Makefile")
echo "include $root/rootfs$common" >"$kdir/Makefile"
cp -r "$src/p2p-kmod" "$work/p2p-kmod"
# A warning a newer compiler might add: a user's build must survive it.
echo 'static int p2pbar_product_test_unused;' >>"$work/p2p-kmod/p2pbar_alloc.c"
make -C "$work/p2p-kmod" KDIR="$kdir" modules >"$work/kmod.log" 2>&1 ||
	{ tail -20 "$work/kmod.log"; fail "make -C p2p-kmod KDIR=$kdir"; }
grep -q 'warning: .*p2pbar_product_test_unused' "$work/kmod.log" ||
	fail "the injected warning was not reported (is the test still testing?)"
[ -f "$work/p2p-kmod/p2pbar.ko" ] || fail "no p2pbar.ko"
[ ! -e "$work/p2p-kmod/selftest/p2pbar_selftest.ko" ] || fail "the test importers are built by default"
[[ "$(modinfo -F vermagic "$work/p2p-kmod/p2pbar.ko")" == "$KVER "* ]] || fail "p2pbar.ko is not for $KVER"
if make -C "$kdir" M="$work/p2p-kmod" P2PBAR_WERROR=y p2pbar_alloc.o >"$work/kmod-werror.log" 2>&1; then
	fail "P2PBAR_WERROR=y does not make warnings errors"
fi
echo "RESULT: product builds unprivileged into a prefix; $(echo "$exported" | wc -l) symbols exported; installed headers compile; p2p-kmod builds with make KDIR= ($SUITE $KVER), -Werror only with P2PBAR_WERROR=y"
