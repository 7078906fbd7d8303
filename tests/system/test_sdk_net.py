# SPDX-License-Identifier: GPL-2.0-or-later
"""A network backend written out of tree: sdk/examples/net-sink builds with nothing but
`pkg-config mosaic-sdk` against the staged install (test_sdk.py's `stage`), and the
installed mosaic opens it for a virtio-net device and closes it at quit."""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from test_sdk import ROOT, pkg_env, stage  # noqa: F401  (stage: the staged install fixture)


@pytest.fixture(scope="module")
def sink(stage, tmp_path_factory):  # noqa: F811
    src = tmp_path_factory.mktemp("net-sink")
    for f in (ROOT / "sdk" / "examples" / "net-sink").iterdir():
        shutil.copy(f, src)
    r = subprocess.run(["make", "PKG_CONFIG=pkg-config --define-prefix"], cwd=src,
                       env=pkg_env(stage), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    so = src / "mosaic-net-sink.so"
    assert so.is_file()
    return so


def test_out_of_tree_backend_opens_and_closes(stage, sink, tmp_path):  # noqa: F811
    ini, qmp = tmp_path / "m.ini", tmp_path / "q.sock"
    ini.write_text("[machine]\ntype = riscv-virt\nmemory = 64M\nfirmware = default\n"
                   "[netdev n0]\ntype = sink\nreport-every = 10\n"
                   "[device eth0]\ntype = virtio-net\nnetdev = n0\n")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("MOSAIC_PLUGIN_PATH", None)
    p = subprocess.Popen([str(stage / "bin" / "mosaic"), str(ini), "-S", "--log", "net",
                          "--plugin-path", str(sink.parent),
                          "--plugin-path", str(stage / "lib" / "mosaic" / "1"),
                          "--qmp", f"unix:{qmp}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    end = time.monotonic() + 20
    while not qmp.exists():
        assert p.poll() is None, p.communicate()
        assert time.monotonic() < end
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(qmp))
    f = s.makefile("rb")
    f.readline()
    for cmd in (b'{"execute":"qmp_capabilities"}\n', b'{"execute":"quit"}\n'):
        s.sendall(cmd)
        f.readline()
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "netdev n0: sink open" in err and "netdev n0: sink closed after 0 frames" in err, err
