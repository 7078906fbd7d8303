#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the 16550 register model's fuzzer (clang libFuzzer + ASan + UBSan).
# Usage: plugins/device-serial-16550/fuzz/build.sh [OUTDIR]  (default build/fuzz/serial-16550)
# Run:   OUTDIR/fuzz-serial OUTDIR/corpus -max_total_time=60
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
top=$(cd "$src/../.." && pwd)
out=${1:-$top/build/fuzz/serial-16550}
mkdir -p "$out/corpus"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    "$here/fuzz-serial.c" "$src/regs.c" -o "$out/fuzz-serial"
echo "$out/fuzz-serial"
