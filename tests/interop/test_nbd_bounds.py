# SPDX-License-Identifier: GPL-2.0-or-later
"""The NBD server under hostile clients: bounded output and time in negotiation, bounded
work per block-status reply, fd exhaustion, socket paths that are not ours to delete."""
import os
import resource
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "system"))
from test_monitor_bounds import proc_rss_kib, proc_cpu_seconds, flood_until_refused  # noqa: E402
from test_nbd import daemon, negotiate, recv_all, request, read_chunk, raw_disk, export_ini, uri, MB  # noqa: E402,F401,E501

GIB = 1 << 30
HANDSHAKE = 2  # seconds, [export] handshake-timeout in these tests


def hello(sock_path, timeout=5):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(str(sock_path))
    return s


# ---- socket paths ----

def test_export_socket_never_deletes_a_file(daemon, mosaic, tmp_path):
    img = raw_disk(tmp_path)
    before = img.read_bytes()
    (tmp_path / "bad.ini").write_text("[machine]\ntype = none\n" + export_ini(img, img))
    r = subprocess.run([str(mosaic), str(tmp_path / "bad.ini")], capture_output=True, text=True,
                       timeout=20, env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "x")))
    assert r.returncode != 0 and str(img) in r.stderr and "not a socket" in r.stderr, r.stderr
    assert img.read_bytes() == before

    d = daemon(f"[blockdev f0]\ndriver = file\nfilename = {img}\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link.sock"
    link.symlink_to(notes)
    for path in (notes, folder, link):
        r = d.qmp("block-export-add", id="x", **{"node-name": "f0"}, socket=str(path))
        assert "not a socket" in r["error"]["desc"] and str(path) in r["error"]["desc"], r
    assert notes.read_text() == "keep me" and folder.is_dir() and link.is_symlink()

    # A socket somebody listens on is theirs.
    live = tmp_path / "live.sock"
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(live))
    other.listen(1)
    r = d.qmp("block-export-add", id="x", **{"node-name": "f0"}, socket=str(live))
    assert "in use" in r["error"]["desc"], r
    c = socket.socket(socket.AF_UNIX)
    c.connect(str(live))  # still theirs
    c.close()
    other.close()

    # A stale socket (its owner died without removing it) is replaced.
    stale = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(stale))
    dead.close()
    assert "return" in d.qmp("block-export-add", id="x", **{"node-name": "f0"}, socket=str(stale))
    out = subprocess.check_output(["nbdinfo", "--size", uri(stale, "x")], text=True)
    assert out.strip() == str(64 * MB)
    assert d.proc.poll() is None


def test_stop_removes_only_its_own_socket(daemon, tmp_path):
    img = raw_disk(tmp_path)
    d = daemon(f"[blockdev f0]\ndriver = file\nfilename = {img}\n")
    sock = tmp_path / "e.sock"
    assert "return" in d.qmp("block-export-add", id="x", **{"node-name": "f0"}, socket=str(sock))
    # Somebody else's file took the socket's place meanwhile: it stays.
    other = tmp_path / "other"
    other.write_text("theirs")
    os.replace(other, sock)
    assert "return" in d.qmp("block-export-del", id="x")
    assert sock.read_text() == "theirs"
    # The monitor's socket likewise, at exit.
    qmp_other = tmp_path / "qmp-other"
    qmp_other.write_text("theirs too")
    d.qmp("query-status")
    os.replace(qmp_other, d.qmp_path)
    d.stop()
    assert d.qmp_path.read_text() == "theirs too"


def test_qmp_socket_of_a_live_server_is_refused(mosaic, tmp_path):
    live = tmp_path / "live.sock"
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(live))
    other.listen(1)
    (tmp_path / "m.ini").write_text("[machine]\ntype = none\n")
    r = subprocess.run([str(mosaic), str(tmp_path / "m.ini"), "--qmp", f"unix:{live},server,wait=off"],
                       capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "x")))
    assert r.returncode != 0 and "in use" in r.stderr, r.stderr
    c = socket.socket(socket.AF_UNIX)
    c.connect(str(live))
    c.close()
    other.close()


# ---- negotiation ----

def info_flood_option(name, count):
    """NBD_OPT_INFO for `name` asking `count` times for NBD_INFO_NAME (2 bytes each,
    each answered with the whole name if the server repeats itself)."""
    data = struct.pack(">I", len(name)) + name + struct.pack(">H", count) + b"\0\1" * count
    return b"IHAVEOPT" + struct.pack(">II", 6, len(data)) + data


