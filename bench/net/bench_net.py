#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Machine-to-machine networking: two Mosaic machines joined by net-vhost-pci (shared-
memory rings), by net-socket (UNIX datagrams through the host kernel) and, as root, by
net-tap (two TAP devices on a host bridge), in the same run, 64-byte and 1500-byte frames.

Part 1, guests (the default): each machine (riscv-virt, TCG) runs a bare-metal virtio-net
driver (guests/tests/net.c): one sends frames in a tight polled transmit loop, the other
counts what its receive queue gets and posts the buffers again.  This is the whole path a
frame takes, guest driver to guest driver, device and backend included, without a Linux
network stack.  Part 2 (--pump): the backends alone, machines paused, frames sent and
counted by a bench-only device (bench/net/pump.c) on the main loop.

Reported per case: frames/s and Gbit/s at the receiver (Ethernet bytes), the host CPU
time of both processes per frame (from /proc), frames lost (part 2), and the ratios
vhost-pci/socket and vhost-pci/tap.
Usage: bench/net/bench_net.py [--variant release] [--seconds 10] [--pump] [--no-tap]"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


# ---- part 1: bare-metal guests ----

RX_MAC = '52:54:00:00:00:02'


def tap_netdevs(tag):
    a, b = f'mbn{tag}a', f'mbn{tag}b'
    return (f'[netdev l0]\ntype = tap\nifname = {a}\n', f'[netdev l0]\ntype = tap\nifname = {b}\n',
            (a, b))


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


class Console(threading.Thread):
    """Collects a machine's console lines with the host time each arrived."""

    def __init__(self, p):
        super().__init__(daemon=True)
        self.p, self.lines = p, []

    def run(self):
        for line in self.p.stdout:
            self.lines.append((time.monotonic(), line.decode(errors='replace').strip()))


def start_guest(exe, tmp, tag, netdev, mode, size):
    elf = TOP / 'build' / 'guests' / 'tests' / 'net.elf'
    ini = Path(tmp) / f'{tag}.ini'
    mac = RX_MAC if mode == 4 else '52:54:00:00:00:01'
    ini.write_text(f'[machine]\ntype = riscv-virt\nmemory = 64M\nkernel = {elf}\n'
                   f'append = mosaic.net={mode} mosaic.netsize={size}\n' + netdev +
                   f'[device eth0]\ntype = virtio-net\nnetdev = l0\nmac = {mac}\n')
    p = subprocess.Popen([str(exe), str(ini)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, env=dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / 'xdg')))
    c = Console(p)
    c.start()
    return p, c


def wait_for(c, text, timeout=30):
    end = time.monotonic() + timeout
    while not any(l == text for _, l in c.lines):
        if time.monotonic() > end or c.p.poll() is not None:
            sys.exit(f'the guest did not print {text}: {c.lines[-5:]}')
        time.sleep(0.05)


def run_guests(exe, backend, size, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        links = None
        if backend == 'tap':
            rx_nd, tx_nd, links = tap_netdevs(os.getpid() % 10000)
            br = f'mbn{os.getpid() % 10000}br'
            sh('ip', 'link', 'add', 'name', br, 'type', 'bridge')
        else:
            rx_nd, tx_nd = netdevs(backend, tmp)
        procs = []
        try:
            rx, rc = start_guest(exe, tmp, 'rx', rx_nd, 4, size)
            procs.append(rx)
            wait_for(rc, 'RECEIVING')
            tx, tc = start_guest(exe, tmp, 'tx', tx_nd, 3, size)
            procs.append(tx)
            wait_for(tc, 'SENDING')
            if links:
                sh('ip', 'link', 'set', br, 'up')
                for l in links:
                    subprocess.run(['sysctl', '-q', '-w', f'net.ipv6.conf.{l}.disable_ipv6=1'])
                    sh('ip', 'link', 'set', l, 'master', br, 'up')
            time.sleep(1.5)  # warm up: the first frames, the translation cache
            t0, n0 = time.monotonic(), len(rc.lines)
            c0 = cpu_seconds(rx.pid) + cpu_seconds(tx.pid)
            time.sleep(seconds)
            c1 = cpu_seconds(rx.pid) + cpu_seconds(tx.pid)
            window = [(t, l.split()) for t, l in rc.lines[n0:] if l.startswith('RX ')]
        finally:
            for p in procs:
                stop(p)
            if links:
                subprocess.run(['ip', 'link', 'del', br], stderr=subprocess.DEVNULL)
    if len(window) < 2:
        return {'pps': 0, 'gbps': 0, 'cpu_us': float('inf')}
    (ta, a), (tb, b) = window[0], window[-1]
    frames, nbytes, secs = int(b[1]) - int(a[1]), int(b[2]) - int(a[2]), tb - ta
    return {'pps': frames / secs, 'gbps': nbytes * 8 / secs / 1e9,
            'cpu_us': (c1 - c0) * 1e6 / max(frames * seconds / secs, 1)}


def tap_usable():
    return os.geteuid() == 0 and os.path.exists('/dev/net/tun')


def main_guests(exe, seconds, tap):
    backends = ['vhost-pci', 'socket'] + (['tap'] if tap else [])
    print('Part 1: bare-metal virtio-net drivers in two machines (TCG), polled TX loop -> RX count')
    if tap:
        print('tap: two TAP devices on a host bridge, ' +
              ('the rings in vhost-net (/dev/vhost-net)' if os.path.exists('/dev/vhost-net')
               else 'frames moved by Mosaic (no /dev/vhost-net on this host)'))
    print(f'{"frames":>7} {"backend":10} {"Mframes/s":>10} {"Gbit/s":>8} {"CPU us/frame":>13}')
    for size in (64, 1500):
        res = {}
        for backend in backends:
            m = res[backend] = run_guests(exe, backend, size, seconds)
            print(f'{size:>6}B {backend:10} {m["pps"] / 1e6:>10.3f} {m["gbps"]:>8.3f} '
                  f'{m["cpu_us"]:>13.3f}', flush=True)
        v = res['vhost-pci']
        for other in backends[1:]:
            o = res[other]
            print(f'{size:>6}B ratio vhost-pci/{other}: {v["pps"] / max(o["pps"], 1e-9):.2f}x frames/s, '
                  f'{o["cpu_us"] / max(v["cpu_us"], 1e-9):.2f}x less CPU per frame')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default=os.environ.get('MOSAIC_VARIANT', 'release'))
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('--pump', action='store_true', help='part 2 too: the backends alone')
    ap.add_argument('--no-tap', action='store_true', help='leave out the TAP bridge')
    a = ap.parse_args()
    print('command:', ' '.join(sys.argv))
    build = TOP / 'build' / a.variant
    exe, plugdir = build / 'core' / 'mosaic', build / 'bench' / 'net'
    if not (TOP / 'build' / 'guests' / 'tests' / 'net.elf').exists():
        sys.exit('build/guests/tests/net.elf missing: scons -Q -j2 guests')
    main_guests(exe, a.seconds, tap_usable() and not a.no_tap)
    if not a.pump:
        return
    if not (plugdir / 'mosaic-device-net-pump.so').exists():
        sys.exit(f'{plugdir}/mosaic-device-net-pump.so missing: scons -Q -j2 bench')
    print('Part 2: the backends alone (net-pump device, machines paused)')
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
