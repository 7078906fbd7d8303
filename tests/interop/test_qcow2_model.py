# SPDX-License-Identifier: GPL-2.0-or-later
"""Randomized, model-checked qcow2 writes (issue 10, item 1).

Random request sequences (write, write-zeroes with and without may-unmap, discard; small
and cluster-unaligned, and single requests spanning more L2 tables than the L2 cache
holds) go to a qcow2 node through an NBD export and to a reference model of the disk
(tests/interop/disk_model.py), across cluster sizes 512 B..2 MiB, with and without a
backing file.  Reads are checked against the model along the way; at the end the image,
closed, must be clean for `qemu-img check` and equal for `qemu-img compare` to a raw file
written from the model.

Seeded and reproducible: the seed is printed, and MOSAIC_QCOW2_MODEL_SEED=N replays it.
MOSAIC_QCOW2_MODEL_OPS=N runs N requests per case (default 24, a few seconds in all)."""
import os
import random
import subprocess
import time

import nbd
import pytest

from disk_model import DiskModel, PAGE
from test_nbd import daemon, uri, MB  # noqa: F401 (fixture)

GB = 1 << 30
OPS = int(os.environ.get('MOSAIC_QCOW2_MODEL_OPS', '24'))
MAX_WRITE = 8 * MB       # one NBD write (the payload limit is 32 MiB)
MAX_READ = 16 * MB

# cluster size, virtual size, l2-cache-size ('' = the default), a request of at least
# `big` bytes (the case: 512 B clusters, one zeroing spanning > 1024 L2 tables)
CASES = [
    pytest.param(512, 64 * MB, '', 56 * MB, id='512-default-cache'),
    pytest.param(512, 24 * MB + 1536, '1K', 0, id='512-tiny-cache'),
    pytest.param(2048, 48 * MB, '8K', 0, id='2K'),
    pytest.param(65536, 3 * GB // 2, '64K', GB, id='64K'),
    pytest.param(2 * MB, 96 * MB, '1', 0, id='2M'),
]


def qimg(*args):
    return subprocess.run(['qemu-img', *map(str, args)], capture_output=True, text=True)


def connect(sock):
    """An NBD connection to export e0 at sock."""
    h = nbd.NBD()
    for attempt in range(100):  # the socket file appears just before mosaic listens
        try:
            h.connect_uri(uri(sock))
            return h
        except nbd.Error:
            if attempt == 99:
                raise
            time.sleep(0.05)


def make_backing(path, size, rng):
    """A raw backing file shorter than the overlay, with random data in a few extents."""
    with open(path, 'wb') as f:
        f.truncate(size)
        for _ in range(12):
            off = rng.randrange(0, size - 1)
            n = min(rng.randrange(1, 512 * 1024), size - off)
            f.seek(off)
            f.write(rng.randbytes(n))


def random_request(rng, size, cs, big):
    kind = rng.choice(['write', 'write', 'zero', 'zero-unmap', 'discard'])
    if big:
        kind = rng.choice(['zero', 'zero-unmap', 'discard'])
    align = rng.choice([1, 512, cs])
    if big:
        n = rng.randrange(big, min(size, 2 * GB) + 1)
    elif kind == 'write':
        n = rng.choice([rng.randrange(1, 4 * cs + 2), rng.randrange(1, MAX_WRITE + 1)])
    else:
        n = rng.choice([rng.randrange(1, 4 * cs + 2), rng.randrange(1, min(size, 256 * MB))])
    n = min(max(n // align * align, align), size)
    off = rng.randrange(0, size - n + 1) // align * align
    if rng.random() < 0.1:
        off = size - n  # touch the end of the image
    return kind, off, n


def apply(h, model, rng, kind, off, n):
    if kind == 'write':
        data = rng.randbytes(n)
        h.pwrite(data, off)
        model.write(off, data)
    elif kind == 'discard':
        h.trim(n, off)
        model.discard(off, n)
    else:
        h.zero(n, off, flags=0 if kind == 'zero-unmap' else nbd.CMD_FLAG_NO_HOLE)
        model.zero(off, n)


def check(h, model, off, n, what):
    for pos in range(off, off + n, MAX_READ):
        k = min(MAX_READ, off + n - pos)
        why = model.check(pos, h.pread(k, pos))
        assert why is None, f'{what}: {why}'


@pytest.mark.parametrize('backing', [False, True], ids=['no-backing', 'backing'])
@pytest.mark.parametrize('cs,size,cache,big', CASES)
def test_random_requests_match_the_model(daemon, tmp_path, cs, size, cache, big, backing):
    seed = int(os.environ.get('MOSAIC_QCOW2_MODEL_SEED', random.randrange(1 << 32)))
    print(f'seed {seed} (MOSAIC_QCOW2_MODEL_SEED={seed} replays this case)')
    rng = random.Random(seed)
    img, base = tmp_path / 'disk.qcow2', tmp_path / 'base.raw'
    opts = ['-o', f'cluster_size={cs}']
    if backing:
        make_backing(base, size - size // 4 - 1000, rng)
        opts += ['-b', base, '-F', 'raw']
    r = qimg('create', '-q', '-f', 'qcow2', *opts, img, size)
    assert r.returncode == 0, r.stderr
    model = DiskModel(size, cs, base if backing else None)

    def boot(run):
        sock = tmp_path / f'nbd{run}.sock'
        d = daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
                   f'[blockdev disk0]\ndriver = qcow2\nfile = f0\n'
                   + (f'l2-cache-size = {cache}\n' if cache else '')
                   + f'[export e0]\nnode = disk0\nsocket = {sock}\nwritable = on\n',
                   name=f'run{run}', wait_for=[sock])
        h = connect(sock)
        assert h.get_size() == size
        return d, h

    d, h = boot(1)
    # Mosaic restarts halfway (an unchanged cache would hide what never reached the
    # disk); a big request comes before and after it, when the case has one.
    restart_at = OPS // 2
    bigs = {rng.randrange(restart_at), rng.randrange(restart_at, OPS)} if big else set()
    for i in range(OPS):
        if i == restart_at:
            h.shutdown()
            d.stop()
            d, h = boot(2)
        kind, off, n = random_request(rng, size, cs, big if i in bigs else 0)
        what = f'seed {seed}, request {i}: {kind} {n} bytes at {off}'
        apply(h, model, rng, kind, off, n)
        # Read back where the request started and ended, inside it, and anywhere.
        for p in (off, off + n - 1, off + rng.randrange(n), rng.randrange(size)):
            start = max(0, min(p - p % PAGE, size - PAGE))
            check(h, model, start, min(PAGE, size - start), what)
    # Everything the requests touched, read back; discarded clusters settle on what
    # they read (checked to be zeroes or the base).
    for i in model.unknown_pages():
        n = min(PAGE, size - i * PAGE)
        got = h.pread(n, i * PAGE)
        why = model.check(i * PAGE, got)
        assert why is None, f'seed {seed}, after the requests: {why}'
        model.settle(i, got)
    h.shutdown()
    d.stop()
    r = qimg('check', img)
    assert r.returncode == 0 and 'No errors' in r.stdout, f'seed {seed}: ' + r.stdout + r.stderr
    ref = tmp_path / 'model.raw'
    model.save_raw(ref)
    r = qimg('compare', '-f', 'raw', '-F', 'qcow2', ref, img)
    assert r.returncode == 0, f'seed {seed}: qemu-img compare: ' + r.stdout + r.stderr
