#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs inside the outer guest of tests/nested-kvm (a Linux with vhost_net and tun):
net-tap with `vhost = on` under the bare-metal virtio-net driver (guests/tests/net.c,
mosaic.net=2): the kernel runs the rings, a 64 KiB GSO frame from the TAP device lands
over mergeable buffers and the guest's frame reaches the TAP device.  Writes
JOBDIR/net-vhost.json: the device node seen, the guest's SIG lines, stderr, the frame
the TAP device got and what was expected.

usage: net_vhost.py MOSAIC JOBDIR"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'system'))
from test_net_mrg import Guest, capture, fnv, gso_frame, pattern_frame, receive_pattern  # noqa: E402

MOSAIC, JOB = Path(sys.argv[1]), Path(sys.argv[2])
res = {'vhost-net': os.path.exists('/dev/vhost-net'), 'tun': os.path.exists('/dev/net/tun')}
work = JOB / 'net-vhost'
work.mkdir(exist_ok=True)
name = 'mvhn0'
vm = Guest(MOSAIC, work, 2, f'[netdev n0]\ntype = tap\nifname = {name}\nvhost = on\n',
           extra=['--log', 'net,virtio-net'])
try:
    vm.wait_line('STEP E', timeout=300)
    subprocess.run(['sysctl', '-q', '-w', f'net.ipv6.conf.{name}.disable_ipv6=1'], check=False)
    subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)
    hdr, frame, payload = gso_frame(65000, b'\x52\x54\x00\x00\x00\x02')
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.setsockopt(263, 15, 1)  # SOL_PACKET, PACKET_VNET_HDR
    s.bind((name, 0))
    cap = capture(name)
    s.send(hdr + frame)
    s.close()
    vm.wait_line('SENT', timeout=300)
    sent = receive_pattern(cap)
    vm.p.stdin.write(b'g')
    vm.p.stdin.flush()
    out, err, sigs = vm.finish(timeout=300)
    res.update(out=out, err=err, sigs=sigs, frame_len=len(frame), payload_len=len(payload),
               payload_hash=fnv(payload),
               sent=sent.hex() if sent else None,
               want=(b'\x52\x54\x00\x00\x00\x09\x52\x54\x00\x00\x00\x02' + pattern_frame(1000)[12:]).hex())
except Exception as e:  # the host test reports it with the console
    res['error'] = repr(e) + ''.join(vm.out)
finally:
    vm.kill()
(JOB / 'net-vhost.json').write_text(json.dumps(res))
