#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the x86 busybox initramfs into OUTDIR (default ~/.cache/mosaic/x86-busybox-KEY,
# KEY from this recipe and the kernel version) and prints the directory: initrd.gz and
# vmlinuz (Debian's linux-image-amd64).  Needs busybox-static, cpio, gzip, gcc with a
# static libc (libc6-dev).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:-$(ls /lib/modules | sort -V | tail -n1)}
KEY=$(cat "$HERE/build.sh" "$HERE/init" "$HERE/exits.c" "$HERE/dirty.c" /bin/busybox | sha256sum | cut -c1-12)-$KVER
OUT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mosaic/x86-busybox-$KEY}
if [ -f "$OUT/initrd.gz" ] && [ -f "$OUT/vmlinuz" ]; then echo "$OUT"; exit 0; fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/x86-busybox.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
R=$TMP/root
mkdir -p "$R/bin" "$R/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/lib/modules" "$R/tmp" "$R/etc"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
  [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
for m in virtio virtio_ring virtio_mmio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
  f=$(modinfo -k "$KVER" -n "$m")
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$R/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -dcq "$f" > "$R/lib/modules/$m.ko" ;;
    *) cp "$f" "$R/lib/modules/$m.ko" ;;
  esac
done
# The benchmark's exit loops (bench/x86/bench_kvm.py): static, the initramfs has no libc.
${CC:-gcc} -O2 -static -o "$R/bin/mosaic-exits" "$HERE/exits.c"
# The dirty-log stress (tests/nested-kvm: dirty2): guest writes on every vCPU.
${CC:-gcc} -O2 -static -o "$R/bin/mosaic-dirty" "$HERE/dirty.c"
cp "$HERE/init" "$R/init"
chmod 755 "$R/init"
mkdir -p "$OUT"
(cd "$R" && find . | cpio -o -H newc --quiet) | gzip -6 > "$TMP/initrd.gz"
cp "/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
mv "$TMP/initrd.gz" "$TMP/vmlinuz" "$OUT/"
echo "$OUT"
