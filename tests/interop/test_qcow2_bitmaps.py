# SPDX-License-Identifier: GPL-2.0-or-later
"""Persistent dirty bitmaps stored in qcow2 images (the qcow2 bitmaps extension), so
that QEMU's tools and Mosaic see the same bitmaps: Mosaic's bitmaps are listed by
`qemu-img info` and `qemu-img check` stays clean; bitmaps made by `qemu-img bitmap`
and written by `qemu-io` load in Mosaic with the right count; a killed Mosaic leaves
them in use, so the next start reports them inconsistent and refuses incremental
backups from them."""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_tools('qemu-img', 'qemu-io')
K = 1 << 10
M = 1 << 20


def qimg(*args):
    r = subprocess.run(['qemu-img', *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def qcow2(path, size='64M', *extra):
    qimg('create', '-f', 'qcow2', *extra, path, size)
    return path


def bitmaps_of(img):
    """The bitmaps qemu-img info lists (-U: Mosaic may hold the image)."""
    info = json.loads(qimg('info', '-U', '--output=json', img))
    return {b['name']: b for b in info.get('format-specific', {}).get('data', {}).get('bitmaps', [])}


def check_clean(img):
    r = subprocess.run(['qemu-img', 'check', str(img)], capture_output=True, text=True)
    assert r.returncode == 0 and 'No errors' in r.stdout and 'leaked' not in r.stdout, \
        r.stdout + r.stderr


class Qmp:
    def __init__(self, path):
        deadline = time.time() + 10
        while True:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(str(path))
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.05)
        self.sock, self.f = s, s.makefile('rw')
        json.loads(self.f.readline())
        self('qmp_capabilities')

    def __call__(self, cmd, **args):
        self.f.write(json.dumps({'execute': cmd, 'arguments': args}) + '\n')
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if 'event' not in r:
                return r

    def ok(self, cmd, **args):
        r = self(cmd, **args)
        assert 'return' in r, (cmd, r)
        return r['return']

    def bitmaps(self):
        return {b['name']: b for b in self.ok('query-dirty-bitmaps', node='disk0')['bitmaps']}


class Machine:
    """A storage-only machine: the qcow2 image as node disk0, exported over NBD."""

    def __init__(self, mosaic, tmp, img, extra=''):
        tmp = Path(tmp)
        self.qmp_path, self.nbd = tmp / 'qmp.sock', tmp / 'nbd.sock'
        ini = tmp / 'm.ini'
        ini.write_text('[machine]\ntype = none\n\n'
                       f'[blockdev f0]\ndriver = file\nfilename = {img}\n\n'
                       '[blockdev disk0]\ndriver = qcow2\nfile = f0\n\n'
                       f'[export e0]\nnode = disk0\nsocket = {self.nbd}\nwritable = on\n'
                       + extra)
        for p in (self.qmp_path, self.nbd):
            if p.exists():
                p.unlink()
        self.log = open(tmp / 'mosaic.log', 'a+')
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / 'xdg'))
        self.proc = subprocess.Popen([str(mosaic), str(ini), '--qmp',
                                      f'unix:{self.qmp_path},server,wait=off'],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=str(tmp))
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

    def write(self, *cmds):
        args = ['qemu-io', '-f', 'raw', f'nbd+unix:///e0?socket={self.nbd}']
        for c in cmds:
            args += ['-c', c]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)

    def stop(self, sig=signal.SIGTERM):
        self.qmp.sock.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        assert sig != signal.SIGTERM or self.proc.returncode == 0, self.output()
        out = self.output()
        self.log.close()
        return out


@pytest.fixture
def machines(mosaic, tmp_path):
    started = []

    def start(img, extra=''):
        m = Machine(mosaic, tmp_path, img, extra)
        started.append(m)
        return m
    yield start
    for m in started:
        if m.proc.poll() is None:
            m.proc.kill()
            m.proc.wait()