def test_negotiation_output_is_bounded(daemon, tmp_path):
    img = raw_disk(tmp_path, 4 * MB)
    sock = tmp_path / "nbd.sock"
    name = b"n" * 4000
    d = daemon(f"[blockdev f0]\ndriver = file\nfilename = {img}\n")
    r = d.qmp("block-export-add", id="e0", **{"node-name": "f0"}, socket=str(sock),
              name=name.decode())
    assert "return" in r, r
    base = proc_rss_kib(d.proc.pid)
    s = hello(sock)
    recv_all(s, 18)
    s.sendall(struct.pack(">I", 3))
    s.setblocking(False)
    opt = info_flood_option(name, 30000)
    sent = 0
    try:
        for _ in range(64):  # 4 MiB of options, never reading a reply
            sent += s.send(opt)
    except BlockingIOError:
        pass
    time.sleep(1)
    grown = proc_rss_kib(d.proc.pid) - base
    assert grown < 8 * 1024, f"RSS grew {grown} KiB for {sent} bytes of options"
    # The main loop is free: another client negotiates and reads.
    r = subprocess.run(["nbdinfo", "--size", uri(sock, name.decode())], capture_output=True,
                       text=True, timeout=30)
    assert r.stdout.strip() == str(4 * MB), r.stderr
    s.close()


def test_idle_clients_time_out(daemon, tmp_path):
    img = raw_disk(tmp_path, 4 * MB)
    sock = tmp_path / "nbd.sock"
    d = daemon(export_ini(img, sock) + f"handshake-timeout = {HANDSHAKE}\n", wait_for=[sock])
    idle = []
    first_connected = time.monotonic()
    for _ in range(64):
        s = hello(sock)
        recv_all(s, 18)
        idle.append(s)
    # Every slot is taken by a client that does nothing: the next one is turned away...
    late = hello(sock)
    assert late.recv(18) == b""
    late.close()
    # ...until the handshake limit ends the idle ones (CVE-2024-7409 in QEMU).
    idle[0].settimeout(HANDSHAKE + 10)
    assert idle[0].recv(1) == b""
    assert time.monotonic() - first_connected >= HANDSHAKE - 0.25  # not cut at once
    for s in idle:
        s.settimeout(HANDSHAKE + 10)
        assert s.recv(1) == b""
    r = subprocess.run(["nbdinfo", "--size", uri(sock)], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == str(4 * MB), r.stderr
    # A client that finished negotiating is never timed out.
    s, _ = negotiate(sock)
    time.sleep(HANDSHAKE + 1)
    request(s, 0, MB, 5)
    assert read_chunk(s)[3][8:] == b"hello"
    s.close()
    for s in idle:
        s.close()
    assert d.proc.poll() is None


def test_fd_exhaustion_backs_off(mosaic, tmp_path):
    img = raw_disk(tmp_path, 4 * MB)
    sock = tmp_path / "nbd.sock"
    (tmp_path / "m.ini").write_text("[machine]\ntype = none\n" + export_ini(img, sock))
    log_path = tmp_path / "mosaic.log"
    with open(log_path, "w") as log:
        p = subprocess.Popen([str(mosaic), str(tmp_path / "m.ini")], stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(tmp_path),
                             env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "x")),
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40)))
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert p.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.02)
        socks = flood_until_refused(sock, 60)
        time.sleep(0.5)
        cpu0 = proc_cpu_seconds(p.pid)
        time.sleep(3)
        cpu = proc_cpu_seconds(p.pid) - cpu0
        text = log_path.read_text()
        assert cpu < 0.5, f"{cpu:.2f} CPU seconds in 3 s at fd exhaustion"
        assert text.count("cannot accept") == 1 and "descriptors" in text, text[-2000:]
        for c in socks:
            c.close()
        ok = False
        deadline = time.monotonic() + 10
        while not ok and time.monotonic() < deadline:
            r = subprocess.run(["nbdinfo", "--size", uri(sock)], capture_output=True, text=True,
                               timeout=30)
            ok = r.stdout.strip() == str(4 * MB)
            time.sleep(0.2)
        assert ok, r.stderr
    finally:
        p.kill()
        p.wait()


# ---- block status with a dirty bitmap ----

def bitmap_daemon(daemon, tmp_path, size):
    img = tmp_path / "big.img"
    with open(img, "wb") as f:
        f.truncate(size)
    sock = tmp_path / "nbd.sock"
    d = daemon(f"[blockdev f0]\ndriver = file\nfilename = {img}\n")
    assert "return" in d.qmp("block-dirty-bitmap-add", node="f0", name="bm", granularity=512)
    r = d.qmp("block-export-add", id="e0", **{"node-name": "f0"}, socket=str(sock), writable=True,
              bitmap="bm")
    assert "return" in r, r
    return d, sock


def dirty_status(s, off, ln, handle=1):
    request(s, 7, off, ln, handle=handle)
    flags, typ, h, payload = read_chunk(s)
    assert typ == 5 and flags & 1, (typ, payload)
    ext = [struct.unpack(">II", payload[i:i + 8]) for i in range(4, len(payload), 8)]
    assert ext and all(e[0] for e in ext)
    return ext


def set_meta_dirty(sock):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(str(sock))
    recv_all(s, 18)
    s.sendall(struct.pack(">I", 3))

    def opt(o, data=b""):
        s.sendall(b"IHAVEOPT" + struct.pack(">II", o, len(data)) + data)
        while True:
            magic, ro, typ, ln = struct.unpack(">QIII", recv_all(s, 20))
            recv_all(s, ln)
            if typ == 1 or typ & 0x80000000:
                return typ
    assert opt(8) == 1
    q = b"qemu:dirty-bitmap:bm"
    assert opt(10, struct.pack(">I", 2) + b"e0" + struct.pack(">II", 1, len(q)) + q) == 1
    assert opt(7, struct.pack(">I", 2) + b"e0" + struct.pack(">H", 0)) == 1
    return s


