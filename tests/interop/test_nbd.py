# SPDX-License-Identifier: GPL-2.0-or-later
"""NBD export of a storage-only machine ([machine] type = none) against real clients:
nbdinfo, nbdcopy, qemu-img, qemu-io, fio, and a hostile hand-written client."""
import json
import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

need = pytest.mark.needs_tools('nbdinfo', 'nbdcopy', 'qemu-img')
MB = 1 << 20


def listening(path):
    """The socket exists and accepts (Mosaic's sockets appear only once they listen:
    tests/system/test_listen_ready.py; this also waits out a socket file left behind)."""
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Daemon:
    """`mosaic MACHINE.ini --qmp unix:PATH` with a storage-only machine file."""

    def __init__(self, mosaic, tmp, ini_body, name='st', wait_for=()):
        self.tmp = Path(tmp)
        self.ini = self.tmp / f'{name}.ini'
        self.ini.write_text('[machine]\ntype = none\n\n' + ini_body)
        self.qmp_path = self.tmp / f'{name}-qmp.sock'
        self.log = open(self.tmp / f'{name}.log', 'w+')
        env = dict(os.environ, XDG_CONFIG_HOME=str(self.tmp / 'xdg'))
        self.proc = subprocess.Popen([str(mosaic), str(self.ini), '--qmp',
                                      f'unix:{self.qmp_path}'], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     cwd=str(self.tmp))
        deadline = time.time() + 10
        while not all(listening(p) for p in wait_for):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError('mosaic did not start: ' + self.output())
            time.sleep(0.02)
        self._qmp = None

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def qmp(self, cmd, **args):
        if self._qmp is None:
            deadline = time.time() + 5
            while not self.qmp_path.exists():
                if time.time() > deadline:
                    raise AssertionError(f'no QMP socket {self.qmp_path} after 5 s:\n' + self.output())
                time.sleep(0.02)
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(self.qmp_path))
            self._qmp = s.makefile('rw')
            json.loads(self._qmp.readline())
            self.qmp('qmp_capabilities')
        self._qmp.write(json.dumps({'execute': cmd, 'arguments': args}) + '\n')
        self._qmp.flush()
        while True:
            r = json.loads(self._qmp.readline())
            if 'event' not in r:
                return r

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def uri(sock, name='e0'):
    return f'nbd+unix:///{name}?socket={sock}'


def raw_disk(tmp, size=64 * MB, name='disk.img'):
    p = Path(tmp) / name
    with open(p, 'wb') as f:
        f.truncate(size)
        f.seek(MB)
        f.write(b'hello' * 1000)
    return p


def export_ini(img, sock, writable=True, extra=''):
    return (f'[blockdev f0]\ndriver = file\nfilename = {img}\n\n'
            f'[blockdev disk0]\ndriver = raw\nfile = f0\n\n'
            f'[export e0]\nnode = disk0\nsocket = {sock}\nwritable = {"on" if writable else "off"}\n'
            + extra)


@pytest.fixture
def daemon(mosaic, tmp_path):
    started = []

    def start(body, **kw):
        d = Daemon(mosaic, tmp_path, body, **kw)
        started.append(d)
        return d
    yield start
    for d in started:
        d.stop()


@need
def test_nbdinfo_and_map(daemon, tmp_path):
    img = raw_disk(tmp_path)
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock, writable=False), wait_for=[sock])
    info = json.loads(subprocess.check_output(['nbdinfo', '--json', uri(sock)], text=True))
    exp = info['exports'][0]
    assert exp['export-size'] == 64 * MB
    assert exp['is_read_only'] is True
    assert 'base:allocation' in exp['contexts']
    assert info['protocol'] == 'newstyle-fixed' and info['TLS'] is False
    m = json.loads(subprocess.check_output(['nbdinfo', '--map', '--json', uri(sock)], text=True))
    data = [e for e in m if e['type'] & 1 == 0]
    holes = [e for e in m if e['type'] & 1]
    assert sum(e['length'] for e in m) == 64 * MB
    assert any(e['offset'] <= MB < e['offset'] + e['length'] for e in data)
    assert holes and holes[0]['offset'] == 0
    lst = subprocess.check_output(['nbdinfo', '--list', f'nbd+unix://?socket={sock}'], text=True)
    assert 'export="e0"' in lst


