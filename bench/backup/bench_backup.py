#!/usr/bin/env python3
"""Backup benchmark: `mosaic-backup full` of a running storage-only machine against
`qemu-img convert -O qcow2` of the same (idle) image, and the cost of copy-before-write
for a writer during the backup (qemu-io 64 KiB writes, with and without a job running).
Prints one line per figure and the ratio.
Usage: bench/backup/bench_backup.py [--variant release] [--size-mb 512]"""
import argparse
import os
import signal
import socket
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
MB = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='release')
    ap.add_argument('--size-mb', type=int, default=512)
    a = ap.parse_args()
    build = TOP / 'build' / a.variant
    mosaic = build / 'core' / 'mosaic'
    tool = build / 'tools' / 'mosaic-backup' / 'mosaic-backup'
    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        img = td / 'disk.img'
        with open(img, 'wb') as f:  # data everywhere: nothing can be skipped
            chunk = os.urandom(MB)
            for _ in range(a.size_mb):
                f.write(chunk)
        t = time.time()
        subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', str(img),
                        str(td / 'ref.qcow2')], check=True)
        ref = time.time() - t
        ini = td / 'm.ini'
        qmp, nbd = td / 'qmp.sock', td / 'nbd.sock'
        ini.write_text(f'[machine]\ntype = none\n[blockdev f0]\ndriver = file\nfilename = {img}\n'
                       f'[blockdev disk0]\ndriver = raw\nfile = f0\n'
                       f'[export e0]\nnode = disk0\nsocket = {nbd}\nwritable = on\n')
        p = subprocess.Popen([str(mosaic), str(ini), '--qmp', f'unix:{qmp},server,wait=off'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (qmp.exists() and nbd.exists()):
            time.sleep(0.02)
        try:
            t = time.time()
            subprocess.run([str(tool), 'full', '--socket', str(qmp), '--to', str(td / 'b')],
                           check=True, stdout=subprocess.DEVNULL)
            ours = time.time() - t
            print(f'full backup {a.size_mb} MiB: mosaic-backup {a.size_mb / ours:.0f} MiB/s, '
                  f'qemu-img convert {a.size_mb / ref:.0f} MiB/s, ratio {ref / ours:.2f}')
            io = ['qemu-io', '-f', 'raw', f'nbd+unix:///e0?socket={nbd}', '-c',
                  f'write 0 {min(a.size_mb, 128)}M']
            t = time.time()
            subprocess.run(io, check=True, stdout=subprocess.DEVNULL)
            plain = time.time() - t
            bp = subprocess.Popen([str(tool), 'full', '--socket', str(qmp), '--to',
                                   str(td / 'c'), '--speed', str(MB)], stdout=subprocess.DEVNULL)
            time.sleep(0.3)
            t = time.time()
            subprocess.run(io, check=True, stdout=subprocess.DEVNULL)
            cbw = time.time() - t
            bp.wait()
            print(f'guest write {min(a.size_mb, 128)} MiB: alone {plain:.2f}s, during a backup '
                  f'(copy-before-write) {cbw:.2f}s, slowdown {cbw / plain:.2f}x')
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait()


if __name__ == '__main__':
    sys.exit(main())
