#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the machine-file reader fuzzer (clang libFuzzer + ASan + UBSan) and a seed corpus
# from tests/data/config.  Usage: core/config/fuzz/build.sh [OUTDIR]  (default
# build/fuzz/config).  Run from an empty directory (inputs may include relative files):
#   cd $(mktemp -d) && OUTDIR/fuzz-config OUTDIR/corpus -max_total_time=20
set -e
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$top/build/fuzz/config}
mkdir -p "$out/corpus"
# shellcheck disable=SC2046 # pkg-config prints several words
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/core" -I"$top/sdk/include" $(pkg-config --cflags glib-2.0) \
    -DMOSAIC_DATADIR='"/nonexistent/share/mosaic"' \
    "$top/core/config/fuzz/fuzz-config.c" "$top/core/config/parse.c" \
    "$top/core/config/config.c" "$top/core/config/sections.c" "$top/core/config/values.c" \
    "$top/core/config/data-path.c" \
    "$top/core/config/props.c" "$top/core/util/file-type.c" \
    $(pkg-config --libs glib-2.0) -linih -o "$out/fuzz-config"
for f in "$top"/tests/data/config/good/*.ini "$top"/tests/data/config/bad/*.ini; do
    cp "$f" "$out/corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
done
echo "$out/fuzz-config"
