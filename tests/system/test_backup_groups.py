# SPDX-License-Identifier: GPL-2.0-or-later
"""A backup point is all disks or none.

Two disks, one target fills up (a small tmpfs): with `completion-mode: grouped` no job's
bitmap is cleared unless every job of the transaction succeeded, and mosaic-backup's next
incremental copies everything that changed since its last good point, restored byte for
byte (qemu-img compare) at every point.  A repository owns its change tracking: an
incremental whose base is not the repository's own last point is refused."""
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_backup import Machine, reap_machines, checkpoint, raw_disk, snapshot, compare, run_tool, need, tool, MB  # noqa: E402,F401 (fixtures)
from test_backup import manifest_points, small_tmpfs  # noqa: E402


@pytest.fixture
def small_fs(tmp_path):
    with small_tmpfs(tmp_path / 'small', '8M') as d:
        yield d


def two_disks(tmp_path):
    img = raw_disk(tmp_path)
    img2 = tmp_path / 'disk2.img'
    with open(img2, 'wb') as f:
        f.truncate(8 * MB)
    return img, img2


def bitmaps(q):
    return {(b['node'], b['name']): b for b in q.ok('query-dirty-bitmaps')['bitmaps']}


def wait_ended(q, ids):
    """Every job of `ids` ended: {id: (event name, data)}."""
    out = {}
    while len(out) < len(ids):
        ev = q.wait_event_any(('BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED'))
        if ev['data']['device'] in ids:
            out[ev['data']['device']] = (ev['event'], ev['data'])
    return out


def backup_action(job, dev, target):
    return {'type': 'blockdev-backup',
            'data': {'job-id': job, 'device': dev, 'sync': 'incremental', 'bitmap': 'nb',
                     'target-file': str(target)}}


def one_target_fills_up(mosaic, tmp_path, small_fs, img, img2, **transaction_args):
    """Incrementals of two disks in one transaction; disk0's target runs out of space."""
    m = Machine(mosaic, tmp_path, img, img2)
    q = m.qmp
    for d in ('disk0', 'disk1'):
        q.ok('block-dirty-bitmap-add', node=d, name='nb')
    m.write('write -P 0x41 0 16M')           # twice the room of the small target
    m.write('write -P 0x42 1M 64k', disk=1)  # small: its job succeeds first
    q.ok('transaction', actions=[backup_action('b0', 'disk0', small_fs / 'd0.img'),
                                 backup_action('b1', 'disk1', tmp_path / 'd1.img')],
         **transaction_args)
    return m, wait_ended(q, {'b0', 'b1'})


@need
def test_grouped_failure_keeps_every_bitmap(mosaic, tmp_path, small_fs):
    img, img2 = two_disks(tmp_path)
    m, ended = one_target_fills_up(mosaic, tmp_path, small_fs, img, img2,
                                   properties={'completion-mode': 'grouped'})
    q = m.qmp
    assert 'No space left' in ended['b0'][1].get('error', ''), ended
    # the group failed: the job that had finished its copy is cancelled with it (QEMU's)
    assert ended['b1'][0] == 'BLOCK_JOB_CANCELLED', ended
    bms = bitmaps(q)
    assert bms[('disk0', 'nb')]['count'] == 16 * MB and not bms[('disk0', 'nb')]['busy']
    assert bms[('disk1', 'nb')]['count'] == 64 * 1024 and not bms[('disk1', 'nb')]['busy']
    assert q.ok('query-jobs')['jobs'] == []
    # a write during the failed point is still recorded; a grouped success clears both
    m.write('write -P 0x43 2M 64k', disk=1)
    ref0, ref1 = snapshot(img, tmp_path / 'r0.img'), snapshot(img2, tmp_path / 'r1.img')
    q.ok('transaction', actions=[
        {'type': 'blockdev-backup', 'data': {'job-id': 'f0', 'device': 'disk0', 'sync': 'full',
                                             'bitmap': 'nb', 'target-file': str(tmp_path / 'f0.img')}},
        {'type': 'blockdev-backup', 'data': {'job-id': 'f1', 'device': 'disk1', 'sync': 'full',
                                             'bitmap': 'nb', 'target-file': str(tmp_path / 'f1.img')}}],
         properties={'completion-mode': 'grouped'})
    ended = wait_ended(q, {'f0', 'f1'})
    assert all(e == 'BLOCK_JOB_COMPLETED' and 'error' not in d for e, d in ended.values()), ended
    bms = bitmaps(q)
    assert bms[('disk0', 'nb')]['count'] == 0 and bms[('disk1', 'nb')]['count'] == 0
    m.stop()
    compare(tmp_path / 'f0.img', ref0)
    compare(tmp_path / 'f1.img', ref1)


