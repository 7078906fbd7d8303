# SPDX-License-Identifier: GPL-2.0-or-later
"""Nodes made while running take any file name: blockdev-add and a backup's target file
with ';', '#', '=' and 200+ characters (they never pass through INI text)."""
import json
import subprocess

from test_backup import Machine, raw_disk

ODD = 'x ;y #z = [w] ' + 'n' * 200


def test_blockdev_add_odd_filename(mosaic, tmp_path):
    m = Machine(mosaic, tmp_path, raw_disk(tmp_path))
    try:
        img = tmp_path / (ODD + '.img')
        img.write_bytes(b'\x42' * 65536)
        m.qmp.ok('blockdev-add', **{'node-name': 'odd', 'driver': 'file',
                                    'options': {'filename': str(img), 'read-only': 'on'}})
        nodes = m.qmp.ok('query-named-block-nodes')
        assert '"node-name": "odd"' in json.dumps(nodes), nodes
        # A relative name is relative to Mosaic's current directory, as before.
        (tmp_path / 'rel.img').write_bytes(bytes(65536))
        m.qmp.ok('blockdev-add', **{'node-name': 'rel', 'driver': 'file',
                                    'options': {'filename': 'rel.img', 'read-only': 'on'}})
        r = m.qmp('blockdev-add', **{'node-name': 'bad', 'driver': 'file',
                                     'options': {'filename': 'a\nb'}})
        assert 'control characters' in r['error']['desc'], r
    finally:
        m.stop()


def test_backup_to_odd_target_file(mosaic, tmp_path):
    m = Machine(mosaic, tmp_path, raw_disk(tmp_path))
    try:
        m.write('write -P 0x61 0 1M', 'write -P 0x62 3M 64k')
        target = tmp_path / (ODD + '.raw')
        m.qmp.ok('blockdev-backup', **{'job-id': 'b0', 'device': 'disk0',
                                       'target-file': str(target)})
        m.qmp.wait_event('BLOCK_JOB_COMPLETED', device='b0')
        r = subprocess.run(['qemu-img', 'compare', '-U', '-f', 'raw', '-F', 'raw',
                            str(tmp_path / 'disk.img'), str(target)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        m.stop()
