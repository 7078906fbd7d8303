# SPDX-License-Identifier: GPL-2.0-or-later
"""accel-hvf (macOS Hypervisor.framework) is not built on Linux, and the build says so and
why; the x86 instruction emulator it carries (plugins/accel-hvf/x86-emu) is built and
tested here all the same.  The plugin itself has never run here: see its README."""
import platform
import subprocess

import pytest

SKIP_LINE = ('scons: skipping plugins/accel-hvf (mosaic-accel-hvf.so): Hypervisor.framework '
             'exists only on macOS, and this host is Linux')


@pytest.mark.skipif(platform.system() != 'Linux', reason='checks the Linux build output')
def test_build_says_hvf_is_skipped_and_why(top, build):
    lib = build / 'plugins' / 'accel-hvf' / 'x86-emu' / 'libx86emu.a'
    args = ['scons', '-Q', '-n', str(lib.relative_to(top))]
    if build.name == 'asan':
        args.append('asan=1')
    r = subprocess.run(args, cwd=top, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert SKIP_LINE in r.stdout, r.stdout[-3000:]
    assert 'x86 instruction emulator (plugins/accel-hvf/x86-emu) is built and tested here' in r.stdout
    # Nothing of the plugin was built; the emulator and its tests were.
    assert not list(build.glob('**/mosaic-accel-hvf.so'))
    assert not list((build / 'plugins' / 'accel-hvf').glob('hvf*.o*'))
    assert lib.is_file()
    for t in ('test-x86emu-table', 'test-x86emu-diff'):
        assert (build / 'tests' / 'unit' / t).is_file(), t
