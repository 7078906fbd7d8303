"""Runs inside the outer guest of tests/nested-kvm (chrooted into the host's tree, with
/dev/kvm): boots the x86 busybox guest on Mosaic's accel-kvm in the scenarios the
system test asks for and writes what it saw to RESULTS (JSON), one entry per scenario.

usage: inner_runs.py MOSAIC GUESTDIR JOBDIR SCENARIO...
scenarios: blk2 (2 vCPUs, virtio-blk read/write, monitor stop/cont/query-cpus-fast,
poweroff), mmio1 (1 vCPU, unmapped MMIO read, poweroff), qemu1 (the same guest on
qemu-system-x86_64 -accel kvm -M microvm, for the benchmark)."""
import json
import os
import socket
import subprocess
import sys
import time

MOSAIC, GUEST, JOB = sys.argv[1:4]
SCENARIOS = sys.argv[4:]


def ini(cpus, cmd, extra=''):
    return (f'[machine]\ntype = x86-microvm\ncpus = {cpus}\nmemory = 256M\n'
            f'kernel = {GUEST}/vmlinuz\ninitrd = {GUEST}/initrd.gz\n'
            f'append = console=ttyS0 quiet mosaic.cmd={cmd}\n' + extra)


class Qmp:
    def __init__(self, path):
        for _ in range(200):
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


def run(path, qmp=None, monitor=None, timeout=240):
    t0 = time.monotonic()
    cmd = [MOSAIC] + (['-S', '--qmp', f'unix:{qmp},server,wait=off'] if qmp else []) + [path]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    mon = monitor(Qmp(qmp)) if monitor else None
    out, _ = p.communicate(timeout=timeout)
    return {'rc': p.returncode, 'out': out.decode(errors='replace')[-6000:],
            'seconds': time.monotonic() - t0, 'monitor': mon}


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
    return seen


results = {}
for sc in SCENARIOS:
    path = f'{JOB}/{sc}.ini'
    if sc == 'blk2':
        with open(path, 'w') as f:
            f.write(ini(2, 'blk', f'[blockdev disk0]\ndriver = file\nfilename = {JOB}/disk.raw\n'
                                  '[device blk0]\ntype = virtio-blk\ndrive = disk0\n'))
        results[sc] = run(path, qmp=f'/tmp/{sc}.qmp', monitor=monitor_checks)
    elif sc == 'mmio1':
        with open(path, 'w') as f:
            f.write(ini(1, 'mmio'))
        results[sc] = run(path)
    elif sc == 'boot1':
        with open(path, 'w') as f:
            f.write(ini(1, 'poweroff'))
        results[sc] = run(path)
    elif sc == 'qemu1':
        t0 = time.monotonic()
        p = subprocess.run(['qemu-system-x86_64', '-accel', 'kvm', '-M', 'microvm', '-cpu', 'host',
                            '-m', '256M', '-smp', '1', '-nographic', '-nodefaults', '-no-reboot',
                            '-serial', 'stdio', '-kernel', f'{GUEST}/vmlinuz',
                            '-initrd', f'{GUEST}/initrd.gz',
                            '-append', 'console=ttyS0 quiet mosaic.cmd=poweroff'],
                           capture_output=True, timeout=240, stdin=subprocess.DEVNULL)
        results[sc] = {'rc': p.returncode, 'out': (p.stdout + p.stderr).decode(errors='replace')[-6000:],
                       'seconds': time.monotonic() - t0}
    with open(f'{JOB}/results.json', 'w') as f:
        json.dump(results, f)
print('INNER-RUNS-DONE', ' '.join(f'{k}:{v["rc"]}' for k, v in results.items()))
