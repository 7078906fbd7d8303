# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs inside the outer guest of tests/nested-kvm (chrooted into the host's tree, with
/dev/kvm): boots the x86 busybox guest (guests/x86-busybox) in the scenarios asked for
and writes what it saw to JOBDIR/results.json, one entry per scenario: exit status,
console and log text, seconds until the guest's MOSAIC-X86-UP marker, total seconds.

usage: inner_runs.py MOSAIC GUESTDIR JOBDIR SCENARIO...
  blk2        2 vCPUs, started paused: monitor query-status/query-cpus-fast, cont, stop,
              cont mid-boot; the guest reads and writes virtio-blk JOBDIR/disk.raw, powers off
  mmio1       1 vCPU, the guest reads unmapped MMIO, powers off
  shell       configs/x86-microvm-linux.ini as shipped: a command typed at the busybox
              shell, then `poweroff`
  boot1       1 vCPU, boot to the marker and power off            (benchmark)
  qemuboot1   the same on qemu-system-x86_64 -accel kvm -M microvm (benchmark)
  exits1      PIO/MMIO round trips timed by the guest, on Mosaic  (benchmark)
  qemuexits1  the same on QEMU                                     (benchmark)"""
import json
import socket
import subprocess
import sys
import threading
import time

MOSAIC, GUEST, JOB = sys.argv[1:4]
SCENARIOS = sys.argv[4:]
MARKER = b'MOSAIC-X86-UP'
APPEND = 'console=ttyS0 quiet pci=off'


def ini(cpus, cmd, extra=''):
    return (f'[machine]\ntype = x86-microvm\ncpus = {cpus}\nmemory = 256M\n'
            f'kernel = {GUEST}/vmlinuz\ninitrd = {GUEST}/initrd.gz\n'
            f'append = {APPEND} mosaic.cmd={cmd}\n' + extra)


class Qmp:
    def __init__(self, path):
        for _ in range(400):
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile('rw')
        self.f.readline()
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.f.write(json.dumps({'execute': name, 'arguments': args}) + '\n')
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if 'event' not in r:
                return r


def run(cmd, monitor=None, qmp=None, timeout=300, typed=None):
    """Runs cmd, noting when the marker first appears; monitor(Qmp) runs meanwhile;
    typed=(prompt, text): text goes to the console once prompt appeared."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.PIPE if typed else subprocess.DEVNULL)
    out, seen = bytearray(), {}

    def reader():
        for line in iter(p.stdout.readline, b''):
            if MARKER in line and 'marker' not in seen:
                seen['marker'] = time.monotonic() - t0
            out.extend(line)
            if typed and typed[0] in out and 'typed' not in seen:
                seen['typed'] = True
                time.sleep(1)
                p.stdin.write(typed[1])
                p.stdin.flush()
    th = threading.Thread(target=reader)
    th.start()
    mon = monitor(Qmp(qmp)) if monitor else None
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    th.join()
    return {'rc': p.returncode, 'out': out.decode(errors='replace')[-8000:],
            'marker_seconds': seen.get('marker'), 'seconds': time.monotonic() - t0,
            'monitor': mon}


def monitor_checks(q):
    seen = {'paused-status': q.cmd('query-status')['return'],
            'cpus': q.cmd('query-cpus-fast')['return']}
    q.cmd('cont')
    time.sleep(2)
    seen['stop'] = q.cmd('stop')
    seen['stopped-status'] = q.cmd('query-status')['return']
    time.sleep(0.5)
    seen['cont'] = q.cmd('cont')
    seen['running-status'] = q.cmd('query-status')['return']
    # Once the guest's virtio driver enabled the queue, its notifications go through an
    # ioeventfd (notify-fds > 0) until the guest powers off.
    seen['notify-fds'] = 0
    try:
        for _ in range(600):
            st = q.cmd('query-accel-stats')['return']['stats']
            seen['notify-fds'] = max(seen['notify-fds'], st.get('notify-fds', 0))
            if seen['notify-fds']:
                break
            time.sleep(0.2)
    except (OSError, ValueError, KeyError):
        pass  # the guest powered off
    return seen


def mosaic(name, cpus, cmd, extra='', **kw):
    path = f'{JOB}/{name}.ini'
    with open(path, 'w') as f:
        f.write(ini(cpus, cmd, extra))
    args = [MOSAIC]
    if kw.get('qmp'):
        args += ['-S', '--qmp', f'unix:{kw["qmp"]},server,wait=off']
    return run(args + [path], **kw)


def qemu(cmd, extra_append=''):
    return run(['qemu-system-x86_64', '-accel', 'kvm', '-M', 'microvm', '-cpu', 'host', '-m', '256M',
                '-smp', '1', '-nographic', '-nodefaults', '-no-reboot', '-serial', 'stdio',
                '-kernel', f'{GUEST}/vmlinuz', '-initrd', f'{GUEST}/initrd.gz',
                '-append', f'{APPEND} mosaic.cmd={cmd} {extra_append}'])


EXITS = 'mosaic.exits=8'
results = {}
for sc in SCENARIOS:
    if sc == 'blk2':
        results[sc] = mosaic(sc, 2, 'blk', f'[blockdev disk0]\ndriver = file\nfilename = {JOB}/disk.raw\n'
                                           '[device blk0]\ntype = virtio-blk\ndrive = disk0\n',
                             qmp=f'/tmp/{sc}.qmp', monitor=monitor_checks)
    elif sc == 'shell':
        top = __file__.rsplit('/tests/', 1)[0]
        with open(f'{top}/configs/x86-microvm-linux.ini') as f:
            text = f.read().replace('../build/guests/x86-busybox', GUEST)
        with open(f'{JOB}/{sc}.ini', 'w') as f:
            f.write(text)
        results[sc] = run([MOSAIC, f'{JOB}/{sc}.ini'],
                          typed=(b"'poweroff' ends the machine.", b'echo SHELL-SAYS-$((6*7))\npoweroff\n'))
    elif sc == 'mmio1':
        results[sc] = mosaic(sc, 1, 'mmio')
    elif sc == 'boot1':
        results[sc] = mosaic(sc, 1, 'poweroff')
    elif sc == 'exits1':
        path = f'{JOB}/{sc}.ini'
        with open(path, 'w') as f:
            f.write(ini(1, 'exits').replace('mosaic.cmd=exits', f'mosaic.cmd=exits {EXITS}'))
        results[sc] = run([MOSAIC, path])
    elif sc == 'qemuboot1':
        results[sc] = qemu('poweroff')
    elif sc == 'qemuexits1':
        results[sc] = qemu('exits', EXITS)
    with open(f'{JOB}/results.json', 'w') as f:
        json.dump(results, f)
print('INNER-RUNS-DONE', ' '.join(f'{k}:{v["rc"]}' for k, v in results.items()))
