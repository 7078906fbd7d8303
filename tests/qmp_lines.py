# SPDX-License-Identifier: GPL-2.0-or-later
"""A small line-based QMP client for tests: connects to a UNIX socket (waiting while the
server comes up), negotiates, and sends commands, keeping the events it reads on the way.

Plain standard library on purpose: tests/nested-kvm/inner_runs.py imports it inside the
outer guest, where pytest is not running."""
import json
import socket
import time


class Qmp:
    def __init__(self, path, proc=None, wait=10.0):
        """Connects to path, retrying for `wait` seconds; with proc (a Popen), gives up at
        once with its output when that process ended before the socket answered."""
        deadline = time.monotonic() + wait
        while True:
            if proc is not None:
                assert proc.poll() is None, proc.communicate()
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(str(path))
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock, self.f = s, s.makefile('rw')
        self.events = []
        self.greeting = json.loads(self.f.readline())
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        """The reply to one command (events read before it go to self.events)."""
        self.f.write(json.dumps({'execute': name, 'arguments': args}) + '\n')
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if 'event' not in r:
                return r
            self.events.append(r)

    __call__ = cmd

    def ok(self, name, **args):
        r = self.cmd(name, **args)
        assert 'return' in r, (name, r)
        return r['return']
