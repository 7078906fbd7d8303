# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-blk seen by a real guest: the Mosaic test kernel on riscv-virt writes and
reads /dev/vda (guests/linux/init.c: mosaic.cmd=blk-write-pattern|blk-read-check)
through virtio-mmio -> virtio-blk -> [throttle] -> qcow2 -> file."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_monitor import Qmp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

pytestmark = [pytest.mark.linux, pytest.mark.needs_tools('qemu-img', 'qemu-io')]


def pattern(n):
    return bytes(((i * 7 + (i >> 9) + 0x5a) & 0xff) for i in range(n))


@pytest.fixture(scope='module')
def kernel():
    return g.ensure_linux() / 'Image-fpu'


def machine(top, kernel, cmd, body):
    return (f'include = {top}/configs/riscv-virt-linux.ini\n[machine]\nkernel = {kernel}\n'
            f'append = console=ttyS0 earlycon=sbi mosaic.cmd={cmd}\n' + body)


@pytest.fixture
def guest(mosaic, top, tmp_path, kernel):
    def run(cmd, body, timeout=120):
        ini = tmp_path / f'{cmd}.ini'
        ini.write_text(machine(top, kernel, cmd, body))
        r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
        return r.stdout + r.stderr
    return run


def disk(img, extra=''):
    return (f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
            f'[blockdev disk0]\ndriver = qcow2\nfile = f0\n' + extra)


def qcow2(path, size='64M'):
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', path, size], check=True,
                   capture_output=True)
    return path


def test_guest_writes_and_reads_qcow2(guest, tmp_path):
    img = qcow2(tmp_path / 'd.qcow2')
    dev = '[device vb0]\ntype = virtio-blk\ndrive = disk0\nserial = MOSAIC0\n'
    out = guest('blk-write-pattern', disk(img) + dev)
    assert 'MOSAIC-DISK vda sectors=131072' in out, out
    assert 'MOSAIC-CMD blk-write-pattern OK' in out, out
    r = subprocess.run(['qemu-img', 'check', img], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    raw = tmp_path / 'd.raw'
    subprocess.run(['qemu-img', 'convert', '-O', 'raw', img, raw], check=True)
    assert raw.read_bytes()[:65536] == pattern(65536)
    out = guest('blk-read-check', disk(img) + dev)
    assert 'MOSAIC-CMD blk-read-check OK' in out, out


def wait_until(what, cond, proc, timeout=300):
    end = time.monotonic() + timeout
    while True:
        try:
            if v := cond():
                return v
        except OSError:  # the control socket went away with the process
            pass
        assert proc.poll() is None, f'mosaic exited ({proc.returncode}) before {what}'
        assert time.monotonic() < end, f'no {what} after {timeout} s'
        time.sleep(0.1)


def member(q, node):
    groups = q.cmd('query-throttle')['return']['groups']
    return next(m for grp in groups for m in grp['members'] if m['node-name'] == node)


def test_guest_writes_held_by_throttle(mosaic, top, tmp_path, kernel):
    """The throttle filter really sits in the guest's path and holds its writes.  The
    write bucket of group g is filled first through a second member (an NBD export):
    1 MiB at 4 KiB/s keeps g closed for about 256 s, so the guest's writes must wait in
    the filter's queue (query-throttle), none is dispatched and the guest cannot finish.
    Lifting the limit at run time lets them through and the data is on the disk."""
    img, other, sock = qcow2(tmp_path / 't.qcow2'), tmp_path / 'o.raw', tmp_path / 'o.sock'
    other.write_bytes(bytes(2 << 20))
    body = disk(img, '[throttle-group g]\nbps-write = 4K/s\n'
                     '[blockdev thr]\ndriver = throttle\nfile = disk0\ngroup = g\n'
                     f'[blockdev f1]\ndriver = file\nfilename = {other}\n'
                     '[blockdev t1]\ndriver = throttle\nfile = f1\ngroup = g\n'
                     f'[export e1]\nnode = t1\nsocket = {sock}\nwritable = on\n'
                     '[device vb0]\ntype = virtio-blk\ndrive = thr\n')
    ini, qmp, log = tmp_path / 'thr.ini', tmp_path / 'qmp.sock', tmp_path / 'console.log'
    ini.write_text(machine(top, kernel, 'blk-write-pattern', body))
    with open(log, 'w+') as out:
        p = subprocess.Popen([str(mosaic), str(ini), '-S', '--qmp', f'unix:{qmp}'], stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
        try:
            wait_until('QMP and NBD sockets', lambda: qmp.exists() and sock.exists(), p, 20)
            q = Qmp(qmp)
            # Paused: nothing of the guest's has run.  Fill the group's write bucket.
            r = subprocess.run(['qemu-io', '-f', 'raw', '-c', 'write -P 1 0 1M',
                                f'nbd+unix:///e1?socket={sock}'], capture_output=True, text=True)
            assert r.returncode == 0 and 'wrote' in r.stdout, r.stdout + r.stderr
            assert member(q, 't1')['wr-bytes'] == 1 << 20
            assert q.cmd('cont') == {'return': {}}
            held = wait_until('guest write queued in the throttle filter',
                              lambda: member(q, 'thr')['queued'] > 0 and member(q, 'thr'), p)
            assert held['wr-ops'] == 0, held
            assert 'MOSAIC-CMD blk-write-pattern' not in log.read_text()
            assert q.cmd('throttle-set-limits', {'group': 'g', 'bps-write': 0}) == {'return': {}}
            assert p.wait(120) == 0, log.read_text()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    text = log.read_text()
    assert 'MOSAIC-CMD blk-write-pattern OK' in text, text
    raw = tmp_path / 't.raw'
    subprocess.run(['qemu-img', 'convert', '-O', 'raw', img, raw], check=True)
    assert raw.read_bytes()[:65536] == pattern(65536)


def test_guest_read_only_disk(guest, tmp_path):
    img = qcow2(tmp_path / 'r.qcow2')
    before = img.read_bytes()
    out = guest('blk-write-pattern', disk(img) + '[device vb0]\ntype = virtio-blk\n'
                'drive = disk0\nread-only = on\n')
    assert 'MOSAIC-DISK vda' in out and 'MOSAIC-CMD blk-write-pattern FAIL' in out, out
    assert img.read_bytes() == before