def test_mosaic_bitmaps_listed_by_qemu_img_and_reloaded(machines, tmp_path):
    img = qcow2(tmp_path / 'a.qcow2')
    m = machines(img)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='daily', persistent=True,
             granularity=64 * K)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='fine', persistent=True,
             granularity=4 * K, disabled=True)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='scratch', granularity=64 * K)
    m.write('write -P 1 0 4k', 'write -P 2 1M 128k', 'write -z 10M 64k', 'write -P 3 63M 1M')
    counts = {n: b['count'] for n, b in m.qmp.bitmaps().items()}
    assert counts == {'daily': 64 * K + 128 * K + 64 * K + M, 'fine': 0, 'scratch': counts['daily']}
    assert not (Path(str(img) + '.bitmaps')).exists()
    m.stop()

    bms = bitmaps_of(img)
    assert set(bms) == {'daily', 'fine'}  # not the non-persistent one
    assert bms['daily']['granularity'] == 64 * K and bms['daily']['flags'] == ['auto']
    assert bms['fine']['granularity'] == 4 * K and bms['fine']['flags'] == []
    check_clean(img)
    assert not (Path(str(img) + '.bitmaps')).exists()

    m = machines(img)
    bms = m.qmp.bitmaps()
    assert set(bms) == {'daily', 'fine'}
    assert bms['daily']['count'] == counts['daily'] and bms['fine']['count'] == 0
    assert bms['daily']['persistent'] and not bms['daily']['inconsistent']
    assert bms['daily']['recording'] and not bms['fine']['recording']
    # while open for writing the image says in use
    assert bitmaps_of(img)['daily']['flags'] == ['in-use', 'auto']
    m.write('write -P 4 20M 64k')
    m.qmp.ok('block-dirty-bitmap-remove', node='disk0', name='fine')
    m.stop()
    bms = bitmaps_of(img)
    assert set(bms) == {'daily'} and bms['daily']['flags'] == ['auto']
    check_clean(img)  # the old bitmap clusters were freed

    m = machines(img)
    assert m.qmp.bitmaps()['daily']['count'] == counts['daily'] + 64 * K
    m.qmp.ok('block-dirty-bitmap-remove', node='disk0', name='daily')
    m.stop()
    assert bitmaps_of(img) == {}
    check_clean(img)


def test_qemu_img_bitmap_and_qemu_io_writes_load_in_mosaic(machines, tmp_path):
    img = qcow2(tmp_path / 'q.qcow2')
    qimg('bitmap', '--add', '-g', 64 * K, img, 'qb')
    qimg('bitmap', '--add', '-g', 512 * K, img, 'coarse')
    qimg('bitmap', '--add', '--disable', img, 'off')
    r = subprocess.run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 5 0 64k',
                        '-c', 'write -P 6 2M 192k', '-c', 'write -P 7 40M 1k', str(img)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    m = machines(img)
    bms = m.qmp.bitmaps()
    assert bms['qb']['count'] == 64 * K + 192 * K + 64 * K
    assert bms['coarse']['count'] == 512 * K * 3  # granules 0, 4 and 80
    assert bms['off']['count'] == 0 and not bms['off']['recording']
    assert not any(b['inconsistent'] for b in bms.values())
    m.write('write -P 8 8M 64k')
    m.stop()
    check_clean(img)
    bms = bitmaps_of(img)
    assert set(bms) == {'qb', 'coarse', 'off'}
    # qemu-img merges what Mosaic stored: the merged bitmap has the count Mosaic had
    qimg('bitmap', '--add', '-g', 64 * K, img, 'copy')
    qimg('bitmap', '--merge', 'qb', img, 'copy')
    m = machines(img)
    bms = m.qmp.bitmaps()
    assert bms['qb']['count'] == bms['copy']['count'] == 64 * K * 6
    m.stop()
    check_clean(img)


