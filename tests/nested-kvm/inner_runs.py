# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs inside the outer guest of tests/nested-kvm (chrooted into the host's tree, with
/dev/kvm): boots the x86 busybox guest (guests/x86-busybox) in the scenarios asked for
and writes what it saw to JOBDIR/results.json, one entry per scenario: exit status,
console and log text, seconds until the guest's MOSAIC-X86-UP marker, total seconds.

usage: inner_runs.py MOSAIC GUESTDIR JOBDIR SCENARIO[*N]...   (*N: N times in a row)
Each run ends by its deadline (watchdog.py) with an error naming the step it waited for.
  blk2        2 vCPUs, started paused: monitor query-status/query-cpus-fast, cont, stop,
              cont mid-boot; the guest reads and writes virtio-blk JOBDIR/disk.raw, then
              reboots by a triple fault on vCPU 1 while vCPU 0 runs on (mosaic.triple),
              boots again and powers off
  mmio1       1 vCPU, the guest reads unmapped MMIO, powers off
  dirty1      1 vCPU, dirty tracking switched on over the monitor before the guest runs;
              the guest writes two pages of the legacy hole; the pages the monitor saw
  dirty2      the same on 2 vCPUs, after a stress: one writer per vCPU for 15 s while
              the monitor switches dirty tracking off and on and fetches the log, the
              guest then waits for the monitor's "go" on its console
  dirty2fetch the same stress, but the monitor only fetches the log (no switching off
              and on): tells failures of the flag switch from those of the fetch
  pciblk1     1 vCPU, pcie = true, Linux pci=nomsi: virtio-blk on the PCIe host (bus =
              pcie.0) interrupting through INTx (the DSDT's _PRT: IOAPIC GSI 20-23); the
              guest names the PCI function, its 64-bit BAR, its interrupt and the host's
              windows, reads and writes JOBDIR/pcidisk.raw, powers off
  gdb1        1 vCPU, pcie = true with a virtio-blk (JOBDIR/gdbdisk.raw) on MSI-X (the
              guest says how many MSI lines it has; the monitor's counters follow),
              under gdb (--gdb): registers at the boot entry, a register written,
              st0 and xmm1 written and read back,
              continue, stopped over the monitor once the guest named the address of
              __x64_sys_sync (nokaslr; the monitor's pmemsave reads its physical bytes),
              registers in the running kernel, a single step, the function's bytes read
              at its kernel virtual address, a breakpoint there (always inserted: the
              int3 read back through the direct map, gone after delete); where int3
              reaches KVM (not NESTED_TCG=1) continue until it stops there; continue
              until the guest powers off
  shell       configs/x86-microvm-linux.ini as shipped: a command typed at the busybox
              shell, then `poweroff`
  kvm-amd-npt0, kvm-amd-npt1
              not a run: load the outer kvm_amd again with npt=0 (shadow paging) or
              npt=1 (nested paging, as the outer guest starts); the runs after it use it
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
from watchdog import Watchdog, kvm_stats  # noqa: E402

MOSAIC, GUEST, JOB = sys.argv[1:4]
SCENARIOS = sys.argv[4:]
MARKER = b'MOSAIC-X86-UP'
APPEND = 'console=ttyS0 quiet pci=off'
# Monitor sockets: not in JOB (9p has no UNIX sockets); a host-side test sets its own.
QMPDIR = os.environ.get('NESTED_QMP_DIR', '/tmp')


def ini(cpus, cmd, extra='', machine='', append=APPEND):
    return (f'[machine]\ntype = x86-microvm\ncpus = {cpus}\nmemory = 256M\n'
            f'kernel = {GUEST}/vmlinuz\ninitrd = {GUEST}/initrd.gz\n{machine}'
            f'append = {append} mosaic.cmd={cmd}\n' + extra)


# Each run's deadline (watchdog.py), well inside the outer guest's budget (850 s in
# tests/system/test_x86_kvm.py): a release run takes 15-90 s there; the sanitized build
# runs only two, several times slower.  NESTED_RUN_BUDGET (s) overrides it.
BUDGET = int(os.environ.get('NESTED_RUN_BUDGET') or (360 if '/asan/' in MOSAIC else 180))
WATCH = None  # the current run's Watchdog: monitor steps say what they wait for
CONSOLE = None  # the current run's (console text so far, process): monitors read and type


def wait_console(text):
    """Until the current run's console shows text (the watchdog bounds the wait)."""
    out, p = CONSOLE
    while text not in out:
        if p.poll() is not None:
            raise RuntimeError(f'the machine ended before its console showed {text!r}')
        time.sleep(0.1)


def type_console(text):
    CONSOLE[1].stdin.write(text)
    CONSOLE[1].stdin.flush()


def step(what):
    if WATCH:
        WATCH.at(what)


class StepQmp(Qmp):
    """A QMP client whose commands tell the watchdog which reply the run waits for."""

    def cmd(self, name, **args):
        if WATCH:
            WATCH.command = name
        r = super().cmd(name, **args)
        if WATCH:
            WATCH.command = None
        return r


def run(name, cmd, monitor=None, qmp=None, budget=BUDGET, typed=None):
    """Runs cmd, noting when the marker first appears; monitor(Qmp) runs meanwhile;
    typed=(prompt, text): text goes to the console once prompt appeared.  After `budget`
    seconds the run is ended and its result says which step it was waiting for."""
    global WATCH, CONSOLE
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.PIPE if typed or monitor else subprocess.DEVNULL)
    WATCH = Watchdog(name, budget, p)
    out, seen = bytearray(), {}
    CONSOLE = (out, p)

    def reader():
        for line in iter(p.stdout.readline, b''):
            if MARKER in line:
                seen.setdefault('marker', time.monotonic() - t0)
                seen['markers'] = seen.get('markers', 0) + 1
            if b'MOSAIC-EXITS-' in line and (b'-BEGIN' in line or b'-END' in line):
                seen.setdefault('kvm_stats', {})[line.decode(errors='replace').strip()] = \
                    kvm_stats(p.pid)
            out.extend(line)
            if typed and typed[0] in out and 'typed' not in seen:
                seen['typed'] = True
                time.sleep(1)
                p.stdin.write(typed[1])
                p.stdin.flush()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    mon, failed = None, None
    try:
        if monitor:
            step('the monitor socket to answer')
            q = StepQmp(qmp, proc=p, wait=budget)  # a loaded host took more than 20 s
            seen['monitor_up'] = time.monotonic() - t0
            mon = monitor(q)
        step('the shell to take the typed poweroff' if typed else 'the guest to power off')
        WATCH.wait(p)
    except Exception as e:  # a monitor step failed: end the run, saying where
        failed = f'{name}: {WATCH.waiting()}: {e!r}'
        p.kill()
        WATCH.wait(p)
    error = WATCH.done() or failed
    th.join(timeout=10)
    # CPU time of the VMM process (every thread: with KVM the guest's own time counts
    # as the vCPU threads' too), from the rusage of children waited for since t0.
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    CONSOLE = None
    r = {'rc': p.returncode, 'out': out.decode(errors='replace')[-8000:],
         'marker_seconds': seen.get('marker'), 'markers': seen.get('markers', 0),
         'seconds': time.monotonic() - t0,
         'kvm_stats': seen.get('kvm_stats'), 'monitor_up_seconds': seen.get('monitor_up'),
         'cpu_seconds': cpu, 'cmd': [str(c) for c in cmd], 'monitor': mon}
    if error:
        r['error'], r['diagnosis'] = error, WATCH.diagnosis
    WATCH = None
    return r


def monitor_checks(q):
    step('the monitor checks while paused and at stop/cont')
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
    step('the guest to power off (counters followed)')
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
# writes (it does write the BIOS area 0xc0000-0xfffff while booting).  Its first half is
# for the exact check; the guest's writers of the stress (dirty2) use the second.
HOLE = (0xa0000, 0x10000)
STRESS = (0xb0000, 0x10000)
STRESS_SECONDS = 15


def stats_at_end(q):
    """Starts the machine (-S) and follows the accelerator's counters until it ends."""
    seen = {'cont': q.cmd('cont')}
    step('the guest to power off (counters followed)')
    try:
        for _ in range(600):
            seen['stats'] = q.cmd('query-accel-stats')['return']['stats']
            time.sleep(0.2)
    except (OSError, ValueError, KeyError):
        pass
    return seen


def dirty_checks(q, stress=False, switch=True):
    """Dirty logging on before the guest runs; the guest's two writes are seen, and
    only they.  stress: first, while a writer on every vCPU writes STRESS, logging is
    switched off and on again and again, each time fetched once (the map changes and
    the slots' flags flip under vCPUs that write); each fetch must see the writers."""
    step('dirty tracking switched on while paused')
    seen = {'start': q.cmd('x-dirty-pages-start'),
            'before-run': q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])}
    q.cmd('cont')
    if stress:
        step("the guest's writers to start on every vCPU")
        wait_console(b'MOSAIC-DIRTY-STRESS ')
        step('dirty logging switched off and on while the guest writes on every vCPU'
             if switch else 'the dirty log fetched while the guest writes on every vCPU')
        seen['toggles'], seen['stress-fetches'] = 0, []
        while b'MOSAIC-DIRTY-STRESS-DONE' not in CONSOLE[0]:
            if switch:
                q.cmd('x-dirty-pages-stop')
                q.cmd('x-dirty-pages-start')
            r = q.cmd('x-query-dirty-pages', start=STRESS[0], size=STRESS[1])['return']
            seen['toggles'] += 1
            seen['stress-fetches'].append(r['dirty'])
        seen['stress-pages-at-end'] = q.cmd('x-query-dirty-pages', start=STRESS[0],
                                            size=STRESS[1])['return']['pages']
        q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])  # forgets what was before
        type_console(b'go\n')
    pages = set()
    step("the guest's two writes in the dirty log")
    try:
        while not {0xa1000, 0xa5000} <= pages:
            r = q.cmd('x-query-dirty-pages', start=HOLE[0], size=HOLE[1])['return']
            pages |= set(r['pages'])
            time.sleep(0.2)
        step('the last dirty-log queries')
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


