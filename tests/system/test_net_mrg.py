# SPDX-License-Identifier: GPL-2.0-or-later
"""Mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF) end to end: a bare-metal virtio-net
driver (guests/tests/net.c) posts receive chains the way the test needs them, and the
test sends frames from the other end of the machine's netdev.

- the MAC address of the machine file and link up are in the config space;
- a 1500-byte frame lands over three chains (one of them two descriptors), num_buffers
  says 3, every byte in place; a frame that needs more chains than are posted waits
  until the driver posts them (nothing is used meanwhile), then arrives whole;
- hostile chains: a zero-length chain, and a frame larger than the whole ring, come back
  empty (the frame is dropped) without stopping the device; a chain that loops (more
  descriptors than the queue) makes the device ask for a reset, after which frames flow;
- over a TAP device (root only), a 64 KiB TCP GSO frame the host kernel hands over as it
  is lands over 17 chains of 4 KiB with its GSO header and every payload byte, and a
  frame the guest sends reaches the TAP device as it was sent."""
import os
import select
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')


def pattern_frame(n, dst=b'\x52\x54\x00\x00\x00\x02'):
    """n bytes: Ethernet header (local ethertype), then byte i = 7i + 3."""
    body = bytes((7 * i + 3) & 0xff for i in range(n))
    return dst + b'\x52\x54\x00\x00\x00\x09' + b'\x88\xb5' + body[14:]


class Guest:
    def __init__(self, mosaic, tmp_path, mode, netdev, extra=()):
        elf = g.ensure_guests() / 'tests' / 'net.elf'
        ini = tmp_path / 'm.ini'
        ini.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nkernel = %s\nappend = mosaic.net=%d\n'
                       '%s[device eth0]\ntype = virtio-net\nnetdev = n0\nmac = 52:54:00:00:00:02\n'
                       % (elf, mode, netdev))
        self.p = subprocess.Popen([str(mosaic), str(ini), *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path)))
        self.out = []
        self.pending = b''

    def wait_line(self, want, timeout=60):
        """Reads the console (unbuffered: select must see what is not read yet) until a
        line `want`."""
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while time.monotonic() < end:
            while b'\n' in self.pending:
                line, self.pending = self.pending.split(b'\n', 1)
                self.out.append(line.decode(errors='replace') + '\n')
                if line.strip() == want.encode():
                    return
            r, _, _ = select.select([fd], [], [], 1)
            if not r:
                continue
            data = os.read(fd, 4096)
            if not data:
                break
            self.pending += data
        self.kill()
        raise AssertionError('no %r from the guest:\n%s%s' % (want, ''.join(self.out),
                                                               self.p.stderr.read().decode()))

    def finish(self, timeout=60):
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            out, err = self.p.communicate()
        text = ''.join(self.out) + (self.pending + out).decode(errors='replace')
        sigs = {l.split()[1]: int(l.split()[2], 16) for l in text.splitlines() if l.startswith('SIG ')}
        return text, err.decode(errors='replace'), sigs

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def test_mergeable_buffers_socket(mosaic, tmp_path):
    me, dev = tmp_path / 'test.sock', tmp_path / 'dev.sock'
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(me))
    vm = Guest(mosaic, tmp_path, 1, '[netdev n0]\ntype = socket\npath = %s\npeer = %s\n' % (dev, me))
    try:
        vm.wait_line('STEP A')
        s.sendto(pattern_frame(100), str(dev))
        vm.wait_line('STEP B')
        s.sendto(pattern_frame(1500), str(dev))
        vm.wait_line('STEP C')
        s.sendto(pattern_frame(1500), str(dev))
        vm.wait_line('STEP D')
        s.sendto(pattern_frame(1500), str(dev))
        time.sleep(0.5)  # the device has taken the one chain, given it back and waits
        vm.p.stdin.write(b'g')
        vm.p.stdin.flush()
        vm.wait_line('STEP G')
        s.sendto(pattern_frame(1500), str(dev))
        vm.wait_line('STEP H')
        s.sendto(pattern_frame(1400), str(dev))  # told apart from G's, which may come first
        out, err, sigs = vm.finish()
    finally:
        vm.kill()
        s.close()
    assert 'FAILURES 0' in out and 'PASS' in out, out + err
    assert sigs == {'mac': 0x525400000002, 'link-up': 1, 'A-len': 0, 'B-written': 0, 'C-len': 12 + 1500, 'C-num-buffers': 3,
                    'D-waited': 1, 'D-len': 12 + 1500, 'D-num-buffers': 3,
                    'G-needs-reset': 1, 'H-len': 12 + 1400}, out
    assert 'needs reset' in err, err


