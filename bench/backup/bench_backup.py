#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Backup benchmark of a running storage-only machine (about a minute per size).

1. Full backup throughput against `qemu-img convert -t writeback -O qcow2` of the same
   image (random data everywhere, so nothing can be skipped; page cache warm for both),
   as a ratio (goal >= 0.8 in every run): for the backup job alone (the tool's `started`
   to `completed` lines) and for `mosaic-backup full` end to end as a user runs it
   (default options: the checksum of the new file, made by the machine while it writes
   it), also with --no-checksum.  Runs alternate (qemu-img first in even runs, the tool
   first in odd ones), each after a sync; every run's ratio is printed, wall clock and
   CPU time (CPU time is what other work on the machine's cores skews least), then the
   worst and the best.  Where the tool's time goes: start-up to `started` (tool start,
   QMP, `qemu-img create`), the job, `completed` to exit (checksum, manifest, bitmaps).

   Durability is the same on both sides (strace, 1 GiB): both make the empty qcow2 with
   qemu-img's few small fdatasync()s (convert's own create; the tool's `qemu-img create`),
   and both end with an fdatasync() of the whole new file (qemu-img -t writeback: after
   the copy and again at close, the second finding little left; the job: its final
   flush, after the defer-flush filter held the qcow2 driver's intermediate ones back).
   The tool adds an fsync of manifest.json and of its directory (so the point survives
   a crash once the tool says it is done).
2. An incremental with 10% of the disk dirty (1 MiB writes spread over the disk) as a
   fraction of the full backup's time (goal <= 0.2), job alone and end to end.
3. The cost of copy-before-write for a writer: the throughput of qemu-io writes over
   NBD while a rate-limited backup runs (every cluster written is first copied to the
   backup target; the job is then let loose with block-job-set-speed) as a ratio of the
   same writes alone, alternating, every run and the best printed.
qemu-img reads the image with -U (shared): the machine has it open but is idle.

Usage: bench/backup/bench_backup.py [--variant release] [--size-mb 256 2048] [--runs 3]
Each size is measured on its own (a fresh image and machine)."""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
MB = 1 << 20


def cpu_now(pid=None):
    """CPU seconds (user + system) of the finished children, plus process `pid`'s."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = r.ru_utime + r.ru_stime
    if pid:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        t += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    return t


def timed(args):
    t = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def timed_cpu(args):
    """(wall seconds, CPU seconds) of a command."""
    c = cpu_now()
    return timed(args), cpu_now() - c


def run_tool(tool, kind, qmp, repo, *extra, cpu=None):
    """{'job', 'e2e', 'before', 'after'} seconds of one mosaic-backup run (before: start
    to `started`; after: `completed` to exit); with cpu=[mosaic pid], the CPU seconds of
    the tool, what it ran and mosaic are appended to it."""
    c0 = cpu_now(cpu[0]) if cpu else 0
    t0 = time.monotonic()
    p = subprocess.Popen([str(tool), kind, '--socket', str(qmp), '--to', str(repo), '--json',
                          *extra], stdout=subprocess.PIPE, text=True)
    started = completed = None
    for line in p.stdout:
        ev = json.loads(line)['event']
        if ev == 'started':
            started = time.monotonic()
        elif ev == 'completed':
            completed = time.monotonic()
    if p.wait():
        raise SystemExit(f'mosaic-backup {kind} failed')
    end = time.monotonic()
    if cpu:
        cpu.append(cpu_now(cpu[0]) - c0)
    return {'job': completed - started, 'e2e': end - t0, 'before': started - t0,
            'after': end - completed}


def ratios(refs, tools):
    """Each run's ratio reference / tool, and the text that lists them."""
    r = [a / b for a, b in zip(refs, tools)]
    return r, ' '.join(f'{x:.2f}' for x in r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='release')
    ap.add_argument('--size-mb', type=int, nargs='+', default=[256, 2048])
    ap.add_argument('--runs', type=int, default=3)
    a = ap.parse_args()
    for size in a.size_mb:
        bench_size(a, size)


def bench_size(a, size):
    build = TOP / 'build' / a.variant
    mosaic = build / 'core' / 'mosaic'
    tool = build / 'tools' / 'mosaic-backup' / 'mosaic-backup'
    ctl = build / 'tools' / 'mosaic-ctl' / 'mosaic-ctl'
    with tempfile.TemporaryDirectory(dir=os.environ.get('BENCH_DIR')) as td:
        td = Path(td)
        img = td / 'disk.img'
        with open(img, 'wb') as f:  # data everywhere: nothing can be skipped
            for _ in range(size):
                f.write(os.urandom(MB))
        os.sync()  # no writeback of the image left to slow the first figure
        ini = td / 'm.ini'
        qmp, nbd = td / 'qmp.sock', td / 'nbd.sock'
        ini.write_text(f'[machine]\ntype = none\n[blockdev f0]\ndriver = file\nfilename = {img}\n'
                       f'[blockdev disk0]\ndriver = raw\nfile = f0\n'
                       f'[export e0]\nnode = disk0\nsocket = {nbd}\nwritable = on\n')
        p = subprocess.Popen([str(mosaic), str(ini), '--qmp', f'unix:{qmp},server,wait=off'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (qmp.exists() and nbd.exists()):
            time.sleep(0.02)
        io = ['qemu-io', '-f', 'raw', f'nbd+unix:///e0?socket={nbd}']
        try:
            # alternating, each after a sync, so page cache and writeback treat all alike
            refs, ref_cpu, unsafe = [], [], []
            tools = {(): [], ('--no-checksum',): []}  # run_tool results
            tool_cpu = {(): [], ('--no-checksum',): []}

            def reference():
                # -t writeback: flushed at the end, as the job flushes its target (the
                # default, unsafe, leaves the data in the page cache); unsafe for reference
                for cache in ('writeback', 'unsafe'):
                    wall, cpu = timed_cpu(['qemu-img', 'convert', '-U', '-t', cache, '-f', 'raw',
                                           '-O', 'qcow2', str(img), str(td / 'ref.qcow2')])
                    if cache == 'writeback':
                        refs.append(wall)
                        ref_cpu.append(cpu)
                    else:
                        unsafe.append(wall)
                    os.unlink(td / 'ref.qcow2')
                    os.sync()

            def backup(i):
                for extra in ((), ('--no-checksum',)):
                    repo = td / f'full{i}{len(extra)}'
                    cpu = [p.pid]
                    tools[extra].append(run_tool(tool, 'full', qmp, repo, *extra, cpu=cpu))
                    tool_cpu[extra].append(cpu[1])
                    shutil.rmtree(repo)
                    os.sync()

            for i in range(a.runs):
                for step in ((reference, lambda: backup(i)) if i % 2 == 0 else
                             (lambda: backup(i), reference)):
                    step()
            ref = min(refs)
            print(f'qemu-img convert {size} MiB -> qcow2: -t writeback best {ref:.2f}s, '
                  f'{size / ref:.0f} MiB/s (the reference), runs '
                  + ' '.join(f'{x:.2f}s' for x in refs) + f'; -t unsafe (no flush) best '
                  f'{min(unsafe):.2f}s, {size / min(unsafe):.0f} MiB/s')
            job = min(t['job'] for t in tools[()] + tools[('--no-checksum',)])
            print(f'full backup {size} MiB, job alone: best {job:.2f}s, {size / job:.0f} MiB/s, '
                  f'ratio to qemu-img {ref / job:.2f} (goal >= 0.8)')
            e2e = min(t['e2e'] for t in tools[()])
            for extra, what in (((), 'tool end to end (default: with checksum)'),
                                (('--no-checksum',), 'tool end to end --no-checksum')):
                runs = tools[extra]
                walls = [t['e2e'] for t in runs]
                wr, wtext = ratios(refs, walls)
                cr, ctext = ratios(ref_cpu, tool_cpu[extra])
                best = min(walls)
                print(f'full backup {size} MiB, {what}: best {best:.2f}s, {size / best:.0f} '
                      f'MiB/s, ratio of bests {ref / best:.2f}; wall ratio per run {wtext} '
                      f'(worst {min(wr):.2f}); CPU time (tool, qemu-img create, mosaic) per run '
                      + ' '.join(f'{x:.3f}s' for x in tool_cpu[extra]) + ' vs qemu-img '
                      + ' '.join(f'{x:.3f}s' for x in ref_cpu) + f', ratio per run {ctext} '
                      f'(worst {min(cr):.2f}) (goal >= 0.8)')
                print(f'    where its time goes (mean of {len(runs)}): start-up to started '
                      f'{sum(t["before"] for t in runs) / len(runs):.3f}s, job '
                      f'{sum(t["job"] for t in runs) / len(runs):.3f}s, completed to exit '
                      f'{sum(t["after"] for t in runs) / len(runs):.3f}s')

            # incremental with 10% dirty: the chain's base is a fresh full
            repo = td / 'chain'
            run_tool(tool, 'full', qmp, repo)
            os.sync()
            writes = []
            for off in range(0, size, 10):
                writes += ['-c', f'write -P 0x5a {off}M 1M']
            incs = []
            for i in range(a.runs):
                subprocess.run(io + writes, check=True, stdout=subprocess.DEVNULL)
                os.sync()
                incs.append(run_tool(tool, 'incremental', qmp, repo))
            ijob = min(t['job'] for t in incs)
            ie2e = min(t['e2e'] for t in incs)
            dirty = len(range(0, size, 10))
            print(f'incremental, {dirty} MiB dirty of {size} MiB ({100 * dirty / size:.0f}%): '
                  f'job alone {ijob:.2f}s = {ijob / job:.2f} of the full job; end to end '
                  f'{ie2e:.2f}s = {ie2e / e2e:.2f} of the full run (goal <= 0.2)')
            shutil.rmtree(repo)

            # copy-before-write cost for the guest: alternately alone and during a backup
            wmb = min(size, 64)
            wio = io + ['-c', f'write 0 {wmb}M']
            plain, cbw = [], []
            for i in range(a.runs):
                plain.append(timed(wio))
                bp = subprocess.Popen([str(tool), 'full', '--socket', str(qmp), '--to',
                                       str(td / f'c{i}'), '--speed', str(MB)],
                                      stdout=subprocess.DEVNULL)
                while not json.loads(subprocess.check_output(
                        [str(ctl), str(qmp), 'query-jobs']))['jobs']:
                    time.sleep(0.02)
                cbw.append(timed(wio))
                subprocess.run([str(ctl), str(qmp), 'block-job-set-speed',
                                'id=mosaic-backup-disk0-1', 'speed=0'], check=True,
                               stdout=subprocess.DEVNULL)
                if bp.wait():
                    raise SystemExit('mosaic-backup full (copy-before-write run) failed')
                shutil.rmtree(td / f'c{i}')
                os.sync()
            _, ptext = ratios(plain, cbw)
            print(f'guest write {wmb} MiB over NBD: alone {min(plain):.2f}s, during a backup '
                  f'(copy-before-write) {min(cbw):.2f}s: throughput ratio (best/best) '
                  f'{min(plain) / min(cbw):.2f} (1.0: no slowdown), per run {ptext}; slowdown '
                  f'{min(cbw) / min(plain):.2f}x')
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait()


if __name__ == '__main__':
    sys.exit(main())
