# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs inside the outer guest of tests/nested-kvm (chrooted into the host's tree, with
/dev/kvm): boots the x86 busybox guest (guests/x86-busybox) in the scenarios asked for
and writes what it saw to JOBDIR/results.json, one entry per scenario: exit status,
console and log text, seconds until the guest's MOSAIC-X86-UP marker, total seconds.

usage: inner_runs.py MOSAIC GUESTDIR JOBDIR SCENARIO...
  blk2        2 vCPUs, started paused: monitor query-status/query-cpus-fast, cont, stop,
              cont mid-boot; the guest reads and writes virtio-blk JOBDIR/disk.raw, powers off
  mmio1       1 vCPU, the guest reads unmapped MMIO, powers off
  dirty1      1 vCPU, dirty tracking switched on over the monitor before the guest runs;
              the guest writes two pages of the legacy hole; the pages the monitor saw
  pciblk1     1 vCPU, pcie = true, Linux pci=nomsi: virtio-blk on the PCIe host (bus =
              pcie.0) interrupting through INTx (the DSDT's _PRT: IOAPIC GSI 20-23); the
              guest names the PCI function, its 64-bit BAR, its interrupt and the host's
              windows, reads and writes JOBDIR/pcidisk.raw, powers off
  gdb1        1 vCPU, pcie = true with a virtio-blk (JOBDIR/gdbdisk.raw) on MSI-X (the
              guest says how many MSI lines it has; the monitor's counters follow),
              under gdb (--gdb): registers at the boot entry, a register written,
              continue, stopped over the monitor once the guest named the address of
              __x64_sys_sync (nokaslr; the monitor's pmemsave reads its physical bytes),
              registers in the running kernel, a single step, the function's bytes read
              at its kernel virtual address, a breakpoint there (always inserted: the
              int3 read back through the direct map, gone after delete); where int3
              reaches KVM (not NESTED_TCG=1) continue until it stops there; continue
              until the guest powers off
  shell       configs/x86-microvm-linux.ini as shipped: a command typed at the busybox
              shell, then `poweroff`
  boot1       1 vCPU, boot to the marker and power off            (benchmark)
  qemuboot1   the same on qemu-system-x86_64 -accel kvm -M microvm (benchmark)
  exits1      PIO/MMIO round trips timed by the guest, on Mosaic  (benchmark)
  qemuexits1  the same on QEMU                                     (benchmark)"""
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from qmp_lines import Qmp  # noqa: E402  (tests/qmp_lines.py)

MOSAIC, GUEST, JOB = sys.argv[1:4]
SCENARIOS = sys.argv[4:]
MARKER = b'MOSAIC-X86-UP'
APPEND = 'console=ttyS0 quiet pci=off'


def ini(cpus, cmd, extra='', machine='', append=APPEND):
    return (f'[machine]\ntype = x86-microvm\ncpus = {cpus}\nmemory = 256M\n'
            f'kernel = {GUEST}/vmlinuz\ninitrd = {GUEST}/initrd.gz\n{machine}'
            f'append = {append} mosaic.cmd={cmd}\n' + extra)


def run(cmd, monitor=None, qmp=None, timeout=300, typed=None):
    """Runs cmd, noting when the marker first appears; monitor(Qmp) runs meanwhile;
    typed=(prompt, text): text goes to the console once prompt appeared."""
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.PIPE if typed else subprocess.DEVNULL)
    out, seen = bytearray(), {}

    def reader():
        for line in iter(p.stdout.readline, b''):
            if MARKER in line and 'marker' not in seen:
                seen['marker'] = time.monotonic() - t0
            if b'MOSAIC-EXITS-' in line and (b'-BEGIN' in line or b'-END' in line):
                seen.setdefault('kvm_stats', {})[line.decode(errors='replace').strip()] = \
                    kvm_stats(p.pid)
            out.extend(line)
            if typed and typed[0] in out and 'typed' not in seen:
                seen['typed'] = True
                time.sleep(1)
                p.stdin.write(typed[1])
                p.stdin.flush()
    th = threading.Thread(target=reader)
    th.start()
    mon = monitor(Qmp(qmp, wait=60)) if monitor else None
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    th.join()
    # CPU time of the VMM process (every thread: with KVM the guest's own time counts
    # as the vCPU threads' too), from the rusage of children waited for since t0.
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {'rc': p.returncode, 'out': out.decode(errors='replace')[-8000:],
            'marker_seconds': seen.get('marker'), 'seconds': time.monotonic() - t0,
            'kvm_stats': seen.get('kvm_stats'),
            'cpu_seconds': cpu, 'cmd': [str(c) for c in cmd], 'monitor': mon}


def kvm_stats(pid):
    """KVM's own exit counters of the VM that process `pid` created (debugfs: the VM's
    directory PID-FD, every vCPU's counts summed), the same for any VMM."""
    d = '/sys/kernel/debug/kvm'
    if not os.path.isdir(d):
        subprocess.run(['mount', '-t', 'debugfs', 'debugfs', '/sys/kernel/debug'],
                       capture_output=True)
    out = {}
    try:
        vms = [e for e in os.listdir(d) if e.startswith(f'{pid}-')]
        for name in ('exits', 'io_exits', 'mmio_exits'):
            with open(f'{d}/{vms[0]}/{name}') as f:
                out[name] = int(f.read())
    except (OSError, IndexError, ValueError) as e:
        out['error'] = repr(e)
    return out


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
    # ioeventfd (notify-fds > 0) until the guest powers off; its interrupts through an
    # irqfd.  The counters are followed until then: the last ones seen are kept.
    seen['notify-fds'] = 0
    try:
        for _ in range(600):
            st = q.cmd('query-accel-stats')['return']['stats']
            seen['notify-fds'] = max(seen['notify-fds'], st.get('notify-fds', 0))
            seen['stats'] = st
            time.sleep(0.2)
    except (OSError, ValueError, KeyError):
        pass  # the guest powered off
    return seen


# The VGA window of the legacy hole: RAM on this board, which a headless Linux never
# writes (it does write the BIOS area 0xc0000-0xfffff while booting).
HOLE = (0xa0000, 0x20000)


def stats_at_end(q):
    """Starts the machine (-S) and follows the accelerator's counters until it ends."""
    seen = {'cont': q.cmd('cont')}
    try:
        for _ in range(600):
            seen['stats'] = q.cmd('query-accel-stats')['return']['stats']
            time.sleep(0.2)
    except (OSError, ValueError, KeyError):
        pass
    return seen


def dirty_checks(q):
    seen = {'start': q.cmd('x-dirty-pages-start'),
            'before-run': q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])}
    q.cmd('cont')
    pages = set()
    try:
        for _ in range(600):
            r = q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])['return']
            pages |= set(r['pages'])
            if {0xa1000, 0xa5000} <= pages:
                break
            time.sleep(0.2)
        time.sleep(1)  # anything else written by now is seen by the next query
        pages |= set(q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])['return']['pages'])
        seen['after-all'] = q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])['return']
        seen['stats'] = q.cmd('query-accel-stats')['return']['stats']
    except (OSError, ValueError, KeyError) as e:
        seen['error'] = repr(e)
    seen['pages'] = sorted(pages)
    return seen


