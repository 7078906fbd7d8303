#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""2-hart scaling: one CoreMark on 1 hart vs two independent CoreMarks on 2 harts, Mosaic
and qemu-system-riscv64 (MTTCG) side by side.

  bench/riscv/smp_bench.py [--rounds 3] [--mosaic-env K=V]

Images: bench/riscv/coremark/coremark-rv64imac.elf (1 hart) and coremark-2hart-rv64imac.elf
(harts 0 and 1 each run their own CoreMark), both with their iteration count raised to
--coremark-iterations (default 150,000; coremark_image.py) so every run lasts >= 10 s.
Scaling = throughput with 2 harts / with 1 = 2 x wall(1 hart) / wall(2 harts); the issue
asks >= 1.8.  Wall time needs two idle host cores, so the CPU time (user + sys) is
printed too: CPU(2 harts) / (2 x CPU(1 hart)) above 1 is work lost to sharing (locks,
contended cache lines), whatever the machine's load.  Medians of alternating rounds.
The same figures for two separate 1-hart Mosaic processes running at once ("host") show
what the host itself loses when both cores work (shared caches, SMT siblings): the
ceiling any emulator's scaling meets here.
Mosaic runs with MOSAIC_TCG_STATS=1, whose per-hart report gives each hart's thread CPU
time and guest instructions: "per hart" compares a hart of the 2-hart run with the
1-hart run's, and "hart 0 waited" is what hart 0 ran beyond hart 1 — the image's hart 0
spins (lw, fence, beqz) until hart 1 is done, so CPU(2 harts) includes however long
the host kept hart 1 behind.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run_bench as rb  # noqa: E402
import coremark_image  # noqa: E402

CHECK = 'Correct operation validated'
HART = re.compile(r'tcg hart (\d+): instructions (\d+) .* thread-cpu-ms (\d+)')


def run(cmds, env=None):
    """Runs the commands at once; returns wall time, their CPU time summed, their output."""
    outs = [tempfile.TemporaryFile() for _ in cmds]
    t0 = time.monotonic()
    procs = [subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, **(env or {}))) for cmd, out in zip(cmds, outs)]
    cpu, text = 0.0, ''
    for cmd, p, out in zip(cmds, procs, outs):
        _, status, ru = os.wait4(p.pid, 0)
        cpu += ru.ru_utime + ru.ru_stime
        out.seek(0)
        one = out.read().decode('utf-8', 'replace')
        out.close()
        if os.waitstatus_to_exitcode(status) != 0 or one.count(CHECK) < 1:
            raise SystemExit('failed: %s\n%s' % (' '.join(cmd), one[-2000:]))
        text += one
    return time.monotonic() - t0, cpu, text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--mosaic-env', action='append', default=[], metavar='K=V')
    ap.add_argument('--only', default='mosaic,qemu')
    ap.add_argument('--coremark-iterations', type=int, default=150000)
    a = ap.parse_args()
    menv = dict([kv.split('=', 1) for kv in a.mosaic_env], MOSAIC_TCG_STATS='1')
    print('command: %s' % ' '.join(sys.argv))
    images = tempfile.TemporaryDirectory(prefix='coremark-')
    one, two = (coremark_image.with_iterations(HERE / 'coremark' / name, a.coremark_iterations,
                                               images.name)
                for name in ('coremark-rv64imac.elf', 'coremark-2hart-rv64imac.elf'))
    cases = []
    for who in a.only.split(','):
        mk = rb.mosaic_cmd if who == 'mosaic' else rb.qemu_cmd
        env = menv if who == 'mosaic' else None
        cases += [(who, 1, [mk(one, 1)], env), (who, 2, [mk(two, 2)], env)]
    if 'mosaic' in a.only.split(','):
        # The host's own ceiling: two separate 1-hart processes share nothing in Mosaic,
        # so what they lose to each other is the host's (shared caches, SMT siblings).
        cases += [('host', 1, [rb.mosaic_cmd(one, 1)], menv),
                  ('host', 2, [rb.mosaic_cmd(one, 1)] * 2, menv)]
    res = {(c[0], c[1]): [] for c in cases}
    harts = {1: [], 2: []}  # per mosaic run: {hart: (guest instructions, thread cpu s)}
    for r in range(a.rounds):
        for who, n, cmd, env in (cases if r % 2 == 0 else cases[::-1]):
            wall, cpu, text = run(cmd, env)
            if n == 2 and text.count(CHECK) < 2:
                raise SystemExit('2-hart run validated %d CoreMarks' % text.count(CHECK))
            res[(who, n)].append((wall, cpu))
            if who == 'mosaic':
                harts[n].append({int(h): (int(i), int(ms) / 1000) for h, i, ms in HART.findall(text)})
    for who in a.only.split(',') + (['host'] if 'mosaic' in a.only.split(',') else []):
        w1 = statistics.median(w for w, _ in res[(who, 1)])
        c1 = statistics.median(c for _, c in res[(who, 1)])
        w2 = statistics.median(w for w, _ in res[(who, 2)])
        c2 = statistics.median(c for _, c in res[(who, 2)])
        if who == 'host':
            print('host (two 1-hart Mosaic processes at once, the ceiling this host allows):')
        print('%-6s: 1 hart wall %.2f s cpu %.2f s | 2 harts wall %.2f s cpu %.2f s | '
              'scaling 2*wall1/wall2 = %.2fx | cpu2/(2*cpu1) = %.2f' %
              (who, w1, c1, w2, c2, 2 * w1 / w2, c2 / (2 * c1)))
        print('        runs (wall/cpu): 1 hart %s; 2 harts %s' % (
            ' '.join('%.1f/%.1f' % x for x in res[(who, 1)]),
            ' '.join('%.1f/%.1f' % x for x in res[(who, 2)])))
    if harts[2] and all(len(r) == 2 for r in harts[2]) and all(harts[1]):
        one_cpu = statistics.median(r[0][1] for r in harts[1])
        h0 = statistics.median(r[0][1] for r in harts[2])
        h1 = statistics.median(r[1][1] for r in harts[2])
        print('mosaic per hart: thread cpu 1-hart run %.2f s | 2-hart run hart 0 %.2f s, '
              'hart 1 %.2f s | hart 1 / 1-hart = %.3f' % (one_cpu, h0, h1, h1 / one_cpu))
        print('        hart 0 waited for hart 1 (runs): %s' % ' '.join(
            '%.2f s/%.0f M insns' % (r[0][1] - r[1][1], (r[0][0] - r[1][0]) / 1e6)
            for r in harts[2]))
    print('host load average at end: %.2f %.2f %.2f' % os.getloadavg())


if __name__ == '__main__':
    main()