def fnv(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xffffffff
    return h


def csum(b):
    if len(b) & 1:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def gso_frame(payload_len, dst_mac):
    """A TCP/IPv4 frame of payload_len bytes to be segmented (1448 per segment): the
    virtio_net_hdr (NEEDS_CSUM, GSO_TCPV4) and the frame, with the pseudo-header sum in
    the TCP checksum as a sender using checksum offload leaves it."""
    payload = bytes((i * 13 + 5) & 0xff for i in range(payload_len))
    src, dst = bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2])
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 20 + payload_len, 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', 0xffff - csum(ip)) + ip[12:]
    pseudo = csum(src + dst + struct.pack('!BBH', 0, 6, 20 + payload_len))
    tcp = struct.pack('!HHIIBBHHH', 40000, 5001, 1, 0, 5 << 4, 0x18, 65535, pseudo, 0)
    eth = dst_mac + b'\x52\x54\x00\x00\x00\x09' + b'\x08\x00'
    hdr = struct.pack('<BBHHHH', 1, 1, 14 + 20 + 20, 1448, 14 + 20, 16)  # virtio_net_hdr (10 bytes)
    return hdr, eth + ip + tcp + payload, payload


def capture(ifname):
    """An AF_PACKET socket that sees what the guest sends out of the TAP device."""
    c = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
    c.bind((ifname, 0))
    c.settimeout(30)
    return c


def receive_pattern(c):
    """The guest's 1000-byte frame (ethertype 0x88b5), or None."""
    try:
        while True:
            data, addr = c.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING:
                return data
    except socket.timeout:
        return None
    finally:
        c.close()


def test_gso_frame_over_mergeable_buffers_tap(mosaic, tmp_path):
    if os.geteuid() != 0 or not os.path.exists('/dev/net/tun'):
        pytest.skip('needs root and /dev/net/tun for a TAP device')
    ifname = 'mmrg%d' % (os.getpid() % 100000)
    vm = Guest(mosaic, tmp_path, 2, '[netdev n0]\ntype = tap\nifname = %s\n' % ifname)
    try:
        vm.wait_line('STEP E')
        subprocess.run(['sysctl', '-q', '-w', 'net.ipv6.conf.%s.disable_ipv6=1' % ifname], check=False)
        subprocess.run(['ip', 'link', 'set', ifname, 'up'], check=True)
        hdr, frame, payload = gso_frame(65000, b'\x52\x54\x00\x00\x00\x02')
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.setsockopt(263, 15, 1)  # SOL_PACKET, PACKET_VNET_HDR
        s.bind((ifname, 0))
        cap = capture(ifname)
        s.send(hdr + frame)
        s.close()
        vm.wait_line('SENT')
        sent = receive_pattern(cap)
        vm.p.stdin.write(b'g')
        vm.p.stdin.flush()
        out, err, sigs = vm.finish()
    finally:
        vm.kill()
    assert sent == pattern_frame(1000, dst=b'\x52\x54\x00\x00\x00\x09')[:6] + b'\x52\x54\x00\x00\x00\x02' + \
        pattern_frame(1000)[12:], 'the guest\'s frame did not reach the TAP device as sent'
    assert 'FAILURES 0' in out and 'PASS' in out, out + err
    assert sigs['E-len'] == 12 + len(frame), out
    assert sigs['E-num-buffers'] == (12 + len(frame) + 4095) // 4096, out
    assert sigs['E-gso-size'] == 1448, out
    assert sigs['E-payload-len'] == len(payload), out
    assert sigs['E-payload-hash'] == fnv(payload), out
