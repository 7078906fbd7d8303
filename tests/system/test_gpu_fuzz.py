# SPDX-License-Identifier: GPL-2.0-or-later
"""No request stream can crash virtio-gpu's command processor or make it touch memory it
should not: its fuzz target (plugins/device-virtio-gpu/fuzz, requests biased towards
valid commands, fake guest RAM) runs fixed seeds under ASan and UBSan.  Longer runs on
demand: plugins/device-virtio-gpu/fuzz/build.sh (libFuzzer)."""
import re
import subprocess

import pytest


@pytest.mark.needs_tools('gcc', 'pkg-config')
@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_commands_do_not_crash(top, compiled, seed):
    d = top / 'plugins' / 'device-virtio-gpu'
    glib = subprocess.run(['pkg-config', '--cflags', '--libs', 'glib-2.0'], check=True,
                          capture_output=True, text=True).stdout.split()
    exe = compiled('fuzz-gpu-cmd-standalone', [
        'gcc', '-std=gnu11', '-g', '-O1', '-fsanitize=address,undefined',
        '-fno-sanitize-recover=undefined', '-DFUZZ_STANDALONE',
        str(d / 'fuzz' / 'fuzz-gpu-cmd.c'), str(d / 'gpu2d.c'), str(d / 'edid.c'), *glib])
    r = subprocess.run([str(exe), '3000', str(seed)], capture_output=True, text=True,
                       timeout=300,
                       env={'ASAN_OPTIONS': 'detect_leaks=1:abort_on_error=1',
                            'UBSAN_OPTIONS': 'halt_on_error=1:print_stacktrace=1'})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    # The inputs must get past the length checks: both outcomes happen, often.
    m = re.search(r'(\d+) inputs, (\d+) ok, (\d+) errors', r.stdout)
    assert m, r.stdout
    _, ok, errors = map(int, m.groups())
    assert ok > 3000 and errors > 3000, r.stdout


@pytest.mark.needs_tools('gcc', 'pkg-config')
@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_3d_commands_do_not_crash(top, compiled, seed):
    """The 3D and blob commands (vgpu3d.c) behind a checking backend: it aborts when the
    device hands it anything the device should have refused (plugins/device-virtio-gpu/
    fuzz/fuzz-gpu-3d.c says what)."""
    d = top / 'plugins' / 'device-virtio-gpu'
    glib = subprocess.run(['pkg-config', '--cflags', '--libs', 'glib-2.0'], check=True,
                          capture_output=True, text=True).stdout.split()
    exe = compiled('fuzz-gpu-3d-standalone', [
        'gcc', '-std=gnu11', '-g', '-O1', '-fsanitize=address,undefined',
        '-fno-sanitize-recover=undefined', '-DFUZZ_STANDALONE', '-I', str(top / 'sdk' / 'include'),
        str(d / 'fuzz' / 'fuzz-gpu-3d.c'), str(d / 'vgpu3d.c'), str(d / 'gpu2d.c'),
        str(d / 'edid.c'), *glib])
    r = subprocess.run([str(exe), '3000', str(seed)], capture_output=True, text=True,
                       timeout=300,
                       env={'ASAN_OPTIONS': 'detect_leaks=1:abort_on_error=1',
                            'UBSAN_OPTIONS': 'halt_on_error=1:print_stacktrace=1'})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    m = re.search(r'(\d+) inputs, (\d+) ok, (\d+) errors', r.stdout)
    assert m, r.stdout
    _, ok, errors = map(int, m.groups())
    assert ok > 3000 and errors > 3000, r.stdout
    # Each command gets past the device's checks to the backend sometimes, and is
    # refused sometimes: CTX_CREATE, RESOURCE_CREATE_3D, both TRANSFER_*_3D, SUBMIT_3D,
    # RESOURCE_CREATE_BLOB, SET_SCANOUT_BLOB, ATTACH_BACKING, RESOURCE_FLUSH,
    # RESOURCE_MAP_BLOB and RESOURCE_UNMAP_BLOB (into a fake 64 KiB window).
    per = {int(t, 16): (int(a), int(b)) for t, a, b in
           re.findall(r'type 0x([0-9a-f]+): (\d+) ok, (\d+) errors', r.stdout)}
    for t in (0x200, 0x204, 0x205, 0x206, 0x207, 0x10c, 0x10d, 0x106, 0x104, 0x208, 0x209):
        assert t in per and per[t][0] > 0 and per[t][1] > 0, (hex(t), r.stdout)
