# SPDX-License-Identifier: GPL-2.0-or-later
"""The riscv-virt board itself: console routing, boot-image errors, robustness
against a guest that writes garbage to every device."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')


@pytest.fixture(scope='module')
def guests():
    return g.ensure_guests()


def test_serial_to_file_chardev(guests, mosaic, tmp_path):
    """`serial = LABEL` routes the UART to that chardev instead of the terminal."""
    log = tmp_path / 'console.txt'
    ini = tmp_path / 'm.ini'
    ini.write_text('[machine]\ntype = riscv-virt\nkernel = %s\nserial = con\n\n'
                   '[chardev con]\nbackend = file\npath = %s\n'
                   % (guests / 'tests' / 'rv64i.elf', log))
    r = g._run([mosaic, ini], 60)
    assert r.rc == 0, r
    assert 'PASS' not in r.out, r
    assert 'PASS' in log.read_text()


def test_missing_serial_chardev(mosaic, tmp_path, guests):
    ini = tmp_path / 'm.ini'
    ini.write_text('[machine]\ntype = riscv-virt\nkernel = %s\nserial = nosuch\n'
                   % (guests / 'tests' / 'rv64i.elf'))
    r = g._run([mosaic, ini], 30)
    assert r.rc not in (0, None), r
    assert 'nosuch' in r.err, r


@pytest.mark.parametrize('what', ['missing', 'garbage-elf', 'outside-ram'])
def test_bad_kernel_is_an_error(mosaic, tmp_path, what):
    k = tmp_path / 'kernel'
    if what == 'garbage-elf':
        k.write_bytes(b'\x7fELF' + bytes(range(256)) * 4)
    elif what == 'outside-ram':
        import subprocess
        src = tmp_path / 'x.S'
        src.write_text('.globl _start\n_start: j _start\n')
        subprocess.run(['riscv64-unknown-elf-gcc', '-nostdlib', '-Wl,-Ttext=0x40000000',
                        '-o', k, src], check=True)
    r = g.run_mosaic_bare(k, mosaic=mosaic, timeout=30)
    assert r.rc not in (0, None), r
    assert str(k) in r.err, r
    assert 'Sanitizer' not in r.err, r


def test_firmware_and_kernel_do_not_fit(mosaic, tmp_path):
    """A kernel too large for the RAM left above the firmware is refused with a hint."""
    big = tmp_path / 'Image'
    big.write_bytes(b'\0' * (12 << 20))
    r = g._run([mosaic, g.TOP / 'configs' / 'riscv-virt-linux.ini', '--set', 'machine.memory=8M',
                '--set', 'machine.kernel=%s' % big], 30)
    assert r.rc not in (0, None), r
    assert 'Image' in r.err, r


@pytest.mark.sanitize
def test_mmio_fuzz(guests, mosaic):
    """Random accesses of every size to every device: the emulator survives and the
    guest finishes (refused accesses are access faults the guest skips)."""
    r = g.run_mosaic_bare(guests / 'tests' / 'mmio-fuzz.elf', mosaic=mosaic, timeout=120)
    assert r.rc == 0, r
    assert 'PASS' in r.out, r


@pytest.mark.parametrize('cpus', [1, 3])
def test_boot_registers_every_hart(guests, mosaic, tmp_path, cpus):
    """Every hart starts at the entry with a0 = its hart id (smp.c checks mhartid; the
    reset program checks a0/a1 on hart 0 across a guest-requested reset)."""
    r = g.run_mosaic_bare(guests / 'tests' / 'reset.elf', mosaic=mosaic, cpus=cpus, timeout=60)
    assert r.rc == 0, r
    assert 'second boot' in r.out, r
