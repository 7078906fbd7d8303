# SPDX-License-Identifier: GPL-2.0-or-later
"""Headless machines under a service manager: readiness through the sd_notify protocol
(a datagram socket named by $NOTIFY_SOCKET, as systemd's Type=notify, Nomad or runit
with a notify listener provide it) and the stop through the control socket
(`mosaic-ctl SOCKET shutdown`, the unit's ExecStop).

systemd is not init here, so the listener is a test double that speaks the protocol for
real: an AF_UNIX SOCK_DGRAM socket receiving the text datagrams libsystemd sends.  It
checks the order that matters: when READY=1 arrives, the QMP socket already accepts and
greets."""
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class NotifyListener:
    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)

    def next(self, deadline):
        while time.monotonic() < deadline:
            try:
                return self.sock.recv(4096).decode()
            except socket.timeout:
                continue
        return None

    def close(self):
        self.sock.close()


def qmp_greeting(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(path))
    data = b""
    while b"\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode()


@pytest.fixture
def machine_file(tmp_path):
    ini = tmp_path / "vm.ini"
    ini.write_text("[machine]\ntype = none\n")
    return ini


def start(mosaic, tmp_path, machine_file, qmp, listener, *extra):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), NOTIFY_SOCKET=listener.path)
    return subprocess.Popen([str(mosaic), "--qmp", f"unix:{qmp},server,wait=off", *extra,
                             str(machine_file)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ready_only_after_qmp_accepts_then_clean_stop(mosaic, mosaic_ctl, tmp_path, machine_file):
    listener = NotifyListener(tmp_path / "notify")
    qmp = tmp_path / "qmp.sock"
    p = start(mosaic, tmp_path, machine_file, qmp, listener)
    try:
        msg = listener.next(time.monotonic() + 30)
        assert msg is not None, p.stderr.read() if p.poll() is not None else "no READY=1"
        fields = dict(l.split("=", 1) for l in msg.splitlines() if "=" in l)
        assert fields.get("READY") == "1", msg
        assert fields.get("STATUS") == "running"
        # At this instant the control socket must already accept and greet.
        assert '"QMP"' in qmp_greeting(qmp)
        r = subprocess.run([str(mosaic_ctl), str(qmp), "shutdown", "--timeout", "10"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert p.wait(timeout=30) == 0
        # STOPPING=1 was said before the process went away.
        stop = listener.next(time.monotonic() + 5)
        assert stop is not None and "STOPPING=1" in stop
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        listener.close()


def test_no_ready_when_startup_fails(mosaic, tmp_path):
    """A machine that cannot start never reports ready."""
    listener = NotifyListener(tmp_path / "notify")
    bad = tmp_path / "bad.ini"
    bad.write_text("[machine]\ntype = no-such-board\n")
    p = start(mosaic, tmp_path, bad, tmp_path / "qmp.sock", listener)
    try:
        assert p.wait(timeout=30) != 0
        assert listener.next(time.monotonic() + 1) is None
    finally:
        listener.close()


def test_paused_machine_reports_paused(mosaic, mosaic_ctl, tmp_path, machine_file):
    listener = NotifyListener(tmp_path / "notify")
    qmp = tmp_path / "qmp.sock"
    p = start(mosaic, tmp_path, machine_file, qmp, listener, "-S")
    try:
        msg = listener.next(time.monotonic() + 30)
        assert msg and "READY=1" in msg and "STATUS=paused" in msg
    finally:
        subprocess.run([str(mosaic_ctl), str(qmp), "quit"], capture_output=True, timeout=30)
        p.wait(timeout=30)
        listener.close()


def test_shutdown_stops_a_running_guest(mosaic, mosaic_ctl, tmp_path):
    """A guest busy waiting for input: mosaic-ctl shutdown (powerdown, then quit after
    --timeout) ends the machine and reports success."""
    elf = ROOT / "build" / "guests" / "tests" / "uart.elf"
    assert elf.is_file()
    ini = tmp_path / "spin.ini"
    # The uart test waits for input that never comes: the machine keeps running.
    ini.write_text(f"include = {ROOT / 'configs' / 'riscv-virt-bare.ini'}\n"
                   f"[machine]\nkernel = {elf}\n")
    listener = NotifyListener(tmp_path / "notify")
    qmp = tmp_path / "qmp.sock"
    p = start(mosaic, tmp_path, ini, qmp, listener)
    try:
        assert "READY=1" in (listener.next(time.monotonic() + 30) or "")
        r = subprocess.run([str(mosaic_ctl), str(qmp), "shutdown", "--timeout", "2"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        listener.close()


def test_unit_template(top):
    """The shipped unit: notify readiness, the machine file from /etc/mosaic/machines,
    ExecStop through the control socket, sandboxing that keeps /dev/kvm reachable."""
    text = (top / "systemd" / "mosaic@.service.in").read_text()
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    assert keys["Type"] == ["notify"]
    assert "/etc/mosaic/machines/%i.ini" in keys["ExecStart"][0]
    assert "unix:/run/mosaic/%i/qmp.sock" in keys["ExecStart"][0]
    assert "mosaic-ctl unix:/run/mosaic/%i/qmp.sock shutdown" in keys["ExecStop"][0]
    assert keys["ProtectSystem"] == ["strict"] and keys["PrivateTmp"] == ["yes"]
    assert keys["DynamicUser"] == ["yes"] and keys["DeviceAllow"] == ["/dev/kvm rw"]


@pytest.mark.needs_tools("systemd-analyze")
def test_unit_verifies(top, build, tmp_path):
    """systemd's own parser accepts the unit: no unknown or invalid directive, and the
    commands it names exist (the built programs stand in for the installed ones)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mosaic").symlink_to(build / "core" / "mosaic")
    (bindir / "mosaic-ctl").symlink_to(build / "tools" / "mosaic-ctl" / "mosaic-ctl")
    unit = tmp_path / "mosaic@vm1.service"
    text = (top / "systemd" / "mosaic@.service.in").read_text().replace("@BINDIR@", str(bindir))
    unit.write_text(text.replace("ConditionPathExists", "#ConditionPathExists"))
    r = subprocess.run(["systemd-analyze", "verify", f"{unit}"], capture_output=True, text=True,
                       timeout=60)
    # Only the Documentation= pages may be missing: they are installed, not built here.
    problems = [l for l in r.stderr.splitlines() if l.strip() and "'man " not in l]
    assert not problems, r.stderr


def unit_commands(top, instance, etc, run):
    """ExecStart and ExecStop of mosaic@.service for `instance`, as systemd would expand
    them, with /etc/mosaic and /run/mosaic moved into the test's directories."""
    text = (top / "systemd" / "mosaic@.service.in").read_text()
    cmds = {}
    for line in text.splitlines():
        for key in ("ExecStart", "ExecStop"):
            if line.startswith(key + "="):
                cmd = line.split("=", 1)[1].replace("%i", instance)
                cmd = cmd.replace("/etc/mosaic", str(etc)).replace("/run/mosaic", str(run))
                cmds[key] = cmd.split()
    return cmds


def test_unit_commands_under_a_notify_supervisor(top, build, tmp_path):
    """The unit's own ExecStart and ExecStop, run the way systemd runs a Type=notify
    service: ready only once the control socket greets, stopped cleanly by ExecStop."""
    etc, run = tmp_path / "etc", tmp_path / "run"
    (etc / "machines").mkdir(parents=True)
    (run / "vm1").mkdir(parents=True)
    (etc / "machines" / "vm1.ini").write_text("[machine]\ntype = none\n")
    cmds = unit_commands(top, "vm1", etc, run)
    bindir = {"mosaic": build / "core" / "mosaic",
              "mosaic-ctl": build / "tools" / "mosaic-ctl" / "mosaic-ctl"}
    for c in cmds.values():
        c[0] = str(bindir[Path(c[0]).name])
    listener = NotifyListener(tmp_path / "notify")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), NOTIFY_SOCKET=listener.path)
    p = subprocess.Popen(cmds["ExecStart"], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        msg = listener.next(time.monotonic() + 30)
        assert msg and "READY=1" in msg, p.stderr.read() if p.poll() is not None else msg
        assert '"QMP"' in qmp_greeting(run / "vm1" / "qmp.sock")
        env.pop("NOTIFY_SOCKET")
        env["MAINPID"] = str(p.pid)
        r = subprocess.run(cmds["ExecStop"], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert p.wait(timeout=30) == 0
        assert "STOPPING=1" in (listener.next(time.monotonic() + 5) or "")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        listener.close()


class StubbornMachine(threading.Thread):
    """A QMP server (test double speaking the real protocol) whose guest ignores the
    power button: it answers system_powerdown and stays up until `quit`."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(1)
        self.srv.settimeout(30)
        self.commands = []
        self.start()

    def run(self):
        conn, _ = self.srv.accept()
        conn.settimeout(30)
        f = conn.makefile("rwb", buffering=0)
        f.write(b'{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, '
                b'"package": "stub"}, "capabilities": []}}\r\n')
        for line in f:
            cmd = json.loads(line)["execute"]
            self.commands.append((cmd, time.monotonic()))
            f.write(b'{"return": {}}\r\n')
            if cmd == "quit":
                f.write(b'{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"},'
                        b' "timestamp": {"seconds": 0, "microseconds": 0}}\r\n')
                break
        conn.close()
        self.srv.close()


def test_shutdown_quits_after_the_timeout(mosaic_ctl, tmp_path):
    sock = tmp_path / "stub.sock"
    stub = StubbornMachine(sock)
    r = subprocess.run([str(mosaic_ctl), str(sock), "shutdown", "--timeout", "1.5"],
                       capture_output=True, text=True, timeout=60)
    stub.join(timeout=30)
    assert r.returncode == 0, r.stderr
    names = [c for c, _ in stub.commands]
    assert names == ["qmp_capabilities", "system_powerdown", "quit"], names
    # quit came only after the guest had its --timeout to power off.
    assert stub.commands[2][1] - stub.commands[1][1] >= 1.4
    assert "did not power down within 1.5 s" in r.stderr


def test_shutdown_of_a_stopped_machine_succeeds(mosaic_ctl, tmp_path):
    """ExecStop runs also after the machine exited on its own: no socket, nothing to do."""
    r = subprocess.run([str(mosaic_ctl), str(tmp_path / "gone.sock"), "shutdown"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "not running" in r.stderr
    # Any other command still fails on a missing socket.
    r = subprocess.run([str(mosaic_ctl), str(tmp_path / "gone.sock"), "query-status"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
