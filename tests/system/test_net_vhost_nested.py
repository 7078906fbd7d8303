# SPDX-License-Identifier: GPL-2.0-or-later
"""net-tap's vhost-net where the kernel has it: this host has no /dev/vhost-net, so the
test boots the Linux of tests/nested-kvm under QEMU (its initramfs loads vhost_net and
tun) and runs tests/nested-kvm/net_vhost.py there: Mosaic with `vhost = on` and the
bare-metal virtio-net driver; the kernel runs the rings (Mosaic says so in its log and
never reads the TAP device itself), a 64 KiB GSO frame from the TAP device lands over
mergeable buffers byte-exact, and the guest's frame reaches the TAP device as sent."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

TOP = Path(__file__).resolve().parents[2]


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64', 'riscv64-unknown-elf-gcc')
def test_vhost_net_runs_the_rings(mosaic, tmp_path):
    g.ensure_guests()
    job = tmp_path / 'job'
    job.mkdir()
    (job / 'job.sh').write_text(f'python3 {TOP}/tests/nested-kvm/net_vhost.py {mosaic} {job}\n')
    r = subprocess.run([str(TOP / 'tests/nested-kvm/run.sh'), str(job)], capture_output=True,
                       text=True, timeout=900, env=dict(os.environ, TIMEOUT='850'))
    res_file = job / 'net-vhost.json'
    assert res_file.exists(), r.stdout[-5000:] + r.stderr[-2000:]
    res = json.loads(res_file.read_text())
    assert res['vhost-net'] and res['tun'], res
    assert 'error' not in res, res['error'] + r.stdout[-3000:]
    out, err, sigs = res['out'], res['err'], res['sigs']
    assert 'FAILURES 0' in out and 'PASS' in out, out + err
    assert 'vhost-net runs the rings' in err and 'unavailable' not in err, err
    assert sigs['E-len'] == 12 + res['frame_len'], out
    assert sigs['E-num-buffers'] == (12 + res['frame_len'] + 4095) // 4096, out
    assert sigs['E-payload-len'] == res['payload_len'], out
    assert sigs['E-payload-hash'] == res['payload_hash'], out
    assert res['sent'] == res['want'], res
