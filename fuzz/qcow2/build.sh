#!/bin/sh
# Builds the qcow2 parser fuzzer (clang libFuzzer + ASan + UBSan) and a seed corpus of
# images made by qemu-img.  Usage: fuzz/qcow2/build.sh [OUTDIR]  (default build/fuzz/qcow2)
# Run:  OUTDIR/fuzz-qcow2 OUTDIR/corpus -max_total_time=20
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/fuzz/qcow2}
mkdir -p "$out/corpus"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/plugins/block-qcow2" "$top/fuzz/qcow2/fuzz-qcow2.c" \
    "$top/plugins/block-qcow2/header.c" -o "$out/fuzz-qcow2"
if command -v qemu-img >/dev/null; then
    tmp=$(mktemp -d)
    for cs in 512 4096 65536; do
        qemu-img create -q -f qcow2 -o cluster_size=$cs "$tmp/s$cs.qcow2" 16M
        qemu-io -f qcow2 -c 'write -P 0x5a 0 8k' "$tmp/s$cs.qcow2" >/dev/null
        head -c 300000 "$tmp/s$cs.qcow2" > "$out/corpus/s$cs"
    done
    qemu-img create -q -f qcow2 -b "s512.qcow2" -F qcow2 "$tmp/b.qcow2" 16M
    head -c 300000 "$tmp/b.qcow2" > "$out/corpus/backing"
    # Hostile backing names: host files that are no images, INI syntax, the longest name.
    long=$(head -c 1000 /dev/zero | tr '\0' 'n')
    i=0
    for name in /proc/self/mem /dev/zero "a ;b #c = [d]" "$long"; do
        i=$((i + 1))
        qemu-img create -q -f qcow2 -u -b "$name" -F raw "$tmp/h$i.qcow2" 16M
        head -c 300000 "$tmp/h$i.qcow2" > "$out/corpus/backing-hostile-$i"
    done
    rm -rf "$tmp"
fi
echo "$out/fuzz-qcow2"
