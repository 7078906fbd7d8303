# SPDX-License-Identifier: GPL-2.0-or-later
"""Backups made by Mosaic read by QEMU's tools: qemu-img check/info/compare see a plain
qcow2 backing chain, and nbdcopy reads the export consistently while copy-before-write
runs under it."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'system'))
from test_backup import Machine, reap_machines, raw_disk, snapshot, compare, run_tool, MB  # noqa: E402,F401 (fixtures)

need = pytest.mark.needs_tools('qemu-img', 'qemu-io', 'nbdcopy')  # scripts/setup: a missing one fails


@pytest.fixture
def tool(build):
    t = build / 'tools' / 'mosaic-backup' / 'mosaic-backup'
    assert t.exists(), f'{t} is not built (scons)'  # a broken build fails, never skips
    return t


@need
def test_chain_is_plain_qcow2(mosaic, tool, tmp_path):
    img = raw_disk(tmp_path)
    repo = tmp_path / 'b'
    m = Machine(mosaic, tmp_path, img)
    try:
        m.write('write -P 7 0 2M')
        run_tool(tool, 'full', '--socket', m.qmp_path, '--to', repo)
        m.write('write -P 8 1M 64k')
        run_tool(tool, 'incremental', '--socket', m.qmp_path, '--to', repo)
        # a reader of the export during a slow backup sees the live disk, whole
        q = m.qmp
        q.ok('blockdev-backup', device='disk0', speed=4 * MB,
             **{'job-id': 'slow', 'target-file': str(tmp_path / 'slow.img')})
        m.write('write -P 9 3M 1M')
        live = tmp_path / 'live.img'
        subprocess.run(['nbdcopy', f'nbd+unix:///e0?socket={m.nbd}', str(live)], check=True)
        q.ok('job-cancel', id='slow')
        q.wait_event('BLOCK_JOB_CANCELLED', device='slow')
        now = snapshot(img, tmp_path / 'now.img')
    finally:
        m.stop()
    compare(live, now)
    top = repo / 'disk0' / '0002-inc.qcow2'
    info = json.loads(subprocess.check_output(['qemu-img', 'info', '--output=json',
                                               '--backing-chain', str(top)]))
    assert [Path(i['filename']).name for i in info] == ['0002-inc.qcow2', '0001-full.qcow2']
    assert all(i['format'] == 'qcow2' for i in info)
    for f in (repo / 'disk0').glob('*.qcow2'):
        subprocess.run(['qemu-img', 'check', str(f)], check=True, stdout=subprocess.DEVNULL)
    manifest = json.loads((repo / 'manifest.json').read_text())
    assert [p['kind'] for p in manifest['points']] == ['full', 'incremental']
    assert manifest['points'][1]['disks'][0]['backing'] == 'disk0/0001-full.qcow2'