def test_dirty_block_status_work_is_bounded(daemon, tmp_path):
    d, sock = bitmap_daemon(daemon, tmp_path, 4 * GIB)
    # 64 MiB dirty at 512-byte granularity: 131072 bits to look at one by one.
    w = set_meta_dirty(sock)
    chunk = 8 * MB
    for i in range(8):
        request(w, 6, 16 * MB + i * chunk, chunk, handle=100 + i)  # WRITE_ZEROES dirties
        assert read_chunk(w)[1] == 0
    ext = dirty_status(w, 0, 4 * GIB - 4096)
    covered = sum(e[0] for e in ext)
    assert ext[0] == (16 * MB, 0)
    assert 16 * MB < covered <= 16 * MB + 32 * MB, ext  # at most 65536 dirty bits per reply
    # A client that asks again from where the reply ended sees the truth.
    pos, dirty = 0, 0
    while pos < 4 * GIB - 4096:
        ext = dirty_status(w, pos, 4 * GIB - 4096 - pos)
        for ln, fl in ext:
            dirty += ln if fl & 1 else 0
            pos += ln
    assert pos == 4 * GIB - 4096 and dirty == 64 * MB
    # Clean gigabytes cost little: 20 whole-disk requests in well under a CPU second.
    cpu0 = proc_cpu_seconds(d.proc.pid)
    for i in range(20):
        ext = dirty_status(w, 2 * GIB, 2 * GIB - 4096, handle=i)
        assert ext == [(2 * GIB - 4096, 0)], ext
    assert proc_cpu_seconds(d.proc.pid) - cpu0 < 1.0
    w.close()


# ---- request boundaries ----

CMD_READ, CMD_WRITE, CMD_FLUSH, CMD_TRIM, CMD_CACHE, CMD_WZ, CMD_BS = 0, 1, 3, 4, 5, 6, 7
EINVAL, ENOSPC = 22, 28


def reply(s, typ, off, ln, handle):
    data = b"\x5a" * ln if typ == CMD_WRITE else b""
    request(s, typ, off, ln, handle=handle, data=data)
    flags, rtype, h, payload = read_chunk(s)
    assert h == handle and flags & 1
    if rtype == 32769:
        err, ml = struct.unpack(">IH", payload[:6])
        return err, payload[6:6 + ml].decode()
    return 0, payload


def test_every_command_at_the_boundaries(daemon, tmp_path):
    # The export is the file node itself: writable and growable, so a write past the end
    # that slipped through the NBD check would grow the file instead of failing (the
    # block layer's own check cannot catch it, and cannot mask a broken NBD check).
    size = 4 * MB
    img = raw_disk(tmp_path, size)
    sock = tmp_path / "nbd.sock"
    daemon(f"[blockdev f0]\ndriver = file\nfilename = {img}\n\n"
           f"[export e0]\nnode = f0\nsocket = {sock}\nwritable = on\n", wait_for=[sock])
    s, _ = negotiate(sock)
    handle = 0
    for cmd in (CMD_READ, CMD_WRITE, CMD_TRIM, CMD_WZ, CMD_BS):
        past = ENOSPC if cmd in (CMD_WRITE, CMD_TRIM, CMD_WZ) else EINVAL
        cases = [((size - 512, 512), 0, None),                # ends exactly at the end
                 ((size - 511, 512), past, "past the end"),   # one byte past
                 ((size, 1), past, "past the end"),           # starts at the end
                 ((size + 512, 512), past, "past the end"),
                 ((2**64 - 256, 512), past, "past the end"),  # offset + length wraps
                 ((2**64 - 1, 1), past, "past the end"),      # wraps to exactly 0
                 ((size, 0), EINVAL, "zero-length"),
                 ((0, 0), EINVAL, "zero-length")]
        if cmd == CMD_READ:  # the largest length first meets the maximum block size
            cases.append(((size - 1, 2**32 - 1), EINVAL, "32 MiB"))
        elif cmd != CMD_WRITE:  # (a write would have to send the payload along)
            cases.append(((size - 1, 2**32 - 1), past, "past the end"))
        for (off, ln), want, why in cases:
            handle += 1
            err, out = reply(s, cmd, off, ln, handle)
            assert err == want, (cmd, off, ln, err, out)
            if why:
                assert why in out, (cmd, off, ln, out)
            elif cmd == CMD_READ:
                assert len(out) == 8 + 512 and struct.unpack(">Q", out[:8])[0] == size - 512
    for off, ln in [(0, 512), (size, 512)]:  # not offered: refused, never run
        handle += 1
        assert reply(s, CMD_CACHE, off, ln, handle)[0] == EINVAL
    handle += 1
    assert reply(s, CMD_FLUSH, 0, 0, handle) == (0, b"")
    s.close()
    assert img.stat().st_size == size  # nothing grew the file
    with open(img, "rb") as f:
        f.seek(size - 512)
        assert f.read() == b"\0" * 512  # written, then trimmed or zeroed
