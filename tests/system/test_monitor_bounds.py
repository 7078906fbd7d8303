# SPDX-License-Identifier: GPL-2.0-or-later
"""The control socket under hostile or careless clients: memory that stays flat over
thousands of commands, strings with NUL, numbers JSON cannot carry, a bounded number
of clients, fd exhaustion, and files a command must not touch."""
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_monitor import Qmp, wait_for
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from test_nbd import listening  # noqa: E402

CLIENT_LIMIT = 64  # MONITOR_MAX_CLIENTS


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Machine:
    """A storage-only machine with a QMP socket, stderr to a file (its log), started with
    optional resource limits."""

    def __init__(self, mosaic, tmp_path, ini="", nofile=None, extra=()):
        self.dir = tmp_path
        self.sock = tmp_path / "qmp.sock"
        (tmp_path / "vm.ini").write_text("[machine]\ntype = none\n" + ini)
        self.log_path = tmp_path / "mosaic.log"
        self.log = open(self.log_path, "w")
        # No quarantine: ASan would otherwise hold freed memory and look like a leak.
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"),
                   ASAN_OPTIONS=os.environ['ASAN_OPTIONS'] + ':quarantine_size_mb=0')

        def limits():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.p = subprocess.Popen([str(mosaic), "vm.ini", *extra, "--qmp",
                                   "unix:%s,server,wait=off" % self.sock],
                                  cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT, env=env, preexec_fn=limits)
        # The file appears at bind(), a moment before listen(): wait until it answers.
        wait_for(lambda: listening(self.sock) or self.p.poll() is not None, what="the QMP socket")
        assert self.p.poll() is None, self.output()

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.log.close()


@pytest.fixture
def machine(mosaic, tmp_path):
    started = []

    def start(**kw):
        m = Machine(mosaic, tmp_path, **kw)
        started.append(m)
        return m
    yield start
    for m in started:
        m.stop()


def rss_growth_kib(pid, q, cmd, args, rounds):
    for _ in range(200):  # warm-up: allocator pools, caches
        assert "return" in q.cmd(cmd, args)
    before = proc_rss_kib(pid)
    for _ in range(rounds):
        assert "return" in q.cmd(cmd, args)
    return proc_rss_kib(pid) - before


@pytest.mark.parametrize("cmd,args", [("query-commands", None), ("query-named-block-nodes", None),
                                      ("query-schema", None), ("query-status", None),
                                      ("qom-list", {"path": "/"}), ("query-block-exports", None)])
def test_commands_do_not_leak(machine, tmp_path, cmd, args):
    # LeakSanitizer cannot see a reference-counted node that is still referenced; the
    # process's resident memory can.  3000 calls of a 4.9 KB leak grow it by 14 MiB.
    img = tmp_path / "d.img"
    img.write_bytes(b"\0" * 65536)
    m = machine(ini=f"[blockdev d0]\ndriver = file\nfilename = {img}\n")
    q = Qmp(m.sock)
    growth = rss_growth_kib(m.p.pid, q, cmd, args, 3000)
    assert growth < 2048, f"{cmd}: RSS grew by {growth} KiB over 3000 calls"


def test_string_with_nul_is_rejected(machine):
    m = machine()
    q = Qmp(m.sock)
    for req in [b'{"execute": "quit\\u0000x"}', b'{"execute": "quit\\u0000"}',
                b'{"execute\\u0000": "quit"}',
                b'{"execute": "qom-list", "arguments": {"path": "/\\u0000x"}}',
                b'{"execute": "quit", "id": "a\\u0000"}']:
        q.send(req + b"\n")
        r = q.reply()
        assert r is not None and "error" in r, (req, r)
        assert "NUL" in r["error"]["desc"], r
    # An escaped backslash followed by "u0000" is an ordinary string.
    r = q.cmd("qom-list", {"path": "\\u0000"})
    assert r["error"]["class"] == "DeviceNotFound", r
    assert m.p.poll() is None  # quit never ran
    assert "return" in q.cmd("query-status")


def test_ids_and_numbers_json_cannot_carry(machine):
    m = machine()
    q = Qmp(m.sock)
    for raw in [b"1e999", b"-1e999", b"[1, 1e400]"]:
        q.send(b'{"execute": "query-status", "id": ' + raw + b"}\n")
        line = q.s.recv(65536)
        r = json.loads(line)  # whatever we answer is valid JSON
        assert "error" in r and "out of range" in r["error"]["desc"], r
    # Ordinary ids still come back exactly as sent.
    for ident in [1.5, 12345678901234, -0.25, "x", [1, 2.5e300], 1e308, 5e-324, 1e21, -0.0,
                  "\u2028\t\"\\", {"\u00e9": [None, True]}]:
        assert q.cmd("query-status", id=ident)["id"] == ident
    assert m.p.poll() is None