def test_bitmap_added_since_start_reads_inconsistent_after_a_kill(machines, tmp_path):
    """A persistent bitmap added while Mosaic runs is recorded in the image at once,
    marked in use: after a kill it is there and reads inconsistent (the next backup must
    be full), not missing.  Removing one is recorded at once too."""
    img = qcow2(tmp_path / 'n.qcow2')
    m = machines(img)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='old', persistent=True)
    m.stop()
    m = machines(img)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='new', persistent=True)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='gone', persistent=True)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='mem')  # not persistent
    m.write('write -P 3 1M 64k')
    m.qmp.ok('block-dirty-bitmap-remove', node='disk0', name='gone')
    on_disk = bitmaps_of(img)
    assert sorted(on_disk) == ['new', 'old'], on_disk
    assert on_disk['new']['flags'] == ['in-use', 'auto']
    m.stop(signal.SIGKILL)

    m = machines(img)
    bms = m.qmp.bitmaps()
    assert sorted(bms) == ['new', 'old'], bms
    assert bms['new']['inconsistent'] and bms['old']['inconsistent']
    r = m.qmp('blockdev-backup', device='disk0', sync='incremental', bitmap='new',
              **{'target-file': str(tmp_path / 'inc.img')})
    assert 'inconsistent' in r['error']['desc'] and 'full backup is needed' in r['error']['desc']
    m.qmp.ok('block-dirty-bitmap-remove', node='disk0', name='new')
    m.qmp.ok('block-dirty-bitmap-remove', node='disk0', name='old')
    m.stop()
    assert bitmaps_of(img) == {}
    check_clean(img)


def test_killed_mosaic_leaves_bitmap_inconsistent(machines, tmp_path):
    img = qcow2(tmp_path / 'k.qcow2')
    m = machines(img)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='b', persistent=True)
    m.write('write -P 1 1M 1M')
    m.stop()
    m = machines(img)
    assert not m.qmp.bitmaps()['b']['inconsistent']
    m.write('write -P 2 5M 64k')
    m.stop(signal.SIGKILL)
    assert bitmaps_of(img)['b']['flags'] == ['in-use', 'auto']

    m = machines(img)
    b = m.qmp.bitmaps()['b']
    assert b['inconsistent']
    r = m.qmp('blockdev-backup', device='disk0', sync='incremental', bitmap='b',
              **{'target-file': str(tmp_path / 'inc.img')})
    assert 'full backup is needed' in r['error']['desc']
    assert 'error' in m.qmp('block-dirty-bitmap-clear', node='disk0', name='b')
    out = m.stop()
    assert 'inconsistent' in out
    # still inconsistent after a clean close: it stays in use on disk
    assert bitmaps_of(img)['b']['flags'] == ['in-use', 'auto']
    m = machines(img)
    assert m.qmp.bitmaps()['b']['inconsistent']
    m.qmp.ok('block-dirty-bitmap-remove', node='disk0', name='b')
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='b', persistent=True)
    m.stop()
    assert bitmaps_of(img)['b']['flags'] == ['auto']
    check_clean(img)


def test_bitmaps_in_overlay_keep_backing_file(machines, tmp_path):
    base = qcow2(tmp_path / 'base.qcow2')
    img = qcow2(tmp_path / 'top.qcow2', '64M', '-b', base, '-F', 'qcow2')
    m = machines(img)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='b', persistent=True)
    m.write('write -P 9 3M 4k')
    m.stop()
    info = json.loads(qimg('info', '--output=json', img))
    assert info['backing-filename'] == str(base)
    assert info['backing-filename-format'] == 'qcow2'
    assert [b['name'] for b in info['format-specific']['data']['bitmaps']] == ['b']
    check_clean(img)
    m = machines(img)
    assert m.qmp.bitmaps()['b']['count'] == 64 * K
    m.stop()