def gdb_run(name):
    """mosaic under --gdb: gdb reads the boot registers, writes rbx, continues; the
    monitor's stop ends the continue once the guest named a kernel function; gdb reads
    registers, steps, reads the function at its virtual address, breaks there, goes on."""
    global WATCH
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
    qmp = f'{QMPDIR}/{name}.qmp'
    bp_script = f'{JOB}/{name}-bp.gdb'
    t0 = time.monotonic()
    p = subprocess.Popen([MOSAIC, '--gdb', f'tcp:127.0.0.1:{port}', '--qmp',
                          f'unix:{qmp},server,wait=off', path],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    WATCH = Watchdog(name, BUDGET + 60, p)
    out_marker = bytearray()

    def reader():
        for line in iter(p.stdout.readline, b''):
            out_marker.extend(line)
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    gout, failed = '', None
    try:
        step('the monitor socket to answer')
        q = StepQmp(qmp, proc=p, wait=BUDGET)
        step('gdb to attach')
        g = subprocess.Popen(['gdb', '-nx', '-batch', '-ex', 'set pagination off',
                          '-ex', f'target remote 127.0.0.1:{port}',
                          '-ex', 'info registers rip', '-ex', 'info registers rsi',
                          '-ex', 'info registers cs', '-ex', 'set $rbx = 0x1234abcd',
                          '-ex', 'info registers rbx', '-ex', 'p/x $fctrl',
                          # x87 and SSE registers (10 and 16 bytes: p/P packets), written
                          # and read back through KVM_SET_FPU/KVM_GET_FPU
                          '-ex', 'set $st0 = 1.5', '-ex', 'p $st0',
                          '-ex', 'set $xmm1[0] = 0x1122334455667788',
                          '-ex', 'set $xmm1[1] = 0x99aabbccddeeff00', '-ex', 'p/x $xmm1',
                          '-ex', 'continue',
                          '-ex', 'info registers rip', '-ex', 'info registers cs',
                          '-ex', 'stepi', '-ex', 'info registers rip',
                          '-ex', f'source {bp_script}', '-ex', 'kill'],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        WATCH.procs = (p, g)
        step("the guest's MOSAIC-SYM line (gdb continued the machine)")
        gout = gdb_steps(name, p, q, out_marker, bp_script, g)
    except Exception as e:  # a step failed: end the run, saying where
        failed = f'{name}: {WATCH.waiting()}: {e!r}'
        for x in WATCH.procs:
            x.kill()
        WATCH.wait(p)
    error = WATCH.done() or failed
    th.join(timeout=10)
    r = {'rc': p.returncode, 'out': out_marker.decode(errors='replace')[-4000:], 'gdb': gout,
         'breakpoints_stop': BREAKPOINTS_STOP, 'seconds': time.monotonic() - t0}
    r.update(GDB_SEEN)
    if error:
        r['error'], r['diagnosis'] = error, WATCH.diagnosis
    WATCH = None
    return r


GDB_SEEN = {'ran': False, 'sym': None, 'phys_bytes': None, 'stats': None}


def gdb_steps(name, p, q, out_marker, bp_script, g):
    """gdb attached (the machine stops), then continues: stop it from the monitor once
    the guest's init named the function (the kernel is up, idling in its own text)."""
    ran, sym, phys_bytes, stats = False, None, None, None
    while p.poll() is None:  # the watchdog bounds the wait
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
    GDB_SEEN.update(ran=ran, sym=sym, phys_bytes=phys_bytes, stats=stats)
    step("gdb's breakpoint script and its continue to the guest's poweroff")
    gout = []  # gdb's output, drained while it runs (a full pipe would stop it)
    t = threading.Thread(target=lambda: gout.append(g.communicate()[0]), daemon=True)
    t.start()
    WATCH.wait(g)
    t.join(timeout=10)
    gout = gout[0] if gout else ''
    step('the machine to end after gdb detached')
    WATCH.wait(p)
    return gout


def mosaic(name, cpus, cmd, extra='', machine='', append=APPEND, **kw):
    path = f'{JOB}/{name}.ini'
    with open(path, 'w') as f:
        f.write(ini(cpus, cmd, extra, machine, append))
    args = [MOSAIC]
    if kw.get('qmp'):
        args += ['-S', '--qmp', f'unix:{kw["qmp"]},server,wait=off']
    return run(name, args + [path], **kw)


def qemu(name, cmd, extra_append=''):
    return run(name, ['qemu-system-x86_64', '-accel', 'kvm', '-M', 'microvm', '-cpu', 'host', '-m', '256M',
                '-smp', '1', '-nographic', '-nodefaults', '-no-reboot', '-serial', 'stdio',
                '-kernel', f'{GUEST}/vmlinuz', '-initrd', f'{GUEST}/initrd.gz',
                '-append', f'{APPEND} mosaic.cmd={cmd} {extra_append}'])


EXITS = 'mosaic.exits=20000'


def reload_kvm_amd(npt):
    """kvm_amd again with npt=N (the outer init left a copy of the module in /tmp): the
    runs after it use shadow paging (0) or nested paging (1) in the outer KVM."""
    t0 = time.monotonic()
    cmds = [['rmmod', 'kvm_amd'], ['insmod', '/tmp/kvm-amd.ko', f'npt={npt}']]
    out = ''
    for cmd in cmds:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        out += f'$ {" ".join(cmd)}\n{r.stdout}{r.stderr}'
        if r.returncode:
            return {'rc': r.returncode, 'out': out, 'seconds': time.monotonic() - t0,
                    'error': f'kvm-amd-npt{npt}: {" ".join(cmd)} failed'}
    got = Path('/sys/module/kvm_amd/parameters/npt').read_text().strip()
    if got not in ({'0': 'N', '1': 'Y'}[npt], npt) or not os.path.exists('/dev/kvm'):
        return {'rc': 1, 'out': out, 'seconds': time.monotonic() - t0,
                'error': f'kvm-amd-npt{npt}: kvm_amd has npt={got}, /dev/kvm '
                         f'{"present" if os.path.exists("/dev/kvm") else "missing"}'}
    return {'rc': 0, 'out': out + f'npt={got}\n', 'seconds': time.monotonic() - t0}


def scenario(sc):
    if sc in ('kvm-amd-npt0', 'kvm-amd-npt1'):
        return reload_kvm_amd(sc[-1])
    if sc == 'blk2':
        return mosaic(sc, 2, 'blk', f'[blockdev disk0]\ndriver = file\nfilename = {JOB}/disk.raw\n'
                                    '[device blk0]\ntype = virtio-blk\ndrive = disk0\n',
                      append=f'{APPEND} mosaic.triple reboot=t,f,s1',
                      qmp=f'{QMPDIR}/{sc}.qmp', monitor=monitor_checks)
    if sc == 'shell':
        top = __file__.rsplit('/tests/', 1)[0]
        with open(f'{top}/configs/x86-microvm-linux.ini') as f:
            text = f.read().replace('../build/guests/x86-busybox', GUEST)
        with open(f'{JOB}/{sc}.ini', 'w') as f:
            f.write(text)
        return run(sc, [MOSAIC, f'{JOB}/{sc}.ini'],
                   typed=(b"'poweroff' ends the machine.", b'echo SHELL-SAYS-$((6*7))\npoweroff\n'))
    if sc == 'mmio1':
        return mosaic(sc, 1, 'mmio')
    if sc == 'dirty1':
        return mosaic(sc, 1, 'dirty', qmp=f'{QMPDIR}/{sc}.qmp', monitor=dirty_checks)
    if sc == 'dirty2':
        return mosaic(sc, 2, 'dirty', append=f'{APPEND} mosaic.dirtysecs={STRESS_SECONDS}',
                      qmp=f'{QMPDIR}/{sc}.qmp', monitor=lambda q: dirty_checks(q, stress=True))
    if sc == 'dirty2fetch':
        return mosaic(sc, 2, 'dirty', append=f'{APPEND} mosaic.dirtysecs={STRESS_SECONDS}',
                      qmp=f'{QMPDIR}/{sc}.qmp',
                      monitor=lambda q: dirty_checks(q, stress=True, switch=False))
    if sc == 'pciblk1':
        return mosaic(sc, 1, 'pciblk', f'[blockdev disk1]\ndriver = file\nfilename = {JOB}/pcidisk.raw\n'
                                       '[device blk1]\ntype = virtio-blk\ndrive = disk1\nbus = pcie.0\n',
                      machine='pcie = true\n', append='console=ttyS0 quiet pci=nomsi',
                      qmp=f'{QMPDIR}/{sc}.qmp', monitor=stats_at_end, budget=150)
    if sc == 'gdb1':
        return gdb_run(sc)
    if sc == 'boot1':
        return mosaic(sc, 1, 'poweroff')
    if sc == 'exits1':
        path = f'{JOB}/{sc}.ini'
        with open(path, 'w') as f:
            f.write(ini(1, 'exits').replace('mosaic.cmd=exits', f'mosaic.cmd=exits {EXITS}'))
        return run(sc, [MOSAIC, path])
    if sc == 'qemuboot1':
        return qemu(sc, 'poweroff')
    if sc == 'qemuexits1':
        return qemu(sc, 'exits', EXITS)
    return {'rc': None, 'error': f'{sc}: no such scenario'}


def save(results):
    with open(f'{JOB}/results.json', 'w') as f:
        json.dump(results, f)


# NAME*N runs scenario NAME N times (results NAME, NAME.2, ... NAME.N): a rare failure
# of one run can be chased in one outer boot.  A run in progress is on record as
# unfinished, so an outer guest that ends in the middle of it says which run that was.
results = {}
for arg in SCENARIOS:
    sc, _, times = arg.partition('*')
    for i in range(1, int(times or 1) + 1):
        key = sc if i == 1 else f'{sc}.{i}'
        results[key] = {'rc': None, 'error': f'{key}: started, never finished (the outer '
                                             'guest ended during this run)'}
        save(results)
        print('INNER-RUN', key, 'starts', flush=True)
        results[key] = scenario(sc)
        save(results)
        print('INNER-RUN', key, 'ended: rc', results[key]['rc'], results[key].get('error') or '',
              f'({results[key].get("seconds", 0):.0f} s)', flush=True)
print('INNER-RUNS-DONE', ' '.join(f'{k}:{v["rc"]}' for k, v in results.items()))
