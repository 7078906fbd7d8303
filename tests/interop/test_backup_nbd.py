# SPDX-License-Identifier: GPL-2.0-or-later
"""The nbd block driver (plugins/block-nbd, libnbd) against real NBD servers, and
`mosaic-backup full|incremental --to nbd://...` pushing backups to them.

Servers: qemu-nbd (qemu-utils) on loopback TCP, nbdkit (file, memory) on UNIX sockets.
What the server holds is read back with nbdcopy and compared byte for byte."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from free_port import free_port  # tests/free_port.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'system'))
from test_backup import Machine, reap_machines, checkpoint, raw_disk, snapshot, compare, run_tool, MB, SIZE  # noqa: E402,F401 (fixtures)

need = pytest.mark.needs_tools('qemu-img', 'qemu-io', 'qemu-nbd', 'nbdkit', 'nbdcopy')  # scripts/setup


@pytest.fixture
def tool(build):
    t = build / 'tools' / 'mosaic-backup' / 'mosaic-backup'
    assert t.exists(), f'{t} is not built (scons)'  # a broken build fails, never skips
    return t


@pytest.fixture(autouse=True)
def nbd_plugin(build):
    so = build / 'plugins' / 'mosaic-block-nbd.so'
    assert so.exists(), f'{so} is not built (scons)'


def wait_path(p, proc, timeout=10):
    deadline = time.time() + timeout
    while not Path(p).exists():
        assert proc.poll() is None, 'NBD server exited'
        assert time.time() < deadline, f'{p} did not appear'
        time.sleep(0.02)


class Nbdkit:
    """nbdkit PLUGIN ARGS... in the foreground on a UNIX socket."""
    def __init__(self, tmp, *args, name='srv'):
        self.sock = Path(tmp) / f'{name}.sock'
        if self.sock.exists():
            self.sock.unlink()
        self.proc = subprocess.Popen(['nbdkit', '-f', '-U', str(self.sock), *map(str, args)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_path(self.sock, self.proc)
        self.uri = f'nbd+unix:///?socket={self.sock}'

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def read_back(uri, dst):
    subprocess.run(['nbdcopy', uri, str(dst)], check=True)
    return dst


def random_writes(m, seed):
    """Writes a few distinct patterns (qemu-io -P) over the disk."""
    m.write(*[f'write -P {(seed + i) % 250 + 1} {i * 3 * MB + seed * 4096} {MB + 8192}'
              for i in range(SIZE // (3 * MB))])


@need
def test_nbd_driver_io_and_server_loss(mosaic, tmp_path):
    srv = Nbdkit(tmp_path, 'memory', f'{SIZE}')
    ini = tmp_path / 'm.ini'
    esock, qsock = tmp_path / 'e.sock', tmp_path / 'q.sock'
    ini.write_text('[machine]\ntype = none\n'
                   f'[blockdev r0]\ndriver = nbd\nuri = {srv.uri}\n'
                   f'[export e0]\nnode = r0\nsocket = {esock}\nwritable = on\n')
    log = open(tmp_path / 'log', 'w+')
    p = subprocess.Popen([str(mosaic), str(ini), '--qmp', f'unix:{qsock},server,wait=off'],
                         stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
    try:
        wait_path(esock, p)
        exp = f'nbd+unix:///e0?socket={esock}'
        io = ['qemu-io', '-f', 'raw', exp]
        r = subprocess.run(io + ['-c', 'write -P 5 1M 3M', '-c', 'read -P 5 1M 3M',
                                 '-c', 'write -P 6 6M 64k', '-c', 'write -z 6M 64k',
                                 '-c', 'read -P 0 6M 64k', '-c', 'discard 8M 1M', '-c', 'flush'],
                           capture_output=True, text=True)
        assert r.returncode == 0 and 'fail' not in r.stdout + r.stderr, r.stdout + r.stderr
        size = json.loads(subprocess.check_output(['nbdinfo', '--json', exp]))
        assert size['exports'][0]['export-size'] == SIZE
        # block status crosses both hops: data only where written
        extents = json.loads(subprocess.check_output(['nbdinfo', '--map', '--json', exp]))
        data = [(e['offset'], e['length']) for e in extents if not e['type'] & 1]
        assert data and data[0] == (MB, 3 * MB), extents
        # what the server holds
        got = read_back(srv.uri, tmp_path / 'srv.img').read_bytes()
        assert got[MB:4 * MB] == b'\x05' * 3 * MB and got[:MB] == bytes(MB)
        srv.kill()
        r = subprocess.run(io + ['-c', 'read 0 64k', '-c', 'write 0 64k'], capture_output=True,
                           text=True, timeout=30)
        assert 'Input/output error' in r.stdout + r.stderr, r.stdout + r.stderr
        assert p.poll() is None, 'mosaic died when the NBD server went away'
        log.flush()
        log.seek(0)
        assert str(srv.sock) in log.read()
    finally:
        srv.kill()
        p.send_signal(signal.SIGTERM)
        p.wait(20)


@need
def test_nbd_driver_no_server(run_mosaic, tmp_path):
    ini = tmp_path / 'm.ini'
    ini.write_text('[machine]\ntype = none\n'
                   f'[blockdev r0]\ndriver = nbd\nuri = nbd+unix:///x?socket={tmp_path}/none.sock\n')
    r = run_mosaic(ini, timeout=30)
    assert r.returncode != 0
    assert 'cannot connect to NBD server' in r.stderr and 'none.sock' in r.stderr, r.stderr


@need
def test_push_full_and_incremental_to_qemu_nbd(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    remote = tmp_path / 'remote.img'
    with open(remote, 'wb') as f:
        f.truncate(SIZE)
    port = free_port()
    qn = subprocess.Popen(['qemu-nbd', '-f', 'raw', '-x', 'exp', '-b', '127.0.0.1', '-p', str(port),
                           '--persistent', '-e', '4', str(remote)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f'nbd://127.0.0.1:{port}/exp'
    deadline = time.time() + 10
    while subprocess.run(['nbdinfo', '--size', uri], capture_output=True).returncode:
        assert time.time() < deadline and qn.poll() is None, 'qemu-nbd did not start'
        time.sleep(0.05)
    manifest = tmp_path / 'manifest'
    m = Machine(mosaic, tmp_path, img)
    try:
        random_writes(m, 1)
        now1 = snapshot(img, tmp_path / 'now1.img')
        r = run_tool(tool, 'full', '--socket', m.qmp_path, '--to', uri, '--dir', manifest)
        assert uri in r.stdout
        compare(read_back(uri, tmp_path / 'back1.img'), now1)
        m.write('write -P 77 5M 200k', 'write -z 9M 1M')
        now2 = snapshot(img, tmp_path / 'now2.img')
        assert checkpoint(m.qmp)['count'] == 4 * 65536 + MB
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', uri, '--dir', manifest)
        compare(read_back(uri, tmp_path / 'back2.img'), now2)
        pts = json.loads((manifest / 'manifest.json').read_text())['points']
        assert [(p['kind'], p['disks'][0]['file']) for p in pts] == \
            [('full', uri), ('incremental', uri)]
        # the export holds the latest point only
        run_tool(tool, 'restore', '--dir', manifest, '--at', 'latest', '--to', tmp_path / 'r.img')
        compare(tmp_path / 'r.img', now2)
        r = run_tool(tool, 'restore', '--dir', manifest, '--at', '1', '--to', tmp_path / 'r1.img',
                     check=False)
        assert r.returncode == 1 and 'latest point' in r.stderr
        # an incremental to another target is refused: it would only hold the changes
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to',
                     f'nbd://127.0.0.1:{port}/other', '--dir', manifest, check=False)
        assert r.returncode == 1 and 'full' in r.stderr, r.stderr
    finally:
        m.stop()
        qn.send_signal(signal.SIGTERM)
        qn.wait(10)


@need
def test_server_killed_mid_backup(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    remote = tmp_path / 'remote.img'
    with open(remote, 'wb') as f:
        f.truncate(SIZE)
    manifest = tmp_path / 'manifest'
    srv = Nbdkit(tmp_path, 'file', remote)
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 3 0 4M')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', srv.uri, '--dir', manifest)
        random_writes(m, 2)
        changed = m.qmp.ok('query-dirty-bitmaps', node='disk0')['bitmaps'][0]['count']
        assert changed > 8 * MB
        p = subprocess.Popen([str(tool), 'incremental', '--socket', str(m.qmp_path), '--to',
                              srv.uri, '--dir', str(manifest), '--speed', str(2 * MB)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while not m.qmp.ok('query-jobs')['jobs']:
            assert p.poll() is None, p.communicate()
            assert time.time() < deadline
            time.sleep(0.01)
        time.sleep(0.5)
        srv.kill()
        out, err = p.communicate(timeout=60)
        assert p.returncode == 1, out + err
        assert 'failed' in err and str(srv.sock) in err, err
        # nothing lost: the bitmap still covers every change since the full backup
        bm = m.qmp.ok('query-dirty-bitmaps', node='disk0')['bitmaps'][0]
        assert bm['count'] == changed and not bm['busy'] and not bm['inconsistent'], bm
        pts = json.loads((manifest / 'manifest.json').read_text())['points']
        assert [p['kind'] for p in pts] == ['full']
        assert m.proc.poll() is None
        # a server back on the same data: the next incremental makes it whole
        srv = Nbdkit(tmp_path, 'file', remote)
        now = snapshot(img, tmp_path / 'now.img')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', srv.uri, '--dir', manifest)
        compare(read_back(srv.uri, tmp_path / 'back.img'), now)
    finally:
        m.stop()
        srv.kill()
