# SPDX-License-Identifier: GPL-2.0-or-later
"""PCI Express on riscv-virt: the core's PCI tree, root ports, virtio-blk over PCI.

Without Linux: device_add/device_del refusals on a paused machine, and the config-space
fuzzer briefly.  With the Mosaic test kernel (guests/linux, mosaic.cmd=blk-all |
hotplug-loop): the guest enumerates the INI topology (/sys/bus/pci/devices: ids and
bridge bus numbers), writes and reads every disk, and takes 20 hot-plug/unplug rounds."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from own_rss import own_rss  # tests/own_rss.py

from test_monitor import Qmp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402


def pattern(n, seed):
    return bytes(((i * 7 + (i >> 9) + 0x5a + seed) & 0xff) for i in range(n))


def machine(top, kernel, cmd, body, append=''):
    return (f'include = {top}/configs/riscv-virt-linux.ini\n[machine]\nkernel = {kernel}\n'
            f'cpus = 1\nappend = console=ttyS0 earlycon=sbi mosaic.cmd={cmd} {append}\n' + body)


def disks(tmp_path, n):
    body = ''
    for i in range(n):
        img = tmp_path / f'd{i}.raw'
        img.write_bytes(bytes(4 << 20) + bytes([i]) * 4096)
        body += f'[blockdev disk{i}]\ndriver = file\nfilename = {img}\n'
    return body


TOPOLOGY = '''[device rp1]
type = pcie-root-port
[device rp2]
type = pcie-root-port
addr = 5
[device vb0]
type = virtio-blk
drive = disk0
bus = rp1
[device vb1]
type = virtio-blk
drive = disk1
bus = pcie.0
addr = 3
[device br1]
type = pcie-pci-bridge
bus = rp2
[device vb2]
type = virtio-blk
drive = disk2
bus = br1
addr = 3
[device rp3]
type = pcie-root-port
addr = 6
bus-reserve = 2
'''


@pytest.fixture(scope='module')
def kernel():
    return g.ensure_linux() / 'Image-fpu'


def start(mosaic, tmp_path, ini_text, extra=()):
    ini, qmp = tmp_path / 'vm.ini', tmp_path / 'qmp.sock'
    ini.write_text(ini_text)
    log = open(tmp_path / 'console.log', 'w+')
    p = subprocess.Popen([str(mosaic), str(ini), '--qmp', f'unix:{qmp}', *extra], stdout=log,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
    end = time.monotonic() + 20
    while not qmp.exists():
        assert p.poll() is None, (tmp_path / 'console.log').read_text()
        assert time.monotonic() < end
        time.sleep(0.05)
    return p, Qmp(qmp, timeout=60), tmp_path / 'console.log'


def stop(p, q):
    try:
        q.cmd('quit')
    except OSError:
        pass
    try:
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()


def test_hotplug_refusals_paused(mosaic, top, tmp_path):
    """Slots that cannot take a device say so; a device_del waits for the guest."""
    body = disks(tmp_path, 4) + TOPOLOGY
    text = (f'[machine]\ntype = riscv-virt\nmemory = 64M\n' + body)
    p, q, log = start(mosaic, tmp_path, text, ['-S'])
    try:
        def add(**a):
            return q.cmd('device_add', a)
        r = add(driver='virtio-blk', id='x', bus='br1', addr=3, options={'drive': 'disk3'})
        assert 'occupied' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='br1', addr=0, options={'drive': 'disk3'})
        assert 'no hot-plug controller' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='pcie.0', options={'drive': 'disk3'})
        assert 'cannot take hot-plugged devices' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='rp1', options={'drive': 'disk3'})
        assert 'occupied' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='nosuch', options={'drive': 'disk3'})
        assert 'no such device' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='vb1', options={'drive': 'disk3'})
        assert 'has no PCI bus behind it' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='rp3', addr=1, options={'drive': 'disk3'})
        assert 'one slot' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='vb0', bus='rp3', options={'drive': 'disk3'})
        assert 'exists already' in r['error']['desc'], r
        r = add(driver='virtio-blk', id='x', bus='rp3', options={'drive': 'nodisk'})
        assert 'error' in r and 'nodisk' in r['error']['desc'], r
        assert add(driver='virtio-blk', id='x', bus='rp3', options={'drive': 'disk3'}) == {'return': {}}
        r = add(driver='virtio-blk', id='y', bus='rp3', options={'drive': 'disk3'})
        assert 'error' in r, r
        # Not on a hot-plug bus: refused; in a port: pending until the guest releases it.
        assert 'hot-plug controller' in q.cmd('device_del', {'id': 'vb1'})['error']['desc']
        assert q.cmd('device_del', {'id': 'x'}) == {'return': {}}
        assert 'already requested' in q.cmd('device_del', {'id': 'x'})['error']['desc']
        assert not [e for e in q.events if e['event'] == 'DEVICE_DELETED']
    finally:
        stop(p, q)


def test_bridge_hotplug_paused(mosaic, top, tmp_path):
    """A PCIe-to-PCI bridge hot-plugged into an empty root port takes hot-plugged devices
    on its SHPC slots (1-31; without addr the first free one), not on slot 0; a device
    behind it leaves at once when the guest never powered its slot."""
    body = disks(tmp_path, 4) + TOPOLOGY
    text = '[machine]\ntype = riscv-virt\nmemory = 64M\n' + body
    p, q, log = start(mosaic, tmp_path, text, ['-S'])
    try:
        assert q.cmd('device_add', {'driver': 'pcie-pci-bridge', 'id': 'hb', 'bus': 'rp3'}) == \
            {'return': {}}
        assert q.cmd('qom-list', {'path': '/machine/peripheral/hb'}).get('return') is not None
        r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'x', 'bus': 'hb', 'addr': 0,
                                 'options': {'drive': 'disk3'}})
        assert 'no hot-plug controller' in r['error']['desc'], r
        r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'x', 'bus': 'hb', 'addr': 31,
                                 'options': {'drive': 'disk3'}})
        assert r == {'return': {}}, r
        r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'y', 'bus': 'hb', 'addr': 31,
                                 'options': {'drive': 'disk3'}})
        assert 'occupied' in r['error']['desc'], r
        r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'y', 'bus': 'hb',
                                 'options': {'drive': 'disk3'}})
        assert r == {'return': {}}, r
        r = q.cmd('device_del', {'id': 'hb'})
        assert 'behind it' in r['error']['desc'], r
        # A cold-plugged device sits in a slot the SHPC reports powered: device_del
        # presses the button and waits for the guest (paused: no DEVICE_DELETED).
        assert q.cmd('device_del', {'id': 'vb2'}) == {'return': {}}
        assert 'already' in q.cmd('device_del', {'id': 'vb2'})['error']['desc']
        # The paused guest never powered the slots on: the devices leave at once.
        for dev in ('x', 'y'):
            assert q.cmd('device_del', {'id': dev}) == {'return': {}}
            assert wait_event(q, 'DEVICE_DELETED', 10)['data']['device'] == dev
        assert not [e for e in q.events if e['event'] == 'DEVICE_DELETED']
    finally:
        stop(p, q)


@pytest.mark.needs_tools('clang')
def test_fuzz_pci_briefly(top, tmp_path):
    """Config-space, BAR and interrupt accesses survive 15 s of libFuzzer (ASan + UBSan)
    with the host's bookkeeping checked after every step."""
    out = tmp_path / 'fuzz'
    r = subprocess.run([str(top / 'core' / 'pci' / 'fuzz' / 'build.sh'), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(own_rss([out / 'fuzz-pci', out / 'corpus', '-max_total_time=15',
                                '-rss_limit_mb=1024']), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Done' in r.stderr


def pci_lines(out):
    return {l.split()[1]: dict(kv.split('=') for kv in l.split()[2:])
            for l in out.splitlines() if l.startswith('MOSAIC-PCI ')}


@pytest.mark.linux
def test_guest_enumerates_topology_and_uses_disks(mosaic, top, tmp_path, kernel):
    """Root ports, a disk behind one, a PCIe-to-PCI bridge behind the other with a disk
    behind it, a disk on the root bus: /sys/bus/pci/devices shows the configured tree
    (ids, bridge secondary/subordinate bus numbers) and each disk takes its pattern."""
    ini = tmp_path / 'topo.ini'
    ini.write_text(machine(top, kernel, 'blk-all', disks(tmp_path, 3) + TOPOLOGY))
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path)))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    pci = pci_lines(out)
    port = {'vendor': '0x1b36', 'device': '0x000c', 'class': '0x060400'}
    blk = {'vendor': '0x1af4', 'device': '0x1042', 'class': '0x018000'}
    assert pci == {
        '0000:00:00.0': {'vendor': '0x1b36', 'device': '0x0008', 'class': '0x060000'},
        '0000:00:01.0': dict(port, secondary='01', subordinate='01'),
        '0000:00:05.0': dict(port, secondary='02', subordinate='03'),
        '0000:00:06.0': dict(port, secondary='04', subordinate='06'),  # bus-reserve = 2
        '0000:02:00.0': {'vendor': '0x1b36', 'device': '0x000e', 'class': '0x060400',
                         'secondary': '03', 'subordinate': '03'},
        '0000:00:03.0': blk,
        '0000:01:00.0': blk,
        '0000:03:03.0': blk,
    }, out
    for d in ('vda', 'vdb', 'vdc'):
        assert f'MOSAIC-BLK {d} OK' in out, out
    assert 'MOSAIC-CMD blk-all OK' in out, out
    # vda..vdc are the three disks, in some order: each holds its own pattern.
    seeds = {ord('a'), ord('b'), ord('c')}
    for i in range(3):
        head = (tmp_path / f'd{i}.raw').read_bytes()[:65536]
        hit = [s for s in seeds if head == pattern(65536, s)]
        assert hit, f'disk {i} has neither pattern'
        seeds -= set(hit)


