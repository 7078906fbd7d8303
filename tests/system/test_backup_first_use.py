# SPDX-License-Identifier: GPL-2.0-or-later
"""The backup commands live in a plugin (plugins/block-backup, mosaic-misc-backup-jobs.so):
listed without running its code, loaded by the first call on a machine file that names
no plugin, and deniable by the deployment policy."""
import time

from test_first_use import deny, plugin_state, start
from test_monitor import Qmp

BACKUP_COMMANDS = {"blockdev-backup", "backup-start", "transaction", "backup-pull-start",
                   "backup-pull-stop"}


def wait_job_gone(q, job, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if not any(j["id"] == job for j in q.cmd("query-jobs")["return"]["jobs"]):
            return
        time.sleep(0.05)
    raise AssertionError("job %s still there: %s" % (job, q.cmd("query-jobs")))


def test_first_backup_loads_the_plugin(mosaic, tmp_path):
    vm = start(mosaic, tmp_path)
    try:
        q = Qmp(vm.sock)
        names = {c["name"] for c in q.cmd("query-commands")["return"]}
        assert BACKUP_COMMANDS <= names
        assert plugin_state(q, "misc", "backup-jobs") == "available"  # listed, not loaded
        target = tmp_path / "copy.img"
        r = q.cmd("blockdev-backup", {"device": "d", "job-id": "j", "target-file": str(target)})
        assert r == {"return": {}}, r
        assert plugin_state(q, "misc", "backup-jobs") == "loaded"
        wait_job_gone(q, "j")
        assert target.read_bytes() == (tmp_path / "disk.img").read_bytes()
    finally:
        vm.kill()


def test_policy_denies_the_backup_commands(mosaic, tmp_path):
    conf = deny(tmp_path, "deny = misc-backup-jobs")
    vm = start(mosaic, tmp_path)
    try:
        q = Qmp(vm.sock)
        for cmd, args in (("blockdev-backup", {"device": "d", "target-file": str(tmp_path / "c")}),
                          ("backup-pull-start", {"device": "d", "socket": str(tmp_path / "s")})):
            r = q.cmd(cmd, args)
            assert r["error"]["desc"] == (
                "plugin 'misc-backup-jobs' is disabled by %s:2 (deny = misc-backup-jobs); "
                "needed by command '%s'" % (conf, cmd)), r
        assert plugin_state(q, "misc", "backup-jobs") != "loaded"
        assert not (tmp_path / "c").exists() and not (tmp_path / "s").exists()
        assert q.cmd("query-jobs")["return"]["jobs"] == []
    finally:
        vm.kill()