@need
def test_nbdcopy_roundtrip_and_compare(daemon, tmp_path):
    img = raw_disk(tmp_path)
    sock = tmp_path / 'nbd.sock'
    d = daemon(export_ini(img, sock), wait_for=[sock])
    src = tmp_path / 'src.bin'
    with open(src, 'wb') as f:
        f.write(os.urandom(24 * MB))
        f.truncate(64 * MB)
    subprocess.run(['nbdcopy', str(src), uri(sock)], check=True)
    out = tmp_path / 'out.bin'
    subprocess.run(['nbdcopy', uri(sock), str(out)], check=True)
    assert out.read_bytes() == src.read_bytes()
    r = subprocess.run(['qemu-img', 'compare', '-f', 'raw', '-F', 'raw', str(src), uri(sock)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    d.stop()
    assert img.read_bytes() == src.read_bytes()


@need
def test_several_clients(daemon, tmp_path):
    img = raw_disk(tmp_path, 32 * MB)
    with open(img, 'r+b') as f:
        f.write(os.urandom(32 * MB))
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock, writable=False), wait_for=[sock])
    procs = [subprocess.Popen(['nbdcopy', uri(sock), str(tmp_path / f'o{i}.bin')])
             for i in range(4)]
    assert all(p.wait(60) == 0 for p in procs)
    ref = img.read_bytes()
    for i in range(4):
        assert (tmp_path / f'o{i}.bin').read_bytes() == ref


@need
def test_read_only_export_refuses_writes(daemon, tmp_path):
    img = raw_disk(tmp_path)
    before = img.read_bytes()
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock, writable=False), wait_for=[sock])
    r = subprocess.run(['qemu-io', '-f', 'raw', '-c', 'write -P 0x55 0 4k', uri(sock)],
                       capture_output=True, text=True)
    assert r.returncode != 0 or 'failed' in (r.stdout + r.stderr).lower()
    assert img.read_bytes() == before


@need
def test_qemu_io_write_zero_discard(daemon, tmp_path):
    img = raw_disk(tmp_path)
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock), wait_for=[sock])
    cmds = ['write -P 0x5a 0 64k', 'read -P 0x5a 0 64k', 'write -z 0 4k', 'read -P 0 0 4k',
            'discard 4k 4k', 'flush', 'write -P 0x11 -f 8k 4k', 'read -P 0x11 8k 4k']
    args = ['qemu-io', '-f', 'raw']
    for c in cmds:
        args += ['-c', c]
    r = subprocess.run(args + [uri(sock)], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and 'fail' not in out.lower() and 'Pattern verification' not in out, out


def negotiate(sock_path, name=b'e0', structured=True, meta=True):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(str(sock_path))
    hello = recv_all(s, 18)
    assert hello[:8] == b'NBDMAGIC' and hello[8:16] == b'IHAVEOPT'
    s.sendall(struct.pack('>I', 3))

    def opt(o, data=b''):
        s.sendall(b'IHAVEOPT' + struct.pack('>II', o, len(data)) + data)
        replies = []
        while True:
            magic, ro, typ, ln = struct.unpack('>QIII', recv_all(s, 20))
            replies.append((typ, recv_all(s, ln)))
            if typ == 1 or typ & 0x80000000:
                return replies
    if structured:
        assert opt(8)[-1][0] == 1
    if meta:
        q = b'base:allocation'
        opt(10, struct.pack('>I', len(name)) + name + struct.pack('>II', 1, len(q)) + q)
    r = opt(7, struct.pack('>I', len(name)) + name + struct.pack('>H', 0))
    assert r[-1][0] == 1, r
    return s, opt


def recv_all(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise ConnectionError('closed')
        b += c
    return b


def request(s, typ, off, ln, flags=0, handle=1, data=b''):
    s.sendall(struct.pack('>IHHQQI', 0x25609513, flags, typ, handle, off, ln) + data)


def read_chunk(s):
    magic, flags, typ, handle, ln = struct.unpack('>IHHQI', recv_all(s, 20))
    assert magic == 0x668e33ef
    return flags, typ, handle, recv_all(s, ln)


@need
def test_hostile_client(daemon, tmp_path):
    img = raw_disk(tmp_path, 4 * MB)
    sock = tmp_path / 'nbd.sock'
    d = daemon(export_ini(img, sock), wait_for=[sock])
    # Unknown option, bad lengths, unknown export: error replies, connection lives on.
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(sock))
    recv_all(s, 18)
    s.sendall(struct.pack('>I', 3))
    for o, data in [(99, b''), (8, b'x'), (7, b'\xff\xff\xff\xff'), (7, struct.pack('>I', 3) + b'zzz\0\0'),
                    (10, b'\0\0\0\x02e0\0\0\0\x01\xff\xff\xff\xff')]:
        s.sendall(b'IHAVEOPT' + struct.pack('>II', o, len(data)) + data)
        magic, ro, typ, ln = struct.unpack('>QIII', recv_all(s, 20))
        recv_all(s, ln)
        assert typ & 0x80000000, (o, typ)
    # A huge option length: the server hangs up instead of buffering it.
    s.sendall(b'IHAVEOPT' + struct.pack('>II', 1, 0x7fffffff))
    s.settimeout(5)
    assert s.recv(1) == b''
    s.close()
    # Transmission: out of range, bad flags, block status without meta context, unknown cmd.
    s, _ = negotiate(sock)
    for typ, off, ln, flags in [(0, 4 * MB - 1, 2, 0), (0, 2**64 - 512, 1024, 0), (0, 0, 0, 0),
                                (1, 4 * MB, 512, 0), (0, 0, 512, 0x8000), (42, 0, 512, 0),
                                (0, 0, 64 * MB, 0), (7, 4 * MB, 1, 0)]:
        data = b'\0' * ln if typ == 1 else b''
        request(s, typ, off, ln, flags, data=data)
        flags_, ctype, handle, payload = read_chunk(s)
        assert ctype == 32769, (typ, off, ln, ctype)
    # Still works: a good read.
    request(s, 0, MB, 5)
    flags_, ctype, handle, payload = read_chunk(s)
    assert ctype == 1 and payload[8:] == b'hello'
    # A write with a payload longer than we accept: disconnect.
    request(s, 1, 0, 0x7fffffff)
    assert s.recv(1) == b''
    s.close()
    # Bad magic in a request: disconnect.
    s, _ = negotiate(sock)
    s.sendall(b'\xde\xad\xbe\xef' * 7)
    assert s.recv(1) == b''
    s.close()
    # Random garbage clients.
    for i in range(20):
        g = socket.socket(socket.AF_UNIX)
        g.connect(str(sock))
        try:
            g.sendall(os.urandom(1000 + i * 100))
        except OSError:
            pass
        g.close()
    assert d.proc.poll() is None
    r = subprocess.run(['nbdinfo', '--size', uri(sock)], capture_output=True, text=True)
    assert r.stdout.strip() == str(4 * MB)


def error_of(s):
    """The errno and message of a structured error reply (asserting it is one)."""
    flags_, ctype, handle, payload = read_chunk(s)
    assert ctype == 32769, ctype
    err, ml = struct.unpack('>IH', payload[:6])
    return err, payload[6:6 + ml].decode()


EPERM, EINVAL, ENOSPC = 1, 22, 28


def test_read_only_export_refuses_raw_writes(daemon, tmp_path):
    """A client that ignores the read-only flag (qemu-io does not) still cannot write: the
    export is read-only over a node that is not."""
    img = raw_disk(tmp_path, 4 * MB)
    before = img.read_bytes()
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock, writable=False), wait_for=[sock])
    s, _ = negotiate(sock)
    for typ in (1, 4, 6):  # WRITE, TRIM, WRITE_ZEROES
        request(s, typ, 0, 4096, data=b'\x55' * 4096 if typ == 1 else b'')
        err, msg = error_of(s)
        assert err == EPERM and 'read-only' in msg, (typ, err, msg)
    s.close()
    assert img.read_bytes() == before


