# SPDX-License-Identifier: GPL-2.0-or-later
"""No sequence of register accesses and received bytes breaks the 16550 register model
(plugins/device-serial-16550): its fuzz target checks the FIFO bounds and that the
interrupt line is up exactly when IIR reports an interrupt, for fixed seeds under ASan
and UBSan.  Longer runs on demand: plugins/device-serial-16550/fuzz/build.sh (libFuzzer)."""
import re
import subprocess

import pytest


@pytest.mark.needs_tools('gcc')
@pytest.mark.parametrize('seed', [1, 2])
def test_random_events_keep_the_invariants(top, compiled, seed):
    d = top / 'plugins' / 'device-serial-16550'
    exe = compiled('fuzz-serial-standalone', [
        'gcc', '-std=gnu11', '-g', '-O1', '-fsanitize=address,undefined',
        '-fno-sanitize-recover=undefined', '-DFUZZ_STANDALONE',
        str(d / 'fuzz' / 'fuzz-serial.c'), str(d / 'regs.c')])
    r = subprocess.run([str(exe), '20000', str(seed)], capture_output=True, text=True,
                       timeout=300,
                       env={'ASAN_OPTIONS': 'detect_leaks=1:abort_on_error=1',
                            'UBSAN_OPTIONS': 'halt_on_error=1:print_stacktrace=1'})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    # The sequences reach the states that matter: interrupts, a full FIFO, overruns.
    m = re.search(r'(\d+) sequences: (\d+) events with the line up, (\d+) with a full FIFO, '
                  r'(\d+) with an overrun', r.stdout)
    assert m, r.stdout
    _, irq, full, overrun = map(int, m.groups())
    assert irq > 1000 and full > 100 and overrun > 100, r.stdout
