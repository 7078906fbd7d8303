# SPDX-License-Identifier: GPL-2.0-or-later
"""Backup job: zero clusters of the source are skipped (a fresh target) or written as
zeroes (an existing target), and the rate limit holds for whole chunks."""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_backup import Machine, reap_machines, raw_disk, snapshot, compare, run_tool, need, tool, MB  # noqa: E402,F401 (fixtures)


@need
def test_full_backup_of_sparse_disk_is_small(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path, 64 * MB)
    repo = tmp_path / 'backups'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x5a 10M 512k', 'write -P 0x5b 40M 512k')
        ref = snapshot(img, tmp_path / 'ref.img')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
    finally:
        m.stop()
    files = list((repo / 'disk0').iterdir())
    assert len(files) == 1
    # 1 MiB of data in a 64 MiB disk: the qcow2 full point holds little more than that
    assert files[0].stat().st_size < 8 * MB, files[0].stat().st_size
    out = tmp_path / 'restored.img'
    run_tool(tool, 'restore', '--dir', repo, '--at', '1', '--to', out)
    compare(out, ref)


@need
def test_summary_counts_skipped_zeroes_as_skipped(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path, 64 * MB)
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x5c 8M 1M')
        r = run_tool(tool, 'full', '--socket', m.qmp_path, '--to', tmp_path / 'b')
        assert ': 1.0 MiB copied, 63.0 MiB of zeroes skipped in ' in r.stdout, r.stdout
        r = run_tool(tool, 'full', '--socket', m.qmp_path, '--to', tmp_path / 'j', '--json')
        done = json.loads(r.stdout.splitlines()[-1])
        assert done['event'] == 'done' and (done['bytes'], done['skipped']) == (MB, 63 * MB), done
    finally:
        m.stop()


@need
def test_full_backup_zeroes_an_existing_target(mosaic, tmp_path):
    img = raw_disk(tmp_path, 16 * MB)
    tgt = tmp_path / 'target.img'
    tgt.write_bytes(b'\xee' * (16 * MB))  # old data where the source has zeroes
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 0x5a 3M 1M')
        ref = snapshot(img, tmp_path / 'ref.img')
        m.qmp.ok('blockdev-backup', **{'job-id': 'z', 'device': 'disk0', 'sync': 'full',
                                       'target-file': str(tgt)})
        ev = m.qmp.wait_event('BLOCK_JOB_COMPLETED', device='z')
        assert 'error' not in ev['data'], ev
    finally:
        m.stop()
    compare(tgt, ref)


@need
def test_rate_limit_holds_for_whole_chunks(mosaic, tmp_path):
    img = tmp_path / 'disk.img'
    img.write_bytes(os.urandom(4 * MB))  # data everywhere: nothing skipped
    m = Machine(mosaic, tmp_path, img)
    try:
        t = time.monotonic()
        m.qmp.ok('blockdev-backup', **{'job-id': 'r', 'device': 'disk0', 'sync': 'full',
                                       'speed': 2 * MB,
                                       'target-file': str(tmp_path / 't.img')})
        ev = m.qmp.wait_event('BLOCK_JOB_COMPLETED', device='r')
        took = time.monotonic() - t
        assert 'error' not in ev['data'], ev
    finally:
        m.stop()
    # 4 MiB at 2 MiB/s: 2 s.  The limit holds (not faster; a chunk may start at once), and
    # the job is not held back far below it (generous: a loaded CI machine)
    assert 1.5 <= took <= 6, took
    compare(tmp_path / 't.img', img)
