#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host instructions per guest instruction of Mosaic on CoreMark: a deterministic
measure for tuning the code generator on a shared host, where CPU time moves +-5%.

  bench/riscv/jit_insns.py [--low 300] [--high 1300] [--categories]

Runs Mosaic under `valgrind --tool=callgrind --smc-check=all` on two CoreMark images
(coremark_image.py: the same program with LOW and HIGH iterations) and divides the
difference of host instructions by the difference of guest instructions
(MOSAIC_TCG_STATS), so start-up and CoreMark's set-up cancel out.  --categories also
splits the HIGH run's instructions in generated code by kind (valgrind --dump-instr=yes
and MOSAIC_TCG_PERF_MAP=code, which dumps each block's host code)."""
import argparse
import bisect
import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path.insert(0, str(TOP / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402
import coremark_image  # noqa: E402


def run(elf, out, dump):
    env = dict(os.environ, MOSAIC_TCG_STATS='1')
    if dump:
        env['MOSAIC_TCG_PERF_MAP'] = 'code'
    cmd = ['valgrind', '--tool=callgrind', '--smc-check=all', '--callgrind-out-file=' + out]
    if dump:
        cmd.append('--dump-instr=yes')
    cmd += [str(g.mosaic_binary()), str(TOP / 'configs' / 'riscv-virt-bare.ini'),
            '--set', 'machine.kernel=%s' % elf, '--set', 'machine.cpus=1']
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    text = p.stdout + p.stderr
    if p.returncode != 0 or 'crcfinal' not in text:
        raise SystemExit('run failed (rc %s):\n%s' % (p.returncode, text[-3000:]))
    ir = int(re.search(r'Collected : (\d+)', text).group(1))
    guest = int(re.search(r'instructions (\d+)', text).group(1))
    pid = int(re.search(r'==(\d+)==', text).group(1))
    return ir, guest, pid


def instr_costs(cg, lo, hi):
    """Self cost per instruction address in [lo, hi) from a --dump-instr=yes file."""
    cost = collections.Counter()
    addr, skip = 0, False
    for line in open(cg):
        if line.startswith('calls='):
            skip = True  # the next line is the call's inclusive cost
            continue
        if not line or line[0] not in '+-*0':
            continue
        parts = line.split()
        if len(parts) < 3:
            continue
        p = parts[0]
        if p.startswith('0x'):
            addr = int(p, 16)
        elif p[0] in '+-':
            addr += int(p, 0) if p[1:].startswith('0x') else int(p)
        if skip:
            skip = False
            continue
        if lo <= addr < hi:
            cost[addr] += int(parts[2])
    return cost


def categories(cg, pid):
    mapf = '/tmp/perf-%d.map' % pid
    ents = sorted((int(a, 16), int(s, 16)) for a, s, _ in (l.split() for l in open(mapf)))
    cost = instr_costs(cg, ents[0][0], ents[-1][0] + ents[-1][1])
    text = {}
    for f in glob.glob('/tmp/perf-%d.code/*.bin' % pid):
        a = int(os.path.basename(f)[:-4].split('-')[1], 16)
        out = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', '-M', 'intel',
                              '--adjust-vma=0x%x' % a, f], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r'\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(.*)', line)
            if m:
                text[int(m.group(1), 16)] = m.group(2).strip()
    kinds = collections.Counter()
    for a, n in cost.items():
        t = text.get(a, '?')
        op = t.split()[0] if t else '?'
        kinds['jumps' if op.startswith('j') else 'memory operand' if 'PTR' in t else op] += n
    os.remove(mapf)
    shutil.rmtree('/tmp/perf-%d.code' % pid, ignore_errors=True)
    total = sum(kinds.values())
    print('generated code: %d host instructions' % total)
    for k, n in kinds.most_common(15):
        print('  %5.1f%% %s' % (100.0 * n / total, k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--low', type=int, default=300)
    ap.add_argument('--high', type=int, default=1300)
    ap.add_argument('--categories', action='store_true')
    a = ap.parse_args()
    print('command: bench/riscv/jit_insns.py ' + ' '.join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix='jit-insns-') as d:
        src = HERE / 'coremark' / 'coremark-rv64imac.elf'
        lo = run(coremark_image.with_iterations(src, a.low, d), d + '/lo.cg', False)
        hi = run(coremark_image.with_iterations(src, a.high, d), d + '/hi.cg', a.categories)
        print('CoreMark %d - %d iterations: %d guest instructions, %d host instructions: '
              '%.4f host per guest' % (a.high, a.low, hi[1] - lo[1], hi[0] - lo[0],
                                       (hi[0] - lo[0]) / (hi[1] - lo[1])))
        if a.categories:
            categories(d + '/hi.cg', hi[2])


if __name__ == '__main__':
    main()