# A kernel message can land in the middle of a line /init writes to the console.
KERNEL_MESSAGE = r'\[ *\d+\.\d+\] [^\n]*\n'


def wait_line(log, what, start, timeout=120):
    """Waits for `what` after `start`, also when kernel messages landed inside it;
    returns the position after it."""
    line = re.compile(f'(?:{KERNEL_MESSAGE})*'.join(map(re.escape, what)))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = line.search(log.read_text(), start)
        if m:
            return m.end()
        time.sleep(0.1)
    raise AssertionError(f'no {what!r} within {timeout} s:\n' + log.read_text()[-3000:])


def wait_event(q, name, timeout=60):
    q.s.settimeout(timeout)
    for e in q.events:
        if e['event'] == name:
            q.events.remove(e)
            return e
    while True:
        e = q.event()
        assert e is not None, f'no {name} event'
        if e['event'] == name:
            return e


@pytest.mark.linux
@pytest.mark.slow
def test_hotplug_20_rounds(mosaic, top, tmp_path, kernel):
    """With Linux running: 20 times, a virtio-blk-pci is hot-plugged into a root port,
    the guest writes and reads it, device_del presses the attention button, the guest
    releases the device (pciehp powers the slot off) and DEVICE_DELETED follows."""
    body = disks(tmp_path, 4) + TOPOLOGY
    p, q, log = start(mosaic, tmp_path, machine(top, kernel, 'hotplug-loop', body))
    try:
        pos = wait_line(log, 'MOSAIC-HOTPLUG ready', 0)
        for i in range(20):
            r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'hp', 'bus': 'rp3',
                                     'options': {'drive': 'disk3'}})
            assert r == {'return': {}}, r
            pos = wait_line(log, 'MOSAIC-HOTPLUG add vdd OK', pos)
            assert q.cmd('device_del', {'id': 'hp'}) == {'return': {}}
            e = wait_event(q, 'DEVICE_DELETED')
            assert e['data']['device'] == 'hp'
            pos = wait_line(log, 'MOSAIC-HOTPLUG del vdd', pos)
            assert 'error' in q.cmd('qom-list', {'path': '/machine/peripheral/hp'})
        assert pattern(65536, 3) == (tmp_path / 'd3.raw').read_bytes()[:65536]
        text = log.read_text()
        assert 'Oops' not in text and 'BUG' not in text, text[-3000:]
    finally:
        stop(p, q)


