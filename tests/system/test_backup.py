# SPDX-License-Identifier: GPL-2.0-or-later
"""Backups of a running storage-only machine ([machine] type = none): dirty bitmaps,
copy-before-write, backup jobs, transactions and the mosaic-backup tool.

A writer changes the disk through an NBD export (qemu-io) while backups run; each
point's data is captured (the writer is idle, so nothing is in flight) right before the
point is taken, and `mosaic-backup restore --at POINT` must equal it byte for byte
(`qemu-img compare`)."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

need = pytest.mark.needs_tools('qemu-img', 'qemu-io')  # scripts/setup: a missing one fails
MB = 1 << 20
SIZE = 32 * MB


class Qmp:
    def __init__(self, path):
        deadline = time.time() + 10
        while True:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(str(path))
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.f = s.makefile('rw')
        self.sock = s
        json.loads(self.f.readline())
        self.events = []
        self('qmp_capabilities')

    def __call__(self, cmd, **args):
        self.f.write(json.dumps({'execute': cmd, 'arguments': args}) + '\n')
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if 'event' in r:
                self.events.append(r)
                continue
            return r

    def ok(self, cmd, **args):
        r = self(cmd, **args)
        assert 'return' in r, (cmd, r)
        return r['return']

    def wait_event(self, name, timeout=30, **match):
        return self.wait_event_any((name,), timeout, **match)

    def wait_event_any(self, names, timeout=30, **match):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['event'] in names and all(e['data'].get(k) == v for k, v in match.items()):
                    return self.events.pop(i)
            if time.time() > deadline:
                raise TimeoutError(names)
            self.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                line = self.f.readline()
            except socket.timeout:
                continue
            finally:
                self.sock.settimeout(None)
            if line:
                self.events.append(json.loads(line))

    def close(self):
        self.sock.close()


class Machine:
    def __init__(self, mosaic, tmp, img, img2=None, fmt='raw'):
        self.tmp = Path(tmp)
        self.qmp_path = self.tmp / 'qmp.sock'
        self.nbd = self.tmp / 'nbd.sock'
        self.nbd2 = self.tmp / 'nbd2.sock'
        ini = self.tmp / 'm.ini'
        text = ('[machine]\ntype = none\n\n'
                f'[blockdev f0]\ndriver = file\nfilename = {img}\n\n'
                f'[blockdev disk0]\ndriver = {fmt}\nfile = f0\n\n'
                f'[export e0]\nnode = disk0\nsocket = {self.nbd}\nwritable = on\n')
        if img2:
            text += (f'[blockdev f1]\ndriver = file\nfilename = {img2}\n\n'
                     '[blockdev disk1]\ndriver = raw\nfile = f1\n\n'
                     f'[export e1]\nnode = disk1\nsocket = {self.nbd2}\nwritable = on\n')
        ini.write_text(text)
        for p in (self.qmp_path, self.nbd, self.nbd2):
            if p.exists():
                p.unlink()
        self.log = open(self.tmp / 'mosaic.log', 'a+')
        env = dict(os.environ, XDG_CONFIG_HOME=str(self.tmp / 'xdg'))
        self.proc = subprocess.Popen([str(mosaic), str(ini), '--qmp',
                                      f'unix:{self.qmp_path},server,wait=off'],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=str(self.tmp))
        LIVE.append(self)  # reaped by the autouse fixture even if this test fails
        self.qmp = None
        deadline = time.time() + 10
        while not (self.qmp_path.exists() and self.nbd.exists()):
            assert self.proc.poll() is None, self.output()
            assert time.time() < deadline, 'mosaic did not start: ' + self.output()
            time.sleep(0.02)
        self.qmp = Qmp(self.qmp_path)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def write(self, *cmds, disk=0):
        sock, name = (self.nbd, 'e0') if disk == 0 else (self.nbd2, 'e1')
        # the export serves the disk's contents: raw whatever the image format
        args = ['qemu-io', '-f', 'raw', f'nbd+unix:///{name}?socket={sock}']
        for c in cmds:
            args += ['-c', c]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)

    def stop(self, sig=signal.SIGTERM):
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise
        if not self.log.closed:
            self.log.close()
        if self in LIVE:
            LIVE.remove(self)


LIVE = []  # every Machine of the running test


@pytest.fixture(autouse=True)
def reap_machines():
    """Kills what a test left running (a failed assertion before its m.stop())."""
    yield
    while LIVE:
        m = LIVE.pop()
        if m.proc.poll() is None:
            m.proc.kill()
            m.proc.wait(10)
        if m.qmp:
            m.qmp.close()
        if not m.log.closed:
            m.log.close()


@pytest.fixture
def tool(build):
    t = build / 'tools' / 'mosaic-backup' / 'mosaic-backup'
    assert t.exists(), f'{t} is not built (scons)'  # a broken build fails, never skips
    return t


def checkpoint(q, node='disk0'):
    """The one checkpoint bitmap mosaic-backup keeps on `node` (one repository)."""
    bms = [b for b in q.ok('query-dirty-bitmaps', node=node)['bitmaps']
           if b['name'].startswith('mosaic-backup.')]
    assert len(bms) == 1, bms
    return bms[0]


def raw_disk(tmp, size=SIZE):
    p = Path(tmp) / 'disk.img'
    with open(p, 'wb') as f:
        f.truncate(size)
    return p


def snapshot(img, dst):
    shutil.copyfile(img, dst)
    return dst


def compare(a, b):
    r = subprocess.run(['qemu-img', 'compare', '-U', '-f', 'raw', '-F', 'raw', str(a), str(b)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def run_tool(tool, *args, check=True):
    r = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def manifest_points(repo):
    return [p['id'] for p in json.loads((Path(repo) / 'manifest.json').read_text())['points']]


@contextlib.contextmanager
def small_tmpfs(d, size):
    """A tmpfs of `size` ("8M") mounted at the new directory d while the block runs: a
    backup target that fills up."""
    d.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(d)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f'cannot mount a small tmpfs (needs root): {r.stderr.strip()}')
    try:
        yield d
    finally:
        if subprocess.run(['umount', str(d)]).returncode:
            subprocess.run(['umount', '-l', str(d)])


def backup_while_writing(m, tool, kind, repo, writes, speed=24 * MB):
    """Runs `mosaic-backup KIND` rate-limited and issues `writes` while its job runs."""
    p = subprocess.Popen([str(tool), kind, '--socket', str(m.qmp_path), '--to', str(repo),
                          '--speed', str(speed), '--json'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while not m.qmp.ok('query-jobs')['jobs']:
        assert p.poll() is None, p.communicate()
        assert time.time() < deadline
        time.sleep(0.01)
    m.write(*writes)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, out + err
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[-1]['event'] == 'done'
    return lines


@need
def test_bitmap_commands(mosaic, tmp_path):
    img = raw_disk(tmp_path)
    m = Machine(mosaic, tmp_path, img)
    try:
        q = m.qmp
        q.ok('block-dirty-bitmap-add', node='disk0', name='a', granularity=4096)
        q.ok('block-dirty-bitmap-add', node='disk0', name='b', disabled=True, granularity=4096)
        assert 'error' in q('block-dirty-bitmap-add', node='disk0', name='a')
        assert 'error' in q('block-dirty-bitmap-add', node='disk0', name='c', granularity=3000)
        assert 'error' in q('block-dirty-bitmap-add', node='nope', name='c')
        m.write('write -P 1 8192 100', 'write -z 1M 8192', 'discard 2M 4096')
        bms = {b['name']: b for b in q.ok('query-dirty-bitmaps')['bitmaps']}
        assert bms['a']['count'] == 4096 + 8192 + 4096 and bms['a']['recording']
        assert bms['b']['count'] == 0 and not bms['b']['recording']
        q.ok('block-dirty-bitmap-merge', node='disk0', target='b', bitmaps=['a'])
        q.ok('block-dirty-bitmap-enable', node='disk0', name='b')
        m.write('write 3M 4096')
        bms = {b['name']: b for b in q.ok('query-dirty-bitmaps')['bitmaps']}
        assert bms['b']['count'] == 5 * 4096
        q.ok('block-dirty-bitmap-clear', node='disk0', name='a')
        q.ok('block-dirty-bitmap-disable', node='disk0', name='a')
        m.write('write 5M 4096')
        assert q.ok('query-dirty-bitmaps', node='disk0')['bitmaps'][0]['count'] == 0
        q.ok('block-dirty-bitmap-remove', node='disk0', name='a')
        assert [b['name'] for b in q.ok('query-dirty-bitmaps')['bitmaps']] == ['b']
        # transaction: all or nothing
        r = q('transaction', actions=[
            {'type': 'block-dirty-bitmap-add', 'data': {'node': 'disk0', 'name': 'x'}},
            {'type': 'block-dirty-bitmap-clear', 'data': {'node': 'disk0', 'name': 'b'}},
            {'type': 'block-dirty-bitmap-clear', 'data': {'node': 'disk0', 'name': 'nope'}}])
        assert 'error' in r and 'nothing was changed' in r['error']['desc']
        bms = {b['name']: b for b in q.ok('query-dirty-bitmaps')['bitmaps']}
        assert set(bms) == {'b'} and bms['b']['count'] == 6 * 4096  # b recorded 5M too
    finally:
        m.stop()


@need
def test_full_and_incremental_chain_restore(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x11 0 4M', 'write -P 0x12 20M 1M')
        ref1 = snapshot(img, tmp_path / 'ref1.img')
        lines = backup_while_writing(m, tool, 'full', repo,
                                     ['write -P 0x21 1M 2M', 'write -P 0x22 30M 64k',
                                      'write -z 20M 64k'])
        assert lines[0]['event'] == 'started' and lines[0]['point'] == 1
        done = [x for x in lines if x['event'] == 'completed']
        assert len(done) == 1 and done[0]['len'] == SIZE, lines
        m.write('write -P 0x31 8M 3M')
        ref2 = snapshot(img, tmp_path / 'ref2.img')
        bm = checkpoint(m.qmp)
        assert bm['name'].endswith('.1') and bm['persistent']
        # everything written since point 1 (including the writes during it) is dirty
        assert bm['count'] == 2 * MB + 64 * 1024 * 2 + 3 * MB
        backup_while_writing(m, tool, 'incremental', repo,
                             ['write -P 0x41 8M 1M', 'write -P 0x42 0 64k'])
        m.write('write -P 0x51 16M 128k', 'discard 30M 64k')
        ref3 = snapshot(img, tmp_path / 'ref3.img')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        ref_now = snapshot(img, tmp_path / 'ref-now.img')
    finally:
        m.stop()
    listing = run_tool(tool, 'list', '--dir', repo, '--json').stdout.splitlines()
    assert [json.loads(x)['kind'] for x in listing] == ['full', 'incremental', 'incremental']
    run_tool(tool, 'verify', '--dir', repo)
    for point, ref in ((1, ref1), (2, ref2), (3, ref3)):
        out = tmp_path / f'restored{point}.img'
        run_tool(tool, 'restore', '--dir', repo, '--at', point, '--to', out)
        compare(out, ref)
    assert ref3.read_bytes() == ref_now.read_bytes()
    # incrementals hold only what changed
    inc = sorted((repo / 'disk0').glob('*-inc.qcow2'))
    assert len(inc) == 2 and all(p.stat().st_size < 8 * MB for p in inc)
    # prune keeps the newest two; they still restore
    run_tool(tool, 'prune', '--dir', repo, '--keep', '2')
    assert not (repo / 'disk0' / '0001-full.qcow2').exists()
    run_tool(tool, 'verify', '--dir', repo)
    for point, ref in ((2, ref2), (3, ref3)):
        out = tmp_path / f'pruned{point}.img'
        run_tool(tool, 'restore', '--dir', repo, '--at', point, '--to', out)
        compare(out, ref)
    # damage is found
    f = repo / 'disk0' / '0003-inc.qcow2'
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xff
    f.write_bytes(bytes(data))
    assert run_tool(tool, 'verify', '--dir', repo, check=False).returncode == 1


@need
def test_cancel_keeps_bitmap_and_next_incremental_is_right(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        q = m.qmp
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        name = checkpoint(q)['name']
        m.write('write -P 0x61 0 8M')
        # an incremental of 8 MiB at 1 MiB/s, cancelled midway, with writes during it
        q.ok('blockdev-backup', **{'job-id': 'slow', 'device': 'disk0', 'sync': 'incremental',
                                   'bitmap': name, 'target-file': str(tmp_path / 'x.img'),
                                   'speed': MB})
        time.sleep(0.3)
        m.write('write -P 0x62 12M 64k')
        jobs = q.ok('query-jobs')['jobs']
        assert jobs[0]['status'] == 'running' and 0 < jobs[0]['current-progress'] < 8 * MB
        assert checkpoint(q)['busy'] and "backup job 'slow'" in checkpoint(q)['busy-owner']
        r = q('block-dirty-bitmap-clear', node='disk0', name=name)
        assert "in use by backup job 'slow'" in r['error']['desc'], r
        q.ok('job-pause', id='slow')
        assert q.ok('query-jobs')['jobs'][0]['status'] == 'paused'
        q.ok('job-resume', id='slow')
        q.ok('job-cancel', id='slow')
        q.wait_event('BLOCK_JOB_CANCELLED', device='slow')
        assert q.ok('query-jobs')['jobs'] == []
        bm = checkpoint(q)
        assert not bm['busy'] and bm['count'] == 8 * MB + 64 * 1024
        assert [n['node-name'] for n in q.ok('query-named-block-nodes')['nodes']] == ['f0', 'disk0']
        ref = snapshot(img, tmp_path / 'ref.img')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    out = tmp_path / 'restored.img'
    run_tool(tool, 'restore', '--dir', repo, '--at', 'latest', '--to', out)
    compare(out, ref)


@need
def test_persistent_bitmap_clean_restart_and_crash(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    m.write('write -P 0x71 1M 1M')
    side = json.loads(Path(str(img) + '.bitmaps').read_text())
    assert side['in-use'] is True
    m.stop()
    side = json.loads(Path(str(img) + '.bitmaps').read_text())
    assert side['in-use'] is False and side['bitmaps'][0]['name'].startswith('mosaic-backup.')

    # clean restart: the bitmap continues; writes made while stopped would be missed,
    # so none are made
    m = Machine(mosaic, tmp_path, img)
    bm = checkpoint(m.qmp)
    assert bm['persistent'] and not bm['inconsistent'] and bm['count'] == MB
    m.write('write -P 0x72 5M 64k')
    ref = snapshot(img, tmp_path / 'ref.img')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
    out = tmp_path / 'restored.img'
    run_tool(tool, 'restore', '--dir', repo, '--at', 'latest', '--to', out)
    compare(out, ref)

    # killed: the bitmap may miss writes -> inconsistent, incremental refused
    m.write('write -P 0x73 6M 64k')
    m.stop(signal.SIGKILL)
    m = Machine(mosaic, tmp_path, img)
    try:
        assert checkpoint(m.qmp)['inconsistent']
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo, check=False)
        assert r.returncode == 1 and 'full backup is needed' in r.stderr
        assert 'inconsistent' in r.stderr and 'not shut down cleanly' in r.stderr, r.stderr
        name = checkpoint(m.qmp)['name']
        r = m.qmp('blockdev-backup', device='disk0', sync='incremental', bitmap=name,
                  **{'target-file': str(tmp_path / 'y.img')})
        assert 'full backup is needed' in r['error']['desc']
        assert 'error' in m.qmp('block-dirty-bitmap-clear', node='disk0', name=name)
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        bm = checkpoint(m.qmp)
        assert not bm['inconsistent'] and bm['count'] == 0
        ref = snapshot(img, tmp_path / 'ref2.img')
    finally:
        m.stop()
    out = tmp_path / 'restored2.img'
    run_tool(tool, 'restore', '--dir', repo, '--at', 'latest', '--to', out)
    compare(out, ref)


@need
def test_backup_errors(mosaic, tmp_path):
    img = raw_disk(tmp_path)
    m = Machine(mosaic, tmp_path, img)
    try:
        q = m.qmp
        for args, msg in [
            (dict(device='nope', target='f0'), "no block node 'nope'"),
            (dict(device='disk0', sync='incremental', **{'target-file': str(tmp_path / 'a')}),
             "needs 'bitmap'"),
            (dict(device='disk0', sync='weird', target='f0'), 'unknown'),
            (dict(device='disk0', target='disk0'), 'cannot take a backup'),
            (dict(device='disk0', format='qcow2', **{'target-file': str(tmp_path / 'no.qcow2')}),
             'does not exist'),
        ]:
            r = q('blockdev-backup', **args)
            assert 'error' in r and msg in r['error']['desc'], (args, r)
        assert q.ok('query-jobs')['jobs'] == []
        assert [n['node-name'] for n in q.ok('query-named-block-nodes')['nodes']] == ['f0', 'disk0']
    finally:
        m.stop()


@need
def test_two_disks_one_point(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    img2 = Path(tmp_path) / 'disk2.img'
    with open(img2, 'wb') as f:
        f.truncate(8 * MB)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img, img2)
    try:
        m.write('write -P 1 0 1M')
        m.write('write -P 2 0 1M', disk=1)
        refs = [snapshot(img, tmp_path / 'a1.img'), snapshot(img2, tmp_path / 'b1.img')]
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        m.write('write -P 3 4M 64k')
        m.write('write -P 4 7M 64k', disk=1)
        refs2 = [snapshot(img, tmp_path / 'a2.img'), snapshot(img2, tmp_path / 'b2.img')]
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo, '--json')
        # a transaction that fails part-way starts nothing
        r = m.qmp('transaction', actions=[
            {'type': 'blockdev-backup', 'data': {'job-id': 'ok', 'device': 'disk0',
                                                 'target-file': str(tmp_path / 't.img')}},
            {'type': 'blockdev-backup', 'data': {'job-id': 'bad', 'device': 'nope',
                                                 'target-file': str(tmp_path / 'u.img')}}])
        assert 'error' in r
        assert m.qmp.ok('query-jobs')['jobs'] == []
        assert [n['node-name'] for n in m.qmp.ok('query-named-block-nodes')['nodes']] == \
            ['f0', 'disk0', 'f1', 'disk1']
        assert not any(b['busy'] for b in m.qmp.ok('query-dirty-bitmaps')['bitmaps'])
    finally:
        m.stop()
    for point, (a, b) in ((1, refs), (2, refs2)):
        out = tmp_path / f'r{point}'
        run_tool(tool, 'restore', '--dir', repo, '--at', point, '--to', out)
        compare(out / 'disk0.img', a)
        compare(out / 'disk1.img', b)


@need
def test_checksums_new_and_legacy(mosaic, tool, tmp_path):
    """New points carry XXH3-128 checksums; a manifest of an older version (SHA-256 in
    `sha256`) still verifies, and damage is found with either."""
    import hashlib
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x17 0 1M')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    man = json.loads((repo / 'manifest.json').read_text())
    disk = man['points'][0]['disks'][0]
    assert disk['checksum'].startswith('xxh128t:') and len(disk['checksum']) == 8 + 32
    f = repo / disk['file']
    del disk['checksum']
    disk['sha256'] = hashlib.sha256(f.read_bytes()).hexdigest()
    (repo / 'manifest.json').write_text(json.dumps(man))
    assert 'ok ' in run_tool(tool, 'verify', '--dir', repo).stdout
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xff
    f.write_bytes(bytes(data))
    r = run_tool(tool, 'verify', '--dir', repo, check=False)
    assert r.returncode == 1 and 'checksum differs' in r.stderr, r.stdout + r.stderr


@need
def test_checksum_covers_all_of_a_large_file(mosaic, tool, tmp_path):
    """verify over a file of 160 MiB (many read buffers, many 64 KiB blocks of xxh128t):
    it sums as Python's SHA-256 of it does, and a change near the end or the start is
    found."""
    import hashlib
    img = raw_disk(tmp_path, size=160 * MB)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x21 0 160M')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    man = json.loads((repo / 'manifest.json').read_text())
    disk = man['points'][0]['disks'][0]
    f = repo / disk['file']
    assert f.stat().st_size > 2 * 64 * MB
    assert 'ok ' in run_tool(tool, 'verify', '--dir', repo).stdout
    # the same file under a legacy SHA-256 sum computed by Python: the tool's agrees
    del disk['checksum']
    disk['sha256'] = hashlib.sha256(f.read_bytes()).hexdigest()
    (repo / 'manifest.json').write_text(json.dumps(man))
    assert 'ok ' in run_tool(tool, 'verify', '--dir', repo).stdout
    for at in (f.stat().st_size - 5, 3 * MB + 7):
        with open(f, 'r+b') as fh:
            fh.seek(at)
            b = fh.read(1)
            fh.seek(at)
            fh.write(bytes([b[0] ^ 0x01]))
        r = run_tool(tool, 'verify', '--dir', repo, check=False)
        assert r.returncode == 1 and 'checksum differs' in r.stderr, (at, r.stdout + r.stderr)
        with open(f, 'r+b') as fh:
            fh.seek(at)
            fh.write(b)
        assert 'ok ' in run_tool(tool, 'verify', '--dir', repo).stdout


def tree_hash(path):
    """xxh128t of a file, computed here with libxxhash itself (ctypes): XXH3-128 over the
    XXH3-128 (canonical, big endian) of every 64 KiB block, then the length (8 bytes,
    little endian).  Independent of both C implementations (the machine's, the tool's)."""
    import ctypes

    class H128(ctypes.Structure):
        _fields_ = [('low64', ctypes.c_uint64), ('high64', ctypes.c_uint64)]
    lib = ctypes.CDLL('libxxhash.so.0')
    lib.XXH3_128bits.restype = H128
    lib.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

    def canon(b):
        h = lib.XXH3_128bits(b, len(b))
        return h.high64.to_bytes(8, 'big') + h.low64.to_bytes(8, 'big')
    data = Path(path).read_bytes()
    inner = b''.join(canon(data[o:o + 65536]) for o in range(0, len(data), 65536))
    return 'xxh128t:' + canon(inner + len(data).to_bytes(8, 'little')).hex()


@need
def test_checksum_made_by_the_machine_while_it_writes(mosaic, tool, tmp_path):
    """The job hashes the target file as it writes it (checksum-file): what it writes is
    the checksum of the finished file's bytes; the tool records it in the manifest and
    leaves no checksum file behind; a changed byte is still found by verify."""
    img = raw_disk(tmp_path)
    with open(img, 'r+b') as f:  # every 64 KiB block different
        f.write(os.urandom(12 * MB))
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x41 1M 1M', 'write -P 0x43 31M 1M')
        tgt, sums = tmp_path / 't.qcow2', tmp_path / 't.sum'
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(tgt), str(SIZE)],
                       check=True)
        m.qmp.ok('blockdev-backup', **{'job-id': 'j', 'device': 'disk0', 'sync': 'full',
                                       'target-file': str(tgt), 'format': 'qcow2',
                                       'checksum-file': str(sums)})
        m.qmp.wait_event('BLOCK_JOB_COMPLETED', device='j')
        assert sums.read_text() == tree_hash(tgt)
        # a raw target: the job's 4 MiB writes reach the file whole (many blocks each)
        raw, raw_sum = tmp_path / 't.img', tmp_path / 't.img.sum'
        m.qmp.ok('blockdev-backup', **{'job-id': 'r', 'device': 'disk0', 'sync': 'full',
                                       'target-file': str(raw), 'format': 'raw',
                                       'checksum-file': str(raw_sum)})
        m.qmp.wait_event('BLOCK_JOB_COMPLETED', device='r')
        assert raw_sum.read_text() == tree_hash(raw)
        # only with target-file
        r = m.qmp('blockdev-backup', **{'job-id': 'k', 'device': 'disk0', 'sync': 'full',
                                        'target': 'disk0', 'checksum-file': str(sums)})
        assert 'error' in r and 'checksum-file goes with target-file' in r['error']['desc'], r
        # never over a file that is there
        keep = tmp_path / 'precious'
        keep.write_text('mine')
        r = m.qmp('blockdev-backup', **{'job-id': 'k', 'device': 'disk0', 'sync': 'full',
                                        'target-file': str(tmp_path / 'u.img'),
                                        'checksum-file': str(keep)})
        assert 'error' in r and 'exists' in r['error']['desc'], r
        assert keep.read_text() == 'mine'
        # guest writes during the copy: copy-before-write writes the target out of order
        backup_while_writing(m, tool, 'full', repo, ['write -P 0x45 20M 4M',
                                                     'write -P 0x46 2M 64k'])
        m.write('write -P 0x44 1M 2M')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    man = json.loads((repo / 'manifest.json').read_text())
    assert len(man['points']) == 2
    for pt in man['points']:
        d = pt['disks'][0]
        assert d['checksum'] == tree_hash(repo / d['file']), d
    assert not list(repo.rglob('*.sum'))
    f = repo / man['points'][1]['disks'][0]['file']
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x10
    f.write_bytes(bytes(data))
    r = run_tool(tool, 'verify', '--dir', repo, check=False)
    assert r.returncode == 1 and 'checksum differs' in r.stderr, r.stdout + r.stderr
