#!/usr/bin/env python3
"""RISC-V benchmarks: Mosaic against qemu-system-riscv64 (TCG), in one run.

  bench/riscv/run_bench.py [--repeat N] [--skip-linux] [--cpus N]

1. coremark-lite (bench/riscv/coremark_lite.c, bare metal, built into
   build/guests/bench/coremark-lite.elf by `scons build/guests`): host wall time of the
   whole run and the guest's own mtime ticks for the timed loop; both emulators must
   print the same checksum.
2. Linux boot to the init marker (guests/linux Image-fpu with OpenSBI): host seconds
   from start until "MOSAIC-INIT-OK" appears on the console, and the total run until
   power-off.

Prints one line per measurement and the ratio mosaic/qemu (lower is better for time).
Best of --repeat runs (default 3).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402


def best(fn, repeat):
    runs = [fn() for _ in range(repeat)]
    for r in runs:
        if r.rc != 0:
            raise SystemExit('run failed: %r' % r)
    return min(runs, key=lambda r: r.seconds), runs


def coremark(repeat):
    elf = g.ensure_guests() / 'bench' / 'coremark-lite.elf'
    m, _ = best(lambda: g.run_mosaic_bare(elf, timeout=600), repeat)
    q, _ = best(lambda: g.run_qemu_bare(elf, timeout=600), repeat)
    if m.sigs() != q.sigs():
        raise SystemExit('checksums differ: mosaic %s qemu %s' % (m.sigs(), q.sigs()))
    mi, mt = g.bench_result(m)
    qi, qt = g.bench_result(q)
    print('coremark-lite iterations=%d' % mi)
    print('  qemu   : %.3f s wall, %.3f s guest (mtime), %.0f iter/s' % (q.seconds, qt / 1e7, qi / (qt / 1e7)))
    print('  mosaic : %.3f s wall, %.3f s guest (mtime), %.0f iter/s' % (m.seconds, mt / 1e7, mi / (mt / 1e7)))
    print('  ratio mosaic/qemu wall time: %.2f   (guest-timed loop: %.2f)' % (m.seconds / q.seconds, mt / qt))
    return m.seconds / q.seconds


def linux(repeat, cpus):
    d = g.ensure_linux()
    img = d / 'Image-fpu'
    m, _ = best(lambda: g.run_mosaic_linux(img, cpus=cpus, timeout=600), repeat)
    q, _ = best(lambda: g.run_qemu_linux(img, cpus=cpus, timeout=600), repeat)
    for r in (m, q):
        if 'MOSAIC-POWEROFF' not in r.out:
            raise SystemExit('no clean power-off: %r' % r)
    print('linux boot to MOSAIC-INIT-OK, %d hart(s)' % cpus)
    print('  qemu   : %.3f s' % q.seconds)
    print('  mosaic : %.3f s' % m.seconds)
    print('  ratio mosaic/qemu: %.2f' % (m.seconds / q.seconds))
    return m.seconds / q.seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--cpus', type=int, default=1)
    ap.add_argument('--skip-linux', action='store_true')
    a = ap.parse_args()
    coremark(a.repeat)
    if not a.skip_linux:
        linux(a.repeat, a.cpus)


if __name__ == '__main__':
    main()