def hotplug_rounds(q, log, pos, bus, rounds, disk='disk3', name='vdd', seed=3):
    """device_add of a virtio-blk on `bus`, the guest writes and reads it, device_del,
    DEVICE_DELETED once the guest released it; `rounds` times."""
    for i in range(rounds):
        r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'hp', 'bus': bus,
                                 'options': {'drive': disk}})
        assert r == {'return': {}}, r
        pos = wait_line(log, f'MOSAIC-HOTPLUG add {name} OK', pos)
        assert q.cmd('device_del', {'id': 'hp'}) == {'return': {}}
        e = wait_event(q, 'DEVICE_DELETED')
        assert e['data']['device'] == 'hp'
        pos = wait_line(log, f'MOSAIC-HOTPLUG del {name}', pos)
        assert 'error' in q.cmd('qom-list', {'path': '/machine/peripheral/hp'})
    return pos


def guest_clean(log):
    text = log.read_text()
    for bad in ('Oops', 'BUG', 'Command not completed', 'Failed to issued command',
                'Cannot add device'):
        assert bad not in text, text[-3000:]


@pytest.mark.linux
@pytest.mark.slow
def test_hotplug_behind_bridge_20_rounds(mosaic, top, tmp_path, kernel):
    """With Linux running, 20 times (the issue's count, as into a root port): a virtio-blk-pci is hot-plugged behind the
    pcie-pci-bridge (its SHPC presses the attention button, Linux's shpchp powers the
    slot on and scans it), the guest writes and reads it, device_del presses the button
    again and the device leaves when shpchp disables the slot."""
    body = disks(tmp_path, 4) + TOPOLOGY
    p, q, log = start(mosaic, tmp_path, machine(top, kernel, 'hotplug-loop', body))
    try:
        pos = wait_line(log, 'MOSAIC-HOTPLUG ready', 0)
        hotplug_rounds(q, log, pos, 'br1', 20)
        assert pattern(65536, 3) == (tmp_path / 'd3.raw').read_bytes()[:65536]
        guest_clean(log)
    finally:
        stop(p, q)


