#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the outer guest of the nested-KVM tests (kernel + initramfs with kvm_amd, 9p
# and vhost_net) into OUTDIR (default ~/.cache/mosaic/nested-kvm-KEY, KEY from this recipe and the
# kernel version) and prints the directory.  Needs linux-image-amd64, busybox-static, cpio.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:-$(ls /lib/modules | sort -V | tail -n1)}
KEY=$(cat "$HERE/build-outer.sh" "$HERE/outer-init" /bin/busybox | sha256sum | cut -c1-12)-$KVER
OUT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mosaic/nested-kvm-$KEY}
if [ -f "$OUT/initrd.gz" ] && [ -f "$OUT/vmlinuz" ]; then echo "$OUT"; exit 0; fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nested-kvm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
R=$TMP/root
mkdir -p "$R/bin" "$R/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/lib/modules" "$R/tmp"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
  [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
for m in irqbypass kvm ccp kvm_amd virtio_ring virtio virtio_pci_modern_dev \
         virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p \
         vhost_iotlb vhost tun tap vhost_net; do
  f=$(modinfo -k "$KVER" -n "$m")
  b=$(basename "$f"); b=${b%.xz}; b=${b%.zst}
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$R/lib/modules/$b" ;;
    *.ko.zst) zstd -dcq "$f" > "$R/lib/modules/$b" ;;
    *) cp "$f" "$R/lib/modules/$b" ;;
  esac
done
cp "$HERE/outer-init" "$R/init"
chmod 755 "$R/init"
mkdir -p "$OUT"
(cd "$R" && find . | cpio -o -H newc --quiet) | gzip -6 > "$TMP/initrd.gz"
cp "/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
mv "$TMP/initrd.gz" "$TMP/vmlinuz" "$OUT/"
echo "$OUT"
