# SPDX-License-Identifier: GPL-2.0-or-later
"""Several repositories for one machine: a local directory and a remote NBD server
(nbdkit file dir=, one export per disk), backed up in turn, with failures injected
(the server killed mid-push, one disk's job failing while the other's succeeds).

Each repository owns its change tracking, so an incremental into one holds every change
since that repository's own last point, whatever went to the other in between; after a
failure the next incremental copies everything that changed.  Every point is restored
and compared byte for byte with the disk as it was (qemu-img compare)."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'system'))
from test_backup import Machine, reap_machines, snapshot, compare, run_tool, MB, SIZE  # noqa: E402,F401 (fixtures)
from test_backup_nbd import tool, nbd_plugin, wait_path, read_back  # noqa: E402,F401 (fixtures)

need = pytest.mark.needs_tools('qemu-img', 'qemu-io', 'nbdkit', 'nbdcopy')  # scripts/setup: a missing one fails
SIZES = {'disk0': SIZE, 'disk1': 8 * MB}


class DirServer:
    """nbdkit file dir=DIR: export NAME is the file DIR/NAME."""
    def __init__(self, tmp):
        self.dir = Path(tmp) / 'remote'
        self.sock = Path(tmp) / 'remote.sock'
        self.dir.mkdir(exist_ok=True)
        for name, size in SIZES.items():
            f = self.dir / name
            if not f.exists():
                with open(f, 'wb') as fh:
                    fh.truncate(size)
        self.proc = None
        self.start()
        self.uri = f'nbd+unix:///{{disk}}?socket={self.sock}'

    def start(self):
        if self.sock.exists():
            self.sock.unlink()
        self.proc = subprocess.Popen(['nbdkit', '-f', '-U', str(self.sock), 'file',
                                      f'dir={self.dir}'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_path(self.sock, self.proc)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def disk_uri(self, disk):
        return f'nbd+unix:///{disk}?socket={self.sock}'


@pytest.fixture
def server(tmp_path):
    s = DirServer(tmp_path)
    yield s
    s.kill()


def disks(tmp):
    imgs = []
    for name, size in SIZES.items():
        p = Path(tmp) / f'{name}.img'
        with open(p, 'wb') as f:
            f.truncate(size)
        imgs.append(p)
    return imgs


def snap(imgs, tmp, tag):
    return [snapshot(img, Path(tmp) / f'{tag}-{i}.img') for i, img in enumerate(imgs)]


def restored_equal(tool, repo, point, refs, tmp):
    out = Path(tmp) / f'restored-{repo.name}-{point}'
    run_tool(tool, 'restore', '--dir', repo, '--at', point, '--to', out)
    for name, ref in zip(SIZES, refs):
        compare(out / f'{name}.img', ref)


def remote_equal(server, refs, tmp):
    for name, ref in zip(SIZES, refs):
        compare(read_back(server.disk_uri(name), Path(tmp) / f'back-{name}.img'), ref)


@need
def test_local_and_remote_alternate_with_failures(mosaic, tool, tmp_path, server):
    imgs = disks(tmp_path)
    local, manifest = tmp_path / 'local', tmp_path / 'remote-manifest'
    m = Machine(mosaic, tmp_path, *imgs)
    back = lambda kind, to, *a, **k: run_tool(tool, kind, '--socket', m.qmp_path, '--to', to,  # noqa: E731
                                              *a, **k)
    m.write('write -P 0x11 0 2M')
    m.write('write -P 0x12 0 1M', disk=1)
    local_refs = {1: snap(imgs, tmp_path, 'l1')}
    back('full', local)
    m.write('write -P 0x13 4M 64k')
    m.write('write -P 0x14 2M 64k', disk=1)
    remote_ref = snap(imgs, tmp_path, 'r1')
    back('full', server.uri, '--dir', manifest)
    remote_equal(server, remote_ref, tmp_path)
    m.write('write -P 0x15 8M 64k')
    local_refs[2] = snap(imgs, tmp_path, 'l2')
    back('incremental', local)  # 4M and 8M (before and after the push)
    m.write('write -P 0x16 12M 64k')
    m.write('write -P 0x17 3M 64k', disk=1)
    remote_ref = snap(imgs, tmp_path, 'r2')
    back('incremental', server.uri, '--dir', manifest)  # 8M and 12M, disk1 3M
    remote_equal(server, remote_ref, tmp_path)

    # the server dies while disk0 is pushed: the point fails for both disks
    m.write('write -P 0x18 0 16M')
    m.write('write -P 0x19 5M 64k', disk=1)
    p = subprocess.Popen([str(tool), 'incremental', '--socket', str(m.qmp_path), '--to',
                          server.uri, '--dir', str(manifest), '--speed', str(2 * MB), '--json'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while True:
        jobs = {j['id']: j for j in m.qmp.ok('query-jobs')['jobs']}
        j0 = next((j for i, j in jobs.items() if 'disk0' in i), None)
        if j0 and j0['current-progress'] > MB:
            break
        assert p.poll() is None and time.time() < deadline, p.communicate()
        time.sleep(0.02)
    server.kill()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, out + err
    assert 'failed' in err and str(server.sock) in err, err
    assert m.qmp.ok('query-jobs')['jobs'] == []
    # the local repository meanwhile: everything since its point 2
    m.write('write -P 0x1a 20M 64k')
    local_refs[3] = snap(imgs, tmp_path, 'l3')
    back('incremental', local)
    # the server is back: the next push copies everything since the last good push
    server.start()
    m.write('write -P 0x1b 6M 64k', disk=1)
    remote_ref = snap(imgs, tmp_path, 'r3')
    back('incremental', server.uri, '--dir', manifest)
    remote_equal(server, remote_ref, tmp_path)
    m.stop()
    for point, refs in local_refs.items():
        restored_equal(tool, local, point, refs, tmp_path)
    out = tmp_path / 'remote-latest'
    run_tool(tool, 'restore', '--dir', manifest, '--at', 'latest', '--to', out)
    for name, ref in zip(SIZES, remote_ref):
        compare(out / f'{name}.img', ref)


@need
def test_remote_export_too_small_refuses_the_point(mosaic, tool, tmp_path, server):
    """disk1's export shrank: the point is refused when it is taken (no job starts, for
    neither disk) and the next push (export grown back) has every change of both."""
    imgs = disks(tmp_path)
    manifest = tmp_path / 'remote-manifest'
    m = Machine(mosaic, tmp_path, *imgs)
    m.write('write -P 0x21 0 1M')
    m.write('write -P 0x22 0 1M', disk=1)
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', server.uri, '--dir', manifest)
    m.write('write -P 0x23 1M 64k')
    m.write('write -P 0x24 1M 64k', disk=1)
    server.kill()
    with open(server.dir / 'disk1', 'r+b') as f:
        f.truncate(4 * MB)
    server.start()
    r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', server.uri, '--dir',
                 manifest, check=False)
    assert r.returncode == 1 and 'disk1' in r.stderr and 'smaller' in r.stderr, r.stdout + r.stderr
    assert m.qmp.ok('query-jobs')['jobs'] == []
    server.kill()
    with open(server.dir / 'disk1', 'r+b') as f:
        f.truncate(8 * MB)
    server.start()
    m.write('write -P 0x25 2M 64k')
    refs = snap(imgs, tmp_path, 'r2')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', server.uri, '--dir', manifest)
    remote_equal(server, refs, tmp_path)
    m.stop()
