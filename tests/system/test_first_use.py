# SPDX-License-Identifier: GPL-2.0-or-later
"""Plugins loaded on first use: monitor commands and section kinds declared in plugin
descriptors are listed without running plugin code; the first call (or section) loads
the plugin, and the deployment policy can deny it with an error naming its rule."""
import json
import subprocess

from test_monitor import Qmp, Vm

DISK = "[machine]\ntype = none\n[blockdev d]\ndriver = file\nfilename = disk.img\n"


def plugin_state(q, kind, name):
    rows = q.cmd("query-plugins")["return"]
    return next(p["state"] for p in rows if p["kind"] == kind and p["name"] == name)


def deny(tmp_path, rule):
    conf = tmp_path / "xdg" / "mosaic" / "plugins.ini"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("[plugins]\n" + rule + "\n")
    return conf


def start(mosaic, tmp_path, ini=DISK):
    (tmp_path / "disk.img").write_bytes(bytes(1 << 20))
    return Vm(mosaic, tmp_path, ini=ini)


def test_listed_without_running_plugin_code(mosaic):
    r = subprocess.run([str(mosaic), "--list-commands", "--json"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    names = {c["name"] for c in json.loads(r.stdout) if c["meta-type"] == "command"}
    assert {"block-export-add", "block-export-del", "query-block-exports"} <= names


def test_first_call_loads_the_export_plugin(mosaic, tmp_path):
    vm = start(mosaic, tmp_path)
    try:
        q = Qmp(vm.sock)
        names = {c["name"] for c in q.cmd("query-commands")["return"]}
        assert "block-export-add" in names
        assert plugin_state(q, "export", "nbd") == "available"  # listed, not loaded
        sock = tmp_path / "e.sock"
        r = q.cmd("block-export-add", {"id": "e", "node-name": "d", "socket": str(sock)})
        assert r == {"return": {}}, r
        assert plugin_state(q, "export", "nbd") == "loaded"
        assert sock.exists()
        exports = q.cmd("query-block-exports")["return"]["exports"]
        assert [(e["id"], e["node-name"]) for e in exports] == [("e", "d")]
    finally:
        vm.kill()


def test_policy_denies_a_declared_command(mosaic, tmp_path):
    conf = deny(tmp_path, "deny = export-nbd")
    vm = start(mosaic, tmp_path)
    try:
        q = Qmp(vm.sock)
        r = q.cmd("block-export-add", {"id": "e", "node-name": "d",
                                       "socket": str(tmp_path / "e.sock")})
        assert r["error"]["desc"] == (
            "plugin 'export-nbd' is disabled by %s:2 (deny = export-nbd); "
            "needed by command 'block-export-add'" % conf), r
        assert not (tmp_path / "e.sock").exists()
    finally:
        vm.kill()


def test_policy_denies_a_declared_section(run_mosaic, tmp_path):
    conf = deny(tmp_path, "deny = export-nbd")
    (tmp_path / "disk.img").write_bytes(bytes(1 << 20))
    ini = tmp_path / "vm.ini"
    ini.write_text(DISK + "[export e]\nnode = d\nsocket = e.sock\n")
    r = run_mosaic(ini)
    assert r.returncode != 0
    assert "plugin 'export-nbd' is disabled by %s:2 (deny = export-nbd); needed by %s:6" % (
        conf, ini) in r.stderr, r.stderr
