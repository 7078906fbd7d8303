# SPDX-License-Identifier: GPL-2.0-or-later
"""Networking seen by real guests: the Mosaic test kernel configures eth0 (virtio-net)
and streams a known pattern over TCP both ways (guests/linux/init.c: mosaic.cmd=
net-stream); the hashes each side prints are checked against the pattern computed here.
- two machines joined by net-vhost-pci (one with two queue pairs: multiqueue); one is
  killed and started again (with another pattern, so nothing stale can pass) and the link
  recovers;
- a guest reaches a TCP server on the host through net-user, and a host client reaches
  a guest server through a net-user host port forward."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from free_port import free_port  # tests/free_port.py

from test_monitor import Qmp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

pytestmark = [pytest.mark.linux]

BYTES = 256 * 1024


def pattern(n, seed):
    return bytes((i * 131 + (i >> 11) + seed * 29) & 0xff for i in range(n))


def fnv(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return '%08x' % h


def expect_line(n, sent_seed, recv_seed):
    return (f'MOSAIC-NET-STREAM sent={n} sent-hash={fnv(pattern(n, sent_seed))} '
            f'recv={n} recv-hash={fnv(pattern(n, recv_seed))}')


@pytest.fixture(scope='module')
def kernel():
    return g.ensure_linux() / 'Image-fpu'


class Machine:
    def __init__(self, mosaic, top, kernel, tmp_path, name, params, body):
        self.ini = tmp_path / f'{name}.ini'
        self.log = tmp_path / f'{name}.log'      # the guest's console
        self.err = tmp_path / f'{name}.err'      # mosaic's own messages
        self.qmp = tmp_path / f'{name}.qmp'
        args = ' '.join(f'mosaic.{k}={v}' for k, v in params.items())
        self.ini.write_text(f'include = {top}/configs/riscv-virt-linux.ini\n[machine]\n'
                            f'kernel = {kernel}\ncpus = 2\n'
                            f'append = console=ttyS0 earlycon=sbi mosaic.cmd=net-stream\n'
                            f'    {args}\n' + body)
        self.name, self.mosaic, self.tmp_path, self.p = name, mosaic, tmp_path, None

    def start(self):
        if self.qmp.exists():
            self.qmp.unlink()
        self.out = open(self.log, 'ab')
        self.errf = open(self.err, 'ab')
        self.p = subprocess.Popen([str(self.mosaic), str(self.ini), '--qmp', f'unix:{self.qmp}',
                                   '--log', 'virtio-net'],
                                  stdout=self.out, stderr=self.errf,
                                  stdin=subprocess.DEVNULL,
                                  env=dict(os.environ, XDG_CONFIG_HOME=str(self.tmp_path / 'xdg')))
        return self

    def text(self):
        return self.log.read_text(errors='replace').replace('\r', '')

    def messages(self):
        return self.err.read_text(errors='replace')

    def wait_for(self, what, count=1, timeout=600):
        end = time.monotonic() + timeout
        while self.text().count(what) < count:
            assert self.p.poll() is None or self.text().count(what) >= count, \
                f'mosaic exited ({self.p.returncode}) before {what!r}:\n{self.text()[-3000:]}' \
                f'\n{self.messages()[-2000:]}'
            assert time.monotonic() < end, f'no {what!r} after {timeout} s:\n{self.text()[-3000:]}'
            time.sleep(0.2)

    def lines(self, prefix):
        return [l for l in self.text().splitlines() if l.startswith(prefix)]

    def vhost_pci(self):
        [nd] = Qmp(self.qmp).cmd('query-vhost-pci')['return']['netdevs']
        return nd

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait(30)
        self.out.close()
        self.errf.close()

    def stop(self):
        """Ends a machine the way a user does (SIGTERM), so its exit runs the ASan build's
        leak check (tests/conftest.py collects the report)."""
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f'{self.name}: mosaic ignored SIGTERM for 60 s')
        self.kill()


@pytest.fixture
def machines():
    ms = []
    yield ms
    for m in ms:
        m.stop()


def vhost_pci_body(link, mac, queues=1):
    return (f'[netdev l0]\ntype = vhost-pci\npeer-socket = {link}\n'
            f'[device eth0]\ntype = virtio-net\nnetdev = l0\nmac = {mac}\nqueues = {queues}\n')


def test_vhost_pci_two_guests_stream_both_ways_and_restart(mosaic, top, kernel, tmp_path, machines):
    link = tmp_path / 'l0.sock'
    a = Machine(mosaic, top, kernel, tmp_path, 'a',
                dict(ip='10.0.0.1', role='listen', port=7000, bytes=BYTES, seed=1, count=2),
                vhost_pci_body(link, '52:54:00:00:00:0a', queues=2))  # multiqueue on one side
    b_params = dict(ip='10.0.0.2', role='connect', peer='10.0.0.1', port=7000, bytes=BYTES,
                    seed=2, hold=1)
    b = Machine(mosaic, top, kernel, tmp_path, 'b', b_params, vhost_pci_body(link, '52:54:00:00:00:0b'))
    machines += [a, b]
    a.start()
    b.start()
    b.wait_for('MOSAIC-CMD net-stream OK')
    a.wait_for('MOSAIC-NET-STREAM')
    assert a.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 1, 2)], a.text()[-3000:]
    assert b.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 2, 1)], b.text()[-3000:]
    assert a.vhost_pci()['link-up']
    assert 'the driver uses 2 queue pairs' in a.messages()  # multiqueue in use on A

    # B dies without warning: A's link goes down, A keeps running.
    b.kill()
    end = time.monotonic() + 20
    while a.vhost_pci()['link-up']:
        assert time.monotonic() < end
        time.sleep(0.1)
    assert a.p.poll() is None

    # B comes back with another pattern: the link recovers and only new data arrives.
    b2 = Machine(mosaic, top, kernel, tmp_path, 'b2', dict(b_params, seed=3, hold=0),
                 vhost_pci_body(link, '52:54:00:00:00:0b'))
    machines.append(b2)
    b2.start()
    b2.wait_for('MOSAIC-CMD net-stream OK')
    a.wait_for('MOSAIC-CMD net-stream OK')
    assert a.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 1, 2), expect_line(BYTES, 1, 3)]
    assert b2.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 3, 1)]
    assert 'link down' in a.messages()


def serve_both_ways(conn, send, want):
    """Sends `send` while receiving `want` bytes; returns what was received."""
    got = bytearray()
    t = threading.Thread(target=conn.sendall, args=(send,))
    t.start()
    conn.settimeout(300)
    while len(got) < want:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    t.join()
    return bytes(got)


@pytest.mark.parametrize('bus', ['virtio-mmio', 'pcie.0'])
def test_user_guest_reaches_host_tcp_server(mosaic, top, kernel, tmp_path, machines, bus):
    """Also the device on virtio-pci (bus = pcie.0): the same stock driver over the
    other transport."""
    where = '' if bus == 'virtio-mmio' else f'bus = {bus}\n'
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    srv.settimeout(600)
    port = srv.getsockname()[1]
    m = Machine(mosaic, top, kernel, tmp_path, 'u',
                dict(ip='10.0.2.15', role='connect', peer='10.0.2.2', port=port, bytes=BYTES, seed=2),
                '[netdev n0]\ntype = user\n[device eth0]\ntype = virtio-net\nnetdev = n0\n' + where)
    machines.append(m)
    m.start()
    conn, _ = srv.accept()
    got = serve_both_ways(conn, pattern(BYTES, 5), BYTES)
    conn.close()
    assert got == pattern(BYTES, 2)
    m.wait_for('MOSAIC-CMD net-stream OK')
    assert m.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 2, 5)]


def test_user_host_port_forward_reaches_guest_server(mosaic, top, kernel, tmp_path, machines):
    hp = free_port()
    m = Machine(mosaic, top, kernel, tmp_path, 'f',
                dict(ip='10.0.2.15', role='listen', port=7000, bytes=BYTES, seed=4),
                f'[netdev n0]\ntype = user\nhostfwd = tcp:127.0.0.1:{hp}-:7000\n'
                '[device eth0]\ntype = virtio-net\nnetdev = n0\n')
    machines.append(m)
    m.start()
    m.wait_for('MOSAIC-NET-LISTENING')
    c = socket.create_connection(('127.0.0.1', hp), timeout=60)
    got = serve_both_ways(c, pattern(BYTES, 6), BYTES)
    c.close()
    assert got == pattern(BYTES, 4)
    m.wait_for('MOSAIC-CMD net-stream OK')
    assert m.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 4, 6)]


@pytest.fixture
def tap_device():
    """A persistent TAP device with a host address (needs CAP_NET_ADMIN: skips without)."""
    name = f'mtap{os.getpid() % 10000}'
    net = f'10.77.{os.getpid() % 200}'
    r = subprocess.run(['ip', 'tuntap', 'add', 'dev', name, 'mode', 'tap', 'vnet_hdr'],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f'cannot create a TAP device here (CAP_NET_ADMIN?): {r.stderr.strip()}')
    try:
        subprocess.run(['ip', 'addr', 'add', f'{net}.1/24', 'dev', name], check=True)
        subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)
        yield name, net
    finally:
        subprocess.run(['ip', 'link', 'del', name], capture_output=True)


def test_tap_guest_reaches_host_tcp_server(mosaic, top, kernel, tmp_path, machines, tap_device):
    name, net = tap_device
    srv = socket.socket()
    srv.bind((f'{net}.1', 0))
    srv.listen(1)
    srv.settimeout(600)
    port = srv.getsockname()[1]
    m = Machine(mosaic, top, kernel, tmp_path, 't',
                dict(ip=f'{net}.2', role='connect', peer=f'{net}.1', port=port, bytes=BYTES, seed=7),
                f'[netdev n0]\ntype = tap\nifname = {name}\n'
                '[device eth0]\ntype = virtio-net\nnetdev = n0\n')
    machines.append(m)
    m.start()
    conn, _ = srv.accept()
    got = serve_both_ways(conn, pattern(BYTES, 8), BYTES)
    conn.close()
    assert got == pattern(BYTES, 7)
    m.wait_for('MOSAIC-CMD net-stream OK')
    assert m.lines('MOSAIC-NET-STREAM') == [expect_line(BYTES, 7, 8)]
