# SPDX-License-Identifier: GPL-2.0-or-later
"""A deadline for one inner run of tests/nested-kvm/inner_runs.py.

Every inner run shares the outer guest's one budget: a run that hangs would eat it and
fail the runs after it, which never started, with nothing said about the hung one.  So
each run has its own deadline, well inside the outer budget; when it passes, the
watchdog writes down the step the run was waiting for and where the VMM was (each
thread's kernel stack and wait channel, KVM's exit counters a second apart: a vCPU
that spins in the guest moves them, a stuck one does not, and gdb's user stacks),
then kills the VMM, so every blocking read of the run (console, QMP) returns at once
and the run ends with an error that names its step."""
import os
import subprocess
import threading
import time


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


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        return f'({e.strerror})'


def diagnose(pid, lines):
    """Where process `pid` is, appended to `lines` as it is found (a read that blocks on
    the hung process leaves what came before): per thread its name, state, wait
    channel and kernel stack; KVM's exit counters twice (their debugfs files take the
    VM's lock); the user stacks of all threads (gdb, if it can attach)."""
    try:
        tids = sorted(os.listdir(f'/proc/{pid}/task'), key=int)
    except OSError as e:
        lines.append(f'process {pid}: {e.strerror}')
        return
    for tid in tids:
        t = f'/proc/{pid}/task/{tid}'
        state = [s for s in _read(f'{t}/status').splitlines() if s.startswith('State:')]
        lines.append(f'thread {tid} {_read(t + "/comm")} {state[0] if state else ""} '
                     f'wchan={_read(t + "/wchan")}')
    for tid in tids:
        lines.append(f'thread {tid} kernel stack:')
        lines += ['    ' + s for s in _read(f'/proc/{pid}/task/{tid}/stack').splitlines()]
    lines.append(f'KVM exits {kvm_stats(pid)}')
    time.sleep(1)
    lines.append(f'KVM exits a second later {kvm_stats(pid)}')
    # gdb in its own process group: a timeout kills it and anything it started.
    try:
        g = subprocess.Popen(['gdb', '-nx', '-batch', '-p', str(pid), '-ex', 'thread apply all bt'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            lines.append(g.communicate(timeout=60)[0][-6000:])
        except subprocess.TimeoutExpired:
            os.killpg(g.pid, 9)
            lines.append('gdb: no backtrace within 60 s')
    except OSError as e:
        lines.append(f'gdb: {e!r}')


class Watchdog:
    """Kills procs (the VMM first, then its helpers) `budget` seconds from now unless
    cancelled first; `at(step)` says what the run waits for from here on."""

    def __init__(self, name, budget, *procs):
        self.name, self.budget, self.procs = name, budget, procs
        self.step = 'the machine to start'
        self.command = None  # a monitor command sent, its reply not read yet
        self.error = self.diagnosis = None
        self.fired = threading.Event()  # set once the kill was sent
        self._timer = threading.Timer(budget, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def at(self, step):
        self.step = step

    def waiting(self):
        return self.step + (f' (the reply to {self.command})' if self.command else '')

    def _fire(self):
        self.error = (f'{self.name}: still running after {self.budget} s, waiting for '
                      f'{self.waiting()}: killed (see its diagnosis)')
        print('WATCHDOG:', self.error, flush=True)  # the outer console shows it at once

        lines = []

        def diagnosis():
            try:
                diagnose(self.procs[0].pid, lines)
            except Exception as e:
                lines.append(f'diagnosis failed: {e!r}')
        # Whatever the diagnosis runs into (a read or gdb stuck on the hung process),
        # the kill happens: at most two minutes later.
        d = threading.Thread(target=diagnosis, daemon=True)
        d.start()
        d.join(timeout=120)
        if d.is_alive():
            lines.append('(the diagnosis stopped here: its next step did not finish in 120 s)')
        self.diagnosis = '\n'.join(lines)
        print('WATCHDOG:', self.name, 'diagnosis:', self.diagnosis, flush=True)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        self.fired.set()
        print('WATCHDOG:', self.name, 'killed', flush=True)

    def wait(self, p):
        """Until p ended, or the deadline passed and p was killed; then at most 30 s more:
        a process stuck in the kernel (uninterruptible sleep) does not die of SIGKILL,
        and the runs after this one go on without it."""
        while p.poll() is None and not self.fired.is_set():
            time.sleep(0.2)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.error = (self.error or self.name) + (
                f'; process {p.pid} ({p.args[0]}) did not die of SIGKILL within 30 s (stuck '
                f'in the kernel at {_read(f"/proc/{p.pid}/wchan")})')

    def done(self):
        """Cancels the deadline (or waits for a kill already under way); the error if it
        fired."""
        self._timer.cancel()
        self._timer.join()
        return self.error

