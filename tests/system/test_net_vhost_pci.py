# SPDX-License-Identifier: GPL-2.0-or-later
"""net-vhost-pci set-up and liveness without a guest (paused machines: the backend runs
on the main loop): either machine may start first; one that dies is noticed (link down)
and a restarted one is joined again, in either role; the monitor can join and leave."""
import os
import signal
import subprocess
import time

import pytest

from test_monitor import Qmp


def ini(tmp_path, name, link):
    p = tmp_path / f'{name}.ini'
    nd = f'peer-socket = {link}\n' if link else ''
    p.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nfirmware = default\n'
                 f'[netdev l0]\ntype = vhost-pci\n{nd}'
                 '[device eth0]\ntype = virtio-net\nnetdev = l0\n')
    return p


@pytest.fixture
def machine(mosaic, tmp_path):
    procs = []

    def start(name, link):
        qmp = tmp_path / f'{name}.qmp'
        if qmp.exists():
            qmp.unlink()
        p = subprocess.Popen([str(mosaic), str(ini(tmp_path, name, link)), '-S', '--qmp', f'unix:{qmp}'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL,
                             env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
        procs.append(p)
        end = time.monotonic() + 20
        while not qmp.exists():
            assert p.poll() is None and time.monotonic() < end
            time.sleep(0.05)
        return p, Qmp(qmp)
    yield start
    for p in procs:  # SIGTERM: the exit runs the ASan build's leak check
        if p.poll() is None:
            p.terminate()
            p.wait(20)


def nd(q):
    [d] = q.cmd('query-vhost-pci')['return']['netdevs']
    return d


def wait(q, cond, timeout=10):
    end = time.monotonic() + timeout
    while not cond(d := nd(q)):
        assert time.monotonic() < end, d
        time.sleep(0.05)
    return d


def up(d):
    return d['link-up']


def test_either_side_dies_and_comes_back(machine, tmp_path):
    link = tmp_path / 'l0.sock'
    a, qa = machine('a', link)
    b, qb = machine('b', link)
    assert wait(qa, up)['role'] == 'accepted'
    assert wait(qb, up)['role'] == 'connected'
    b.send_signal(signal.SIGKILL)
    b.wait()
    wait(qa, lambda d: not d['link-up'])
    b, qb = machine('b', link)
    wait(qa, up)
    wait(qb, up)
    # Now the accepting side dies: whichever finds the path free listens there next.
    a.send_signal(signal.SIGKILL)
    a.wait()
    wait(qb, lambda d: not d['link-up'])
    a, qa = machine('a', link)
    roles = {wait(qa, up)['role'], wait(qb, up)['role']}
    assert roles == {'accepted', 'connected'}
    assert nd(qa)['violations'] == nd(qb)['violations'] == 0


def test_monitor_joins_and_leaves(machine, tmp_path):
    link = tmp_path / 'm.sock'
    a, qa = machine('a', None)
    b, qb = machine('b', None)
    assert nd(qa)['state'] == 'idle' and not nd(qa)['link-up']
    for q in (qa, qb):
        assert q.cmd('vhost-pci-connect', {'netdev': 'l0', 'peer-socket': str(link)}) == {'return': {}}
    wait(qa, up)
    wait(qb, up)
    assert qa.cmd('vhost-pci-disconnect', {'netdev': 'l0'}) == {'return': {}}
    assert nd(qa)['state'] == 'idle'
    wait(qb, lambda d: not d['link-up'])
    r = qa.cmd('vhost-pci-connect', {'netdev': 'nope', 'peer-socket': str(link)})
    assert r['error']['class'] == 'DeviceNotFound'
    qa.cmd('vhost-pci-connect', {'netdev': 'l0', 'peer-socket': str(link)})
    wait(qa, up)
    wait(qb, up)
