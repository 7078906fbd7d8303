# SPDX-License-Identifier: GPL-2.0-or-later
"""Backing files that qcow2 images made by qemu-img name: any file name opens (';', '#',
spaces, 200+ characters; they never pass through INI text), the format is never guessed
(an image that does not record it is refused with the qemu-img command that fixes it, or
opened with an explicit backing-format), and a backing file that is not a regular file
or block device (/proc/self/mem, a FIFO) is refused at once, never read or waited on."""
import os
import subprocess

import pytest

from test_nbd import daemon, uri  # noqa: F401 (fixture)

pytestmark = pytest.mark.needs_tools('qemu-img', 'qemu-io')  # scripts/setup: a missing one fails


def qimg(*args):
    r = subprocess.run(['qemu-img', *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


def overlay_ini(top, sock=None, extra=''):
    ini = (f'[blockdev f0]\ndriver = file\nfilename = {top}\nread-only = on\n'
           f'[blockdev disk0]\ndriver = qcow2\nfile = f0\nread-only = on\n{extra}')
    if sock:
        ini += f'[export e0]\nnode = disk0\nsocket = {sock}\n'
    return ini


def start_fails(mosaic, tmp_path, top, extra=''):
    """Mosaic refuses the machine at start-up: its one-line message."""
    ini = tmp_path / 'vm.ini'
    ini.write_text('[machine]\ntype = none\n' + overlay_ini(top, extra=extra))
    # timeout: a hang guard only (a FIFO used to block start-up for ever)
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'x')))
    assert r.returncode != 0
    return r.stderr


def test_odd_backing_names_open(daemon, tmp_path):
    name = 'base ;one #two = [x] ' + 'n' * 200 + '.raw'
    base, top = tmp_path / name, tmp_path / 'top.qcow2'
    qimg('create', '-f', 'raw', base, '16M')
    subprocess.run(['qemu-io', '-f', 'raw', '-c', 'write -P 0x5c 0 1M', str(base)], check=True,
                   capture_output=True)
    qimg('create', '-f', 'qcow2', '-b', name, '-F', 'raw', top)
    sock = tmp_path / 'nbd.sock'
    daemon(overlay_ini(top, sock), wait_for=[sock])
    r = subprocess.run(['qemu-io', '-f', 'raw', '-r', '-c', 'read -P 0x5c 0 1M',
                        '-c', 'read -P 0 1M 1M', uri(sock)], capture_output=True, text=True)
    assert r.returncode == 0 and 'fail' not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr


def strip_backing_format(top):
    """The image as older tools wrote it: no backing-format header extension."""
    data = bytearray(top.read_bytes())
    at = data.index(bytes.fromhex('e2792aca'), 72, 65536)
    data[at:at + 4] = bytes(4)  # the end-of-extensions marker: nothing follows
    top.write_bytes(bytes(data))


def test_backing_format_is_never_guessed(mosaic, daemon, tmp_path):
    base, top = tmp_path / 'base.qcow2', tmp_path / 'top.qcow2'
    qimg('create', '-f', 'qcow2', base, '16M')
    qimg('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', top)
    strip_backing_format(top)
    assert 'backing file format' not in qimg('info', '-U', top).stdout
    err = start_fails(mosaic, tmp_path, top)
    assert ("the image does not name the backing file's format, and Mosaic does not guess it "
            "(its header is qcow2); record it with: qemu-img rebase -u -F qcow2 -b "
            f"'base.qcow2' '{top}'") in err, err
    # The explicit setting opens it, as does recording the format as told.
    sock = tmp_path / 'nbd.sock'
    d = daemon(overlay_ini(top, sock, 'backing-format = qcow2\n'), wait_for=[sock])
    d.stop()
    qimg('rebase', '-u', '-F', 'qcow2', '-b', 'base.qcow2', top)
    sock2 = tmp_path / 'nbd2.sock'
    daemon(overlay_ini(top, sock2), wait_for=[sock2])


@pytest.mark.parametrize('kind', ['proc-mem', 'fifo', 'directory'])
def test_backing_file_must_be_an_image(mosaic, tmp_path, kind):
    target = {'proc-mem': '/proc/self/mem', 'fifo': str(tmp_path / 'fifo'),
              'directory': str(tmp_path)}[kind]
    if kind == 'fifo':
        os.mkfifo(target)
    top = tmp_path / 'top.qcow2'
    qimg('create', '-f', 'qcow2', '-u', '-b', target, '-F', 'raw', top, '16M')
    err = start_fails(mosaic, tmp_path, top)
    want = {'proc-mem': 'cannot tell the size of /proc/self/mem',
            'fifo': f'{target} is a FIFO, not a regular file or block device',
            'directory': f'{target} is a directory, not a regular file or block device'}[kind]
    assert want in err, err
