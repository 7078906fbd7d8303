#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NBD export benchmark: Mosaic ([machine] type = none) against qemu-nbd in the same run,
same image, same fio jobs (nbd engine): sequential read (1 MiB, depth 8) and 4 KiB random
read (depth 32); then block-throttle measured/configured.  Prints one line per figure
and the ratio.  Usage: bench/block/bench_nbd.py [--variant release] [--seconds 5]"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
MB = 1 << 20


def wait_for(path, proc, timeout=10):
    end = time.time() + timeout
    while not Path(path).exists():
        if proc.poll() is not None or time.time() > end:
            sys.exit(f'server did not start: {proc.args}')
        time.sleep(0.02)


def fio(sock, rw, bs, depth, seconds, name=''):
    r = subprocess.run(['fio', '--name=b', '--ioengine=nbd', f'--uri=nbd+unix:///{name}?socket={sock}',
                        f'--rw={rw}', f'--bs={bs}', f'--iodepth={depth}', '--size=1G',
                        f'--runtime={seconds}', '--time_based', '--output-format=json'],
                       capture_output=True, text=True, check=True)
    j = json.loads(r.stdout[r.stdout.index('{'):])['jobs'][0]
    d = j['read'] if 'read' in rw else j['write']
    return d['iops'], d['bw_bytes']


def mosaic(exe, tmp, body, sock, tag):
    ini = Path(tmp) / f'{tag}.ini'
    ini.write_text('[machine]\ntype = none\n' + body)
    p = subprocess.Popen([str(exe), str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / 'xdg')))
    wait_for(sock, p)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default=os.environ.get('MOSAIC_VARIANT', 'release'))
    ap.add_argument('--seconds', type=int, default=5)
    a = ap.parse_args()
    exe = TOP / 'build' / a.variant / 'core' / 'mosaic'
    with tempfile.TemporaryDirectory() as tmp:
        img = Path(tmp) / 'disk.img'
        with open(img, 'wb') as f:  # 1 GiB of data (not holes: every read touches the file)
            chunk = os.urandom(MB)
            for _ in range(1024):
                f.write(chunk)
        ms, qs = Path(tmp) / 'm.sock', Path(tmp) / 'q.sock'
        jobs = [('seq read 1M d8 (MiB/s)', 'read', '1M', 8, 1), ('4K rand read d32 (IOPS)', 'randread', '4k', 32, 0)]
        print(f'{"benchmark":28} {"mosaic":>12} {"qemu-nbd":>12} {"ratio":>7}')
        for label, rw, bs, depth, use_bw in jobs:
            m = mosaic(exe, tmp, f'[blockdev f0]\ndriver = file\nfilename = {img}\nread-only = on\n'
                       f'[export e0]\nnode = f0\nsocket = {ms}\nname = \n', ms, 'm')
            mi, mb = fio(ms, rw, bs, depth, a.seconds)
            stop(m)
            q = subprocess.Popen(['qemu-nbd', '-t', '-r', '-f', 'raw', '-k', str(qs), '-e', '8',
                                  '--cache=writeback', str(img)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            wait_for(qs, q)
            qi, qb = fio(qs, rw, bs, depth, a.seconds)
            stop(q)
            mv, qv = (mb / MB, qb / MB) if use_bw else (mi, qi)
            print(f'{label:28} {mv:12.1f} {qv:12.1f} {mv / qv:7.2f}')
        for label, key, val, rw, bs, unit in [
                ('throttle iops-total=500/s', 'iops-total', '500/s', 'randread', '4k', 500),
                ('throttle bps-read=16M/s', 'bps-read', '16M/s', 'read', '64k', 16 * MB)]:
            m = mosaic(exe, tmp, f'[blockdev f0]\ndriver = file\nfilename = {img}\nread-only = on\n'
                       f'[blockdev t]\ndriver = throttle\nfile = f0\n{key} = {val}\n'
                       f'[export e0]\nnode = t\nsocket = {ms}\nname = \n', ms, 't')
            i, b = fio(ms, rw, bs, 8, a.seconds)
            stop(m)
            got = i if key.startswith('iops') else b
            print(f'{label:28} measured/configured {got / unit:.3f}')


if __name__ == '__main__':
    main()
