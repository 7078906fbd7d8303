#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Machine-to-machine network transport: net-vhost-pci (shared-memory rings) against
net-socket (UNIX datagrams through the host kernel), in the same run, 64-byte and
1500-byte frames.  Two Mosaic machines (riscv-virt, paused: no guest runs) each carry a
bench-only device (bench/net/pump.c) on a netdev: one sends frames as fast as its backend
takes them, the other counts what arrives.  Reported per case: frames/s and Gbit/s at
the receiver, host CPU time of both processes per frame, and the vhost-pci/socket ratio.
Usage: bench/net/bench_net.py [--variant release] [--seconds 10]"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
TICK = os.sysconf('SC_CLK_TCK')


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(str(path))
        self.f = self.s.makefile('rb')
        self.f.readline()
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({'execute': name, 'arguments': args}).encode() + b'\n')
        while True:
            m = json.loads(self.f.readline())
            if 'event' not in m:
                if 'error' in m:
                    sys.exit(f'{name}: {m["error"]}')
                return m['return']


def cpu_seconds(pid):
    f = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def start(exe, plugdir, tmp, tag, netdev, role, size):
    ini, qmp = Path(tmp) / f'{tag}.ini', Path(tmp) / f'{tag}.qmp'
    ini.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nfirmware = default\n' + netdev +
                   f'[device p0]\ntype = net-pump\nnetdev = l0\nrole = {role}\nframe-size = {size}\n')
    p = subprocess.Popen([str(exe), str(ini), '-S', '--plugin-path', str(plugdir), '--qmp', f'unix:{qmp}'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / 'xdg')))
    end = time.time() + 20
    while not qmp.exists():
        if p.poll() is not None or time.time() > end:
            sys.exit(f'mosaic did not start: {ini}')
        time.sleep(0.02)
    return p, Qmp(qmp)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def netdevs(backend, tmp):
    if backend == 'vhost-pci':
        nd = f'[netdev l0]\ntype = vhost-pci\npeer-socket = {tmp}/link.sock\n'
        return nd, nd
    a, b = f'{tmp}/a.sock', f'{tmp}/b.sock'
    return (f'[netdev l0]\ntype = socket\npath = {a}\npeer = {b}\n',
            f'[netdev l0]\ntype = socket\npath = {b}\npeer = {a}\n')


def run(exe, plugdir, backend, size, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        rx_nd, tx_nd = netdevs(backend, tmp)
        rx, rq = start(exe, plugdir, tmp, 'rx', rx_nd, 'receive', size)
        tx, tq = start(exe, plugdir, tmp, 'tx', tx_nd, 'send', size)
        try:
            end = time.time() + 20
            while not tq.cmd('query-net-pump')['link-up']:
                if time.time() > end:
                    sys.exit(f'{backend}: no link')
                time.sleep(0.05)
            c0 = cpu_seconds(rx.pid) + cpu_seconds(tx.pid)
            tq.cmd('net-pump-start', run=True)
            time.sleep(seconds)
            tq.cmd('net-pump-start', run=False)
            c1 = cpu_seconds(rx.pid) + cpu_seconds(tx.pid)
            time.sleep(0.5)
            r = rq.cmd('query-net-pump')
            s = tq.cmd('query-net-pump')
        finally:
            stop(tx)
            stop(rx)
    secs = r['seconds'] or 1e-9
    return {'pps': r['frames'] / secs, 'gbps': r['bytes'] * 8 / secs / 1e9,
            'cpu_us': (c1 - c0) * 1e6 / max(r['frames'], 1), 'sent': s['frames'],
            'recv': r['frames']}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default=os.environ.get('MOSAIC_VARIANT', 'release'))
    ap.add_argument('--seconds', type=float, default=10)
    a = ap.parse_args()
    build = TOP / 'build' / a.variant
    exe, plugdir = build / 'core' / 'mosaic', build / 'bench' / 'net'
    if not (plugdir / 'mosaic-device-net-pump.so').exists():
        sys.exit(f'{plugdir}/mosaic-device-net-pump.so missing: scons -Q -j2 bench')
    print(f'{"frames":>7} {"backend":10} {"Mframes/s":>10} {"Gbit/s":>8} {"CPU us/frame":>13} '
          f'{"lost":>6}')
    for size in (64, 1500):
        res = {}
        for backend in ('vhost-pci', 'socket'):
            m = res[backend] = run(exe, plugdir, backend, size, a.seconds)
            lost = (m['sent'] - m['recv']) / max(m['sent'], 1)
            print(f'{size:>6}B {backend:10} {m["pps"] / 1e6:>10.3f} {m["gbps"]:>8.3f} '
                  f'{m["cpu_us"]:>13.3f} {lost:>6.1%}', flush=True)
        v, s = res['vhost-pci'], res['socket']
        print(f'{size:>6}B ratio vhost-pci/socket: {v["pps"] / max(s["pps"], 1e-9):.2f}x frames/s, '
              f'{s["cpu_us"] / max(v["cpu_us"], 1e-9):.2f}x less CPU per frame')


if __name__ == '__main__':
    main()
