#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host instructions per guest instruction of Mosaic on CoreMark: a deterministic
measure for tuning the code generator on a shared host, where CPU time moves +-5%.

  bench/riscv/jit_insns.py [--low 300] [--high 1300] [--categories] [--harts 2]

Runs Mosaic under `valgrind --tool=callgrind --smc-check=all` on two CoreMark images
(coremark_image.py: the same program with LOW and HIGH iterations) and divides the
difference of host instructions by the difference of guest instructions
(MOSAIC_TCG_STATS), so start-up and CoreMark's set-up cancel out.  --categories also
splits the HIGH run's instructions in generated code by kind (valgrind --dump-instr=yes
and MOSAIC_TCG_PERF_MAP=code, which dumps each block's host code).

--harts 2 runs coremark-2hart-rv64imac.elf (each hart its own CoreMark) on 2 harts with
callgrind's --separate-threads=yes and prints the figure per hart thread beside the
1-hart image's, with the C functions' share: extra host work per hart caused by the other
hart (exits, helpers, retranslation, flushes, TLB refills, kicks) shows as a difference
there.  The vcpu threads are the threads that ran exec_tb, in hart order (threads start
in hart order); the guest instruction counts come from MOSAIC_TCG_STATS per hart."""
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


def run(elf, out, dump, harts=1, threads=False):
    env = dict(os.environ, MOSAIC_TCG_STATS='1')
    if dump:
        env['MOSAIC_TCG_PERF_MAP'] = 'code'
    cmd = ['valgrind', '--tool=callgrind', '--smc-check=all', '--callgrind-out-file=' + out]
    if dump:
        cmd.append('--dump-instr=yes')
    if threads:
        cmd.append('--separate-threads=yes')
    cmd += [str(g.mosaic_binary()), str(TOP / 'configs' / 'riscv-virt-bare.ini'),
            '--set', 'machine.kernel=%s' % elf, '--set', 'machine.cpus=%d' % harts]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    text = p.stdout + p.stderr
    if p.returncode != 0 or 'crcfinal' not in text:
        raise SystemExit('run failed (rc %s):\n%s' % (p.returncode, text[-3000:]))
    ir = int(re.search(r'Collected : (\d+)', text).group(1))
    guest = int(re.search(r'instructions (\d+)', text).group(1))
    pid = int(re.search(r'==(\d+)==', text).group(1))
    if threads:
        return (ir, guest, pid,
                [int(n) for n in re.findall(r'tcg hart \d+: instructions (\d+)', text)])
    return ir, guest, pid


def function_costs(cg):
    """Self cost per function of one callgrind file; generated code is one entry."""
    out = subprocess.run(['callgrind_annotate', '--threshold=100', '--inclusive=no', '--auto=no', cg],
                         capture_output=True, text=True, check=True).stdout
    cost = collections.Counter()
    for line in out.splitlines():
        m = re.match(r'\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)', line)
        if not m or 'PROGRAM TOTALS' in line or m.group(2).startswith(('=>', '*')):
            continue
        name = m.group(2)
        name = '(generated code)' if name.startswith('???:0x') else name.split(' [')[0]
        cost[name] += int(m.group(1).replace(',', ''))
    return cost


def hart_threads(out):
    """The per-thread files of the vcpu threads (those that ran exec_tb), in thread order."""
    files = sorted(glob.glob(out + '-*'), key=lambda f: int(f.rsplit('-', 1)[1]))
    return [f for f in files
            if any(k.endswith('accel-tcg/exec.c:exec_tb') for k in function_costs(f))]


def per_hart(a, d):
    """Host instructions per guest instruction of each hart, 1-hart image vs 2-hart image."""
    src1 = HERE / 'coremark' / 'coremark-rv64imac.elf'
    src2 = HERE / 'coremark' / 'coremark-2hart-rv64imac.elf'
    cols = []
    for name, src, harts in (('1 hart', src1, 1), ('2 harts', src2, a.harts)):
        runs = []
        for it in (a.low, a.high):
            out = '%s/%d-%d.cg' % (d, harts, it)
            # --separate-threads for the 1-hart run too: the same accounting
            r = run(coremark_image.with_iterations(src, it, d), out, False, harts, True)
            print('  %s: host instructions %d, guest instructions per hart %s'
                  % (Path(out).name, r[0], r[3]))
            runs.append((r, hart_threads(out)))
            if len(runs[-1][1]) != harts or len(r[3]) != harts:
                raise SystemExit('%s: %d vcpu threads, %d hart reports'
                                 % (out, len(runs[-1][1]), len(r[3])))
        (lo, lo_files), (hi, hi_files) = runs
        for i in range(harts):
            guest = hi[3][i] - lo[3][i]
            fh, fl = function_costs(hi_files[i]), function_costs(lo_files[i])
            cols.append(('%s: hart %d' % (name, i), guest,
                         {k: fh[k] - fl[k] for k in set(fh) | set(fl)}))
    print('host instructions per guest instruction, CoreMark %d - %d iterations, per vcpu thread'
          % (a.high, a.low))
    print('  '.join('%16s' % c[0] for c in cols) + '  function')
    print('  '.join('%16.4f' % (sum(c[2].values()) / c[1]) for c in cols) + '  total')
    names = sorted({k for c in cols for k in c[2]}, key=lambda k: -abs(cols[0][2].get(k, 0)))
    for k in names[:12]:
        print('  '.join('%16.5f' % (c[2].get(k, 0) / c[1]) for c in cols) + '  ' + k[-70:])


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
    ap.add_argument('--harts', type=int, default=1, choices=(1, 2))
    a = ap.parse_args()
    print('command: bench/riscv/jit_insns.py ' + ' '.join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix='jit-insns-') as d:
        if a.harts > 1:
            per_hart(a, d)
            return
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
