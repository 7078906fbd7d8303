# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-gpu 2D end to end: a bare-metal guest (guests/tests/gpu.c, a small virtio-gpu
driver) reads the display info and EDID, gets every malformed command refused with its
error code, draws a known pattern and sets a cursor; `screendump` then writes a PNG that
must match the pattern pixel for pixel."""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import mosaic_guests as g  # noqa: E402
import png_read  # noqa: E402
from test_monitor import Qmp, Vm  # noqa: E402

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')


def gpu_vm(mosaic, tmp_path, xres, yres, extra='', bus=''):
    elf = g.ensure_guests() / 'tests' / 'gpu.elf'
    ini = ('[machine]\ntype = riscv-virt\nmemory = 64M\nkernel = %s\n\n'
           '[device gpu0]\ntype = virtio-gpu\nxres = %d\nyres = %d\n%s%s'
           % (elf, xres, yres, extra, 'bus = %s\n' % bus if bus else ''))
    return Vm(mosaic, tmp_path, ini)


def wait_drawn(v, timeout=60):
    out, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        line = v.p.stdout.readline()
        if not line:
            break
        out.append(line)
        if line.strip() == 'DRAWN':
            return ''.join(out)
    raise AssertionError('guest did not draw: %s%s' % (''.join(out), v.p.stderr.read()))


def expected_row(w, y):
    return bytes(v for x in range(w) for v in (x & 0xff, y & 0xff, (3 * x + 5 * y) & 0xff))


@pytest.mark.sanitize
@pytest.mark.parametrize('xres,yres,bus', [(320, 200, ''), (640, 480, ''), (640, 480, 'pcie.0')],
                         ids=['320x200', '640x480', '640x480-pci'])
def test_pattern_screendump(mosaic, tmp_path, xres, yres, bus):
    """bus = pcie.0: the same guest drives the device on virtio-pci (found on PCI bus 0,
    its BAR placed by the guest, the modern capabilities)."""
    v = gpu_vm(mosaic, tmp_path, xres, yres, bus=bus)
    try:
        out = wait_drawn(v)
        assert 'FAILURES 0' in out, out
        assert 'FAIL ' not in out, out
        assert 'SIG on-pci 0x%016x' % (1 if bus else 0) in out, out
        png = tmp_path / 'shot.png'
        q = Qmp(v.sock)
        r = q.cmd('screendump', {'filename': str(png)})
        assert r.get('return') == {}, r
        w, h, rows = png_read.read(png)
        assert (w, h) == (xres, yres)
        for y in range(h):
            assert rows[y] == expected_row(w, y), 'row %d differs' % y
        # errors name what is wrong
        r = q.cmd('screendump', {'filename': str(png), 'head': 3})
        assert 'no output 3' in r['error']['desc'], r
        r = q.cmd('screendump', {'filename': str(png), 'device': 'nope'})
        assert "no virtio-gpu device 'nope'" in r['error']['desc'], r
        r = q.cmd('screendump', {'filename': str(png), 'format': 'ppm'})
        assert 'png' in r['error']['desc'], r
        r = q.cmd('screendump', {'filename': str(tmp_path / 'no' / 'dir.png')})
        assert 'could not create' in r['error']['desc'], r
    finally:
        v.kill()


def test_screendump_before_any_flush(mosaic, tmp_path):
    ini = '[machine]\ntype = riscv-virt\nmemory = 64M\n\n[device gpu0]\ntype = virtio-gpu\n'
    v = Vm(mosaic, tmp_path, ini)
    try:
        r = Qmp(v.sock).cmd('screendump', {'filename': str(tmp_path / 'x.png')})
        assert 'has shown nothing yet' in r['error']['desc'], r
        assert not (tmp_path / 'x.png').exists()
    finally:
        v.kill()


def test_screendump_without_gpu(mosaic, tmp_path):
    v = Vm(mosaic, tmp_path, '[machine]\ntype = riscv-virt\nmemory = 64M\n')
    try:
        r = Qmp(v.sock).cmd('screendump', {'filename': str(tmp_path / 'x.png')})
        assert 'no virtio-gpu device' in r['error']['desc'], r
    finally:
        v.kill()


@pytest.mark.sanitize
def test_quit_after_drawing_is_clean(mosaic, tmp_path):
    """Everything the device allocated (resources, backing lists, surfaces) is freed on
    quit: the ASan build's leak check runs at exit."""
    v = gpu_vm(mosaic, tmp_path, 320, 200)
    try:
        wait_drawn(v)
        q = Qmp(v.sock)
        assert q.cmd('screendump', {'filename': str(tmp_path / 's.png')}).get('return') == {}
        q.cmd('quit')
        assert v.wait(timeout=30) == 0, v.p.stderr.read()
        err = v.p.stderr.read()
        assert 'LeakSanitizer' not in err and 'AddressSanitizer' not in err, err
    finally:
        v.kill()
