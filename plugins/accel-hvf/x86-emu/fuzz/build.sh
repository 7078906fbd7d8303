#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the x86 emulator's fuzzer (clang libFuzzer + ASan + UBSan).
# Usage: plugins/accel-hvf/x86-emu/fuzz/build.sh [OUTDIR]  (default build/fuzz/x86emu)
# Run:   OUTDIR/fuzz-x86emu OUTDIR/corpus -max_total_time=60
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
top=$(cd "$src/../../.." && pwd)
out=${1:-$top/build/fuzz/x86emu}
mkdir -p "$out/corpus"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$src" \
    "$here/fuzz-x86emu.c" "$src"/*.c -lZydis -o "$out/fuzz-x86emu"
echo "$out/fuzz-x86emu"
