#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Mosaic test kernels (riscv64 Image with a built-in initramfs holding our
# own static /init) from Debian's linux-source-6.1, in two variants:
#   Image-fpu    CONFIG_FPU=y
#   Image-nofpu  CONFIG_FPU=n (the kernel then needs only RV64IMAC + Zicsr/Zifencei)
#
# usage: guests/linux/build.sh [OUTDIR]       (default OUTDIR: build/guests/linux)
#
# Results are cached outside the clone, keyed by the hash of the recipe (this script,
# config.fragment, init.c, patches/*.patch):  ${XDG_CACHE_HOME:-~/.cache}/mosaic/linux-<sha>/Image-*.
# Object trees are kept per config hash (all of that but init.c) so a change to init.c
# only relinks.
# patches/*.patch (-p1, applied in name order) change the kernel source: they are applied to a
# copy of the shared extracted tree, one copy per patch set (linux-source-6.1-<sha>, hard
# links except for the files a patch touches), never to the shared tree other builds use.
# Needs: linux-source-6.1 gcc-riscv64-linux-gnu flex bison bc (Debian 12).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build/guests/linux}
SRC_TAR=${MOSAIC_LINUX_TAR:-/usr/src/linux-source-6.1.tar.xz}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mosaic
CROSS=riscv64-linux-gnu-
JOBS=${JOBS:-$(nproc)}

PATCHES=$(find "$HERE/patches" -maxdepth 1 -name '*.patch' 2>/dev/null | LC_ALL=C sort)
# Names and contents of the patches, in the order they are applied.
patchset() {
    for p in $PATCHES; do basename "$p"; cat "$p"; done
}
PATCHKEY=$(patchset | sha256sum | cut -c1-16)
KEY=$( (cat "$HERE/build.sh" "$HERE/config.fragment" "$HERE/init.c"; patchset) | sha256sum | cut -c1-16)
CFGKEY=$( (cat "$HERE/build.sh" "$HERE/config.fragment"; patchset) | sha256sum | cut -c1-16)
DEST=$CACHE/linux-$KEY

install_out() {
    mkdir -p "$OUT"
    for v in fpu nofpu; do
        cp -f "$DEST/Image-$v" "$OUT/Image-$v"
    done
    ln -sf Image-fpu "$OUT/Image"
    echo "$KEY" > "$OUT/KEY"
    echo "build.sh: kernels in $OUT (cache $DEST)"
}

if [ -f "$DEST/Image-fpu" ] && [ -f "$DEST/Image-nofpu" ]; then
    install_out
    exit 0
fi

for tool in ${CROSS}gcc flex bison bc patch; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool missing (apt install gcc-riscv64-linux-gnu flex bison bc)" >&2; exit 1; }
done
[ -f "$SRC_TAR" ] || { echo "build.sh: $SRC_TAR missing (apt install linux-source-6.1)" >&2; exit 1; }

mkdir -p "$CACHE"
# One build at a time per cache (tests may start several).
exec 9>"$CACHE/linux.lock"
flock 9
if [ -f "$DEST/Image-fpu" ] && [ -f "$DEST/Image-nofpu" ]; then
    install_out
    exit 0
fi

SRC=$CACHE/linux-source-6.1
if [ ! -f "$SRC/.mosaic-extracted" ]; then
    rm -rf "$SRC"
    echo "build.sh: extracting $SRC_TAR"
    tar xJf "$SRC_TAR" -C "$CACHE"
    touch "$SRC/.mosaic-extracted"
fi

if [ -n "$PATCHES" ]; then
    PSRC=$CACHE/linux-source-6.1-$PATCHKEY
    if [ ! -f "$PSRC/.mosaic-patched" ]; then
        rm -rf "$PSRC" "$PSRC.tmp"
        echo "build.sh: patching a copy of the source in $PSRC"
        cp -al "$SRC" "$PSRC.tmp"
        for p in $PATCHES; do
            # Unshare each file the patch touches before patching it: the rest stays
            # hard-linked to the shared tree, which must not change.
            sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p" | while IFS= read -r f; do
                if [ -f "$PSRC.tmp/$f" ]; then
                    cp --remove-destination -p "$SRC/$f" "$PSRC.tmp/$f"
                fi
            done
            patch -s -p1 --batch --forward -d "$PSRC.tmp" < "$p" ||
                { echo "build.sh: $p does not apply to $SRC" >&2; rm -rf "$PSRC.tmp"; exit 1; }
        done
        rm -f "$PSRC.tmp/.mosaic-extracted"
        touch "$PSRC.tmp/.mosaic-patched"
        mv "$PSRC.tmp" "$PSRC"
    fi
    SRC=$PSRC
fi

mkdir -p "$DEST"
# /init: static, no libc, soft-float so it runs on both variants.
${CROSS}gcc -static -nostdlib -ffreestanding -fno-builtin -O2 -march=rv64imac -mabi=lp64 \
    -Wall -Wextra -Werror -o "$DEST/init" "$HERE/init.c"

check_config() {
    cfg=$1; frag=$2; bad=0
    while IFS= read -r line; do
        case "$line" in
        CONFIG_*=*)
            grep -qxF "$line" "$cfg" || { echo "build.sh: '$line' did not stick: $(grep "^${line%%=*}=\|^# ${line%%=*} is not set" "$cfg" || echo absent)" >&2; bad=1; } ;;
        "# CONFIG_"*" is not set")
            opt=${line#\# }; opt=${opt%% *}
            if grep -q "^$opt=" "$cfg"; then echo "build.sh: '$line' did not stick" >&2; bad=1; fi ;;
        esac
    done < "$frag"
    return $bad
}

for v in fpu nofpu; do
    OBJ=$CACHE/linux-obj-$CFGKEY-$v
    mkdir -p "$OBJ"
    cp -f "$DEST/init" "$OBJ/mosaic-init"
    cat > "$OBJ/mosaic-initramfs.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
file /init $OBJ/mosaic-init 0755 0 0
EOF
    FRAG=$OBJ/fragment
    cp "$HERE/config.fragment" "$FRAG"
    if [ $v = fpu ]; then echo "CONFIG_FPU=y" >> "$FRAG"; else echo "# CONFIG_FPU is not set" >> "$FRAG"; fi
    echo "CONFIG_INITRAMFS_SOURCE=\"$OBJ/mosaic-initramfs.list\"" >> "$FRAG"
    if [ ! -f "$OBJ/.config" ]; then
        make -s -C "$SRC" O="$OBJ" ARCH=riscv CROSS_COMPILE=$CROSS tinyconfig
        (cd "$SRC" && ARCH=riscv CROSS_COMPILE=$CROSS scripts/kconfig/merge_config.sh -m -O "$OBJ" "$OBJ/.config" "$FRAG" >/dev/null)
        make -s -C "$SRC" O="$OBJ" ARCH=riscv CROSS_COMPILE=$CROSS olddefconfig
    fi
    check_config "$OBJ/.config" "$FRAG" || { echo "build.sh: config check failed for $v ($OBJ/.config)" >&2; exit 1; }
    echo "build.sh: building Image-$v in $OBJ ($JOBS jobs)"
    make -s -C "$SRC" O="$OBJ" ARCH=riscv CROSS_COMPILE=$CROSS -j"$JOBS" Image
    cp -f "$OBJ/arch/riscv/boot/Image" "$DEST/Image-$v.tmp"
    mv "$DEST/Image-$v.tmp" "$DEST/Image-$v"
done
install_out
