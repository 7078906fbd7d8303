#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""accel-kvm benchmark: the same guest (Debian's vmlinuz + guests/x86-busybox) on Mosaic's
x86-microvm with accel-kvm and on `qemu-system-x86_64 -accel kvm -M microvm`, in the same
run, on the same /dev/kvm:

- boot to marker: seconds from process start until the guest's MOSAIC-X86-UP line
  (anchor: Firecracker's published <= 125 ms from start to guest init on real hardware);
- boot to power-off: wall seconds and CPU seconds of the VMM process (user + system of
  all its threads; under KVM the guest's time is its vCPU threads' time too), measured
  by the rusage of the waited-for child;
- PIO and MMIO round trips per second: one guest process (guests/x86-busybox/exits.c)
  makes N one-byte reads of the UART's scratch register (port 0x3ff) and then N
  four-byte reads of unmapped MMIO at 0xc0000000 (mmap of /dev/mem), each access one
  exit to the VMM, timed on the guest's clock: N / seconds.  KVM's own counters
  (debugfs io_exits / mmio_exits of the VM, read by the host around each phase, the same
  for both VMMs) are printed beside it, so that one exit per access is checked, not
  assumed.  (Earlier versions timed `dd` of /dev/port and /dev/mem: the /dev/mem reads
  at 0xc0000000 all failed, since read(2) of /dev/mem stops at the end of RAM, so the
  MMIO figure timed failing dd processes, 25,014/s one run and 546,133/s the next.)

Where the host has no /dev/kvm that runs a stock kernel, everything runs inside the
nested-SVM guest of tests/nested-kvm (QEMU TCG emulating an AMD CPU): absolute numbers
are then those of nested virtualization under emulation, the ratios still compare the
two VMMs on the same (slow) KVM.  Ratios are mosaic/qemu for times (below 1: Mosaic is
faster) and mosaic/qemu for rates (above 1: Mosaic is faster).

usage: bench/x86/bench_kvm.py [--variant release] [--repeat 1]"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='release')
    ap.add_argument('--repeat', type=int, default=1)
    a = ap.parse_args()
    mosaic = TOP / 'build' / a.variant / 'core' / 'mosaic'
    guest = subprocess.run([str(TOP / 'guests/x86-busybox/build.sh')], capture_output=True,
                           text=True, check=True).stdout.split()[-1]
    base = ['boot1', 'qemuboot1', 'exits1', 'qemuexits1']
    runs = []
    for i in range(a.repeat):  # one outer boot per repeat: each its own results
        with tempfile.TemporaryDirectory() as job:
            Path(job, 'job.sh').write_text(f'python3 {TOP}/tests/nested-kvm/inner_runs.py {mosaic} '
                                           f'{guest} {job} {" ".join(base)}\n')
            r = subprocess.run([str(TOP / 'tests/nested-kvm/run.sh'), job], capture_output=True,
                               text=True, timeout=3000)
            try:
                runs.append(json.loads(Path(job, 'results.json').read_text()))
            except (OSError, ValueError):
                sys.exit('the nested run produced no results:\n' + r.stdout[-3000:])
    for n, res in enumerate(runs, 1):
        print(f'--- run {n} of {len(runs)}')
        report(res)


def phase_exits(res, phase, counter):
    """Exits KVM counted between the guest's BEGIN and END lines of `phase`."""
    st = res.get('kvm_stats') or {}
    b, e = st.get(f'MOSAIC-EXITS-{phase}-BEGIN', {}), st.get(f'MOSAIC-EXITS-{phase}-END', {})
    if counter not in b or counter not in e:
        return None
    return e[counter] - b[counter]


def report(res):
    for k in ('boot1', 'qemuboot1', 'exits1', 'qemuexits1'):
        if k not in res or res[k]['rc'] != 0:
            print(f'{k}: failed: {res.get(k, {}).get("error", "")}\n'
                  f'{res.get(k, {}).get("out", "")[-1500:]}')
    for k in ('boot1', 'qemuboot1'):
        print(f'{k}: {" ".join(res[k].get("cmd", []))}')
    mb, qb = res['boot1']['marker_seconds'], res['qemuboot1']['marker_seconds']
    print(f'boot to marker (wall): mosaic {mb:.2f} s, qemu microvm {qb:.2f} s, ratio {mb / qb:.2f}')
    mw, qw = res['boot1']['seconds'], res['qemuboot1']['seconds']
    print(f'boot to power-off (wall): mosaic {mw:.2f} s, qemu microvm {qw:.2f} s, '
          f'ratio {mw / qw:.2f}')
    mc, qc = res['boot1'].get('cpu_seconds'), res['qemuboot1'].get('cpu_seconds')
    if mc is not None and qc:
        print(f'boot to power-off (CPU, user+system): mosaic {mc:.2f} s, qemu microvm {qc:.2f} s, '
              f'ratio {mc / qc:.2f}')
    rate = {}
    for k in ('exits1', 'qemuexits1'):
        m = re.search(r'MOSAIC-EXITS pio: count=(\d+) seconds=([\d.]+) mmio: count=(\d+) '
                      r'seconds=([\d.]+)', res[k]['out'])
        if not m:
            sys.exit(f'{k}: no MOSAIC-EXITS line:\n{res[k]["out"][-2000:]}')
        n = int(m.group(1))
        pio_s, mmio_s = float(m.group(2)), float(m.group(4))
        pio, mmio = phase_exits(res[k], 'PIO', 'io_exits'), phase_exits(res[k], 'MMIO', 'mmio_exits')
        rate[k] = (n / pio_s, int(m.group(3)) / mmio_s)
        print(f'{k}: {" ".join(res[k].get("cmd", []))}; CPU {res[k].get("cpu_seconds", 0):.2f} s, '
              f'wall {res[k]["seconds"]:.2f} s; {n} port reads in {pio_s:.3f} s, KVM counted '
              f'{pio} PIO exits in that phase; {m.group(3)} MMIO reads in {mmio_s:.3f} s, '
              f'KVM counted {mmio} MMIO exits')
    (mp, mm), (qp, qm) = rate['exits1'], rate['qemuexits1']
    print(f'PIO round trips/s: mosaic {mp:.0f}, qemu {qp:.0f}, ratio {mp / qp:.2f}')
    print(f'MMIO round trips/s: mosaic {mm:.0f}, qemu {qm:.0f}, ratio {mm / qm:.2f}')

if __name__ == '__main__':
    main()
