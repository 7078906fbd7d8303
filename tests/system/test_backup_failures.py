# SPDX-License-Identifier: GPL-2.0-or-later
"""Failure paths of mosaic-backup: the tool killed mid-backup, a backup target that runs
out of space, and the tool's progress output.

Each failure test ends the same way: the dirty bitmap still covers every change since the
last good point, the manifest names no unfinished point, and the next backup restores
byte for byte to a copy of the disk taken while the writer was idle (as test_backup.py)."""
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_backup import Machine, reap_machines, checkpoint, raw_disk, snapshot, compare, run_tool, need, tool, MB  # noqa: E402,F401 (fixtures)
from test_backup import manifest_points, small_tmpfs  # noqa: E402

def start_tool(tool, m, kind, repo, *extra):
    return subprocess.Popen([str(tool), kind, '--socket', str(m.qmp_path), '--to', str(repo),
                             '--json', *map(str, extra)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_job_midway(m, p, timeout=10):
    """Waits until the tool's job has copied something but not everything."""
    deadline = time.time() + timeout
    while True:
        assert p.poll() is None, p.communicate()
        jobs = m.qmp.ok('query-jobs')['jobs']
        if jobs and 0 < jobs[0]['current-progress'] < jobs[0]['total-progress']:
            return jobs[0]
        assert time.time() < deadline, jobs
        time.sleep(0.02)


def restore_equals(tool, repo, point, ref, tmp):
    out = Path(tmp) / f'restored-{point}.img'
    run_tool(tool, 'restore', '--dir', repo, '--at', point, '--to', out)
    compare(out, ref)


@need
def test_tool_killed_mid_backup_next_incremental_cancels_leftover(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        q = m.qmp
        m.write('write -P 0x11 0 1M')
        ref1 = snapshot(img, tmp_path / 'ref1.img')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        m.write('write -P 0x61 0 8M')
        p = start_tool(tool, m, 'incremental', repo, '--speed', MB)
        job = wait_job_midway(m, p)
        assert job['id'].startswith('mosaic-backup-')
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        # the machine runs on, the orphaned job too (it copies into a file nobody owns)
        m.write('write -P 0x62 12M 64k')
        assert q.ok('query-jobs')['jobs'][0]['id'] == job['id']
        assert manifest_points(repo) == [1]
        assert (repo / 'in-progress.json').exists()
        ref2 = snapshot(img, tmp_path / 'ref2.img')
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        assert 'cancelling job ' + job['id'] in r.stderr and 'discarded' in r.stderr, r.stderr
        assert q.ok('query-jobs')['jobs'] == []
        assert manifest_points(repo) == [1, 2]
        assert not (repo / 'in-progress.json').exists()
        assert sorted(f.name for f in (repo / 'disk0').iterdir()) == ['0001-full.qcow2',
                                                                       '0002-inc.qcow2']
        assert checkpoint(q)['count'] == 0
        # the chain goes on
        m.write('write -P 0x63 20M 128k')
        assert checkpoint(q)['count'] == 128 * 1024
        ref3 = snapshot(img, tmp_path / 'ref3.img')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    for point, ref in (('1', ref1), ('2', ref2), ('3', ref3)):
        restore_equals(tool, repo, point, ref, tmp_path)
    assert run_tool(tool, 'verify', '--dir', repo).returncode == 0


@need
def test_tool_killed_and_job_finished_alone_loses_nothing(mosaic, tool, tmp_path):
    """A job that completed with no tool watching only read the repository's checkpoint
    bitmap: the next incremental still has every change since the last point in the
    manifest, and the orphaned point's own checkpoint is dropped."""
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        q = m.qmp
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        m.write('write -P 0x71 0 8M')
        p = start_tool(tool, m, 'incremental', repo, '--speed', MB)
        job = wait_job_midway(m, p)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        q.ok('block-job-set-speed', id=job['id'], speed=0)
        ev = q.wait_event('BLOCK_JOB_COMPLETED', device=job['id'])
        assert 'error' not in ev['data']
        m.write('write -P 0x72 12M 64k')
        ref2 = snapshot(img, tmp_path / 'ref2.img')
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        assert 'discarded the unfinished point 2' in r.stderr, r.stderr
        assert manifest_points(repo) == [1, 2]
        assert not (repo / 'in-progress.json').exists()
        assert checkpoint(q)['name'].endswith('.2') and checkpoint(q)['count'] == 0
        m.write('write -P 0x73 4M 64k')
        ref3 = snapshot(img, tmp_path / 'ref3.img')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    restore_equals(tool, repo, '2', ref2, tmp_path)
    restore_equals(tool, repo, '3', ref3, tmp_path)


@need
def test_first_full_killed_leaves_no_orphan_bitmap(mosaic, tool, tmp_path):
    """A new repository's first run killed mid-copy: the next run recognises the
    leftover checkpoint bitmap as its own and replaces it (none keeps recording)."""
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x41 0 8M')
        p = start_tool(tool, m, 'full', repo, '--speed', MB)
        wait_job_midway(m, p)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        ref = snapshot(img, tmp_path / 'ref.img')
        r = run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        assert 'discarded the unfinished point 1' in r.stderr, r.stderr
        assert checkpoint(m.qmp)['name'].endswith('.1')  # exactly one
        assert manifest_points(repo) == [1]
    finally:
        m.stop()
    restore_equals(tool, repo, '1', ref, tmp_path)


@pytest.fixture
def small_fs(tmp_path):
    # 40 MiB: room for the full point of the 32 MiB disk (written all over by the test:
    # a full backup skips zero clusters) and ~8 MiB more
    with small_tmpfs(tmp_path / 'small', '40M') as d:
        yield d


@need
def test_target_full_fails_cleanly_and_next_incremental_is_right(mosaic, tool, tmp_path,
                                                                  small_fs):
    img = raw_disk(tmp_path)
    repo = small_fs / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        q = m.qmp
        m.write('write -P 0x21 0 32M')  # no zeroes: the full point is as large as the disk
        ref1 = snapshot(img, tmp_path / 'ref1.img')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        m.write('write -P 0x22 2M 16M')  # twice the room left on the target
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo, '--json',
                     check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert 'No space left on device' in r.stderr, r.stderr
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        assert [x['event'] for x in lines if x['event'] in ('failed', 'error')] == ['failed', 'error']
        q.wait_event('BLOCK_JOB_ERROR', timeout=5)
        assert manifest_points(repo) == [1]
        assert sorted(f.name for f in (repo / 'disk0').iterdir()) == ['0001-full.qcow2']
        assert not (repo / 'in-progress.json').exists()
        bm = checkpoint(q)
        assert bm['count'] == 16 * MB and not bm['busy'] and not bm['inconsistent']
        assert q.ok('query-jobs')['jobs'] == []
        m.write('write -P 0x23 30M 64k')  # still running and writable
        # room again (as if the target was cleaned up or grown): the next incremental works
        subprocess.run(['mount', '-o', 'remount,size=128M', str(small_fs)], check=True)
        ref2 = snapshot(img, tmp_path / 'ref2.img')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        assert manifest_points(repo) == [1, 2]
    finally:
        m.stop()
    restore_equals(tool, repo, '1', ref1, tmp_path)
    restore_equals(tool, repo, '2', ref2, tmp_path)
    assert run_tool(tool, 'verify', '--dir', repo).returncode == 0


@need
def test_progress_output(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x31 0 32M')  # data everywhere: zero clusters would be skipped
        # --json: machine-readable progress lines, every half second
        r = run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo, '--json',
                     '--speed', 16 * MB)
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        assert lines[0]['event'] == 'started' and lines[-1]['event'] == 'done'
        prog = [x for x in lines if x['event'] == 'progress']
        assert len(prog) >= 2, lines
        last = 0
        for x in prog:
            assert x['disk'] == 'disk0' and x['job'].startswith('mosaic-backup-disk0')
            assert last <= x['current'] <= x['total'] == 32 * MB
            assert x['percent'] == x['current'] * 100 // x['total']
            assert x['bytes_per_second'] >= 0
            last = x['current']
        assert any(0 < x['current'] < 32 * MB for x in prog), prog
        done = [x for x in lines if x['event'] == 'completed']
        assert len(done) == 1 and done[0]['len'] == 32 * MB
        assert lines[-1]['bytes'] == 32 * MB and lines[-1]['seconds'] > 1
        # not a terminal, no --json: one summary line
        m.write('write -P 0x32 0 1M')
        r = run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        assert r.stdout.count('\n') == 1 and r.stdout.startswith('point 2 (incremental)')
        assert '1.0 MiB copied' in r.stdout, r.stdout
        # a terminal: bars redrawn in place, then the summary
        m.write('write -P 0x33 0 8M')
        master, slave = pty.openpty()
        p = subprocess.Popen([str(tool), 'incremental', '--socket', str(m.qmp_path), '--to',
                              str(repo), '--speed', str(4 * MB)], stdout=slave,
                             stderr=subprocess.PIPE)
        os.close(slave)
        out = b''
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(30) == 0, p.stderr.read()
        os.close(master)
        text = out.decode()
        assert text.count('\r\x1b[K') >= 3 and '\x1b[1A' in text, text
        assert 'MiB/s' in text and '100%' in text and 'point 3 (incremental)' in text, text
    finally:
        m.stop()
