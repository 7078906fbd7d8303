# SPDX-License-Identifier: GPL-2.0-or-later
"""net-vhost-pci against a hostile peer: a test peer speaks the protocol (hello with a
sealed memfd and two eventfds over the UNIX socket) and then writes garbage indexes and
lengths into the shared region, or sends descriptors that are not what they claim.
Mosaic must survive every case, say so in query-vhost-pci, drop the bad peer, keep
answering its monitor and connect again to the next peer.  No guest is needed: the
backend checks the rings whether or not a driver listens."""
import fcntl
import mmap
import os
import socket
import struct
import subprocess
import time

import pytest

from test_monitor import Qmp

MAGIC, VERSION, SLOTS, SLOT_SIZE, HDR = 0x4350564d, 1, 256, 2048, 4096
REGION = HDR + 2 * SLOTS * SLOT_SIZE
PROD = lambda ring: 64 + ring * 128
CONS = lambda ring: 128 + ring * 128


def hello(size=REGION, magic=MAGIC):
    return struct.pack('<IIIIQ', magic, VERSION, SLOTS, SLOT_SIZE, size)


def region(size=REGION, seal=True):
    fd = os.memfd_create('hostile', os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


def machine(tmp_path, link):
    ini = tmp_path / 'm.ini'
    ini.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nfirmware = default\n'
                   f'[netdev l0]\ntype = vhost-pci\npeer-socket = {link}\n'
                   '[device eth0]\ntype = virtio-net\nnetdev = l0\nmac = 52:54:00:00:00:01\n')
    return ini


