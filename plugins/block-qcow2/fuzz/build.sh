#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the qcow2 fuzzers (clang libFuzzer + ASan + UBSan) and their seed corpora:
#   fuzz-qcow2     header, tables, bitmap directory (images made by qemu-img, crafted ones)
#   fuzz-q2-cache  the L2/refcount table cache over more tables than it holds
#   fuzz-q2-iov    cutting large, fragmented requests into pieces
# Usage: plugins/block-qcow2/fuzz/build.sh [OUTDIR]  (default build/fuzz/qcow2)
# Run:   OUTDIR/fuzz-qcow2 OUTDIR/corpus-qcow2 -max_total_time=20  (likewise the others)
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
top=$(cd "$src/../.." && pwd)
out=${1:-$top/build/fuzz/qcow2}
mkdir -p "$out/corpus-qcow2" "$out/corpus-q2-cache" "$out/corpus-q2-iov"
cc="clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
$cc -I"$src" "$here/fuzz-qcow2.c" "$src/header.c" "$src/bitmap-dir.c" -o "$out/fuzz-qcow2"
# shellcheck disable=SC2046
$cc $(pkg-config --cflags glib-2.0) "$here/fuzz-q2-cache.c" "$src/q2-cache.c" \
    $(pkg-config --libs glib-2.0) -o "$out/fuzz-q2-cache"
$cc "$here/fuzz-q2-iov.c" "$src/q2-iov.c" -o "$out/fuzz-q2-iov"
python3 "$here/seeds.py" "$out"
echo "$out/fuzz-qcow2"
