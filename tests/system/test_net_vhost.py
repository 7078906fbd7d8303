# SPDX-License-Identifier: GPL-2.0-or-later
"""net-tap's vhost-net (`vhost = auto|on|off`) where this host has no /dev/vhost-net:
`on` refuses to start with one line naming the key, the device node and the module to
load; `auto` says once that it falls back and the frames still flow through Mosaic (a
64 KiB GSO frame over mergeable buffers, guests/tests/net.c); `off` says nothing.
The path where the kernel runs the rings: test_net_vhost_nested.py (a Linux with
vhost_net under QEMU, tests/nested-kvm)."""
import os
import socket
import subprocess

import pytest

from test_net_mrg import Guest, fnv, gso_frame

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')

BOARD = '[machine]\ntype = riscv-virt\nmemory = 64M\nfirmware = default\n'


@pytest.fixture
def no_vhost_net():
    if os.path.exists('/dev/vhost-net'):
        pytest.skip('this host has /dev/vhost-net: the fallback cannot happen here')
    if os.geteuid() != 0 or not os.path.exists('/dev/net/tun'):
        pytest.skip('needs root and /dev/net/tun for a TAP device')


def ifname(tag):
    return 'mvh%s%d' % (tag, os.getpid() % 10000)


def test_vhost_on_refused_without_vhost_net(no_vhost_net, run_mosaic, tmp_path):
    ini = tmp_path / 'm.ini'
    ini.write_text(BOARD + '[netdev n0]\ntype = tap\nifname = %s\nvhost = on\n'
                   '[device eth0]\ntype = virtio-net\nnetdev = n0\n' % ifname('o'))
    r = run_mosaic(ini, '-S', timeout=20)
    assert r.returncode != 0, r.stderr
    line = [l for l in r.stderr.splitlines() if l.startswith('mosaic:')]
    assert len(line) == 1, r.stderr
    assert 'm.ini:8: vhost = on: /dev/vhost-net' in line[0] and 'modprobe vhost_net' in line[0], r.stderr


@pytest.mark.parametrize('mode', ['auto', 'off'])
def test_vhost_fallback_moves_frames(no_vhost_net, mosaic, tmp_path, mode):
    name = ifname(mode[:2])
    vm = Guest(mosaic, tmp_path, 2, '[netdev n0]\ntype = tap\nifname = %s\nvhost = %s\n' % (name, mode))
    try:
        vm.wait_line('STEP E')
        subprocess.run(['sysctl', '-q', '-w', 'net.ipv6.conf.%s.disable_ipv6=1' % name], check=False)
        subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)
        hdr, frame, payload = gso_frame(30000, b'\x52\x54\x00\x00\x00\x02')
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.setsockopt(263, 15, 1)  # SOL_PACKET, PACKET_VNET_HDR
        s.bind((name, 0))
        s.send(hdr + frame)
        s.close()
        vm.wait_line('SENT')
        vm.p.stdin.write(b'g')
        vm.p.stdin.flush()
        out, err, sigs = vm.finish()
    finally:
        vm.kill()
    assert 'FAILURES 0' in out and 'PASS' in out, out + err
    assert sigs['E-payload-hash'] == fnv(payload), out
    says = [l for l in err.splitlines() if 'vhost-net unavailable' in l]
    if mode == 'auto':
        assert len(says) == 1 and 'netdev n0' in says[0] and 'Mosaic moves the frames itself' in says[0], err
    else:
        assert not says, err
