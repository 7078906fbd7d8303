# SPDX-License-Identifier: GPL-2.0-or-later
"""query-accel-stats: the TCG counters move while a guest runs and are read over QMP."""
import subprocess
import time

import pytest

from test_monitor import Qmp, Vm

PROGRAM = """
    .globl _start
_start:
    li t0, 0
1:  addi t0, t0, 1
    j 1b
"""

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')


@pytest.mark.sanitize
def test_tcg_counters(mosaic, top, tmp_path):
    src = tmp_path / 'loop.S'
    src.write_text(PROGRAM)
    elf = tmp_path / 'loop.elf'
    ld = tmp_path / 'loop.ld'
    ld.write_text('ENTRY(_start) SECTIONS { . = 0x80000000; .text : { *(.text) } }\n')
    subprocess.run(['riscv64-unknown-elf-gcc', '-march=rv64imac', '-mabi=lp64', '-nostdlib',
                    '-nostartfiles', '-T', str(ld), '-Wl,--no-warn-rwx-segments', '-o', str(elf),
                    str(src)], check=True)
    ini = (top / 'configs' / 'riscv-virt-bare.ini').read_text()
    v = Vm(mosaic, tmp_path, ini, extra=['--set', 'machine.kernel=%s' % elf])
    try:
        q = Qmp(v.sock)
        first = q.cmd('query-accel-stats')['return']
        assert first['accel'] == 'tcg'
        time.sleep(0.3)
        later = q.cmd('query-accel-stats')['return']['stats']
        assert later['translations'] >= 1
        assert later['instructions'] > first['stats']['instructions']
        for reason in ('flushes-cache-full', 'flushes-other', 'invalidations-code-write',
                       'invalidations-fence-i', 'code-writes-kept', 'retranslations',
                       'region-evictions', 'blocks-evicted', 'links-undone'):
            assert later[reason] >= 0, (reason, later)
        assert later['flushes-cache-full'] == 0, later
        names = {c['name'] for c in q.cmd('query-commands')['return']}
        assert 'query-accel-stats' in names
    finally:
        v.kill()


def test_no_accel_on_storage_machine(mosaic, tmp_path):
    v = Vm(mosaic, tmp_path)
    try:
        r = Qmp(v.sock).cmd('query-accel-stats')
        assert 'error' in r and 'no accelerator' in r['error']['desc']
    finally:
        v.kill()
