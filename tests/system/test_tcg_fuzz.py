# SPDX-License-Identifier: GPL-2.0-or-later
"""A guest cannot crash the emulator: the accel-tcg fuzz target (random instruction
words, random page tables, random CSR state) runs a fixed set of seeds under ASan and
UBSan.  Longer runs on demand: plugins/accel-tcg/fuzz/Makefile (libFuzzer)."""
import os
import subprocess

import pytest


@pytest.mark.needs_tools('gcc')
@pytest.mark.parametrize('jit', ['1', '0'])  # code generator on / forced off
@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_guests_do_not_crash(top, compiled, seed, jit):
    d = top / 'plugins' / 'accel-tcg'
    srcs = sorted(str(p) for p in d.glob('*.c'))
    exe = compiled('fuzz-standalone', [
        'gcc', '-std=gnu11', '-g', '-O1', '-fsanitize=address,undefined',
        '-fno-sanitize-recover=undefined', '-DFUZZ_STANDALONE', '-DHARNESS_FUZZ',
        '-I', str(top / 'sdk' / 'include'), str(d / 'fuzz' / 'fuzz-tcg.c'), *srcs,
        '-lm', '-lpthread'])
    r = subprocess.run([str(exe), '700', str(seed)], capture_output=True, text=True, timeout=300,
                       env={'MOSAIC_TCG_JIT': jit,
                            'ASAN_OPTIONS': os.environ.get('ASAN_OPTIONS', '') + ':abort_on_error=1',
                            'UBSAN_OPTIONS': 'halt_on_error=1:print_stacktrace=1'})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
