# SPDX-License-Identifier: GPL-2.0-or-later
"""No guest state or instruction bytes can crash the x86 instruction emulator: its fuzz
target (random vCPU state, random memory and page tables, instruction bytes biased
towards the emulated set) runs a fixed set of seeds under ASan and UBSan.  Longer runs
on demand: plugins/accel-hvf/x86-emu/fuzz/build.sh (libFuzzer)."""
import re
import os
import subprocess

import pytest


@pytest.mark.needs_tools('gcc')
@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_instructions_do_not_crash(top, compiled, seed):
    d = top / 'plugins' / 'accel-hvf' / 'x86-emu'
    srcs = sorted(str(p) for p in d.glob('*.c'))
    exe = compiled('fuzz-x86emu-standalone', [
        'gcc', '-std=gnu11', '-g', '-O1', '-fsanitize=address,undefined',
        '-fno-sanitize-recover=undefined', '-DFUZZ_STANDALONE', '-I', str(d),
        str(d / 'fuzz' / 'fuzz-x86emu.c'), *srcs, '-lZydis'])
    r = subprocess.run([str(exe), '40000', str(seed)], capture_output=True, text=True,
                       timeout=300,
                       env={'ASAN_OPTIONS': os.environ['ASAN_OPTIONS'] + ':abort_on_error=1',
                            'UBSAN_OPTIONS': 'halt_on_error=1:print_stacktrace=1'})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    # The inputs must reach execution, not only the decoder: each outcome happens.
    m = re.search(r'(\d+) steps done, (\d+) faults, (\d+) errors', r.stdout)
    assert m, r.stdout
    done, faults, errors = map(int, m.groups())
    assert done > 1000 and faults > 1000 and errors > 100, r.stdout
