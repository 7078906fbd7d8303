#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the PCI config-space and BAR fuzzer (clang libFuzzer + ASan + UBSan) from the
# PCI core, the memory model it maps BARs into and the pcie-pci-bridge plugin's device
# (with its SHPC), with a small seed corpus.
# Usage: core/pci/fuzz/build.sh [OUTDIR]  (default build/fuzz/pci)
# Run:   OUTDIR/fuzz-pci OUTDIR/corpus -max_total_time=20
set -e
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$top/build/fuzz/pci}
mkdir -p "$out/corpus"
pci="config bar bus bridge intx msi host"
srcs=""
for f in $pci; do srcs="$srcs $top/core/pci/$f.c"; done
# shellcheck disable=SC2046,SC2086 # pkg-config prints several words; srcs is a list
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/core" -I"$top/sdk/include" $(pkg-config --cflags glib-2.0) \
    "$top/core/pci/fuzz/fuzz-pci.c" $srcs "$top/plugins/pci-pcie-bridge/bridge.c" \
    "$top/plugins/pci-pcie-bridge/shpc.c" "$top"/core/memory/*.c "$top/core/loop/lock.c" \
    "$top/core/util/log.c" "$top/core/plugin/error.c" \
    $(pkg-config --libs glib-2.0) -o "$out/fuzz-pci"
# Seeds: size a BAR, place it, enable decoding; number the bridge; touch MSI-X.
python3 - "$out/corpus" <<'PY'
import struct, sys
def op(o, size, loc, val): return struct.pack('<BBHI', o, size, loc, val)
def cfg(bus, dev, fn, reg):  # op 0 addresses (loc << 4 | val >> 20 & 15)
    off = dev << 15 | fn << 12 | reg
    return off >> 4, (off & 15) << 20, bus << 2
seeds = []
l, hi, b = cfg(0, 1, 0, 0x10)
seeds.append(op(0, 2 | b, l, 0xffffffff & ~0xf00000 | hi) + op(0, 2 | b, l, 0x40000000 | hi))
l, hi, b = cfg(0, 1, 0, 0x04)
seeds.append(seeds[0] + op(0, 1 | b, l, 0x7 | hi) + op(2, 2, 0, 0x12345678) + op(4, 0, 1, 0))
l, hi, b = cfg(0, 2, 0, 0x18)
seeds.append(op(0, 2 | b, l, 0x00030100 | hi) + op(1, 2 | 4, 0, 0) + op(5, 2, 1, 0))
# The bridge's SHPC: hot-plug into slot 5, place and enable BAR 0, unmask, commands.
l, hi, b = cfg(0, 2, 0, 0x10)
shpc = op(6, 0, 5, 0) + op(0, 2 | b, l, 0x00800000 | hi)
l, hi, b = cfg(0, 2, 0, 0x04)
shpc += op(0, 1 | b, l, 0x2 | hi) + op(2, 2, 0x8000, 0x20) + op(2, 2, 0x8000, 0x0) \
    + op(2, 1, 0x8000, 0x14) + op(6, 0, 5, 0) + op(2, 1, 0x8000, 0x14)
seeds.append(shpc)
for i, s in enumerate(seeds):
    open('%s/seed-%d' % (sys.argv[1], i), 'wb').write(s)
PY
echo "$out/fuzz-pci"
