# SPDX-License-Identifier: GPL-2.0-or-later
"""Headless operation: --daemonize, --pidfile, --log/--logfile, signals, exit codes."""
import json
import os
import signal
import subprocess
import time

import pytest


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours would still answer; daemons are not our children.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def machine(tmp_path):
    (tmp_path / "vm.ini").write_text("[machine]\ntype = none\n")
    return tmp_path / "vm.ini"


def env_for(tmp_path):
    return dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))


def ctl(mosaic_ctl, *args):
    return subprocess.run([str(mosaic_ctl), *map(str, args)], capture_output=True, text=True, timeout=30)


def test_daemonize_pidfile_sigterm(mosaic, mosaic_ctl, machine, tmp_path):
    sock, pidfile = tmp_path / "q.sock", tmp_path / "vm.pid"
    log = tmp_path / "vm.log"
    r = subprocess.run([str(mosaic), str(machine), "--daemonize", "--pidfile", str(pidfile),
                        "--qmp", "unix:%s" % sock, "--log", "monitor", "--logfile", str(log)],
                       capture_output=True, text=True, timeout=30, env=env_for(tmp_path),
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    # Ready when the parent returns: no sleep needed.
    assert sock.exists()
    pid = int(pidfile.read_text())
    try:
        assert alive(pid)
        assert ctl(mosaic_ctl, sock, "query-status").stdout.strip() == "status: running"
        # A second instance with the same pid file refuses to start.
        r2 = subprocess.run([str(mosaic), str(machine), "--pidfile", str(pidfile)], capture_output=True,
                            text=True, timeout=30, env=env_for(tmp_path), stdin=subprocess.DEVNULL)
        assert r2.returncode == 1 and "another mosaic" in r2.stderr
        assert int(pidfile.read_text()) == pid
        follower = subprocess.Popen([str(mosaic_ctl), "--json", str(sock), "events", "--count", "1"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "following" in follower.stderr.readline()
        os.kill(pid, signal.SIGHUP)  # ignored
        time.sleep(0.2)
        assert alive(pid)
        os.kill(pid, signal.SIGTERM)
        out, _ = follower.communicate(timeout=10)
        ev = json.loads(out.splitlines()[0])
        assert ev["event"] == "SHUTDOWN" and ev["data"]["reason"] == "host-signal"
        wait_for(lambda: not alive(pid), what="the daemon to exit")
        assert not pidfile.exists() and not sock.exists()
        assert "client connected" in log.read_text()  # --log monitor reached the log file
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_daemonize_failure_reaches_terminal(mosaic, machine, tmp_path):
    r = subprocess.run([str(mosaic), str(machine), "--daemonize", "--qmp", "tcp:10.1.2.3:4444"],
                       capture_output=True, text=True, timeout=30, env=env_for(tmp_path),
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert "loopback" in r.stderr


def test_sigterm_foreground_exit_code(mosaic, machine, tmp_path):
    sock = tmp_path / "q.sock"
    p = subprocess.Popen([str(mosaic), str(machine), "--qmp", "unix:%s" % sock], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(tmp_path))
    try:
        wait_for(sock.exists, what="the socket")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        assert not sock.exists()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
