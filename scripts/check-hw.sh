#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make check-hw: the real hardware path (VFIO, IOMMU, DMA, MSI, reset),
# end to end, inside QEMU guests whose PCI device is QEMU's edu. Steps:
#   1. host tools: qemu-system-x86_64 and cpio (installed with apt-get
#      when missing and running as root);
#   2. a Debian kernel and busybox-static, only *downloaded* (apt-get
#      download into $B/hw/cache, reused) and unpacked with dpkg -x;
#   3. ugpud, libugpu and the tests of tests/hw built (dynamically linked:
#      the shared libraries they need and the loader go into the image);
#   4. an initramfs: busybox, tests/hw/init as /init, the vfio and fuse
#      modules in dependency order, the binaries, fusermount3;
#   5. one TCG boot per configuration, under timeout, serial on stdout;
#   6. only `ok`/`not ok` lines and the guest's final `N passed, N failed`
#      line are parsed (QEMU and the kernel share the serial stream).
# Exit status: 0 only if every configuration reported all checks passed.
# Environment: B (build dir, default build), HW_CONFIGS (default
# "edu64 rootport"), HW_TIMEOUT (seconds per boot, default 240),
# HW_KEEP_LOGS=1 keeps the full serial logs in $B/hw/*.log (always kept).
set -euo pipefail
cd "$(dirname "$0")/.."

B=${B:-build}
HW=$B/hw
CACHE=$HW/cache
CONFIGS=${HW_CONFIGS:-"edu64 rootport"}
TIMEOUT=${HW_TIMEOUT:-240}
MODULES="irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci fuse"

say() { echo "check-hw: $*"; }
die() { echo "check-hw: error: $*" >&2; exit 1; }

start_all=$(date +%s)

# ---- 1. host tools ----
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing ${need[*]}: install them (apt-get install ${need[*]})"
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -qq >/dev/null 2>&1
		  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"${need[@]}" >/dev/null; }
fi
say "$(qemu-system-x86_64 --version | head -n 1)"

