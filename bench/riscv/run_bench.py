#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""RISC-V benchmarks: Mosaic against qemu-system-riscv64 (TCG), side by side in one run.

  bench/riscv/run_bench.py [--rounds N] [--only NAME,...] [--with-lite] [--linux] [--cpus N]

Honest by construction:
- CPU time (user + sys of the child, from wait4's rusage), not wall time: the machine
  is shared.
- Runners alternate within each round (order flipped every round); medians are reported.
- Workloads run for tens of seconds (CoreMark, 150,000 iterations by default, 354 k guest
  instructions each: the images in bench/riscv/coremark/ with their iteration count
  raised, coremark_image.py, so that even a fast run lasts CoreMark's required 10 s);
  start-up is measured on its own with a guest that
  exits at once (build/guests/bench/startup.elf) and printed separately, never hidden
  inside a short workload.
- Every run must end with exit status 0 and the workload's own validation line.
Ratios are speed, QEMU CPU time / Mosaic CPU time (above 1: Mosaic is faster).

Extra environment for the Mosaic runs (e.g. MOSAIC_TCG_JIT=0) is taken from --mosaic-env.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402
import coremark_image  # noqa: E402

HERE = Path(__file__).resolve().parent
COREMARK_INSNS_PER_ITERATION = 21.24e9 / 60000
COREMARK_NATIVE_S_PER_ITERATION = 1.72 / 60000


def mosaic_cmd(elf, cpus):
    return [str(g.mosaic_binary()), str(TOP / 'configs' / 'riscv-virt-bare.ini'),
            '--set', 'machine.kernel=%s' % elf, '--set', 'machine.cpus=%d' % cpus]


def qemu_cmd(elf, cpus):
    return [g.QEMU, '-M', 'virt', '-smp', str(cpus), '-m', '128M', '-bios', 'none',
            '-nographic', '-monitor', 'none', '-serial', 'stdio', '-kernel', str(elf)]


def run_cpu(cmd, env=None, timeout=900):
    """Runs cmd to completion; returns (cpu seconds of the child, rc, output)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode('utf-8', 'replace').replace('\r', '')
    return ru.ru_utime + ru.ru_stime, p.returncode, text


def measure(name, elf, cpus, check, rounds, menv):
    runners = [('mosaic', mosaic_cmd(elf, cpus), menv), ('qemu', qemu_cmd(elf, cpus), None)]
    times = {'mosaic': [], 'qemu': []}
    for r in range(rounds):
        order = runners if r % 2 == 0 else runners[::-1]
        for who, cmd, env in order:
            cpu, rc, text = run_cpu(cmd, env)
            if rc != 0 or (check and check not in text):
                raise SystemExit('%s %s failed (rc %s):\n%s\ncommand: %s' %
                                 (who, name, rc, text[-3000:], ' '.join(cmd)))
            times[who].append(cpu)
    m, q = statistics.median(times['mosaic']), statistics.median(times['qemu'])
    return m, q, times


def report(name, m, q, times, startup, insns=None):
    print('%s (median of %d alternating rounds, CPU s user+sys)' % (name, len(times['mosaic'])))
    for who, med in (('qemu', q), ('mosaic', m)):
        net = med - startup[who]
        extra = ', %.2f G guest insn/s' % (insns / net / 1e9) if insns else ''
        print('  %-6s: %7.2f s  (runs %s; minus start-up %.2f s%s)' %
              (who, med, ' '.join('%.2f' % t for t in times[who]), net, extra))
    print('  speed mosaic vs qemu: %.2fx   (qemu CPU / mosaic CPU, start-up included)' % (q / m))
    print('  speed mosaic vs qemu: %.2fx   (start-up subtracted)' %
          ((q - startup['qemu']) / (m - startup['mosaic'])))


def native_memheavy(rounds, m, q):
    """Builds bench/riscv/memheavy.c for the host and returns its median CPU time; its
    signatures must match the guest's."""
    exe = TOP / 'build' / 'bench-memheavy-native'
    subprocess.run(['gcc', '-O2', '-DNATIVE', '-o', str(exe), str(HERE / 'memheavy.c'),
                    str(HERE / 'memheavy_native.c')], check=True)
    times = []
    for _ in range(rounds):
        cpu, rc, text = run_cpu([str(exe)])
        if rc != 0 or 'PASS' not in text:
            raise SystemExit('native memheavy failed: %s' % text[-2000:])
        times.append(cpu)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--only', default='coremark,coremark-2hart,memheavy',
                    help='comma-separated: coremark, coremark-2hart, lite, codedata, memheavy')
    ap.add_argument('--mosaic-env', action='append', default=[], metavar='K=V')
    ap.add_argument('--linux', action='store_true', help='also time a Linux boot (wall, to the marker)')
    ap.add_argument('--cpus', type=int, default=1)
    ap.add_argument('--coremark-iterations', type=int, default=150000,
                    help='CoreMark iterations per hart (CoreMark needs >= 10 s per run)')
    a = ap.parse_args()
    menv = dict(kv.split('=', 1) for kv in a.mosaic_env)
    print('command: %s' % ' '.join(sys.argv))
    if menv:
        print('mosaic environment: %s' % menv)
    guests = g.ensure_guests()
    st = {'mosaic': [], 'qemu': []}
    startup_elf = guests / 'bench' / 'startup.elf'
    for r in range(max(a.rounds, 3)):
        for who, cmd, env in (('mosaic', mosaic_cmd(startup_elf, 1), menv),
                              ('qemu', qemu_cmd(startup_elf, 1), None)):
            cpu, rc, text = run_cpu(cmd, env)
            if rc != 0 or 'PASS' not in text:
                raise SystemExit('%s start-up run failed: %s' % (who, text[-2000:]))
            st[who].append(cpu)
    startup = {k: statistics.median(v) for k, v in st.items()}
    print('start-up + shutdown (empty guest), CPU s: qemu %.3f, mosaic %.3f' %
          (startup['qemu'], startup['mosaic']))
    only = a.only.split(',')
    cm = 'Correct operation validated'
    its = a.coremark_iterations
    insns = its * COREMARK_INSNS_PER_ITERATION
    images = tempfile.TemporaryDirectory(prefix='coremark-')
    if 'coremark' in only:
        elf = coremark_image.with_iterations(HERE / 'coremark' / 'coremark-rv64imac.elf', its,
                                             images.name)
        m, q, t = measure('coremark', elf, 1, cm, a.rounds, menv)
        report('CoreMark %d iterations, 1 hart' % its, m, q, t, startup, insns)
        # No CoreMark source ships with the images, so native is the figure measured with
        # them (bench/riscv/coremark/README.md), scaled to this iteration count.
        native = COREMARK_NATIVE_S_PER_ITERATION * its
        print('  native (x86-64 build of the same source, reference figure %.2f s per 60k): '
              '%.2f s; mosaic %.1fx native time, qemu %.1fx'
              % (COREMARK_NATIVE_S_PER_ITERATION * 60000, native, m / native, q / native))
    if 'coremark-2hart' in only:
        elf = coremark_image.with_iterations(
            HERE / 'coremark' / 'coremark-2hart-rv64imac.elf', its, images.name)
        m, q, t = measure('coremark-2hart', elf, 2, cm, a.rounds, menv)
        report('CoreMark %d iterations on each of 2 harts' % its, m, q, t, startup, 2 * insns)
    if 'lite' in only:
        m, q, t = measure('coremark-lite (short: start-up dominated)',
                          guests / 'bench' / 'coremark-lite.elf', 1, 'PASS', a.rounds, menv)
        report('coremark-lite', m, q, t, startup)
    if 'codedata' in only:
        # The same loop storing into a table on its own code page, and its twin with the
        # table on a separate page (bench/riscv/codedata_loop.S): the done-when is Mosaic's
        # same/apart CPU-time ratio <= 1.2.
        res = {}
        for w in ('same', 'apart'):
            m, q, t = measure('codedata-' + w, guests / 'bench' / ('codedata-%s.elf' % w), 1,
                              'PASS', a.rounds, menv)
            report('codedata-%s (400M rounds, one store per ~152 instructions)' % w, m, q, t,
                   startup, 150e6 * 152)
            res[w] = (m, q)
        print('code and data on one page vs apart, CPU time ratio: mosaic %.2f, qemu %.2f'
              % (res['same'][0] / res['apart'][0], res['same'][1] / res['apart'][1]))
    if 'memheavy' in only:
        # Sort, SHA-256 and random updates of a 64 MiB table (bench/riscv/memheavy.c), data
        # at fixed addresses away from the code; the same source built for the host gives
        # the ratio to native execution.
        m, q, t = measure('memheavy', guests / 'bench' / 'memheavy.elf', 1, 'PASS', a.rounds, menv)
        report('memheavy (sort, SHA-256, random 64 MiB table)', m, q, t, startup)
        native = native_memheavy(a.rounds, m, q)
        print('  native (host gcc -O2, same source): %.2f s; mosaic %.1fx native time, qemu %.1fx'
              % (native, m / native, q / native))
    if a.linux:
        # Boot to the init marker, the guest's report, then poweroff: the whole run's CPU
        # time, alternating like the workloads (each run must reach the marker and power off).
        img = g.ensure_linux() / 'Image-fpu'
        runners = [('mosaic', [str(x) for x in g.mosaic_linux_cmd(img, a.cpus)], menv),
                   ('qemu', [str(x) for x in g.qemu_linux_cmd(img, a.cpus)], None)]
        times = {'mosaic': [], 'qemu': []}
        # A boot is under a second of CPU: more rounds than the long workloads.
        for r in range(max(a.rounds, 7)):
            for who, cmd, env in (runners if r % 2 == 0 else runners[::-1]):
                cpu, rc, text = run_cpu(cmd, env)
                if rc != 0 or 'MOSAIC-INIT-OK' not in text or 'MOSAIC-POWEROFF' not in text:
                    raise SystemExit('%s linux boot failed (rc %s):\n%s\ncommand: %s' %
                                     (who, rc, text[-3000:], ' '.join(cmd)))
                times[who].append(cpu)
        m, q = statistics.median(times['mosaic']), statistics.median(times['qemu'])
        print('linux boot to MOSAIC-INIT-OK and poweroff, %d hart(s), CPU s (median of %d '
              'alternating rounds): qemu %.2f (%s), mosaic %.2f (%s); time ratio mosaic/qemu '
              '%.2f' % (a.cpus, len(times['qemu']), q, ' '.join('%.2f' % t for t in times['qemu']),
                        m, ' '.join('%.2f' % t for t in times['mosaic']), m / q))

if __name__ == '__main__':
    main()
