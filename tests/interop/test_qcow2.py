# SPDX-License-Identifier: GPL-2.0-or-later
"""qcow2 plugin against qemu-img: images qemu-img creates open (with and without
backing files), Mosaic writes them through an NBD export, and afterwards qemu-img check
is clean and qemu-img compare matches.  Hand-crafted corrupt images are refused (or
opened read-only) with a clear message and are never modified."""
import hashlib
import os
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from test_nbd import Daemon, daemon, uri, MB  # noqa: F401 (fixture)

pytestmark = pytest.mark.needs_tools('qemu-img', 'qemu-io', 'nbdcopy')


def qimg(*args):
    return subprocess.run(['qemu-img', *map(str, args)], capture_output=True, text=True)


def qio(target, *cmds, fmt='raw', extra=()):
    args = ['qemu-io', '-f', fmt, *extra]
    for c in cmds:
        args += ['-c', c]
    r = subprocess.run(args + [str(target)], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and 'fail' not in out.lower(), out
    return out


def qcow2_ini(img, sock, writable=True, ro_node=False):
    return (f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
            f'{"read-only = on" if ro_node else ""}\n'
            f'[blockdev disk0]\ndriver = qcow2\nfile = f0\n{"read-only = on" if ro_node else ""}\n'
            f'[export e0]\nnode = disk0\nsocket = {sock}\nwritable = {"on" if writable else "off"}\n')


WRITES = ['write -P 0x33 512k 4k', 'write -P 0x44 30M 3M', 'write -P 0x55 63M 1M',
          'write -P 0x66 1000 3000', 'write -z 40M 1M', 'write -z 30M 64k', 'discard 31M 1M',
          'write -P 0x77 31M 4k']


def check_clean(img):
    r = qimg('check', img)
    assert r.returncode == 0 and 'No errors' in r.stdout, r.stdout + r.stderr


def test_plain_image_written_by_mosaic(daemon, tmp_path):
    img, ref = tmp_path / 'a.qcow2', tmp_path / 'ref.raw'
    assert qimg('create', '-f', 'qcow2', img, '64M').returncode == 0
    assert qimg('create', '-f', 'raw', ref, '64M').returncode == 0
    sock = tmp_path / 'nbd.sock'
    d = daemon(qcow2_ini(img, sock), wait_for=[sock])
    qio(uri(sock), *WRITES)
    qio(ref, *[w for w in WRITES if not w.startswith('discard')])
    d.stop()
    check_clean(img)
    # A discarded range reads as anything: zero that MiB in both images, then compare.
    qio(img, 'write -z 31M 1M', fmt='qcow2')
    qio(ref, 'write -z 31M 1M', 'write -P 0x77 31M 4k')
    qio(img, 'write -P 0x77 31M 4k', fmt='qcow2')
    r = qimg('compare', '-f', 'raw', '-F', 'qcow2', ref, img)
    assert r.returncode == 0, r.stdout + r.stderr
    check_clean(img)


def test_nbdcopy_into_qcow2(daemon, tmp_path):
    img = tmp_path / 'c.qcow2'
    assert qimg('create', '-f', 'qcow2', img, '64M').returncode == 0
    src = tmp_path / 'src.raw'
    with open(src, 'wb') as f:
        for i in range(64):
            f.write(os.urandom(MB // 2) + bytes(MB // 2))  # data and holes
    sock = tmp_path / 'nbd.sock'
    d = daemon(qcow2_ini(img, sock), wait_for=[sock])
    subprocess.run(['nbdcopy', str(src), uri(sock)], check=True)
    out = tmp_path / 'out.raw'
    subprocess.run(['nbdcopy', uri(sock), str(out)], check=True)
    assert out.read_bytes() == src.read_bytes()
    d.stop()
    check_clean(img)
    assert qimg('compare', '-f', 'raw', '-F', 'qcow2', src, img).returncode == 0


def test_backing_chain(daemon, tmp_path):
    base, mid, top = tmp_path / 'base.qcow2', tmp_path / 'mid.qcow2', tmp_path / 'top.qcow2'
    assert qimg('create', '-f', 'qcow2', base, '64M').returncode == 0
    qio(base, 'write -P 0x11 0 2M', 'write -P 0x22 10M 64k', fmt='qcow2')
    assert qimg('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', mid).returncode == 0
    qio(mid, 'write -P 0x99 1M 64k', fmt='qcow2')
    assert qimg('create', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', top).returncode == 0
    base_md5 = hashlib.md5(base.read_bytes()).hexdigest()
    mid_md5 = hashlib.md5(mid.read_bytes()).hexdigest()
    sock = tmp_path / 'nbd.sock'
    d = daemon(qcow2_ini(top, sock), wait_for=[sock])
    qio(uri(sock), 'read -P 0x11 0 1M', 'read -P 0x99 1M 64k', 'read -P 0x22 10M 64k',
        'read -P 0 20M 1M', 'write -P 0x33 512k 4k', 'read -P 0x11 516k 4k',
        'read -P 0x33 512k 4k', 'write -P 0x44 1M 512', 'read -P 0x99 1049088 4096',
        'write -z 10M 64k', 'read -P 0 10M 64k')
    m = subprocess.check_output(['nbdinfo', '--map', uri(sock)], text=True)
    assert 'data' in m
    d.stop()
    # The backing files were only read.
    assert hashlib.md5(base.read_bytes()).hexdigest() == base_md5
    assert hashlib.md5(mid.read_bytes()).hexdigest() == mid_md5
    check_clean(top)
    ref = tmp_path / 'ref.raw'
    assert qimg('convert', '-O', 'raw', mid, ref).returncode == 0
    qio(ref, 'write -P 0x33 512k 4k', 'write -P 0x44 1M 512', 'write -z 10M 64k')
    r = qimg('compare', '-f', 'raw', '-F', 'qcow2', ref, top)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize('cluster', [512, 4096, 65536])
def test_kill_leaves_consistent_image(mosaic, tmp_path, cluster):
    # 512-byte clusters also grow the refcount table while being killed.
    img = tmp_path / 'k.qcow2'
    assert qimg('create', '-f', 'qcow2', '-o', f'cluster_size={cluster}', img,
                '256M').returncode == 0
    sock = tmp_path / 'nbd.sock'
    for attempt in range(3):
        d = Daemon(mosaic, tmp_path, qcow2_ini(img, sock), name=f'k{attempt}', wait_for=[sock])
        fio = subprocess.Popen(['fio', '--name=k', '--ioengine=nbd', f'--uri={uri(sock)}',
                                '--rw=randwrite', '--bs=4k', '--size=256M', '--iodepth=32',
                                '--time_based', '--runtime=10'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.7 + attempt * 0.4)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        fio.wait(30)
        d.log.close()
        r = qimg('check', img)
        # 0: clean, 3: leaked clusters only.  Corruption (2) is never acceptable.
        assert r.returncode in (0, 3), r.stdout + r.stderr
        assert 'ERROR' not in r.stdout, r.stdout
    qimg('check', '-r', 'leaks', img)
    check_clean(img)


# ---- corrupt images ----

def patch(path, off, fmt, value):
    with open(path, 'r+b') as f:
        f.seek(off)
        f.write(struct.pack(fmt, value))


def hdr(path):
    b = Path(path).read_bytes()[:104]
    return {'cluster_bits': struct.unpack('>I', b[20:24])[0],
            'l1_size': struct.unpack('>I', b[36:40])[0],
            'l1_off': struct.unpack('>Q', b[40:48])[0],
            'rt_off': struct.unpack('>Q', b[48:56])[0]}


def make(tmp_path, name, size='64M'):
    p = tmp_path / name
    assert qimg('create', '-f', 'qcow2', p, size).returncode == 0
    qio(p, 'write -P 0x5a 0 256k', fmt='qcow2')
    return p


def l2_offset(path):
    h = hdr(path)
    with open(path, 'rb') as f:
        f.seek(h['l1_off'])
        return struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00


CORRUPTIONS = {
    'l1-past-end': lambda p: patch(p, 40, '>Q', 1 << 40),
    'reftable-past-end': lambda p: patch(p, 48, '>Q', 1 << 40),
    'l1-overlaps-reftable': lambda p: patch(p, 40, '>Q', hdr(p)['rt_off']),
    'l1-overlaps-header': lambda p: patch(p, 40, '>Q', 0),
    'absurd-size': lambda p: patch(p, 24, '>Q', 1 << 62),
    'l1-too-small': lambda p: patch(p, 36, '>I', 0),
    'huge-l1': lambda p: patch(p, 36, '>I', 0x7fffffff),
    'bad-cluster-bits': lambda p: patch(p, 20, '>I', 40),
    'bad-version': lambda p: patch(p, 4, '>I', 9),
    'unknown-incompat': lambda p: patch(p, 72, '>Q', 1 << 40),
    'l2-past-end': lambda p: patch(p, hdr(p)['l1_off'], '>Q', (1 << 63) | (1 << 45)),
    'l2-is-l1': lambda p: patch(p, hdr(p)['l1_off'], '>Q', (1 << 63) | hdr(p)['l1_off']),
    'l2-is-reftable': lambda p: patch(p, hdr(p)['l1_off'], '>Q', (1 << 63) | hdr(p)['rt_off']),
    'data-past-end': lambda p: patch(p, l2_offset(p), '>Q', (1 << 63) | (1 << 44)),
    'backing-name-overflow': lambda p: (patch(p, 8, '>Q', 65000), patch(p, 16, '>I', 1000)),
    # Boundaries: one step past each limit.
    'cluster-bits-22': lambda p: patch(p, 20, '>I', 22),
    'cluster-bits-8': lambda p: patch(p, 20, '>I', 8),
    'l1-runs-past-end': lambda p: (patch(p, 40, '>Q', last_cluster(p)),
                                   patch(p, 36, '>I', (1 << hdr(p)['cluster_bits']) // 8 + 1)),
    'reftable-runs-past-end': lambda p: (patch(p, 48, '>Q', last_cluster(p)),
                                         patch(p, 56, '>I', 2)),
    'backing-name-past-cluster': lambda p: (patch(p, 8, '>Q', (1 << hdr(p)['cluster_bits']) - 10),
                                            patch(p, 16, '>I', 100)),
}
# What each refusal must say (the reason, not just any error).
REASON = {
    'l1-past-end': 'L1 table at 0x10000000000 is past the end of the file',
    'reftable-past-end': 'refcount table at 0x10000000000 is misaligned or past the end',
    'l1-overlaps-reftable': 'header, L1 table and refcount table overlap',
    'l1-overlaps-header': 'L1 table at 0x0 ',
    'absurd-size': 'virtual size 4611686018427387904 is absurd',
    'l1-too-small': 'L1 table (0 entries) is too small for the size',
    'huge-l1': 'L1 table of 2147483647 entries is too large',
    'bad-cluster-bits': 'cluster size 2^40 is invalid',
    'bad-version': 'qcow2 version 9 is not supported',
    'unknown-incompat': 'unknown incompatible qcow2 features 0x10000000000',
    'l2-past-end': 'L1 entry 0 points at 0x200000000000, misaligned or past the end',
    'l2-is-l1': 'overlaps the header, L1 or refcount table',
    'l2-is-reftable': 'overlaps the header, L1 or refcount table',
    'data-past-end': 'L2 entry 0 of the table at',
    'backing-name-overflow': 'backing file name (offset 65000, 1000 bytes) is invalid',
    'cluster-bits-22': 'cluster size 2^22 is invalid',
    'cluster-bits-8': 'cluster size 2^8 is invalid',
    'l1-runs-past-end': 'is past the end of the file',
    'reftable-runs-past-end': 'is misaligned or past the end of the file',
    'backing-name-past-cluster': 'backing file name (offset 65526, 100 bytes) is invalid',
}


def last_cluster(path):
    cs = 1 << hdr(path)['cluster_bits']
    return (Path(path).stat().st_size // cs - 1) * cs


@pytest.mark.parametrize('kind', sorted(CORRUPTIONS))
def test_corrupt_image_refused_unchanged(mosaic, tmp_path, kind):
    """Each corruption is refused at start-up (opened writable, it would run for ever and
    time out here) with one clear line giving its reason, and the file is not modified."""
    img = make(tmp_path, f'{kind}.qcow2')
    CORRUPTIONS[kind](img)
    before = hashlib.md5(img.read_bytes()).hexdigest()
    ini = tmp_path / 'bad.ini'
    ini.write_text('[machine]\ntype = none\n' + qcow2_ini(img, tmp_path / 'nbd.sock'))
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith('mosaic: ') and r.stderr.count('\n') <= 3, r.stderr
    assert REASON[kind] in r.stderr, r.stderr
    assert 'Sanitizer' not in r.stderr
    assert hashlib.md5(img.read_bytes()).hexdigest() == before


def test_corrupt_cluster_fails_alone_read_only(daemon, tmp_path):
    """A data cluster pointing past the end of the file: opened read-only, reads of that
    cluster fail with an I/O error, the rest of the disk reads, nothing is written."""
    img = make(tmp_path, 'dpe.qcow2')
    CORRUPTIONS['data-past-end'](img)
    before = hashlib.md5(img.read_bytes()).hexdigest()
    sock = tmp_path / 'ro.sock'
    d = daemon(qcow2_ini(img, sock, writable=False, ro_node=True), wait_for=[sock])
    cluster = 1 << hdr(img)['cluster_bits']
    r = subprocess.run(['qemu-io', '-r', '-f', 'raw', '-c', f'read 0 {cluster}', uri(sock)],
                       capture_output=True, text=True, timeout=60)
    assert 'read failed' in r.stdout + r.stderr, r.stdout + r.stderr
    qio(uri(sock), f'read -P 0x5a {cluster} {256 * 1024 - cluster}', 'read -P 0 1M 1M',
        extra=('-r',))
    assert d.proc.poll() is None, d.output()
    assert 'Sanitizer' not in d.output()
    assert hashlib.md5(img.read_bytes()).hexdigest() == before


def test_corrupt_refcount_opened_read_only_only(mosaic, daemon, tmp_path):
    img = make(tmp_path, 'rc.qcow2')
    # Zero the whole first refcount block: every used cluster now has refcount 0.
    h = hdr(img)
    with open(img, 'rb') as f:
        f.seek(h['rt_off'])
        rb = struct.unpack('>Q', f.read(8))[0]
    with open(img, 'r+b') as f:
        f.seek(rb)
        f.write(bytes(1 << h['cluster_bits']))
    before = hashlib.md5(img.read_bytes()).hexdigest()
    ini = tmp_path / 'w.ini'
    ini.write_text('[machine]\ntype = none\n' + qcow2_ini(img, tmp_path / 'w.sock'))
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode == 1 and 'refcount' in r.stderr and 'read-only' in r.stderr, r.stderr
    sock = tmp_path / 'ro.sock'
    daemon(qcow2_ini(img, sock, writable=False, ro_node=True), wait_for=[sock])
    qio(uri(sock), 'read -P 0x5a 0 256k', extra=('-r',))
    assert hashlib.md5(img.read_bytes()).hexdigest() == before


def test_backing_chain_loop_refused(mosaic, tmp_path):
    a, b = tmp_path / 'a.qcow2', tmp_path / 'b.qcow2'
    assert qimg('create', '-f', 'qcow2', b, '64M').returncode == 0
    assert qimg('create', '-f', 'qcow2', '-b', 'b.qcow2', '-F', 'qcow2', a).returncode == 0
    assert qimg('rebase', '-u', '-b', 'a.qcow2', '-F', 'qcow2', b).returncode == 0
    ini = tmp_path / 'loop.ini'
    ini.write_text('[machine]\ntype = none\n' + qcow2_ini(a, tmp_path / 's.sock', ro_node=True,
                                                           writable=False))
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode == 1 and 'loop' in r.stderr, r.stderr


def test_small_clusters_grow_refcount_table(daemon, tmp_path):
    # 512-byte clusters: qemu-img's one-cluster refcount table covers 8 MiB of file,
    # so writing 24 MiB makes Mosaic grow the refcount table (twice).
    img = tmp_path / 's.qcow2'
    assert qimg('create', '-f', 'qcow2', '-o', 'cluster_size=512', img, '64M').returncode == 0
    src = tmp_path / 's.raw'
    with open(src, 'wb') as f:
        f.write(os.urandom(24 * MB))
        f.truncate(64 * MB)
    sock = tmp_path / 'nbd.sock'
    d = daemon(qcow2_ini(img, sock), wait_for=[sock])
    subprocess.run(['nbdcopy', str(src), uri(sock)], check=True)
    d.stop()
    check_clean(img)
    r = qimg('compare', '-f', 'raw', '-F', 'qcow2', src, img)
    assert r.returncode == 0, r.stdout


def test_compressed_image_reads(mosaic, daemon, tmp_path):
    raw, img = tmp_path / 'c.raw', tmp_path / 'c.qcow2'
    with open(raw, 'wb') as f:
        f.write(os.urandom(2 * MB) + b'mosaic!!' * (MB // 2) + bytes(2 * MB))
    assert qimg('convert', '-c', '-O', 'qcow2', raw, img).returncode == 0
    sock = tmp_path / 'nbd.sock'
    daemon(qcow2_ini(img, sock, writable=False, ro_node=True), wait_for=[sock])
    out = tmp_path / 'c.out'
    subprocess.run(['nbdcopy', uri(sock), str(out)], check=True)
    assert out.read_bytes() == raw.read_bytes()
    # Writing compressed images is not supported: refused with the reason.
    ini = tmp_path / 'w.ini'
    ini.write_text('[machine]\ntype = none\n' + qcow2_ini(img, tmp_path / 'w.sock'))
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode == 1 and 'compressed' in r.stderr, r.stderr