@pytest.fixture
def victim(mosaic, tmp_path):
    """Starts the victim machine (paused: the backend runs on the main loop anyway) once
    the test's listener exists, so the victim connects to it."""
    procs = []

    def start(link):
        qmp = tmp_path / 'qmp.sock'
        p = subprocess.Popen([str(mosaic), str(machine(tmp_path, link)), '-S', '--qmp', f'unix:{qmp}'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL,
                             env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
        procs.append(p)
        end = time.monotonic() + 20
        while not qmp.exists():
            assert p.poll() is None, p.stdout.read().decode()
            assert time.monotonic() < end
            time.sleep(0.05)
        return p, Qmp(qmp)
    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(10)


def state(q):
    [nd] = q.cmd('query-vhost-pci')['return']['netdevs']
    return nd


def wait_state(q, want, timeout=10):
    end = time.monotonic() + timeout
    while (s := state(q))['state'] != want:
        assert time.monotonic() < end, s
        time.sleep(0.05)
    return s


def closed_by_peer(conn, timeout=10):
    """True when mosaic closed the connection (EOF)."""
    conn.settimeout(timeout)
    try:
        while True:
            if conn.recv(4096) == b'':
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class Server:
    """The hostile side listens; mosaic connects and waits for its hello."""

    def __init__(self, path):
        self.l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.l.bind(str(path))
        self.l.listen(4)
        self.l.settimeout(15)

    def accept(self):
        return self.l.accept()[0]


def offer(conn, data=None, fds=None):
    """A well-formed hello unless told otherwise; returns (region map, bells)."""
    mfd = region()
    bells = [os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)]
    socket.send_fds(conn, [data if data is not None else hello()],
                    fds if fds is not None else [mfd] + bells)
    m = mmap.mmap(mfd, REGION)
    return m, bells


def put32(m, off, v):
    m[off:off + 4] = struct.pack('<I', v & 0xffffffff)


def get32(m, off):
    return struct.unpack('<I', m[off:off + 4])[0]


def test_garbage_indexes_and_lengths(victim, tmp_path):
    link = tmp_path / 'link.sock'
    srv = Server(link)
    p, q = victim(link)

    # 1. Bad lengths in ring 0 (ours to mosaic): every one dropped, the link stays up and
    # mosaic's consumer index moves past them.
    conn = srv.accept()
    m, bells = offer(conn)
    wait_state(q, 'up')
    for i, length in enumerate([0xffffffff, 5, SLOT_SIZE - 7, 0x80000000]):
        put32(m, HDR + i * SLOT_SIZE, length)
    put32(m, PROD(0), 4)
    os.eventfd_write(bells[1], 1)           # mosaic's doorbell (the connecting side's)
    end = time.monotonic() + 10
    while get32(m, CONS(0)) != 4:
        assert time.monotonic() < end, get32(m, CONS(0))
        time.sleep(0.05)
    s = state(q)
    assert s['state'] == 'up' and s['violations'] == 4, s

    # 2. A producer index far ahead of the consumer: mosaic hangs up and looks for a
    # peer again.
    put32(m, PROD(0), 4 + SLOTS + 1)
    os.eventfd_write(bells[1], 1)
    assert closed_by_peer(conn)
    assert state(q)['state'] in ('searching', 'hello')  # looking for the next peer
    conn.close()

    # 3. Index overflow around 2^32 and a consumer index garbage in mosaic's transmit
    # ring (ring 1), on the next connection: again only a hang-up.
    conn = srv.accept()
    m, bells = offer(conn)
    wait_state(q, 'up')
    put32(m, CONS(1), 0xfffffff0)
    put32(m, PROD(0), 0xfffffff0)
    os.eventfd_write(bells[1], 1)
    assert closed_by_peer(conn)
    conn.close()
    assert p.poll() is None
    assert state(q)['violations'] == 6, state(q)


@pytest.mark.parametrize('case', ['unsealed', 'small', 'pipes', 'short-hello', 'no-fds',
                                  'magic', 'silent'])
def test_bad_hello_refused(victim, tmp_path, case):
    link = tmp_path / 'link.sock'
    srv = Server(link)
    p, q = victim(link)
    conn = srv.accept()
    bells = [os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)]
    if case == 'unsealed':
        socket.send_fds(conn, [hello()], [region(seal=False)] + bells)
    elif case == 'small':
        socket.send_fds(conn, [hello()], [region(size=HDR)] + bells)
    elif case == 'pipes':
        socket.send_fds(conn, [hello()], [region()] + list(os.pipe()))
    elif case == 'short-hello':
        socket.send_fds(conn, [hello()[:8]], [region()] + bells)
    elif case == 'no-fds':
        conn.send(hello())
    elif case == 'magic':
        socket.send_fds(conn, [hello(magic=0x12345678)], [region()] + bells)
    # 'silent': connected, never says hello (mosaic gives up after 2 s)
    assert closed_by_peer(conn)
    s = state(q)
    assert s['state'] != 'up' and s['violations'] >= 1, s
    # Still serving, and it comes back for the next peer, which works.
    conn2 = srv.accept()
    offer(conn2)
    wait_state(q, 'up')
    assert p.poll() is None


def test_hostile_connecting_peer(victim, tmp_path):
    """Mosaic listens (nobody was there): the region it hands out is sealed, and a peer
    that writes a bad producer index into ring 1 is dropped."""
    link = tmp_path / 'link.sock'
    p, q = victim(link)
    wait_state(q, 'searching')
    end = time.monotonic() + 10
    while not link.exists():
        assert time.monotonic() < end
        time.sleep(0.05)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(str(link))
    msg, fds, _, _ = socket.recv_fds(c, 64, 4)
    assert struct.unpack('<IIIIQ', msg) == (MAGIC, VERSION, SLOTS, SLOT_SIZE, REGION)
    assert len(fds) == 3
    seals = fcntl.fcntl(fds[0], fcntl.F_GET_SEALS)
    assert seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_GROW and seals & fcntl.F_SEAL_SEAL
    with pytest.raises(PermissionError):
        os.ftruncate(fds[0], 4096)          # cannot pull the memory from under mosaic
    assert state(q)['state'] == 'hello'     # no link before the connecting side's ack
    c.send(struct.pack('<I', MAGIC))
    wait_state(q, 'up')
    m = mmap.mmap(fds[0], REGION)
    put32(m, PROD(1), 1000)
    os.eventfd_write(fds[1], 1)             # the accepting side's doorbell
    assert closed_by_peer(c)
    assert p.poll() is None
    assert state(q)['violations'] == 1
