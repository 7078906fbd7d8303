"""Headless machines under a service manager: readiness through the sd_notify protocol
(a datagram socket named by $NOTIFY_SOCKET, as systemd's Type=notify, Nomad or runit
with a notify listener provide it) and the stop through the control socket
(`mosaic-ctl SOCKET shutdown`, the unit's ExecStop).

systemd is not init here, so the listener is a test double that speaks the protocol for
real: an AF_UNIX SOCK_DGRAM socket receiving the text datagrams libsystemd sends.  It
checks the order that matters: when READY=1 arrives, the QMP socket already accepts and
greets."""
import os
import socket
import subprocess
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
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), NOTIFY_SOCKET=listener.path,
               ASAN_OPTIONS="detect_leaks=0")
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
def test_unit_verifies(top, tmp_path):
    """systemd's own parser accepts the generated unit."""
    unit = tmp_path / "mosaic@.service"
    text = (top / "systemd" / "mosaic@.service.in").read_text().replace("@BINDIR@", "/bin")
    unit.write_text(text.replace("ConditionPathExists", "#ConditionPathExists"))
    r = subprocess.run(["systemd-analyze", "verify", f"{unit}"], capture_output=True, text=True,
                       timeout=60)
    problems = [l for l in r.stderr.splitlines()
                if "mosaic@" in l and ("nknown" in l or "rror" in l or "nvalid" in l)]
    assert not problems, r.stderr
