"""virtio-blk seen by a real guest: the Mosaic test kernel on riscv-virt writes and
reads /dev/vda (guests/linux/init.c: mosaic.cmd=blk-write-pattern|blk-read-check)
through virtio-mmio -> virtio-blk -> [throttle] -> qcow2 -> file."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

KERNEL = 'build/guests/linux/Image-fpu'


def pattern(n):
    return bytes(((i * 7 + (i >> 9) + 0x5a) & 0xff) for i in range(n))


@pytest.fixture
def guest(mosaic, top, tmp_path):
    if not (top / KERNEL).exists():
        pytest.skip('no test kernel (guests/linux/build.sh)')
    if not shutil.which('qemu-img'):
        pytest.skip('needs qemu-utils')

    def run(cmd, body, timeout=120):
        ini = tmp_path / f'{cmd}.ini'
        ini.write_text(f'include = {top}/configs/riscv-virt-linux.ini\n[machine]\n'
                       f'append = console=ttyS0 earlycon=sbi mosaic.cmd={cmd}\n' + body)
        r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
        return r.stdout + r.stderr
    return run


def disk(img, extra=''):
    return (f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
            f'[blockdev disk0]\ndriver = qcow2\nfile = f0\n' + extra)


def test_guest_writes_and_reads_qcow2(guest, tmp_path):
    img = tmp_path / 'd.qcow2'
    assert subprocess.run(['qemu-img', 'create', '-f', 'qcow2', img, '64M'],
                          capture_output=True).returncode == 0
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


def test_guest_through_throttle_filter(guest, tmp_path):
    img = tmp_path / 't.qcow2'
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', img, '64M'], check=True,
                   capture_output=True)
    thr = '[blockdev thr]\ndriver = throttle\nfile = disk0\niops-total = 2000/s\n'
    dev = '[device vb0]\ntype = virtio-blk\ndrive = thr\n'
    out = guest('blk-write-pattern', disk(img, thr) + dev)
    assert 'MOSAIC-CMD blk-write-pattern OK' in out, out
    out = guest('blk-read-check', disk(img, thr) + dev)
    assert 'MOSAIC-CMD blk-read-check OK' in out, out


def test_guest_read_only_disk(guest, tmp_path):
    img = tmp_path / 'r.qcow2'
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', img, '64M'], check=True,
                   capture_output=True)
    before = img.read_bytes()
    out = guest('blk-write-pattern', disk(img) + '[device vb0]\ntype = virtio-blk\n'
                'drive = disk0\nread-only = on\n')
    assert 'MOSAIC-DISK vda' in out and 'MOSAIC-CMD blk-write-pattern FAIL' in out, out
    assert img.read_bytes() == before
