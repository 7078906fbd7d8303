# SPDX-License-Identifier: GPL-2.0-or-later
"""A UNIX socket path that Mosaic serves on appears only once the socket listens: a
script (or supervisor) that waits for the path and connects at once is never refused.

The window between bind() (which creates the path) and listen() is microseconds, so the
test widens it: strace delays every listen() call by half a second.  A server that binds
the path itself shows it for that half second while refusing connections."""
import os
import signal
import socket
import subprocess
import time

import pytest

pytestmark = pytest.mark.needs_tools('strace')

DELAY_US = 500000


def start_delayed(mosaic, tmp_path, ini, *args):
    (tmp_path / 'm.ini').write_text(ini)
    log = open(tmp_path / 'mosaic.log', 'w')
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg'))
    # -I 1: strace takes SIGTERM (with -o FILE it blocks it by default), see stop()
    p = subprocess.Popen(['strace', '-I', '1', '-f', '-o', '/dev/null', '-e', 'trace=listen',
                          '-e', f'inject=listen:delay_enter={DELAY_US}',
                          str(mosaic), str(tmp_path / 'm.ini'), *args],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         cwd=str(tmp_path), env=env)
    log.close()
    return p


def connect_as_soon_as_it_appears(p, path, log):
    """Polls for `path`; connects the moment it exists.  Returns the connected socket."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert p.poll() is None, 'mosaic exited:\n' + log.read_text()
        assert time.monotonic() < deadline, f'{path} never appeared:\n' + log.read_text()
        time.sleep(0.001)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(str(path))
    except ConnectionRefusedError:
        s.close()
        pytest.fail(f'{path} existed before its socket listened (connection refused)')
    return s


def children(pid):
    """The processes `pid` started (mosaic under strace)."""
    kids = []
    for task in os.listdir(f'/proc/{pid}/task') if os.path.isdir(f'/proc/{pid}/task') else []:
        try:
            with open(f'/proc/{pid}/task/{task}/children') as f:
                kids += [int(k) for k in f.read().split()]
        except FileNotFoundError:
            pass
    return kids


def alive(pid):
    """Running (a zombie left to init is not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def stop(p):
    """Ends the test's mosaic, also the one strace runs: killing strace alone left it
    running for ever.  strace is told to stop first (SIGTERM: it detaches), so mosaic
    then ends untraced and its ASan build's leak check can run (it cannot under ptrace)."""
    kids = children(p.pid) if p.poll() is None else []
    if p.poll() is None:
        p.terminate() if kids else p.kill()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for k in kids:
        if alive(k):
            os.kill(k, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while [k for k in kids if alive(k)] and time.monotonic() < deadline:
        time.sleep(0.02)
    left = [k for k in kids if alive(k)]
    for k in left:
        os.kill(k, signal.SIGKILL)
    assert not left, f'mosaic {left} outlived its test (ignored SIGTERM)'


def test_qmp_socket_listens_when_it_appears(mosaic, tmp_path):
    sock = tmp_path / 'qmp.sock'
    p = start_delayed(mosaic, tmp_path, '[machine]\ntype = none\n',
                      '--qmp', f'unix:{sock},server,wait=off')
    try:
        s = connect_as_soon_as_it_appears(p, sock, tmp_path / 'mosaic.log')
        assert b'"QMP"' in s.recv(4096)
        s.close()
    finally:
        stop(p)


def test_nbd_socket_listens_when_it_appears(mosaic, tmp_path):
    img = tmp_path / 'disk.img'
    with open(img, 'wb') as f:
        f.truncate(1 << 20)
    sock = tmp_path / 'nbd.sock'
    p = start_delayed(mosaic, tmp_path,
                      f'[machine]\ntype = none\n\n[blockdev f0]\ndriver = file\nfilename = {img}\n\n'
                      f'[export e0]\nnode = f0\nsocket = {sock}\n')
    try:
        s = connect_as_soon_as_it_appears(p, sock, tmp_path / 'mosaic.log')
        assert s.recv(8) == b'NBDMAGIC'
        s.close()
    finally:
        stop(p)


def test_chardev_socket_listens_when_it_appears(mosaic, tmp_path):
    sock = tmp_path / 'serial.sock'
    p = start_delayed(mosaic, tmp_path,
                      f'[machine]\ntype = none\n\n[chardev c0]\nbackend = socket\npath = {sock}\n'
                      'server = on\n')
    try:
        s = connect_as_soon_as_it_appears(p, sock, tmp_path / 'mosaic.log')
        s.close()
    finally:
        stop(p)


def test_no_temporary_file_left(mosaic, tmp_path):
    """The socket is bound under a temporary name beside the path: none stays behind."""
    sock = tmp_path / 'qmp.sock'
    (tmp_path / 'm.ini').write_text('[machine]\ntype = none\n')
    p = subprocess.Popen([str(mosaic), str(tmp_path / 'm.ini'), '--qmp',
                          f'unix:{sock},server,wait=off'], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(tmp_path),
                         env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        names = sorted(f.name for f in tmp_path.iterdir() if f.name != 'xdg')
        assert names == ['m.ini', 'qmp.sock']
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        stop(p)
    assert not sock.exists()  # removed at a clean stop
