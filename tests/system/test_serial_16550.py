# SPDX-License-Identifier: GPL-2.0-or-later
"""The boards' UART is one device plugin (plugins/device-serial-16550) that each board
places itself: the console works through it (every bare-metal and Linux test reads its
output), and the deployment policy decides over it like over any plugin."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'riscv-virt-bare.ini'


def run(mosaic, *args):
    return subprocess.run([str(mosaic), str(CONFIG), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def test_console_goes_through_the_plugin(mosaic, build):
    elf = ROOT / 'build' / 'guests' / 'tests' / 'csr.elf'
    assert elf.exists(), 'the bare-metal test programs are not built: run scons'
    assert (build / 'plugins' / 'mosaic-device-serial-16550.so').exists()
    r = run(mosaic, '--set', 'machine.kernel=%s' % elf)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), 'nothing came out of the UART'


def test_policy_can_deny_the_uart(mosaic):
    elf = ROOT / 'build' / 'guests' / 'tests' / 'csr.elf'
    r = run(mosaic, '--set', 'machine.kernel=%s' % elf, '--disable-plugin', 'serial-16550')
    assert r.returncode == 1
    assert ("plugin 'device-serial-16550' is disabled by the command line "
            "(--disable-plugin serial-16550); needed by board riscv-virt") in r.stderr, r.stderr
    assert r.stdout == ''
