#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Time per generated block from a perf profile of Mosaic's code generator.

  MOSAIC_TCG_PERF_MAP=1 perf record -F 999 -o prof.data build/release/core/mosaic ...
  perf script -i prof.data -F ip > ips.txt
  bench/riscv/perf_blocks.py /tmp/perf-PID.map ips.txt [N]

perf only applies a perf-PID.map to anonymous memory; the code buffer is a memfd, so
perf prints its samples as offsets into it.  This maps both absolute addresses and
offsets (taken from the first block's address, the buffer start) onto the blocks and
prints the N hottest with their share of all samples ('other': the run loop, helpers,
the kernel)."""
import bisect
import collections
import sys


def main():
    ents = []
    for line in open(sys.argv[1]):
        addr, size, name = line.split()
        ents.append((int(addr, 16), int(size, 16), name))
    ents.sort()
    starts = [e[0] for e in ents]
    base = ents[0][0] if ents else 0
    count = collections.Counter()
    total = 0
    for line in open(sys.argv[2]):
        line = line.strip()
        if not line:
            continue
        ip = int(line.split()[0], 16)
        if ip < (1 << 32):
            ip += base  # an offset into the memfd
        total += 1
        i = bisect.bisect_right(starts, ip) - 1
        if i >= 0 and ip < ents[i][0] + ents[i][1]:
            count['%s at %x' % (ents[i][2], ents[i][0])] += 1
        else:
            count['other'] += 1
    for name, n in count.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 25):
        print('%5.1f%% %s' % (100.0 * n / max(total, 1), name))


if __name__ == '__main__':
    main()
