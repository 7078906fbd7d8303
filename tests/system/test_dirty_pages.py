# SPDX-License-Identifier: GPL-2.0-or-later
"""x-dirty-pages-start / x-query-dirty-pages: a monitor client of the core's dirty
tracking.  Here on TCG (riscv-virt, a bare program that stores into two pages and then
spins): the pages written are exactly the ones reported, once.  The same commands over
KVM's dirty log: tests/system/test_x86_kvm.py (test_dirty_log_sees_exactly_the_pages_the_guest_wrote)."""
import contextlib
import subprocess
import time

import pytest
from qmp_lines import Qmp  # tests/qmp_lines.py

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')

PROGRAM = r"""
    .text
    .globl _start
_start:
    li t0, 0x80003000
    li t1, 0x1122
    sd t1, 8(t0)
    li t0, 0x80007000
    sd t1, 0(t0)
spin:
    j spin
"""


# Stores forever, round-robin into 16 pages 1 MiB above the code: the loop is one
# block, compiled, whose stores take the code generator's direct window (M-mode, RAM
# with only the accelerator's own code tracking) until a dirty client turns on.
STORING = r"""
    .text
    .globl _start
_start:
    li t0, 0x80100000
    li t2, 0
loop:
    andi t3, t2, 15
    slli t3, t3, 12
    add t4, t0, t3
    sd t2, 8(t4)
    addi t2, t2, 1
    j loop
"""


def build(d, source):
    (d / 't.S').write_text(source)
    (d / 't.ld').write_text('ENTRY(_start)\nSECTIONS {\n  . = 0x80000000;\n  .text : { *(.text*) }\n}\n')
    elf = d / 't.elf'
    subprocess.run(['riscv64-unknown-elf-gcc', '-march=rv64imac', '-mabi=lp64', '-nostdlib',
                    '-nostartfiles', '-Wl,--no-warn-rwx-segments', '-T', str(d / 't.ld'),
                    '-o', str(elf), str(d / 't.S')], check=True)
    return elf


@pytest.fixture(scope='module')
def program(tmp_path_factory):
    return build(tmp_path_factory.mktemp('dirtyprog'), PROGRAM)


@pytest.fixture(scope='module')
def storing(tmp_path_factory):
    return build(tmp_path_factory.mktemp('dirtystoring'), STORING)


@contextlib.contextmanager
def monitored(mosaic, top, tmp_path, kernel, *extra):
    """riscv-virt-bare running `kernel` with a monitor; quit (exit status 0) at the end."""
    sock = tmp_path / 'qmp.sock'
    p = subprocess.Popen([str(mosaic), str(top / 'configs' / 'riscv-virt-bare.ini'),
                          '--set', f'machine.kernel={kernel}', *extra,
                          '--qmp', f'unix:{sock},server,wait=off'],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        q = Qmp(sock, p)
        yield q
        q.cmd('quit')
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()


def test_dirty_pages_are_exactly_those_written(mosaic, top, tmp_path, program):
    with monitored(mosaic, top, tmp_path, program, '-S') as q:
        assert q.cmd('x-dirty-pages-start')['return']['regions'] >= 1
        span = {'start': 0x80000000, 'size': 0x10000}
        assert q.cmd('x-query-dirty-pages', **span)['return']['pages'] == []
        q.cmd('cont')
        time.sleep(0.5)
        r = q.cmd('x-query-dirty-pages', **span)['return']
        assert r['pages'] == [0x80003000, 0x80007000], r
        assert r['dirty'] == 2 and r['truncated'] is False, r
        # Reported once: the spinning program writes nothing more.
        assert q.cmd('x-query-dirty-pages', **span)['return']['pages'] == []
        # Bad ranges are refused with a reason, not a crash.
        bad = q.cmd('x-query-dirty-pages', start=0x80000001, size=0x1000)
        assert 'multiples of 4096' in bad['error']['desc'], bad
        bad = q.cmd('x-query-dirty-pages', start=0xfffffffffffff000, size=0x2000)
        assert 'error' in bad, bad
        # Off and on again (x-dirty-pages-stop): what was written meanwhile is forgotten.
        assert q.cmd('x-dirty-pages-stop')['return']['regions'] >= 1
        assert q.cmd('x-dirty-pages-start')['return']['regions'] >= 1
        assert q.cmd('x-query-dirty-pages', **span)['return']['pages'] == []


@pytest.mark.parametrize('jit', ['on', 'off'])
def test_tracking_turned_on_while_the_guest_stores(mosaic, top, tmp_path, storing, jit):
    """Tracking switched on under a running guest: every page it goes on writing is
    reported, at every query (the accelerator drops its unlogged store paths when the
    client turns on, and logs each store, not just the first after a TLB fill)."""
    with monitored(mosaic, top, tmp_path, storing, '--set', f'accel.jit={jit}') as q:
        time.sleep(0.5)  # the loop is hot (compiled with jit on) before tracking starts
        assert q.cmd('x-dirty-pages-start')['return']['regions'] >= 1
        span = {'start': 0x80100000, 'size': 0x20000}
        written = [0x80100000 + 0x1000 * k for k in range(16)]
        for _ in range(3):
            time.sleep(0.2)
            r = q.cmd('x-query-dirty-pages', **span)['return']
            assert r['pages'] == written, r
