# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed corpora for the qcow2 fuzzers (called by build.sh with the output directory):
images qemu-img makes (cluster sizes, a backing file, many L2 tables, persistent
bitmaps), hand-made images with bitmaps that share tables or data, and byte strings for
the cache and iovec fuzzers (long operation sequences, many iovecs)."""
import os
import random
import struct
import subprocess
import sys
import tempfile

out = sys.argv[1]
LIMIT = 300000  # the fuzzers run with -max_len=300000


def save(corpus, name, data):
    with open(os.path.join(out, corpus, name), 'wb') as f:
        f.write(data[:LIMIT])


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def qemu_images():
    with tempfile.TemporaryDirectory() as tmp:
        def img(name, cs, size, *cmds, extra=()):
            p = os.path.join(tmp, name)
            run('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', f'cluster_size={cs}', *extra,
                p, size)
            for c in cmds:
                run('qemu-io', '-f', 'qcow2', '-c', c, p)
            return p
        for cs in (512, 4096, 65536):
            p = img(f's{cs}', cs, '16M', 'write -P 0x5a 0 8k')
            save('corpus-qcow2', f's{cs}', open(p, 'rb').read())
        p = img('b', 65536, '16M', extra=('-b', os.path.join(tmp, 's512'), '-F', 'qcow2'))
        save('corpus-qcow2', 'backing', open(p, 'rb').read())
        # Many L2 tables: 512-byte clusters (an L2 table per 32 KiB), writes all over.
        p = img('l2', 512, '8M', *[f'write -P 0x{i:02x} {i * 160}k 1k' for i in range(48)])
        save('corpus-qcow2', 'many-l2', open(p, 'rb').read())
        # Persistent bitmaps, one of them with bits set.
        p = img('bm', 4096, '64M', 'write -P 1 1M 64k')
        for name, g in (('a', '4096'), ('b', '65536')):
            run('qemu-img', 'bitmap', '--add', '-g', g, p, name)
        run('qemu-img', 'bitmap', '--enable', p, 'a')
        run('qemu-io', '-f', 'qcow2', '-c', 'write -P 2 2M 64k', p)
        save('corpus-qcow2', 'bitmaps', open(p, 'rb').read())


def bitmap_image(tables, dir_tables, data=None):
    """512-byte clusters, 1 MiB: header 0, refcount table 1, block 2, L1 3, then the
    bitmap tables (one entry each: granularity 512 over 1 MiB), then the directory.
    dir_tables: the table cluster of each directory entry (equal ones share a table);
    data: the cluster every table entry points at (None: all bits set)."""
    cs, nt = 512, len(tables)
    dir_c = 4 + nt
    f = bytearray(cs * (dir_c + 2))
    nb = len(dir_tables)
    struct.pack_into('>IIQIIQIIQQIIQQQQII', f, 0, 0x514649fb, 3, 0, 0, 9, 1 << 20, 0, 32,
                     3 * cs, 1 * cs, 1, 0, 0, 0, 0, 1, 4, 104)
    struct.pack_into('>IIIIQQ', f, 104, 0x23852875, 24, nb, 0, 32 * nb, dir_c * cs)
    struct.pack_into('>Q', f, cs, 2 * cs)
    for c in range(dir_c + 2):
        struct.pack_into('>H', f, 2 * cs + 2 * c, 1)
    for t in tables:
        struct.pack_into('>Q', f, t * cs, data * cs if data else 1)
    for i, t in enumerate(dir_tables):
        struct.pack_into('>QIIBBHI2s', f, dir_c * cs + 32 * i, t * cs, 1, 2, 1, 9, 2, 0,
                         b'b%d' % i)
    return bytes(f)


qemu_images()
save('corpus-qcow2', 'bm-valid', bitmap_image([4, 5], [4, 5], data=7))
save('corpus-qcow2', 'bm-shared-table', bitmap_image([4], [4, 4, 4, 4]))
save('corpus-qcow2', 'bm-shared-data', bitmap_image([4, 5], [4, 5], data=4))
rng = random.Random(10)
for i in range(4):
    save('corpus-q2-cache', f'ops{i}', bytes([i * 3]) + rng.randbytes(4000))
    save('corpus-q2-iov', f'iov{i}', rng.randbytes(8 + 2 * 250 * (i + 1) // 4))