# ---- 2. kernel and busybox: downloaded, unpacked, never installed ----
mkdir -p "$CACHE"
kdeb=$(ls "$CACHE"/linux-image-*-amd64_*.deb 2>/dev/null | grep -v -- '-dbg' | head -n 1 || true)
bdeb=$(ls "$CACHE"/busybox-static_*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$kdeb" ] || [ -z "$bdeb" ]; then
	resolve() {
		apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
	}
	kpkg=$(resolve)
	if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
		say "no package lists yet: apt-get update"
		apt-get update -qq >/dev/null 2>&1 || true
		kpkg=$(resolve)
	fi
	[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (apt-get update first?)"
	say "downloading $kpkg busybox-static into $CACHE"
	(cd "$CACHE" && apt-get download "$kpkg" busybox-static >/dev/null 2>&1) ||
		die "apt-get download $kpkg busybox-static failed"
	kdeb=$(ls "$CACHE"/linux-image-*-amd64_*.deb | head -n 1)
	bdeb=$(ls "$CACHE"/busybox-static_*.deb | head -n 1)
fi
say "kernel package $(basename "$kdeb"), busybox $(basename "$bdeb")"
# Unpacked outside $B: the Makefile includes every *.d file under $B, and
# the packages hold directories named like that (e.g. postinst.d).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ugpu-hw.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg -x "$kdeb" "$tmp/kpkg"
dpkg -x "$bdeb" "$tmp/bbpkg"
vmlinuz=$(ls "$tmp"/kpkg/boot/vmlinuz-* | head -n 1)
kver=${vmlinuz##*/vmlinuz-}
moddir=$tmp/kpkg/lib/modules/$kver
mkdir -p "$HW/kernel"
cp "$vmlinuz" "$HW/kernel/vmlinuz"
vmlinuz=$HW/kernel/vmlinuz

# ---- 3. binaries ----
say "building ugpud, libugpu and tests/hw"
make -s -j2 B="$B" all >/dev/null
PKGS="fuse3 libevent libevent_pthreads liburing libsystemd"
CFLAGS_HW="-O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -pthread -I. -Idaemon -Ilibclient $(pkg-config --cflags $PKGS)"
mkdir -p "$HW/bin"
# shellcheck disable=SC2086
cc $CFLAGS_HW -o "$HW/bin/vfio_hw_test" tests/hw/vfio_hw_test.c "$B/libugpud.a" \
	$(pkg-config --libs $PKGS) -lm
# shellcheck disable=SC2086
cc $CFLAGS_HW -o "$HW/bin/hw_client" tests/hw/hw_client.c "$B/libugpu.a" -lm

# ---- 4. initramfs ----
root=$HW/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,lib/modules,dev,proc,sys,run,tmp,etc}
cp "$tmp/bbpkg/bin/busybox" "$root/bin/busybox"
install -m 0755 tests/hw/init "$root/init"
ln -sf /proc/self/mounts "$root/etc/mtab"

# Modules in dependency order, from each module's own depends= field.
find_mod() {
	local n=$1 f
	f=$(find "$moddir/kernel" \( -name "$n.ko" -o -name "${n//_/-}.ko" -o -name "${n//-/_}.ko" \) | head -n 1)
	[ -n "$f" ] || die "module $n not in $(basename "$kdeb")"
	echo "$f"
}
order=()
add_mod() {
	local n=$1 f d
	for d in "${order[@]:-}"; do [ "$d" = "$n" ] && return 0; done
	f=$(find_mod "$n")
	for d in $(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_mod "$d"
	done
	cp "$f" "$root/lib/modules/$n.ko"
	order+=("$n")
}
for m in $MODULES; do add_mod "$m"; done
printf '%s\n' "${order[@]}" > "$root/lib/modules/order"

# Binaries and everything they load.
cp "$B/ugpud" "$HW/bin/vfio_hw_test" "$HW/bin/hw_client" "$root/bin/"
cp "$(command -v fusermount3)" "$root/usr/bin/fusermount3"
for bin in "$root/bin/ugpud" "$root/bin/vfio_hw_test" "$root/bin/hw_client" \
	   "$root/usr/bin/fusermount3"; do
	for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$HW/initramfs.gz"
say "initramfs $(du -h "$HW/initramfs.gz" | cut -f1) (modules: ${order[*]})"

# ---- 5. boots ----
total_pass=0
total_fail=0
status=0
for cfg in $CONFIGS; do
	case $cfg in
	edu64)
		# edu reaching all 64 bits: the daemon uses IOVAs above 4 GiB.
		devs=(-device intel-iommu,intremap=on
		      -device edu,dma_mask=0xffffffffffffffff) ;;
	rootport)
		# Behind a root port VFIO can reset edu (bus reset); 28-bit mask.
		devs=(-device intel-iommu,intremap=on
		      -device pcie-root-port,id=rp0,chassis=1,slot=1 -device edu,bus=rp0) ;;
	*) die "unknown configuration $cfg" ;;
	esac
	log=$HW/$cfg.log
	# A guest that dies before its first check (a TCG boot hiccup on a
	# loaded host) is booted once more; a test failure never is.
	for attempt in 1 2; do
		say "booting $cfg: qemu-system-x86_64 -machine q35,accel=tcg ${devs[*]} (timeout ${TIMEOUT}s)"
		start=$(date +%s)
		set +e
		timeout --signal=KILL "$TIMEOUT" qemu-system-x86_64 \
			-machine q35,accel=tcg -cpu max -smp 1 -m 512M \
			"${devs[@]}" \
			-kernel "$vmlinuz" -initrd "$HW/initramfs.gz" \
			-append "console=ttyS0 intel_iommu=on panic=-1 loglevel=1 no_timer_check ugpu.cfg=$cfg" \
			-nographic -no-reboot -nodefaults -serial stdio </dev/null >"$log" 2>&1
		rc=$?
		set -e
		tr -d '\r' < "$log" | grep -qE '^(ok|not ok)( |$)' && break
		say "$cfg: the guest ran no check (attempt $attempt, qemu exit $rc): $(grep -m1 -o 'Kernel panic.*' "$log" || echo 'no panic message')"
	done
	secs=$(( $(date +%s) - start ))
	tr -d '\r' < "$log" > "$log.clean"
	grep -E '^(ok|not ok)( |$)' "$log.clean" | sed "s/^/  [$cfg] /" || true
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log.clean" | tail -n 1 || true)
	npass=$(grep -cE '^ok( |$)' "$log.clean" || true)
	nfail=$(grep -cE '^not ok( |$)' "$log.clean" || true)
	if [ -z "$summary" ]; then
		say "$cfg: no summary line (qemu exit $rc after ${secs}s; guest crashed or timed out): see $log"
		status=1
		nfail=$((nfail + 1))
	elif [ "$summary" != "$npass passed, $nfail failed" ] || [ "$nfail" != 0 ]; then
		say "$cfg: $summary (parsed $npass ok, $nfail not ok) in ${secs}s: see $log"
		status=1
	else
		say "$cfg: $summary in ${secs}s"
	fi
	total_pass=$((total_pass + npass))
	total_fail=$((total_fail + nfail))
	rm -f "$log.clean"
done

say "total ${total_pass} passed, ${total_fail} failed in $(( $(date +%s) - start_all ))s"
exit $status