def test_client_limit(machine):
    m = machine()
    clients = [Qmp(m.sock, negotiate=False) for _ in range(CLIENT_LIMIT)]
    extra = socket.socket(socket.AF_UNIX)
    extra.settimeout(10)
    extra.connect(str(m.sock))
    data = b""
    while True:
        chunk = extra.recv(4096)
        if not chunk:
            break
        data += chunk
    r = json.loads(data.splitlines()[0])
    assert "too many" in r["error"]["desc"] and str(CLIENT_LIMIT) in r["error"]["desc"], r
    extra.close()
    for c in clients:  # the others were not disturbed
        assert c.cmd("qmp_capabilities") == {"return": {}}
    clients.pop().close()
    ok = None
    for _ in range(100):  # the slot frees once the server saw the close
        c = Qmp(m.sock, negotiate=False)
        if c.greeting and "QMP" in c.greeting:
            ok = c
            break
        c.close()
        time.sleep(0.05)
    assert ok is not None and ok.cmd("qmp_capabilities") == {"return": {}}
    for c in clients:
        c.close()


def flood_until_refused(path, n):
    """Connects up to n clients that never read, until the backlog stays full for half a
    second (the server stopped accepting); returns the sockets."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        deadline = time.monotonic() + 0.5
        while True:
            try:
                s.connect(str(path))
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    s.close()
                    return socks
                time.sleep(0.01)
        socks.append(s)
    return socks


def test_fd_exhaustion_backs_off(machine):
    # With few descriptors the listener meets EMFILE while connections wait in the
    # backlog: the socket stays readable, and a listener that only logs and returns spins.
    m = machine(nofile=40)
    try:
        socks = flood_until_refused(m.sock, 60)
    except ConnectionRefusedError:
        raise AssertionError("the listener went away: " + m.output()[-3000:])
    time.sleep(0.5)
    cpu0, log0 = proc_cpu_seconds(m.p.pid), len(m.output())
    time.sleep(3)
    cpu = proc_cpu_seconds(m.p.pid) - cpu0
    log = m.output()
    assert cpu < 0.5, f"{cpu:.2f} CPU seconds in 3 s at fd exhaustion"
    assert len(log) - log0 < 1024 and len(log) < 4096, log[-2000:]
    assert "descriptors" in log, log
    for s in socks:
        s.close()
    # Descriptors free again: the listener takes clients again.
    q = None
    deadline = time.monotonic() + 10
    while q is None and time.monotonic() < deadline:
        try:
            q = Qmp(m.sock, timeout=5)
        except (OSError, AssertionError):
            time.sleep(0.2)
    assert q is not None and "return" in q.cmd("query-status")


def test_pmemsave_leaves_no_file_on_failure(machine, tmp_path):
    m = machine()
    q = Qmp(m.sock)
    out = tmp_path / "dump.bin"
    r = q.cmd("pmemsave", {"val": 0x1000, "size": 16, "filename": str(out)})
    assert "error" in r and "Invalid addr" in r["error"]["desc"], r
    assert not out.exists()
    r = q.cmd("pmemsave", {"val": 0x1000, "size": -1, "filename": str(out)})
    assert "error" in r and not out.exists()
    r = q.cmd("pmemsave", {"val": 0, "size": 0, "filename": ""})
    assert "empty" in r["error"]["desc"], r
    r = q.cmd("pmemsave", {"val": 0, "size": 0, "filename": str(tmp_path / "no" / "dir.bin")})
    assert str(tmp_path / "no" / "dir.bin") in r["error"]["desc"], r
    # An existing file is not clobbered by a failing dump, nor followed through a symlink.
    out.write_bytes(b"keep")
    assert "error" in q.cmd("pmemsave", {"val": 0x1000, "size": 16, "filename": str(out)})
    assert out.read_bytes() == b"keep"
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link.bin"
    link.symlink_to(victim)
    assert "return" in q.cmd("pmemsave", {"val": 0, "size": 0, "filename": str(link)})
    assert victim.read_bytes() == b"precious"
    assert "return" in q.cmd("pmemsave", {"val": 0, "size": 0, "filename": str(out)})
    assert out.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("dump", "link"))) == \
        ["dump.bin", "link.bin"]  # no temporary left behind
