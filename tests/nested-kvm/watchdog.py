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


def diagnose(pid):
    """Where process `pid` is: per thread its name, state, wait channel and kernel stack;
    KVM's exit counters twice; the user stacks of all threads (gdb, if it can attach)."""
    lines = []
    try:
        tids = sorted(os.listdir(f'/proc/{pid}/task'), key=int)
    except OSError as e:
        return f'process {pid}: {e.strerror}'
    for tid in tids:
        t = f'/proc/{pid}/task/{tid}'
        state = [s for s in _read(f'{t}/status').splitlines() if s.startswith('State:')]
        lines.append(f'thread {tid} {_read(t + "/comm")} {state[0] if state else ""} '
                     f'wchan={_read(t + "/wchan")}')
        lines += ['    ' + s for s in _read(f'{t}/stack').splitlines()]
    before = kvm_stats(pid)
    time.sleep(1)
    lines.append(f'KVM exits {before} then, a second later, {kvm_stats(pid)}')
    try:
        g = subprocess.run(['gdb', '-nx', '-batch', '-p', str(pid), '-ex', 'thread apply all bt'],
                           capture_output=True, text=True, timeout=90)
        lines.append(g.stdout[-6000:])
    except (OSError, subprocess.TimeoutExpired) as e:
        lines.append(f'gdb: {e!r}')
    return '\n'.join(lines)


class Watchdog:
    """Kills procs (the VMM first, then its helpers) `budget` seconds from now unless
    cancelled first; `at(step)` says what the run waits for from here on."""

    def __init__(self, name, budget, *procs):
        self.name, self.budget, self.procs = name, budget, procs
        self.step = 'the machine to start'
        self.command = None  # a monitor command sent, its reply not read yet
        self.error = self.diagnosis = None
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
        try:
            self.diagnosis = diagnose(self.procs[0].pid)
        except Exception as e:  # the diagnosis must never keep the kill from happening
            self.diagnosis = f'diagnosis failed: {e!r}'
        for p in self.procs:
            if p.poll() is None:
                p.kill()

    def done(self):
        """Cancels the deadline (or waits for a kill already under way); the error if it
        fired."""
        self._timer.cancel()
        self._timer.join()
        return self.error