def test_past_end_refused_by_the_export(daemon, tmp_path):
    """Requests past the size the client was told are refused by the export itself, with
    the NBD spec's errors (EINVAL for reads, ENOSPC for writes), even when the node below
    would take them: a writable file node grows on a write past its end."""
    size = 4 * MB
    img = raw_disk(tmp_path, size)
    sock = tmp_path / 'nbd.sock'
    daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n\n'
           f'[export e0]\nnode = f0\nsocket = {sock}\nwritable = on\n', wait_for=[sock])
    s, _ = negotiate(sock)
    cases = [(1, size, 512, ENOSPC), (1, size - 512, 1024, ENOSPC),
             (1, 2**64 - 512, 1024, ENOSPC),  # offset + length wraps to 512
             (6, size, 4096, ENOSPC), (6, 2**64 - 4096, 8192, ENOSPC),
             (0, size - 1, 2, EINVAL), (0, 2**64 - 512, 1024, EINVAL)]
    for typ, off, ln, want in cases:
        request(s, typ, off, ln, data=b'\x77' * ln if typ == 1 else b'')
        err, msg = error_of(s)
        assert (err, msg) == (want, 'request past the end of the export'), (typ, off, ln)
    # The last byte is still fine, and nothing grew.
    request(s, 1, size - 512, 512, data=b'\x77' * 512)
    flags_, ctype, handle, payload = read_chunk(s)
    assert ctype == 0, ctype
    s.close()
    assert img.stat().st_size == size


@need
def test_block_status_structured(daemon, tmp_path):
    img = raw_disk(tmp_path, 4 * MB)
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock, writable=False), wait_for=[sock])
    s, _ = negotiate(sock)
    request(s, 7, 0, 4 * MB)
    flags, typ, handle, payload = read_chunk(s)
    assert typ == 5 and flags & 1
    ctx, = struct.unpack('>I', payload[:4])
    ext = [struct.unpack('>II', payload[i:i + 8]) for i in range(4, len(payload), 8)]
    assert sum(e[0] for e in ext) == 4 * MB
    assert ext[0][1] == 3  # hole, zero
    request(s, 7, 0, 4 * MB, flags=8)  # REQ_ONE
    flags, typ, handle, payload = read_chunk(s)
    assert len(payload) == 12