KERNEL_MAP = 0xffffffff80000000  # __START_KERNEL_map: kernel text VA - PA under nokaslr
DIRECT_MAP = 0xffff888000000000  # page_offset_base (4-level paging, nokaslr)
# Whether the guest's int3 reaches KVM (KVM_GUESTDBG_USE_SW_BP).  Not under QEMU 7.2's TCG
# emulating SVM (tests/nested-kvm/run.sh sets NESTED_TCG=1): its INT3 checks only the
# INTn intercept, never the #BP exception intercept KVM sets, so the nested guest takes
# its own #BP (and oopses).  On a real /dev/kvm the run also continues into the
# breakpoint and expects the stop there.
BREAKPOINTS_STOP = os.environ.get('NESTED_TCG') != '1'


def gdb_run(name, port_file_qmp):
    """mosaic under --gdb: gdb reads the boot registers, writes rbx, continues; the
    monitor's stop ends the continue once the guest named a kernel function; gdb reads
    registers, steps, reads the function at its virtual address, breaks there, goes on."""
    import socket as so
    with so.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    path = f'{JOB}/{name}.ini'
    with open(path, 'w') as f:
        f.write(ini(1, 'gdb', f'[blockdev disk2]\ndriver = file\nfilename = {JOB}/gdbdisk.raw\n'
                              '[device blk2]\ntype = virtio-blk\ndrive = disk2\nbus = pcie.0\n',
                    machine='pcie = true\n', append='console=ttyS0 quiet nokaslr'))
    with open(f'{JOB}/gdbdisk.raw', 'wb') as f:
        f.truncate(1 << 20)
    qmp = f'/tmp/{name}.qmp'
    bp_script = f'{JOB}/{name}-bp.gdb'
    t0 = time.monotonic()
    p = subprocess.Popen([MOSAIC, '--gdb', f'tcp:127.0.0.1:{port}', '--qmp',
                          f'unix:{qmp},server,wait=off', path],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    q = Qmp(qmp, wait=60)
    g = subprocess.Popen(['gdb', '-nx', '-batch', '-ex', 'set pagination off',
                          '-ex', f'target remote 127.0.0.1:{port}',
                          '-ex', 'info registers rip', '-ex', 'info registers rsi',
                          '-ex', 'info registers cs', '-ex', 'set $rbx = 0x1234abcd',
                          '-ex', 'info registers rbx', '-ex', 'p/x $fctrl', '-ex', 'continue',
                          '-ex', 'info registers rip', '-ex', 'info registers cs',
                          '-ex', 'stepi', '-ex', 'info registers rip',
                          '-ex', f'source {bp_script}', '-ex', 'kill'],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # gdb attaches (the machine stops), then continues: stop it from the monitor once
    # the guest's init named the function (the kernel is up, idling in its own text).
    out_marker = bytearray()

    def reader():
        for line in iter(p.stdout.readline, b''):
            out_marker.extend(line)
    th = threading.Thread(target=reader)
    th.start()
    ran, sym, phys_bytes, stats = False, None, None, None
    for _ in range(900):
        time.sleep(0.2)
        text = out_marker.decode(errors='replace')
        if 'MOSAIC-SYM ' in text and '\n' in text.split('MOSAIC-SYM ', 1)[1]:
            try:
                sym = int(text.split('MOSAIC-SYM ', 1)[1].split()[0], 16)
            except (IndexError, ValueError):  # no such symbol: the test says so
                with open(bp_script, 'w') as f:
                    f.write('echo no symbol\\n\n')
                q.cmd('stop')
                break
            ran = q.cmd('query-status')['return']['running']
            stats = q.cmd('query-accel-stats')['return']['stats']
            dump = f'{JOB}/{name}-sym.bin'
            seen = q.cmd('pmemsave', val=sym - KERNEL_MAP, size=8, filename=dump)
            if 'return' in seen:
                with open(dump, 'rb') as f:
                    phys_bytes = list(f.read())
            # The same byte through the kernel's direct map (another virtual address,
            # large pages): GDB hides its own int3 at `sym` from reads there, not here.
            direct = DIRECT_MAP + sym - KERNEL_MAP
            with open(bp_script, 'w') as f:
                f.write(f'x/8xb {sym:#x}\nset breakpoint always-inserted on\n'
                        f'break *{sym:#x}\nx/1xb {direct:#x}\ndelete\nx/1xb {direct:#x}\n')
                if BREAKPOINTS_STOP:
                    f.write(f'break *{sym:#x}\ncontinue\ninfo registers rip\ndelete\n')
                f.write('continue\n')
            q.cmd('stop')
            break
    try:
        gout, _ = g.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        g.kill()
        gout = g.communicate()[0]
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    th.join()
    return {'rc': p.returncode, 'out': out_marker.decode(errors='replace')[-4000:], 'gdb': gout,
            'ran': ran, 'sym': sym, 'phys_bytes': phys_bytes, 'breakpoints_stop': BREAKPOINTS_STOP,
            'stats': stats,
            'seconds': time.monotonic() - t0}


def mosaic(name, cpus, cmd, extra='', machine='', append=APPEND, **kw):
    path = f'{JOB}/{name}.ini'
    with open(path, 'w') as f:
        f.write(ini(cpus, cmd, extra, machine, append))
    args = [MOSAIC]
    if kw.get('qmp'):
        args += ['-S', '--qmp', f'unix:{kw["qmp"]},server,wait=off']
    return run(args + [path], **kw)


def qemu(cmd, extra_append=''):
    return run(['qemu-system-x86_64', '-accel', 'kvm', '-M', 'microvm', '-cpu', 'host', '-m', '256M',
                '-smp', '1', '-nographic', '-nodefaults', '-no-reboot', '-serial', 'stdio',
                '-kernel', f'{GUEST}/vmlinuz', '-initrd', f'{GUEST}/initrd.gz',
                '-append', f'{APPEND} mosaic.cmd={cmd} {extra_append}'])


EXITS = 'mosaic.exits=20000'
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
    elif sc == 'dirty1':
        results[sc] = mosaic(sc, 1, 'dirty', qmp=f'/tmp/{sc}.qmp', monitor=dirty_checks)
    elif sc == 'pciblk1':
        results[sc] = mosaic(sc, 1, 'pciblk', f'[blockdev disk1]\ndriver = file\nfilename = {JOB}/pcidisk.raw\n'
                                              '[device blk1]\ntype = virtio-blk\ndrive = disk1\nbus = pcie.0\n',
                             machine='pcie = true\n', append='console=ttyS0 quiet pci=nomsi',
                             qmp=f'/tmp/{sc}.qmp', monitor=stats_at_end, timeout=150)
    elif sc == 'gdb1':
        results[sc] = gdb_run(sc, None)
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
