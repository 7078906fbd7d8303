#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-blk over PCI against virtio-blk over virtio-mmio, in the same Linux guest run:
the Mosaic test kernel (mosaic.cmd=blk-bench) reads 4 KiB with O_DIRECT, one request at
a time, for --secs of guest time on each disk (one disk per transport, told apart by
size).  The host CPU time of each side is the Mosaic process's CPU (/proc/PID/stat)
between the guest's MOSAIC-BENCH-START line for that disk and its result line; each side
must reach 10 s of CPU (the run says so when it does not).  Prints requests/s and CPU
seconds of each side, and the PCI/MMIO ratios.
Usage: bench/pci/bench_virtio_pci.py [--variant release] [--rounds 1] [--secs 20]

Guest seconds are virtual time, which runs with the wall clock: on a loaded host a
guest second costs less host CPU, so raise --secs until both sides pass 10 s (40 does
on a host at load ~10).  Results and the command: bench/pci/README.md.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(TOP / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

MMIO_MB, PCI_MB = 32, 48


def cpu_seconds(pid):
    """User + system CPU of a live process (all its threads), in seconds."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def run(exe, kernel, tmp, secs):
    for name, mb in (('mmio', MMIO_MB), ('pci', PCI_MB)):
        (Path(tmp) / f'{name}.raw').write_bytes(bytes(mb << 20))
    ini = Path(tmp) / 'bench.ini'
    ini.write_text(
        f'include = {TOP}/configs/riscv-virt-linux.ini\n[machine]\nkernel = {kernel}\ncpus = 1\n'
        f'append = console=ttyS0 mosaic.cmd=blk-bench mosaic.bench-secs={secs}\n'
        f'[blockdev mmio]\ndriver = file\nfilename = {tmp}/mmio.raw\n'
        f'[blockdev pci]\ndriver = file\nfilename = {tmp}/pci.raw\n'
        '[device rp1]\ntype = pcie-root-port\n'
        '[device vmmio]\ntype = virtio-blk\ndrive = mmio\n'
        '[device vpci]\ntype = virtio-blk\ndrive = pci\nbus = rp1\n')
    p = subprocess.Popen([str(exe), str(ini)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, stdin=subprocess.DEVNULL, env=dict(os.environ, XDG_CONFIG_HOME=tmp))
    # A guest that stops making progress must not hang the bench (it did once: a lost
    # interrupt in accel-tcg, see README.md): the run ends after a generous wall time.
    limit = 300 + 20 * secs
    watchdog = threading.Timer(limit, p.kill)
    watchdog.start()
    out, started, cpu = '', {}, {}
    for line in p.stdout:
        out += line
        m = re.match(r'MOSAIC-BENCH-START (\w+)', line)
        if m:
            started[m[1]] = cpu_seconds(p.pid)
        m = re.match(r'MOSAIC-BENCH (\w+) reqs=', line)
        if m and m[1] in started:
            cpu[m[1]] = cpu_seconds(p.pid) - started[m[1]]
    p.wait(timeout=60)
    watchdog.cancel()
    if p.returncode < 0:
        sys.exit(f'no result within {limit} s (killed): the guest stopped making progress\n' + out[-3000:])
    sizes = {m[1]: int(m[2]) * 512 >> 20 for m in re.finditer(r'MOSAIC-DISK (\w+) sectors=(\d+)', out)}
    rates, cpus = {}, {}
    for m in re.finditer(r'MOSAIC-BENCH (\w+) reqs=(\d+) ns=(\d+)', out):
        kind = 'mmio' if sizes.get(m[1]) == MMIO_MB else 'pci' if sizes.get(m[1]) == PCI_MB else None
        if kind:
            rates[kind] = int(m[2]) / (int(m[3]) / 1e9)
            cpus[kind] = cpu.get(m[1], 0.0)
    if set(rates) != {'mmio', 'pci'}:
        sys.exit('benchmark run failed:\n' + out[-3000:])
    return rates, cpus


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='release')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--secs', type=int, default=20, help='guest seconds per disk')
    a = ap.parse_args()
    exe = TOP / 'build' / a.variant / 'core' / 'mosaic'
    kernel = g.ensure_linux() / 'Image-fpu'
    for i in range(a.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            rates, cpus = run(exe, kernel, tmp, a.secs)
        print(f'virtio-blk 4 KiB O_DIRECT reads, 1 deep, {a.secs} s guest time each: '
              f'mmio {rates["mmio"]:.0f} req/s in {cpus["mmio"]:.1f} s host CPU, '
              f'pci {rates["pci"]:.0f} req/s in {cpus["pci"]:.1f} s host CPU')
        print(f'ratio pci/mmio: {rates["pci"] / rates["mmio"]:.2f} (requests/s), '
              f'{(rates["pci"] / max(cpus["pci"], 1e-9)) / (rates["mmio"] / max(cpus["mmio"], 1e-9)):.2f} '
              '(requests per host CPU second)')
        short = [k for k in ('mmio', 'pci') if cpus[k] < 10]
        if short:
            print(f'warning: under 10 s of host CPU for {", ".join(short)}: raise --secs')


if __name__ == '__main__':
    main()
