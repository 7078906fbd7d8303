# SPDX-License-Identifier: GPL-2.0-or-later
"""The control protocol end to end: a headless machine (`[machine] type = none`) driven
through its --qmp socket with mosaic-ctl and with raw sockets."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest
from free_port import free_port  # tests/free_port.py


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Qmp:
    """A raw QMP client over a UNIX socket."""

    def __init__(self, path, negotiate=True, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(str(path))
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            assert "return" in self.cmd("qmp_capabilities")

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def recv(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self):
        while True:
            m = self.recv()
            if m is None or "event" not in m:
                return m
            self.events.append(m)

    def cmd(self, name, args=None, **kw):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        req.update(kw)
        self.send(json.dumps(req) + "\n")
        return self.reply()

    def event(self):
        if self.events:
            return self.events.pop(0)
        while True:
            m = self.recv()
            if m is None or "event" in m:
                return m

    def close(self):
        self.s.close()


class Vm:
    def __init__(self, mosaic, tmp_path, ini="[machine]\ntype = none\n", extra=(), qmp=True):
        self.dir = tmp_path
        self.sock = tmp_path / "qmp.sock"
        (tmp_path / "vm.ini").write_text(ini)
        args = [str(mosaic), "vm.ini", *extra]
        if qmp:
            args += ["--qmp", "unix:%s,server,wait=off" % self.sock]
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
        self.p = subprocess.Popen(args, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if qmp:
            wait_for(lambda: self.sock.exists() or self.p.poll() is not None, what="the QMP socket")
            if self.p.poll() is not None:
                raise AssertionError("mosaic exited %d: %s" % (self.p.returncode, self.p.stderr.read()))

    def wait(self, timeout=10):
        return self.p.wait(timeout=timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


@pytest.fixture
def vm(mosaic, tmp_path):
    v = Vm(mosaic, tmp_path)
    yield v
    v.kill()


def run_ctl(mosaic_ctl, *args):
    return subprocess.run([str(mosaic_ctl), *map(str, args)], capture_output=True, text=True, timeout=30)


class Follower:
    """`mosaic-ctl --json SOCKET events --count N`, started and subscribed."""

    def __init__(self, mosaic_ctl, sock, count):
        self.p = subprocess.Popen([str(mosaic_ctl), "--json", str(sock), "events", "--count", str(count),
                                   "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        line = self.p.stderr.readline()
        assert "following events" in line, line

    def result(self):
        out, err = self.p.communicate(timeout=30)
        return self.p.returncode, [json.loads(l) for l in out.splitlines()], err


def test_lifecycle_with_ctl(vm, mosaic_ctl):
    f = Follower(mosaic_ctl, vm.sock, 4)
    r = run_ctl(mosaic_ctl, vm.sock, "query-status")
    assert r.returncode == 0 and r.stdout.strip() == "status: running"
    assert run_ctl(mosaic_ctl, vm.sock, "stop").returncode == 0
    r = run_ctl(mosaic_ctl, "--json", vm.sock, "query-status")
    assert json.loads(r.stdout) == {"running": False, "singlestep": False, "status": "paused"}
    assert run_ctl(mosaic_ctl, vm.sock, "cont").returncode == 0
    assert run_ctl(mosaic_ctl, vm.sock, "execute", "system_reset").returncode == 0
    assert json.loads(run_ctl(mosaic_ctl, "--json", vm.sock, "query-status").stdout)["running"] is True
    r = run_ctl(mosaic_ctl, vm.sock, "quit")
    assert r.returncode == 0, r.stderr
    assert vm.wait() == 0
    assert not vm.sock.exists()
    code, events, err = f.result()
    assert code == 0, err
    assert [e["event"] for e in events] == ["STOP", "RESUME", "RESET", "SHUTDOWN"]
    assert events[2]["data"] == {"guest": False, "reason": "host-qmp-system-reset"}
    assert events[3]["data"]["reason"] == "host-qmp-quit"
    stamps = [(e["timestamp"]["seconds"], e["timestamp"]["microseconds"]) for e in events]
    assert stamps == sorted(stamps)


def test_powerdown(vm, mosaic_ctl):
    q = Qmp(vm.sock)
    assert q.cmd("system_powerdown", id=1) == {"return": {}, "id": 1}
    names = []
    while len(names) < 2:
        e = q.event()
        assert e is not None
        names.append(e["event"])
    assert names == ["POWERDOWN", "SHUTDOWN"]
    assert vm.wait() == 0  # a board without a power button shuts down at once


def test_protocol(vm):
    q = Qmp(vm.sock, negotiate=False)
    assert q.greeting["QMP"]["capabilities"] == []
    assert q.greeting["QMP"]["version"]["qemu"]["major"] >= 0
    r = q.cmd("query-status", id="early")
    assert r["error"]["class"] == "CommandNotFound" and r["id"] == "early"
    assert q.cmd("qmp_capabilities") == {"return": {}}
    assert q.cmd("qmp_capabilities")["error"]["class"] == "CommandNotFound"
    q.send("{\"execute\": }\n")
    assert q.reply()["error"]["desc"].startswith("JSON parse error")
    assert q.cmd("no-such")["error"]["class"] == "CommandNotFound"
    r = q.cmd("pmemsave", {"val": "zero", "size": 1, "filename": "x"})
    assert r["error"] == {"class": "GenericError",
                          "desc": "Invalid parameter type for 'val', expected: int"}
    assert "Parameter 'size' is missing" in q.cmd("pmemsave", {"val": 0, "filename": "x"})["error"]["desc"]
    assert "unexpected" in q.cmd("stop", {"now": True})["error"]["desc"]
    r = q.cmd("query-version", id=[1, {"a": None}])
    assert r["id"] == [1, {"a": None}] and "qemu" in r["return"]
    cmds = {c["name"] for c in q.cmd("query-commands")["return"]}
    assert {"qmp_capabilities", "query-status", "stop", "cont", "system_reset", "system_powerdown", "quit",
            "query-commands", "query-plugins", "query-machine", "query-cpus-fast", "memsave", "pmemsave",
            "qom-list", "qom-get", "qom-set", "query-schema", "query-version"} <= cmds
    schema = {c["name"]: c for c in q.cmd("query-schema")["return"]}
    assert [a["name"] for a in schema["pmemsave"]["arguments"]] == ["val", "size", "filename"]
    assert schema["SHUTDOWN"]["meta-type"] == "event"
    m = q.cmd("query-machine")["return"]
    assert m["type"] == "none" and m["sections"][0]["kind"] == "machine"
    assert isinstance(q.cmd("query-plugins")["return"], list)
    assert q.cmd("qom-list", {"path": "/"})["return"] == [{"name": "machine", "type": "child<machine>"}]
    assert q.cmd("qom-get", {"path": "nope", "property": "x"})["error"]["class"] == "DeviceNotFound"
    q.close()


def test_memory_dumps(vm, mosaic_ctl, tmp_path):
    out = tmp_path / "empty.bin"
    r = run_ctl(mosaic_ctl, vm.sock, "pmemsave", "val=0", "size=0", "filename=%s" % out)
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.stat().st_size == 0
    r = run_ctl(mosaic_ctl, vm.sock, "pmemsave", "val=0x1000", "size=16", "filename=%s" % out)
    assert r.returncode == 1 and "Invalid addr" in r.stderr  # nothing mapped: no RAM
    r = run_ctl(mosaic_ctl, vm.sock, "memsave", "val:=\"0\"", "size=1", "filename=x")
    assert r.returncode == 1 and "expected: int" in r.stderr


def test_ctl_errors(vm, mosaic_ctl, tmp_path):
    r = run_ctl(mosaic_ctl, vm.sock, "no-such-command")
    assert r.returncode == 1 and "CommandNotFound" in r.stderr
    r = run_ctl(mosaic_ctl, "--json", vm.sock, "no-such-command")
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["class"] == "CommandNotFound"
    assert run_ctl(mosaic_ctl).returncode == 2
    assert run_ctl(mosaic_ctl, vm.sock, "stop", "novalue").returncode == 2
    r = run_ctl(mosaic_ctl, tmp_path / "nothing.sock", "query-status")
    assert r.returncode == 1 and "nothing.sock" in r.stderr
    r = run_ctl(mosaic_ctl, vm.sock, "events", "--count", "1", "--timeout", "0.3")
    assert r.returncode == 1  # no event came


def test_many_clients_and_a_stuck_one(vm):
    stuck = Qmp(vm.sock)
    stuck.s.setblocking(False)
    req = b'{"execute":"query-schema"}\n' * 64
    sent = 0
    try:
        while sent < 20000:
            stuck.s.send(req)
            sent += 64
    except BlockingIOError:
        pass
    assert sent < 20000  # the server stopped reading it
    clients = [Qmp(vm.sock) for _ in range(8)]
    for i in range(50):
        for n, c in enumerate(clients):
            assert c.cmd("query-status", id=[n, i])["id"] == [n, i]
    for c in clients:
        c.close()
    stuck.close()
    q = Qmp(vm.sock)
    assert "return" in q.cmd("query-version")


def test_half_closed(vm):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(vm.sock))
    s.sendall(b'{"execute":"qmp_capabilities"}{"execute":"query-status","id":"last"}')
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    lines = [json.loads(l) for l in data.splitlines()]
    assert len(lines) == 3 and lines[2]["id"] == "last"


def test_huge_line_disconnects(vm):
    q = Qmp(vm.sock)
    q.send(b'{"execute":"')
    chunk = b"a" * (1 << 20)
    sent = 0
    try:
        while sent < 100 << 20:
            q.s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent < 100 << 20
    try:
        m = q.reply()
        assert m is None or "too large" in m["error"]["desc"]
    except ConnectionResetError:
        pass
    assert vm.p.poll() is None
    assert "return" in Qmp(vm.sock).cmd("query-version")


def test_monitor_section_and_tcp(mosaic, mosaic_ctl, tmp_path):
    port = free_port()
    v = Vm(mosaic, tmp_path, "[machine]\ntype = none\n[monitor ctl]\nsocket = second.sock\n",
           extra=["--qmp", "tcp:127.0.0.1:%d" % port])
    try:
        wait_for(lambda: (tmp_path / "second.sock").exists(), what="the [monitor] socket")
        assert run_ctl(mosaic_ctl, tmp_path / "second.sock", "query-status").returncode == 0
        r = run_ctl(mosaic_ctl, "tcp:127.0.0.1:%d" % port, "query-status")
        assert r.returncode == 0, r.stderr
        assert run_ctl(mosaic_ctl, v.sock, "quit").returncode == 0
        assert v.wait() == 0
        assert not (tmp_path / "second.sock").exists()
    finally:
        v.kill()


def test_tcp_must_be_loopback(run_mosaic, tmp_path):
    (tmp_path / "vm.ini").write_text("[machine]\ntype = none\n")
    r = run_mosaic(tmp_path / "vm.ini", "--qmp", "tcp:0.0.0.0:4444")
    assert r.returncode == 1 and "loopback" in r.stderr


def test_wait_for_client(mosaic, tmp_path):
    (tmp_path / "vm.ini").write_text("[machine]\ntype = none\n")
    sock = tmp_path / "w.sock"
    p = subprocess.Popen([str(mosaic), "vm.ini", "--qmp", "unix:%s,server" % sock], cwd=str(tmp_path),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "waiting for a connection" in p.stderr.readline()
        q = Qmp(sock)
        wait_for(lambda: q.cmd("query-status")["return"]["status"] == "running", what="the machine to start")
        assert q.cmd("quit") == {"return": {}}
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_plugin_command(mosaic, mosaic_ctl, tmp_path, build):
    test_plugins = build / "tests" / "plugins-monitor"  # never in the installed plugin dir
    assert (test_plugins / "mosaic-misc-monitor-test.so").exists(), "build the tests"
    v = Vm(mosaic, tmp_path, "[machine]\ntype = none\n[monitor-test t]\n",
           extra=["--plugin-path", str(test_plugins)])
    try:
        q = Qmp(v.sock)
        names = {c["name"] for c in q.cmd("query-commands")["return"]}
        assert "x-monitor-test-add" in names
        r = run_ctl(mosaic_ctl, "--json", v.sock, "x-monitor-test-add", "a=2", "b=40", "note=hi", "flag=true",
                    "scale=0.5")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"sum": 42, "note": "hi", "scale": 21.0, "flag": True, "items": [2, 40]}
        r = run_ctl(mosaic_ctl, v.sock, "x-monitor-test-add", "a=2", "b=x")
        assert r.returncode == 1 and "expected: int" in r.stderr
        r = run_ctl(mosaic_ctl, v.sock, "x-monitor-test-fail")
        assert r.returncode == 1 and "DeviceNotFound" in r.stderr
        schema = {c["name"]: c for c in q.cmd("query-schema")["return"]}
        assert [a["name"] for a in schema["x-monitor-test-add"]["arguments"]] == ["a", "b", "note", "scale", "flag"]
        assert q.cmd("x-monitor-test-events", {"count": 50}) == {"return": {}}
        for i in range(50):
            e = q.event()
            assert e["event"] == "MONITOR_TEST" and e["data"] == {"n": i}
    finally:
        v.kill()


def test_ctl_prints_valid_json_numbers(mosaic, mosaic_ctl, tmp_path, build):
    """Doubles at the edges (1e308, 1e-300, 1e21, -0.0, 2.5) come out as JSON a parser
    takes back, in --json and in the pretty text form (json-glib's generator writes
    "1e+308.0")."""
    test_plugins = build / "tests" / "plugins-monitor"
    v = Vm(mosaic, tmp_path, "[machine]\ntype = none\n[monitor-test t]\n",
           extra=["--plugin-path", str(test_plugins)])
    try:
        for scale in ("1e308", "-1e308", "1e-300", "1e21", "2.5", "1e16"):
            for mode in (["--json"], []):
                r = run_ctl(mosaic_ctl, *mode, v.sock, "x-monitor-test-add", "a=1", "b=0",
                            "scale=" + scale)
                assert r.returncode == 0, r.stderr
                assert json.loads(r.stdout)["scale"] == float(scale), (mode, r.stdout)
    finally:
        v.kill()


def test_riscv_guest_memory_and_run(mosaic, mosaic_ctl, top, tmp_path, build):
    """A real board, started paused: guest RAM holds the loaded program (pmemsave), then
    `cont` runs it to its end: RESUME, then SHUTDOWN from the guest."""
    elf = top / "build" / "guests" / "tests" / "csr.elf"
    assert elf.exists() and (build / "plugins" / "mosaic-machine-riscv-virt.so").exists(), \
        "riscv-virt or the bare-metal test programs are not built: run scons"
    ini = (top / "configs" / "riscv-virt-bare.ini").read_text()
    v = Vm(mosaic, tmp_path, ini, extra=["--set", "machine.kernel=%s" % elf, "-S"])
    try:
        q = Qmp(v.sock)
        assert q.cmd("query-status")["return"]["status"] == "paused"
        cpus = q.cmd("query-cpus-fast")["return"]
        assert len(cpus) == 1 and cpus[0]["cpu-index"] == 0 and cpus[0].get("target") == "riscv64"
        dump = tmp_path / "ram.bin"
        assert q.cmd("pmemsave", {"val": 0x80000000, "size": 4096, "filename": str(dump)}) == {"return": {}}
        data = dump.read_bytes()
        assert len(data) == 4096 and data.count(0) < 4096
        assert q.cmd("memsave", {"val": 0x80000000, "size": 64, "filename": str(dump), "cpu-index": 0}) \
            == {"return": {}}
        assert dump.read_bytes() == data[:64]
        assert "error" in q.cmd("memsave", {"val": 0, "size": 1, "filename": "x", "cpu-index": 5})
        assert q.cmd("cont") == {"return": {}}
        events = [q.event(), q.event()]
        assert [e["event"] for e in events] == ["RESUME", "SHUTDOWN"]
        assert events[1]["data"]["guest"] is True
        assert v.wait() == 0
    finally:
        v.kill()


def test_qom_on_a_device(mosaic, mosaic_ctl, top, tmp_path, build):
    elf = top / "build" / "guests" / "tests" / "csr.elf"
    assert elf.exists() and (build / "plugins" / "mosaic-machine-riscv-virt.so").exists(), \
        "riscv-virt or the bare-metal test programs are not built: run scons"
    (tmp_path / "disk.img").write_bytes(b"\0" * (1 << 20))
    ini = ("[machine]\ntype = riscv-virt\n[blockdev d0]\ndriver = file\nfilename = disk.img\n"
           "[device blk0]\ntype = virtio-blk\ndrive = d0\nserial = abc\n")
    v = Vm(mosaic, tmp_path, ini, extra=["--set", "machine.kernel=%s" % elf, "-S"])
    try:
        q = Qmp(v.sock)
        assert q.cmd("qom-list", {"path": "/machine/peripheral"})["return"] == \
            [{"name": "blk0", "type": "child<virtio-blk>"}]
        props = {p["name"]: p for p in q.cmd("qom-list", {"path": "blk0"})["return"]}
        assert props["serial"]["type"] == "str" and props["read-only"]["type"] == "bool"
        assert q.cmd("qom-get", {"path": "blk0", "property": "serial"})["return"] == "abc"
        assert q.cmd("qom-get", {"path": "/machine/peripheral/blk0", "property": "read-only"})["return"] is False
        assert q.cmd("qom-get", {"path": "blk0", "property": "type"})["return"] == "virtio-blk"
        assert q.cmd("qom-get", {"path": "blk0", "property": "nope"})["error"]["class"] == "GenericError"
        r = q.cmd("qom-set", {"path": "blk0", "property": "serial", "value": "x"})
        assert "cannot be changed while running" in r["error"]["desc"]
        r = run_ctl(mosaic_ctl, "--json", v.sock, "qom-get", "path=blk0", "property=serial")
        assert r.returncode == 0 and json.loads(r.stdout) == "abc"
        assert q.cmd("quit") == {"return": {}}
        assert v.wait() == 0
    finally:
        v.kill()
