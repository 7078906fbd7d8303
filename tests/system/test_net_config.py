# SPDX-License-Identifier: GPL-2.0-or-later
"""Network sections and devices in machine files: every mistake is one line naming
where it is, before anything runs; --describe lists the keys of each net plugin."""
import pytest

BOARD = '[machine]\ntype = riscv-virt\nmemory = 64M\nfirmware = default\n'


def fails(run_mosaic, tmp_path, body):
    ini = tmp_path / 'm.ini'
    ini.write_text(BOARD + body)
    r = run_mosaic('--dump-config', ini)
    if r.returncode == 0:  # valid file: realizing the devices is where it must fail
        r = run_mosaic(ini, '-S', timeout=20)
    assert r.returncode != 0, r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith('mosaic:')]
    assert lines, r.stderr
    return r.stderr


def test_unknown_backend_type(run_mosaic, tmp_path):
    err = fails(run_mosaic, tmp_path, '[netdev n0]\ntype = nosuch\n')
    assert 'm.ini:6' in err and "no net plugin 'nosuch'" in err and 'vhost-pci' in err


def test_unknown_key_of_backend(run_mosaic, tmp_path):
    err = fails(run_mosaic, tmp_path, '[netdev n0]\ntype = socket\npath = /tmp/x\npeer = /tmp/y\n'
                'colour = red\n')
    assert 'm.ini:9' in err and "unknown key 'colour'" in err


def test_device_names_missing_netdev(run_mosaic, tmp_path):
    err = fails(run_mosaic, tmp_path, '[device eth0]\ntype = virtio-net\nnetdev = n9\n')
    assert 'n9' in err and 'netdev' in err


def test_bad_mac(run_mosaic, tmp_path):
    err = fails(run_mosaic, tmp_path, '[netdev n0]\ntype = user\n[device eth0]\ntype = virtio-net\n'
                'netdev = n0\nmac = 01:00:5e:00:00:01\n')
    assert 'm.ini:10' in err and 'unicast' in err


def test_two_devices_one_netdev(run_mosaic, tmp_path):
    err = fails(run_mosaic, tmp_path, '[netdev n0]\ntype = user\n'
                '[device a]\ntype = virtio-net\nnetdev = n0\n'
                '[device b]\ntype = virtio-net\nnetdev = n0\n')
    assert 'already used' in err


@pytest.mark.parametrize('body, words', [
    ('[netdev n0]\ntype = user\nnet = 10.0.2.0\n', ['net = 10.0.2.0', 'PREFIX']),
    ('[netdev n0]\ntype = user\nhost = 192.168.1.1\n', ['outside']),
    ('[netdev n0]\ntype = user\nhostfwd = tcp:1234\n', ['hostfwd']),
    ('[netdev n0]\ntype = user\nhostfwd = tcp::99999-:22\n', ['port']),
    ('[netdev n0]\ntype = socket\npath = /nonexistent-dir/a.sock\npeer = /tmp/b.sock\n', ['bind']),
])
def test_backend_refuses_bad_settings(run_mosaic, tmp_path, body, words):
    err = fails(run_mosaic, tmp_path, body + '[device eth0]\ntype = virtio-net\nnetdev = n0\n')
    assert 'm.ini:' in err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize('name, key', [('user', 'hostfwd'), ('socket', 'peer'), ('tap', 'ifname'),
                                       ('vhost-pci', 'peer-socket'), ('virtio-net', 'mac')])
def test_describe(run_mosaic, name, key):
    r = run_mosaic('--describe', name)
    assert r.returncode == 0 and key in r.stdout, r.stdout + r.stderr
