# SPDX-License-Identifier: GPL-2.0-or-later
"""What one request costs the qcow2 driver in memory does not grow with the request
(issue 10, item 5): a 2 GiB write-zeroes and a 2 GiB discard over a backing file, on an
image with small clusters (a million L2 entries to change), raise the peak RSS (VmHWM)
of the mosaic process by far less than the bookkeeping of the whole request at once."""
import nbd

from test_nbd import daemon, uri, MB  # noqa: F401 (fixture)
from test_qcow2_model import connect, qimg

GB = 1 << 30


def vm_hwm_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))


def test_2g_zero_and_discard_in_bounded_memory(daemon, tmp_path):
    img, base = tmp_path / 'disk.qcow2', tmp_path / 'base.raw'
    with open(base, 'wb') as f:
        f.truncate(4 * GB)
    r = qimg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2048', '-b', base, '-F', 'raw',
             img, 4 * GB)
    assert r.returncode == 0, r.stderr
    sock = tmp_path / 'nbd.sock'
    d = daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
               f'[blockdev disk0]\ndriver = qcow2\nfile = f0\nl2-cache-size = 1M\n'
               f'[export e0]\nnode = disk0\nsocket = {sock}\nwritable = on\n', wait_for=[sock])
    h = connect(sock)
    h.pwrite(b'\x5a' * MB, GB - MB // 2)  # data across the start of the range
    before = vm_hwm_kib(d.proc.pid)
    h.zero(2 * GB, GB, flags=nbd.CMD_FLAG_NO_HOLE)  # 1 Mi clusters become zero clusters
    zero_growth = vm_hwm_kib(d.proc.pid) - before
    h.trim(2 * GB, GB)
    growth = vm_hwm_kib(d.proc.pid) - before
    print(f'peak RSS grew by {zero_growth} KiB (write-zeroes), {growth} KiB (both)')
    # The L2 entries alone are 8 MiB, the list of changes 16 MiB: 12 MiB is room for
    # the 1 MiB cache, one chunk of changes and the allocator's noise.
    assert growth < 12 * 1024
    assert h.pread(MB // 2, GB - MB // 2) == b'\x5a' * (MB // 2)
    assert h.pread(MB, GB) == bytes(MB)
    h.shutdown()
    d.stop()
    r = qimg('check', img)
    assert r.returncode == 0 and 'No errors' in r.stdout, r.stdout + r.stderr
