# SPDX-License-Identifier: GPL-2.0-or-later
"""What host-visible blobs (MAP_BLOB) would stand on, measured against this host's
virglrenderer: plugins/gpu-virgl/tests/hostblob-probe.c drives libvirglrenderer directly
(headless EGL) and this test checks each fact it prints.  virglrenderer 0.10.4 maps a
HOST3D blob of a virgl context when the context's command stream made its pipe buffer
with VIRGL_RESOURCE_FLAG_MAP_PERSISTENT, refuses the map otherwise, and bytes written
through the mapping reach the GL buffer (read back through a copy-region and a transfer).
The device does not offer MAP_BLOB yet: see plugins/device-virtio-gpu/README.md."""
import subprocess

import pytest


@pytest.mark.needs_tools('gcc', 'pkg-config')
def test_virglrenderer_maps_persistent_host_blobs(top, tmp_path):
    exe = tmp_path / 'hostblob-probe'
    flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'virglrenderer'], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(['gcc', '-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
                    '-o', str(exe), str(top / 'plugins' / 'gpu-virgl' / 'tests' /
                                        'hostblob-probe.c'), *flags], check=True)
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    want = [
        'init 0', 'context 0',
        'plain blob 0', 'plain map -22',  # no MAP_PERSISTENT: the blob exists, no map
        'persistent blob 0', 'persistent map 0 size 4096 aligned 1',
        'persistent readback copy 0 transfer 0 mismatches 0', 'unmap 0',
        'persistent+coherent blob 0', 'persistent+coherent map 0 size 4096 aligned 1',
        'persistent+coherent readback copy 0 transfer 0 mismatches 0', 'unmap 0',
        'map of no resource -22',
    ]
    assert lines == want, r.stdout + r.stderr[-3000:]