def test_hot_added_node_loads_and_stores_its_bitmaps(machines, tmp_path):
    img, other = qcow2(tmp_path / 'main.qcow2'), qcow2(tmp_path / 'hot.qcow2')
    qimg('bitmap', '--add', '-g', 64 * K, other, 'qb')
    qio = subprocess.run(['qemu-io', '-f', 'qcow2', '-c', 'write 1M 128k', str(other)],
                         capture_output=True, text=True)
    assert qio.returncode == 0, qio.stderr
    # blockdev-add nodes may only refer to nodes of the machine file
    m = machines(img, f'\n[blockdev hf]\ndriver = file\nfilename = {other}\n')
    q = m.qmp
    q.ok('blockdev-add', **{'node-name': 'hq', 'driver': 'qcow2', 'options': {'file': 'hf'}})
    bms = {b['name']: b for b in q.ok('query-dirty-bitmaps', node='hq')['bitmaps']}
    assert bms['qb']['count'] == 128 * K and not bms['qb']['inconsistent']
    q.ok('block-dirty-bitmap-add', node='hq', name='new', persistent=True, granularity=128 * K)
    q.ok('blockdev-del', **{'node-name': 'hq'})
    bms = bitmaps_of(other)
    assert set(bms) == {'qb', 'new'} and bms['new']['granularity'] == 128 * K
    assert all(b['flags'] == ['auto'] for b in bms.values())
    m.stop()  # the file node hf still holds the image lock until then
    check_clean(other)
    assert set(bitmaps_of(other)) == {'qb', 'new'}


def test_bitmaps_mosaic_cannot_load_are_kept(machines, tmp_path):
    """Granularity 2^31 (qcow2 allows it, Mosaic's bitmaps stop at 2^30): kept as they are;
    the recording one is marked in use (Mosaic wrote without recording), the disabled one
    stays consistent."""
    img = qcow2(tmp_path / 'g.qcow2')
    qimg('bitmap', '--add', '-g', 1 << 31, img, 'big')
    qimg('bitmap', '--add', '-g', 1 << 31, '--disable', img, 'bigoff')
    m = machines(img)
    assert set(m.qmp.bitmaps()) == set()
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='mine', persistent=True)
    m.write('write 1M 64k')
    out = m.stop()
    assert 'not supported by Mosaic: kept' in out
    bms = bitmaps_of(img)
    assert bms['big']['flags'] == ['in-use', 'auto'] and bms['bigoff']['flags'] == []
    assert bms['mine']['flags'] == ['auto'] and bms['big']['granularity'] == 1 << 31
    r = subprocess.run(['qemu-img', 'check', str(img)], capture_output=True, text=True)
    assert 'leaked' not in r.stdout and 'ERROR' not in r.stdout, r.stdout + r.stderr


def test_docs_advice_on_a_running_machines_image_holds(machines, tmp_path, top):
    """docs/backup.md tells a user to look at a running machine's bitmaps with `qemu-img
    info -U`: without -U qemu-img cannot open the image Mosaic holds, with it the bitmap
    is listed.  Every `qemu-img info` the docs suggest for a machine's image says -U."""
    img = qcow2(tmp_path / 'a.qcow2')
    m = machines(img)
    m.qmp.ok('block-dirty-bitmap-add', node='disk0', name='daily', persistent=True)
    plain = subprocess.run(['qemu-img', 'info', str(img)], capture_output=True, text=True)
    assert plain.returncode != 0 and 'lock' in plain.stderr, plain.stdout + plain.stderr
    assert 'daily' in bitmaps_of(img)  # what -U shows
    m.stop()
    text = ' '.join((top / 'docs' / 'backup.md').read_text().split())
    advice = [s for s in text.split('. ') if '`qemu-img info`' in s and 'machine' in s]
    assert advice, 'docs/backup.md no longer says how to list the bitmaps of an image'
    for sentence in advice:
        assert '`-U`' in sentence, sentence