@need
def test_individual_mode_is_the_default(mosaic, tmp_path, small_fs):
    """QEMU's default: each job completes on its own (the other disk's bitmap is reset)."""
    m, ended = one_target_fills_up(mosaic, tmp_path, small_fs, *two_disks(tmp_path))
    q = m.qmp
    assert ended['b1'][0] == 'BLOCK_JOB_COMPLETED' and 'error' not in ended['b1'][1]
    assert 'error' in ended['b0'][1]
    bms = bitmaps(q)
    assert bms[('disk0', 'nb')]['count'] == 16 * MB and bms[('disk1', 'nb')]['count'] == 0
    r = q('transaction', actions=[], properties={'completion-mode': 'sometimes'})
    assert 'completion-mode' in r['error']['desc'], r
    m.stop()


@need
def test_tool_one_disk_fails_the_other_loses_nothing(mosaic, tool, tmp_path):
    img, img2 = two_disks(tmp_path)
    # the full point (32 + 1 MiB of data) and ~7 MiB more
    with small_tmpfs(tmp_path / 'small', '40M') as fs:
        repo = fs / 'backups'
        m = Machine(mosaic, tmp_path, img, img2)
        m.write('write -P 0x21 0 32M')
        m.write('write -P 0x22 0 1M', disk=1)
        refs1 = [snapshot(img, tmp_path / 'a1.img'), snapshot(img2, tmp_path / 'b1.img')]
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        m.write('write -P 0x23 2M 16M')          # does not fit
        m.write('write -P 0x24 4M 64k', disk=1)  # fits: disk1's job succeeds alone
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo, check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert 'No space left on device' in r.stderr, r.stderr
        assert 'is the target still there' not in r.stderr, r.stderr  # no unrelated hint
        assert manifest_points(repo) == [1]
        assert sorted(p.name for p in repo.glob('*/*')) == ['0001-full.qcow2'] * 2
        assert not (repo / 'in-progress.json').exists()
        assert m.qmp.ok('query-jobs')['jobs'] == []
        m.write('write -P 0x25 6M 64k', disk=1)
        subprocess.run(['mount', '-o', 'remount,size=128M', str(fs)], check=True)
        refs2 = [snapshot(img, tmp_path / 'a2.img'), snapshot(img2, tmp_path / 'b2.img')]
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        assert manifest_points(repo) == [1, 2]
        m.stop()
        for point, refs in ((1, refs1), (2, refs2)):
            out = tmp_path / f'r{point}'
            run_tool(tool, 'restore', '--dir', repo, '--at', point, '--to', out)
            compare(out / 'disk0.img', refs[0])
            compare(out / 'disk1.img', refs[1])


