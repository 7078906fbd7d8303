#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Code-cache overflow: Mosaic (regions, least-recently-used eviction) against
qemu-system-riscv64 (whole flush when full), same cache size, side by side.

  bench/riscv/tbcache_bench.py [--rounds 3] [--guest-rounds 250] [--scale 20] [--tb-size 1]

The guest is build/guests/tests/tbcache.elf (guests/tests/tbcache.c): 4096 cold functions
called once per guest round and 256 hot ones called 16x as often.  Both emulators get a
code cache of --tb-size MiB (Mosaic `--set accel.tb-size=NM`: N MiB of block records and
N MiB of host code; QEMU `-accel tcg,tb-size=N`: N MiB of host code).

Reported:
- translations: Mosaic's counter (MOSAIC_TCG_STATS=1) and QEMU's translated blocks (the
  `IN:` entries of `-d in_asm`, one per translation; a separate, logged run), each minus
  the same emulator's translations with a cache that holds everything (so: translations
  again).  Mosaic also prints region evictions and flushes for a full cache (0).
- CPU time (user + sys), medians of alternating rounds, start-up (empty guest) measured
  separately and subtracted; as QEMU runs ~20x longer per guest round, Mosaic runs
  --scale times as many guest rounds so that both runs last about 10 s, and the speed is
  compared per guest round.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run_bench as rb  # noqa: E402

g = rb.g


def mosaic(elf, rounds, tb_mib):
    cmd = rb.mosaic_cmd(elf, 1) + ['--set', 'machine.append=tbcache.rounds=%d' % rounds]
    if tb_mib:
        cmd += ['--set', 'accel.tb-size=%dM' % tb_mib]
    return cmd


def qemu(elf, rounds, tb_mib):
    cmd = rb.qemu_cmd(elf, 1) + ['-append', 'tbcache.rounds=%d' % rounds]
    if tb_mib:
        cmd += ['-accel', 'tcg,tb-size=%d' % tb_mib]
    return cmd


def checked(who, cmd, env=None):
    cpu, rc, text = rb.run_cpu(cmd, env)
    if rc != 0 or 'PASS' not in text.splitlines():
        raise SystemExit('%s failed (rc %s): %s\ncommand: %s' % (who, rc, text[-2000:], ' '.join(cmd)))
    return cpu, text


def mosaic_counters(elf, rounds, tb_mib):
    _, text = checked('mosaic', mosaic(elf, rounds, tb_mib), {'MOSAIC_TCG_STATS': '1'})
    m = re.search(r'tcg hart 0: (.*)', text)
    words = m.group(1).split()
    return {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}


def qemu_translations(elf, rounds, tb_mib):
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / 'in_asm.log'
        checked('qemu', qemu(elf, rounds, tb_mib) + ['-d', 'in_asm', '-D', str(log)])
        with open(log, errors='replace') as f:
            return sum(1 for line in f if line.startswith('IN:'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3, help='alternating timing rounds')
    ap.add_argument('--guest-rounds', type=int, default=250, help='QEMU guest rounds (~10 s)')
    ap.add_argument('--scale', type=int, default=10, help='Mosaic runs this many times more')
    ap.add_argument('--tb-size', type=int, default=1, help='code cache, MiB')
    ap.add_argument('--count-rounds', type=int, default=20, help='guest rounds of the counting runs')
    a = ap.parse_args()
    print('command: %s' % ' '.join(sys.argv))
    guests = g.ensure_guests()
    elf = guests / 'tests' / 'tbcache.elf'

    n = a.count_rounds
    mc, mbig = mosaic_counters(elf, n, a.tb_size), mosaic_counters(elf, n, 0)
    qt, qbig = qemu_translations(elf, n, a.tb_size), qemu_translations(elf, n, 0)
    print('translations, %d guest rounds, %d MiB cache (cache holding everything):' % (n, a.tb_size))
    print('  qemu  : %7d (%d)  -> translated again: %d' % (qt, qbig, qt - qbig))
    print('  mosaic: %7d (%d)  -> translated again: %d   [retranslations counter %d, region '
          'evictions %d, blocks evicted %d, flushes when full %d, compiled %d]' %
          (mc['translations'], mbig['translations'], mc['translations'] - mbig['translations'],
           mc['retranslations'], mc['region-evictions'], mc['blocks-evicted'], mc['flush-full'],
           mc['compiled']))
    print('  translated again, qemu / mosaic: %.2f' %
          ((qt - qbig) / max(1, mc['translations'] - mbig['translations'])))

    startup_elf = guests / 'bench' / 'startup.elf'
    st = {'mosaic': [], 'qemu': []}
    for _ in range(3):
        st['mosaic'].append(checked('mosaic', rb.mosaic_cmd(startup_elf, 1))[0])
        st['qemu'].append(checked('qemu', rb.qemu_cmd(startup_elf, 1))[0])
    startup = {k: statistics.median(v) for k, v in st.items()}
    runs = {'mosaic': (mosaic(elf, a.guest_rounds * a.scale, a.tb_size), a.guest_rounds * a.scale),
            'qemu': (qemu(elf, a.guest_rounds, a.tb_size), a.guest_rounds)}
    times = {'mosaic': [], 'qemu': []}
    order = ['mosaic', 'qemu']
    for r in range(a.rounds):
        for who in (order if r % 2 == 0 else order[::-1]):
            times[who].append(checked(who, runs[who][0])[0])
    print('CPU time, medians of %d alternating rounds (start-up: qemu %.3f s, mosaic %.3f s):'
          % (a.rounds, startup['qemu'], startup['mosaic']))
    per = {}
    for who in ('qemu', 'mosaic'):
        med = statistics.median(times[who])
        per[who] = (med - startup[who]) / runs[who][1]
        print('  %-6s: %7.2f s for %d guest rounds (runs %s) -> %.2f ms per guest round' %
              (who, med, runs[who][1], ' '.join('%.2f' % t for t in times[who]), per[who] * 1e3))
    print('  speed mosaic vs qemu per guest round: %.2fx' % (per['qemu'] / per['mosaic']))


if __name__ == '__main__':
    main()