def pci_block(text, start):
    """The last complete MOSAIC-PCI listing of the hot-plug loop after `start`."""
    text = re.sub(KERNEL_MESSAGE, '', text[start:])
    blocks = re.findall(r'MOSAIC-HOTPLUG pci \d+\n(.*?)MOSAIC-HOTPLUG pci end', text, re.S)
    return pci_lines(blocks[-1]) if blocks else {}


def start_hotplug_loop(mosaic, top, tmp_path, kernel, append=''):
    body = disks(tmp_path, 4) + TOPOLOGY
    p, q, log = start(mosaic, tmp_path, machine(top, kernel, 'hotplug-loop', body, append))
    pos = wait_line(log, 'MOSAIC-HOTPLUG ready', 0)
    pos = wait_line(log, 'MOSAIC-HOTPLUG pci end', pos)
    assert pci_block(log.read_text(), 0)['0000:00:06.0']['subordinate'] == '06'
    return p, q, log, pos


def add_bridge(q, log, pos):
    """hb into rp3 (bus-reserve = 2: buses 04-06): Linux numbers it 05 and shpchp
    takes its controller."""
    assert q.cmd('device_add', {'driver': 'pcie-pci-bridge', 'id': 'hb', 'bus': 'rp3'}) == \
        {'return': {}}
    pos = wait_line(log, 'MOSAIC-HOTPLUG pci 9', pos)
    pos = wait_line(log, 'MOSAIC-HOTPLUG pci end', pos)
    tree = pci_block(log.read_text(), 0)
    assert tree['0000:04:00.0'] == {'vendor': '0x1b36', 'device': '0x000e', 'class': '0x060400',
                                    'secondary': '05', 'subordinate': '05'}, tree
    return wait_line(log, 'shpchp 0000:04:00.0: HPC vendor_id 1b36 device_id e', 0)


