#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds virtio-gpu's command fuzzer (clang libFuzzer + ASan + UBSan).
# Usage: plugins/device-virtio-gpu/fuzz/build.sh [OUTDIR]  (default build/fuzz/virtio-gpu)
# Run:   OUTDIR/fuzz-gpu-cmd OUTDIR/corpus -max_total_time=60
#        OUTDIR/fuzz-gpu-3d OUTDIR/corpus-3d -max_total_time=60  (3D and blob commands)
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
top=$(cd "$src/../.." && pwd)
out=${1:-$top/build/fuzz/virtio-gpu}
mkdir -p "$out/corpus" "$out/corpus-3d"
# shellcheck disable=SC2046
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    $(pkg-config --cflags glib-2.0) "$here/fuzz-gpu-cmd.c" "$src/gpu2d.c" "$src/edid.c" \
    $(pkg-config --libs glib-2.0) -o "$out/fuzz-gpu-cmd"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/sdk/include" $(pkg-config --cflags glib-2.0) "$here/fuzz-gpu-3d.c" "$src/vgpu3d.c" \
    "$src/gpu2d.c" "$src/edid.c" $(pkg-config --libs glib-2.0) -o "$out/fuzz-gpu-3d"
echo "$out/fuzz-gpu-cmd" "$out/fuzz-gpu-3d"
