# SPDX-License-Identifier: GPL-2.0-or-later
"""The costs of one 4 KiB guest write through throttle -> qcow2 -> file that issue 11
removed stay removed: bench/write-path counts them (counts, not times).  Its function
counter must see the path, or the README's numbers mean nothing."""
import re
import shutil
import subprocess

import pytest


@pytest.mark.alone  # counts allocations and hand-offs: other tests' load changes them
@pytest.mark.skipif(not shutil.which('qemu-img'), reason='needs qemu-img (qemu-utils)')
def test_write_path_counts(build):
    exe = build / 'bench' / 'write-path' / 'bench-write-path'
    assert exe.exists(), 'bench-write-path is not built: run scons'
    r = subprocess.run([str(exe), '--detail', '300'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout

    def value(name):
        m = re.search(r'%s:\s+([\d.]+)' % re.escape(name), out)
        assert m, out
        return float(m.group(1))

    # A pool that starts a thread mid-run (its worker was not back waiting yet) costs
    # allocations no single write owns; the bench fills the pools before it counts.
    assert value('thread starts') == 0, out
    assert value('thread hand-offs') == 2.0, out
    assert value('main-loop rounds') == 1.0, out
    if 'not counted' not in out.split('allocations:')[1].splitlines()[0]:
        assert value('allocations') <= 4.0, out
    # The instrumented build counts real calls, on both threads, named per function.
    calls = value('function calls')
    assert 60 < calls < 200, out
    assert re.search(r'workers (\d+)\.', out) and int(re.search(r'workers (\d+)\.', out).group(1)) > 10
    for fn in ('mosaic_blk_submit', 'q2_io', 'tn_submit', 'file_io'):
        assert re.search(r'\n\s+1\.00\s+%s\n' % fn, out), out