@pytest.mark.linux
@pytest.mark.slow
def test_bridge_hotplug_gets_reserved_buses(mosaic, top, tmp_path, kernel):
    """With Linux running: a pcie-pci-bridge hot-plugged into a root port that reserves
    two buses (bus-reserve = 2: rp3 is 04-06) gets bus 05 from Linux (without the
    reservation: "No bus number available") and Linux's shpchp drives its SHPC; the
    bridge is unplugged (DEVICE_DELETED) and plugged again, twice."""
    p, q, log, pos = start_hotplug_loop(mosaic, top, tmp_path, kernel)
    try:
        for _ in range(2):
            pos = max(pos, add_bridge(q, log, pos))
            assert q.cmd('device_del', {'id': 'hb'}) == {'return': {}}
            assert wait_event(q, 'DEVICE_DELETED')['data']['device'] == 'hb'
            pos = wait_line(log, 'MOSAIC-HOTPLUG pci 8', pos)
        guest_clean(log)
        assert 'No bus number available' not in log.read_text()
    finally:
        stop(p, q)


@pytest.mark.linux
@pytest.mark.slow
def test_device_behind_hotplugged_bridge(mosaic, top, tmp_path, kernel):
    """A virtio-blk hot-plugged behind a bridge that was itself hot-plugged: the SHPC
    powers the slot and Linux finds 05:01.0 (vendor/device ids) and gives it its BARs
    inside the bridge's window (no "can't assign"); the guest writes and reads the disk,
    then device_del takes out the disk and after it the bridge.  Needs the guest kernel's
    patch guests/linux/patches/0001-pci-no-space-for-disabled-bridge-windows.patch:
    without it Linux 6.1 sizes the bridge's window from its port's whole window when the
    bridge is added, and the device never fits (plugins/pci-pcie-bridge/README.md)."""
    p, q, log, pos = start_hotplug_loop(mosaic, top, tmp_path, kernel)
    try:
        pos = max(pos, add_bridge(q, log, pos))
        r = q.cmd('device_add', {'driver': 'virtio-blk', 'id': 'hp', 'bus': 'hb', 'addr': 1,
                                 'options': {'drive': 'disk3'}})
        assert r == {'return': {}}, r
        pos = wait_line(log, 'MOSAIC-PCI 0000:05:01.0 vendor=0x1af4 device=0x1042', pos)
        pos = wait_line(log, 'MOSAIC-HOTPLUG add vdd OK', pos)
        unplaced = re.findall(r"0000:0[45]:\S+: .*(?:can't assign|failed to assign).*", log.read_text())
        assert not unplaced, unplaced
        assert q.cmd('device_del', {'id': 'hp'}) == {'return': {}}
        assert wait_event(q, 'DEVICE_DELETED')['data']['device'] == 'hp'
        pos = wait_line(log, 'MOSAIC-HOTPLUG del vdd', pos)
        assert pattern(65536, 3) == (tmp_path / 'd3.raw').read_bytes()[:65536]
        assert q.cmd('device_del', {'id': 'hb'}) == {'return': {}}
        assert wait_event(q, 'DEVICE_DELETED')['data']['device'] == 'hb'
        pos = wait_line(log, 'MOSAIC-HOTPLUG pci 8', pos)
        guest_clean(log)
    finally:
        stop(p, q)