@need
def test_image_locking(daemon, mosaic, tmp_path):
    img = raw_disk(tmp_path)
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock), wait_for=[sock])
    # A second writer (another mosaic) is refused, and so is qemu-img without -U.
    sock2 = tmp_path / 'nbd2.sock'
    (tmp_path / 'second.ini').write_text('[machine]\ntype = none\n' + export_ini(img, sock2))
    r = subprocess.run([str(mosaic), str(tmp_path / 'second.ini')], capture_output=True, text=True,
                       timeout=20, env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode != 0 and 'in use' in r.stderr, r.stderr
    # QEMU sees our OFD locks (same bytes): a writer is refused, a -U reader is not.
    r = subprocess.run(['qemu-io', '-f', 'raw', '-c', 'read 0 512', str(img)],
                       capture_output=True, text=True)
    assert 'lock' in r.stdout + r.stderr, r.stdout + r.stderr
    r = subprocess.run(['qemu-io', '-f', 'raw', '-r', '-U', '-c', 'read 0 512', str(img)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and 'lock' not in r.stdout + r.stderr


@need
def test_tcp_loopback_only(daemon, mosaic, tmp_path):
    img = raw_disk(tmp_path)
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    body = (f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
            f'[export e0]\nnode = f0\nport = {port}\n')
    d = daemon(body)
    deadline = time.time() + 10
    while True:
        r = subprocess.run(['nbdinfo', '--size', f'nbd://127.0.0.1:{port}/e0'],
                           capture_output=True, text=True)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert r.stdout.strip() == str(64 * MB), r.stderr + d.output()
    (tmp_path / 'bad.ini').write_text('[machine]\ntype = none\n' + body.replace(
        f'port = {port}', f'port = {port + 1}\naddr = 0.0.0.0'))
    r = subprocess.run([str(mosaic), str(tmp_path / 'bad.ini')], capture_output=True, text=True,
                       timeout=20, env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode != 0 and 'loopback' in r.stderr


@pytest.mark.needs_tools('fio')
def test_fio_verify(daemon, tmp_path):
    img = raw_disk(tmp_path)
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock), wait_for=[sock])
    r = subprocess.run(['fio', '--name=v', '--ioengine=nbd', f'--uri={uri(sock)}', '--rw=randwrite',
                        '--bs=4k', '--size=16M', '--iodepth=16', '--verify=crc32c',
                        '--do_verify=1', '--output-format=json'], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    job = json.loads(r.stdout[r.stdout.index('{'):])['jobs'][0]
    assert job['error'] == 0


def test_qmp_export_add_del(daemon, tmp_path):
    img = raw_disk(tmp_path)
    sock = tmp_path / 'nbd.sock'
    d = daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n')
    r = d.qmp('block-export-add', id='x', **{'node-name': 'f0'}, socket=str(sock))
    assert 'return' in r, r
    assert 'error' in d.qmp('block-export-add', id='x', **{'node-name': 'f0'}, socket=str(sock))
    assert 'error' in d.qmp('block-export-add', id='y', **{'node-name': 'nope'}, socket=str(sock))
    q = d.qmp('query-block-exports')['return']['exports']
    assert q[0]['id'] == 'x'
    out = subprocess.check_output(['nbdinfo', '--size', uri(sock, 'x')], text=True)
    assert out.strip() == str(64 * MB)
    assert 'return' in d.qmp('block-export-del', id='x')
    assert not sock.exists()
    assert 'error' in d.qmp('block-export-del', id='x')


@need
def test_cache_none_unaligned(daemon, tmp_path):
    img = raw_disk(tmp_path, 8 * MB)
    sock = tmp_path / 'nbd.sock'
    daemon(export_ini(img, sock).replace('filename = ', 'cache = none\nfilename = ', 1),
           wait_for=[sock])
    out = subprocess.run(['qemu-io', '-f', 'raw', '-c', 'write -P 0x31 1 3000',
                          '-c', 'read -P 0x31 1 3000', '-c', 'write -P 0x32 4096 8192',
                          '-c', 'read -P 0x32 4096 8192', '-c', 'write -z 100 10000',
                          '-c', 'read -P 0 100 10000', uri(sock)], capture_output=True, text=True)
    assert out.returncode == 0 and 'fail' not in out.stdout.lower(), out.stdout + out.stderr
    data = img.read_bytes()
    assert data[4096 + 8192 - 1] == 0x32 and data[10100] == 0x32 and data[99] == 0x31
