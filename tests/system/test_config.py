# SPDX-License-Identifier: GPL-2.0-or-later
"""Machine files through the command line: `mosaic --dump-config FILE [--set k=v]...` and
`mosaic --describe TYPE`.

Errors: exit status 1 and exactly one line "mosaic: FILE:LINE: message" on stderr.
The bad files of tests/data/config/bad/ that fail before any plugin type is looked up run
here with the real binary (the unit test test-config runs all of them with fake plugins);
the good-machine tests use whichever machine plugin the build has, with the tcg accel.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from own_rss import own_rss  # tests/own_rss.py

DATA = Path(__file__).resolve().parents[1] / "data" / "config"

# Bad files whose error does not depend on which plugins exist (syntax, includes, section
# kinds and labels, --set syntax, an unknown machine type).
PLUGIN_INDEPENDENT = [
    "overlong-line.ini", "overlong-header.ini", "include-cycle.ini", "include-missing.ini",
    "continuation-include.ini", "syntax-no-equals.ini", "unterminated-header.ini",
    "key-outside-section.ini", "singleton-label.ini", "missing-label.ini", "bad-label.ini",
    "unknown-section.ini", "set-bad-syntax.ini", "no-machine.ini",
    "unknown-machine.ini",
]


def run(mosaic, *args, cwd=DATA):
    return subprocess.run([str(mosaic), *args], cwd=str(cwd), capture_output=True, text=True,
                          timeout=60)


def header(path, prefix):
    return [l[len(prefix):].rstrip("\n") for l in path.read_text().splitlines(True)
            if l.startswith(prefix)]


def plugins(mosaic):
    r = run(mosaic, "--list-plugins", "--json")
    assert r.returncode == 0, r.stderr
    return [p for p in json.loads(r.stdout).get("plugins", [])
            if p.get("state") in ("available", "builtin", "loaded")]


@pytest.fixture(scope="module")
def board(mosaic):
    """The board the build makes (with tcg): missing ones are a broken build."""
    kinds = {(p["kind"], p["name"]) for p in plugins(mosaic)}
    assert ("accel", "tcg") in kinds and ("machine", "riscv-virt") in kinds, kinds
    return "riscv-virt"


@pytest.mark.parametrize("name", PLUGIN_INDEPENDENT)
def test_bad_file(mosaic, name):
    path = DATA / "bad" / name
    expect = header(path, "; expect: ")
    sets = [a for s in header(path, "; set: ") for a in ("--set", s)]
    r = run(mosaic, "--dump-config", "bad/" + name, *sets)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("mosaic: ")
    for e in expect:
        assert e in lines[0]
    # The message names where: FILE:LINE, or --set:N for command-line overrides.
    assert re.match(r"mosaic: (\S+\.ini(:\d+)?|--set:\d+): ", lines[0]), lines[0]


def test_missing_file(mosaic, tmp_path):
    r = run(mosaic, "--dump-config", str(tmp_path / "nope.ini"))
    assert r.returncode == 1
    assert r.stderr.strip() == "mosaic: %s: cannot read machine file: No such file or directory" % (
        tmp_path / "nope.ini")


def write_machine(tmp_path, board, extra=""):
    (tmp_path / "frag.ini").write_text("[machine]\nmemory = 256M\n")
    m = tmp_path / "m.ini"
    m.write_text("[machine]\ntype = %s\ncpus = 2\nmemory = 64M\ninclude = frag.ini\n%s" % (board, extra))
    return m


def test_dump_and_round_trip(mosaic, board, tmp_path):
    m = write_machine(tmp_path, board)
    r = run(mosaic, "--dump-config", str(m))
    assert r.returncode == 0, r.stderr
    d1 = r.stdout
    assert "[machine]\ntype = %s\naccel = tcg\ncpus = 2\nmemory = 256M\n" % board in d1
    assert "\n[accel]\n" in d1
    (tmp_path / "dump.ini").write_text(d1)
    r2 = run(mosaic, "--dump-config", str(tmp_path / "dump.ini"))
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout == d1


def test_set_overrides(mosaic, board, tmp_path):
    m = write_machine(tmp_path, board)
    r = run(mosaic, "--dump-config", str(m), "--set", "machine.cpus=3", "--set", "machine.memory=1G")
    assert r.returncode == 0, r.stderr
    assert "cpus = 3\nmemory = 1G\n" in r.stdout
    r = run(mosaic, "--dump-config", str(m), "--set", "machine.memroy=1G")
    assert r.returncode == 1
    assert r.stderr == ("mosaic: --set:1: unknown key 'memroy' in [machine] "
                        "(did you mean 'memory'?)\n")


def test_schema_errors(mosaic, board, tmp_path):
    m = write_machine(tmp_path, board, "cpus = 65\n")
    r = run(mosaic, "--dump-config", str(m))
    assert r.returncode == 1
    assert r.stderr == "mosaic: %s:6: [machine] cpus = 65 is out of range (allowed: 1..64)\n" % m
    m = write_machine(tmp_path, board, "[device d0]\ntype = no-such-device\n")
    r = run(mosaic, "--dump-config", str(m))
    assert r.returncode == 1
    assert r.stderr.startswith("mosaic: %s:7: [device d0] type = no-such-device: no device plugin "
                               "'no-such-device' (available: " % m)


def test_describe_section(mosaic):
    r = run(mosaic, "--describe", "machine")
    assert r.returncode == 0, r.stderr
    assert "  cpus = uint 1..64, default 1\n" in r.stdout
    assert "  memory = size 1M..1T, default 128M\n" in r.stdout
    r = run(mosaic, "--describe", "chardev")
    assert "  backend = enum (stdio|file|socket|pty), required\n" in r.stdout


def test_describe_type(mosaic, board):
    r = run(mosaic, "--describe", board)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("%s: machine plugin, version " % board)
    assert "Used as [machine] with type = %s; keys:\n" % board in r.stdout
    r = run(mosaic, "--describe", "tcg")
    assert r.returncode == 0, r.stderr
    assert "Selected by [machine] accel = tcg" in r.stdout


def test_describe_unknown(mosaic):
    r = run(mosaic, "--describe", "nonesuch")
    assert r.returncode == 1
    assert r.stderr == ("mosaic: no plugin type or section kind named 'nonesuch' "
                        "(see mosaic --list-plugins)\n")


@pytest.mark.needs_tools('clang')  # scripts/setup installs it: a missing one fails
def test_fuzz_config_reader_briefly(top, tmp_path):
    """The machine-file reader survives 15 s of libFuzzer (ASan + UBSan), its bounds hold."""
    out = tmp_path / 'fuzz'
    r = subprocess.run([str(top / 'core' / 'config' / 'fuzz' / 'build.sh'), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    work = tmp_path / 'empty'
    work.mkdir()
    r = subprocess.run(own_rss([out / 'fuzz-config', out / 'corpus', '-max_total_time=15',
                                '-rss_limit_mb=1024']), capture_output=True, text=True, timeout=120,
                       cwd=work)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Done' in r.stderr


def test_deployment_default_accel(run_mosaic, build, tmp_path):
    """`default-accel` in plugins.ini picks the accelerator of a machine file that sets
    none, before the board's default; one that cannot run the board is passed over."""
    second = build / "tests" / "plugins" / "second-accel"
    good = build / "tests" / "plugins" / "good"
    m = tmp_path / "m.ini"
    m.write_text("[machine]\ntype = riscv-virt\n")
    conf = tmp_path / "plugins.ini"

    def accel(default, *paths):
        conf.write_text("[plugins]\n" + ("default-accel = %s\n" % default if default else ""))
        args = [a for p in paths for a in ("--plugin-path", p)]
        r = run_mosaic(*args, "--dump-config", m, env={"MOSAIC_PLUGINS_CONF": str(conf)})
        assert r.returncode == 0, r.stderr
        return [l for l in r.stdout.splitlines() if l.startswith("accel = ")]

    assert accel(None, second) == ["accel = tcg"]             # the board's default
    assert accel("second", second) == ["accel = second"]      # the deployment's
    assert accel("good", good) == ["accel = tcg"]             # good runs no riscv64
    assert accel("second") == ["accel = tcg"]                 # not installed


def test_default_accel_must_be_one_name(run_mosaic, tmp_path):
    conf = tmp_path / "plugins.ini"
    conf.write_text("[plugins]\ndefault-accel = kvm, tcg\n")
    m = tmp_path / "m.ini"
    m.write_text("[machine]\ntype = none\n")
    r = run_mosaic("--dump-config", m, env={"MOSAIC_PLUGINS_CONF": str(conf)})
    assert r.returncode != 0
    assert "%s:2: default-accel needs one accelerator's name, not 'kvm, tcg'" % conf in r.stderr
