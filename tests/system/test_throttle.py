# SPDX-License-Identifier: GPL-2.0-or-later
"""block-throttle measured with fio's nbd engine against a storage-only machine:
limits hold within +-10%, two members of a group share it fairly (+-10%), limits change
at runtime, and the filter goes in and out of a running graph."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'interop'))
from test_nbd import Daemon, daemon, uri, MB  # noqa: E402,F401

pytestmark = [pytest.mark.needs_tools('fio'), pytest.mark.alone]
SECONDS = 4


def fio(sock, name='e0', bs='4k', rw='randread', depth=8, seconds=SECONDS):
    r = subprocess.run(['fio', '--name=t', '--ioengine=nbd', f'--uri={uri(sock, name)}',
                        f'--rw={rw}', f'--bs={bs}', '--size=64M', f'--runtime={seconds}',
                        '--time_based', f'--iodepth={depth}', '--output-format=json'],
                       capture_output=True, text=True, timeout=seconds + 60)
    assert r.returncode == 0, r.stderr
    job = json.loads(r.stdout[r.stdout.index('{'):])['jobs'][0]
    d = job['read'] if 'read' in rw else job['write']
    return d['iops'], d['bw_bytes']


def disk(tmp_path, name):
    p = tmp_path / name
    with open(p, 'wb') as f:
        f.truncate(64 * MB)
    return p


def within(measured, limit, tol=0.10):
    return abs(measured - limit) <= tol * limit


def test_iops_limit(daemon, tmp_path):
    img, sock = disk(tmp_path, 'a.img'), tmp_path / 'a.sock'
    daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
           f'[blockdev thr]\ndriver = throttle\nfile = f0\niops-total = 500/s\n'
           f'[export e0]\nnode = thr\nsocket = {sock}\n', wait_for=[sock])
    iops, _ = fio(sock)
    print(f'iops-total 500/s: measured {iops:.1f} ({iops / 500:.3f})')
    assert within(iops, 500), iops


def test_bps_limit(daemon, tmp_path):
    img, sock = disk(tmp_path, 'b.img'), tmp_path / 'b.sock'
    daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
           f'[blockdev thr]\ndriver = throttle\nfile = f0\nbps-write = 8M/s\n'
           f'[export e0]\nnode = thr\nsocket = {sock}\nwritable = on\n', wait_for=[sock])
    _, bw = fio(sock, bs='64k', rw='randwrite')
    print(f'bps-write 8M/s: measured {bw / MB:.2f} MiB/s ({bw / (8 * MB):.3f})')
    assert within(bw, 8 * MB), bw


def test_group_fairness(daemon, tmp_path):
    a, b = disk(tmp_path, 'a.img'), disk(tmp_path, 'b.img')
    sa, sb = tmp_path / 'a.sock', tmp_path / 'b.sock'
    daemon(f'[throttle-group g]\niops-total = 1000/s\n'
           f'[blockdev fa]\ndriver = file\nfilename = {a}\n'
           f'[blockdev fb]\ndriver = file\nfilename = {b}\n'
           f'[blockdev ta]\ndriver = throttle\nfile = fa\ngroup = g\n'
           f'[blockdev tb]\ndriver = throttle\nfile = fb\ngroup = g\n'
           f'[export ea]\nnode = ta\nsocket = {sa}\nname = e0\n'
           f'[export eb]\nnode = tb\nsocket = {sb}\nname = e0\n', wait_for=[sa, sb])
    # One fio with a job per member: both measure the same seconds.  Two fio processes
    # start apart, and each counts the moments it had the group to itself, so their sum
    # came out above the limit (the flaky failure).
    r = subprocess.run(['fio', '--ioengine=nbd', '--rw=randread', '--bs=4k', '--size=64M',
                        f'--runtime={SECONDS}', '--time_based', '--iodepth=8',
                        '--output-format=json', '--name=a', f'--uri={uri(sa)}',
                        '--name=b', f'--uri={uri(sb)}'],
                       capture_output=True, text=True, timeout=SECONDS + 60)
    assert r.returncode == 0, r.stderr
    jobs = json.loads(r.stdout[r.stdout.index('{'):])['jobs']
    res = {j['jobname']: j['read']['iops'] for j in jobs}
    print(f"group iops-total 1000/s: a {res['a']:.1f}, b {res['b']:.1f}")
    assert within(res['a'] + res['b'], 1000), res
    assert within(res['a'], res['b']), res


def test_runtime_limits_insert_remove(daemon, tmp_path):
    img, sock = disk(tmp_path, 'c.img'), tmp_path / 'c.sock'
    d = daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
               f'[blockdev thr]\ndriver = throttle\nfile = f0\niops-total = 300/s\n'
               f'[export e0]\nnode = f0\nsocket = {sock}\n', wait_for=[sock])
    free, _ = fio(sock, seconds=2)
    assert free > 2000, free
    r = d.qmp('blockdev-insert-filter', filter='thr', node='f0')
    assert 'return' in r, r
    iops, _ = fio(sock)
    assert within(iops, 300), iops
    r = d.qmp('throttle-set-limits', group='thr', **{'iops-total': 600})
    assert 'return' in r, r
    iops2, _ = fio(sock)
    assert within(iops2, 600), iops2
    q = d.qmp('query-throttle')['return']['groups']
    assert q[0]['iops-total'] == 600 and q[0]['members'][0]['rd-ops'] > 0
    assert 'return' in d.qmp('blockdev-remove-filter', filter='thr')
    after, _ = fio(sock, seconds=2)
    print(f'free {free:.0f}, inserted 300/s -> {iops:.1f}, set 600/s -> {iops2:.1f}, '
          f'removed -> {after:.0f}')
    assert after > 2000, after
    assert 'error' in d.qmp('throttle-set-limits', group='nope', **{'iops-total': 1})


def test_filter_created_at_runtime(daemon, tmp_path):
    img, sock = disk(tmp_path, 'r.img'), tmp_path / 'r.sock'
    d = daemon(f'[blockdev f0]\ndriver = file\nfilename = {img}\n'
               f'[export e0]\nnode = f0\nsocket = {sock}\n', wait_for=[sock])
    r = d.qmp('blockdev-add', **{'node-name': 'thr', 'driver': 'throttle',
                                 'options': {'file': 'f0', 'iops-total': 400}})
    assert 'return' in r, r
    assert 'error' in d.qmp('blockdev-add', **{'node-name': 'thr', 'driver': 'throttle',
                                               'options': {'file': 'f0'}})
    bad = d.qmp('blockdev-add', **{'node-name': 'x', 'driver': 'throttle',
                                   'options': {'file': 'f0', 'iops-totl': 1}})
    assert 'error' in bad and 'iops-totl' in bad['error']['desc'], bad
    inj = d.qmp('blockdev-add', **{'node-name': 'y', 'driver': 'raw',
                                   'options': {'file': 'f0\n[export z]'}})
    assert 'error' in inj, inj
    assert 'return' in d.qmp('blockdev-insert-filter', filter='thr', node='f0')
    assert 'error' in d.qmp('blockdev-del', **{'node-name': 'thr'})  # in use
    iops, _ = fio(sock)
    assert within(iops, 400), iops
    assert 'return' in d.qmp('blockdev-remove-filter', filter='thr')
    assert 'return' in d.qmp('blockdev-del', **{'node-name': 'thr'})
    nodes = [n['node-name'] for n in d.qmp('query-named-block-nodes')['return']['nodes']]
    assert nodes == ['f0'], nodes
    after, _ = fio(sock, seconds=2)
    assert after > 2000, after