@need
def test_two_repositories_each_track_their_own_changes(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    a, b = tmp_path / 'repo-a', tmp_path / 'repo-b'
    m = Machine(mosaic, tmp_path, img)
    m.write('write -P 0x31 0 1M')
    refs = {('a', 1): snapshot(img, tmp_path / 'a1.img')}
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', a)
    m.write('write -P 0x32 4M 64k')
    refs[('b', 1)] = snapshot(img, tmp_path / 'b1.img')
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', b)
    m.write('write -P 0x33 8M 64k')
    refs[('a', 2)] = snapshot(img, tmp_path / 'a2.img')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', a)  # has 4M and 8M
    m.write('write -P 0x34 12M 64k')
    refs[('b', 2)] = snapshot(img, tmp_path / 'b2.img')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', b)  # has 8M and 12M
    # a repository's manifest put back to an older state: its last point is not the base
    # the machine tracks for it any more, so an incremental would be silently wrong
    old = (a / 'manifest.json').read_text()
    m.write('write -P 0x35 16M 64k')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', a)
    (a / 'manifest.json').write_text(old)
    r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', a, check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'point 2' in r.stderr and 'point 3' in r.stderr and 'mosaic-backup full' in r.stderr, r.stderr
    assert manifest_points(a) == [1, 2]
    # a repository given up: its bitmaps go, the other's stay
    names = lambda: {x['name'] for x in m.qmp.ok('query-dirty-bitmaps')['bitmaps']}  # noqa: E731
    uuid_b = json.loads((b / 'manifest.json').read_text())['repository']
    assert any(uuid_b in n for n in names()) and len(names()) == 2
    r = run_tool(tool, 'forget', '--socket', m.qmp_path, '--dir', b)
    assert 'removed 1 checkpoint' in r.stdout, r.stdout
    assert not any(uuid_b in n for n in names()) and len(names()) == 1
    r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', b, check=False)
    assert r.returncode == 1 and 'a full backup is needed' in r.stderr, r.stderr
    m.stop()
    for (repo, point), ref in refs.items():
        out = tmp_path / f'out-{repo}{point}.img'
        run_tool(tool, 'restore', '--dir', tmp_path / f'repo-{repo}', '--at', point, '--to', out)
        compare(out, ref)


@need
def test_incremental_during_a_pull_says_to_wait(mosaic, tool, tmp_path):
    """A pull backup froze the repository's checkpoint: the incremental names the pull and
    says to wait (a full backup is not what is needed), and works once the pull ended."""
    img = raw_disk(tmp_path)
    repo = tmp_path / 'repo'
    m = Machine(mosaic, tmp_path, img)
    q = m.qmp
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    name = checkpoint(q)['name']
    m.write('write -P 0x51 2M 64k')
    q.ok('backup-pull-start', device='disk0', id='nightly-pull', bitmap=name,
         socket=str(tmp_path / 'pull.sock'))
    r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo, check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "pull backup 'nightly-pull'" in r.stderr and 'wait' in r.stderr, r.stderr
    assert 'full backup is needed' not in r.stderr, r.stderr
    q.ok('backup-pull-stop', id='nightly-pull')  # not reset: the bits stay
    ref = snapshot(img, tmp_path / 'ref.img')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
    m.stop()
    run_tool(tool, 'restore', '--dir', repo, '--at', 'latest', '--to', tmp_path / 'out.img')
    compare(tmp_path / 'out.img', ref)


@need
def test_qcow2_disk_killed_after_a_point_reads_inconsistent(mosaic, tool, tmp_path):
    """A qcow2 disk keeps its bitmaps in the image, written at a clean exit: the
    checkpoint of a point taken since the start is lost if Mosaic is killed.  The
    incremental then says the tracking is inconsistent (unclean shutdown), not that the
    bitmap is missing, and a full backup starts over."""
    img = tmp_path / 'disk.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(img), '32M'], check=True)
    repo = tmp_path / 'repo'
    m = Machine(mosaic, tmp_path, img, fmt='qcow2')
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    m.stop()  # clean: point 1's checkpoint is stored in the image
    m = Machine(mosaic, tmp_path, img, fmt='qcow2')
    m.write('write -P 0x61 1M 64k')
    run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)  # point 2, in memory
    m.write('write -P 0x62 2M 64k')
    m.stop(signal.SIGKILL)
    m = Machine(mosaic, tmp_path, img, fmt='qcow2')
    r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo, check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'inconsistent' in r.stderr and 'not shut down cleanly' in r.stderr, r.stderr
    assert 'full backup is needed' in r.stderr, r.stderr
    ref = snapshot(img, tmp_path / 'ref.qcow2')
    run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    m.stop()
    run_tool(tool, 'restore', '--dir', repo, '--at', 'latest', '--to', tmp_path / 'out.img')
    r = subprocess.run(['qemu-img', 'compare', '-U', '-f', 'raw', '-F', 'qcow2',
                        str(tmp_path / 'out.img'), str(ref)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@need
def test_cancelling_a_waiting_job_fails_its_group(mosaic, tmp_path):
    """A job whose copy is done waits for its group (status waiting, it cannot be paused);
    cancelling it cancels the group: neither bitmap is reset."""
    img, img2 = two_disks(tmp_path)
    m = Machine(mosaic, tmp_path, img, img2)
    q = m.qmp
    for d in ('disk0', 'disk1'):
        q.ok('block-dirty-bitmap-add', node=d, name='nb')
    m.write('write -P 0x71 0 8M')
    m.write('write -P 0x72 0 64k', disk=1)
    slow = backup_action('slow', 'disk0', tmp_path / 's.img')
    slow['data']['speed'] = MB
    q.ok('transaction', actions=[slow, backup_action('quick', 'disk1', tmp_path / 'q.img')],
         properties={'completion-mode': 'grouped'})
    deadline = time.time() + 20
    while True:
        jobs = {j['id']: j for j in q.ok('query-jobs')['jobs']}
        if jobs['quick']['status'] == 'waiting':
            break
        assert time.time() < deadline, jobs
        time.sleep(0.02)
    assert jobs['slow']['status'] == 'running'
    r = q('job-pause', id='quick')
    assert 'waits for the other jobs' in r['error']['desc'], r
    q.ok('job-cancel', id='quick')
    ended = wait_ended(q, {'slow', 'quick'})
    assert {e for e, _ in ended.values()} == {'BLOCK_JOB_CANCELLED'}, ended
    bms = bitmaps(q)
    assert bms[('disk0', 'nb')]['count'] == 8 * MB and bms[('disk1', 'nb')]['count'] == 64 * 1024
    assert not bms[('disk0', 'nb')]['busy'] and not bms[('disk1', 'nb')]['busy']
    assert q.ok('query-jobs')['jobs'] == []
    m.stop()


@need
def test_exit_with_a_group_half_done_keeps_every_bit(mosaic, tmp_path):
    """SIGTERM while one job of a group waits and the other runs: both are cancelled, the
    machine exits cleanly and the persistent bitmaps are stored with every bit."""
    img, img2 = two_disks(tmp_path)
    m = Machine(mosaic, tmp_path, img, img2)
    q = m.qmp
    for d in ('disk0', 'disk1'):
        q.ok('block-dirty-bitmap-add', node=d, name='nb', persistent=True)
    m.write('write -P 0x71 0 8M')
    m.write('write -P 0x72 0 64k', disk=1)
    slow = backup_action('slow', 'disk0', tmp_path / 's.img')
    slow['data']['speed'] = MB
    q.ok('transaction', actions=[slow, backup_action('quick', 'disk1', tmp_path / 'q.img')],
         properties={'completion-mode': 'grouped'})
    deadline = time.time() + 20
    while {j['id']: j['status'] for j in q.ok('query-jobs')['jobs']}.get('quick') != 'waiting':
        assert time.time() < deadline
        time.sleep(0.02)
    m.stop()
    assert m.proc.returncode == 0, (tmp_path / 'mosaic.log').read_text()
    m = Machine(mosaic, tmp_path, img, img2)
    bms = bitmaps(m.qmp)
    assert bms[('disk0', 'nb')]['count'] == 8 * MB and not bms[('disk0', 'nb')]['inconsistent']
    assert bms[('disk1', 'nb')]['count'] == 64 * 1024 and not bms[('disk1', 'nb')]['inconsistent']
    m.stop()
