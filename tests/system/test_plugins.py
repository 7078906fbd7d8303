# SPDX-License-Identifier: GPL-2.0-or-later
"""Plugins through the command line:
  mosaic --list-plugins [--json] [--plugin-path DIR]... [--enable-plugin N] [--disable-plugin N]
  mosaic plugins enable|disable NAME
with the loader test plugins of build/<variant>/tests/plugins/<case>/ and a private
$XDG_CONFIG_HOME, so the user's own policy never leaks in.
"""
import json
import os
import subprocess

import pytest

LIST_HEAD = ["NAME", "KIND", "VERSION", "ABI", "PATH", "STATE"]


@pytest.fixture
def cases(build):
    d = build / "tests" / "plugins"
    assert (d / "good" / "mosaic-device-good.so").exists(), "test plugins not built: run scons (it builds tests/plugins)"
    return d


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    e["HOME"] = str(tmp_path)
    e.pop("MOSAIC_PLUGINS_CONF", None)
    e.pop("MOSAIC_PLUGIN_PATH", None)
    return e


def run(mosaic, env, *args):
    return subprocess.run([str(mosaic), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def path_args(cases, *names):
    args = []
    for n in names:
        args += ["--plugin-path", str(cases / n)]
    return args


def listing(mosaic, env, *args):
    r = run(mosaic, env, "--list-plugins", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def entry(doc, path):
    found = [p for p in doc["plugins"] if p["path"] == str(path)]
    assert len(found) == 1, doc
    return found[0]


def test_table(mosaic, env, cases):
    r = run(mosaic, env, "--list-plugins", *path_args(cases, "good"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == LIST_HEAD
    so = str(cases / "good" / "mosaic-device-good.so")
    rows = [l.split() for l in lines[1:] if so in l]
    assert rows == [["good", "device", "1.2.3", "1.1", so, "available"]]
    # Columns line up: each header word starts where its column starts.
    row = next(l for l in lines if so in l)
    assert row.index(so) == lines[0].index("PATH")


def test_json(mosaic, env, cases):
    doc = listing(mosaic, env, *path_args(cases, "good"))
    assert doc["core_abi"] == "1.1"
    e = entry(doc, cases / "good" / "mosaic-accel-good.so")
    assert (e["name"], e["kind"], e["version"], e["abi"], e["state"]) == \
        ("good", "accel", "0.1", "1.1", "available")
    assert e["license"] == "MIT" and e["description"] == "loader test accel"


REFUSED = {
    "wrong-magic/mosaic-device-wrong-magic.so":
        ("bad magic 0x12345678 (expected 0x4d4f5341)",
         "not a mosaic plugin descriptor; define it with MOSAIC_PLUGIN(...)"),
    "wrong-major/mosaic-device-wrong-major.so":
        ("built for ABI 2.0, this core is 1.1", "rebuild it against mosaic-sdk 1"),
    "newer-minor/mosaic-device-newer-minor.so":
        ("built for ABI 1.2, this core is 1.1",
         "rebuild it against this core's mosaic-sdk or upgrade mosaic"),
    "missing-symbol/mosaic-device-missing-symbol.so":
        ("not a mosaic plugin (no 'mosaic_plugin' symbol)",
         "define the descriptor with MOSAIC_PLUGIN(...) from <mosaic/plugin.h>"),
    "name-mismatch/mosaic-device-name-mismatch.so":
        ("file name mosaic-device-name-mismatch.so does not match the descriptor "
         "(mosaic-device-other.so)", "rename the file or fix .kind/.name"),
    "missing-op/mosaic-accel-missing-op.so":
        ("missing mandatory op .vcpu_kick", "an accel plugin must implement it"),
    "missing-op/mosaic-block-missing-open.so":
        ("missing mandatory op .open", "a plugin of this kind must implement it"),
    "missing-op/mosaic-block-filter-missing-io.so":
        ("missing mandatory op .io or .submit", "a plugin of this kind must implement it"),
    "not-a-plugin/mosaic-device-garbage.so":
        ("not an ELF shared object", "remove it from the plugin directory"),
}


def test_refusals_one_line_each(mosaic, env, cases):
    dirs = sorted({k.split("/")[0] for k in REFUSED}) + ["short-desc", "good"]
    r = run(mosaic, env, "--list-plugins", "--json", *path_args(cases, *dirs))
    assert r.returncode == 0, r.stderr  # the core survives every bad file
    doc = json.loads(r.stdout)
    for rel, (reason, hint) in REFUSED.items():
        path = cases / rel
        e = entry(doc, path)
        assert (e["state"], e["reason"], e["hint"]) == ("refused", reason, hint)
        name = e["name"]
        kind = e["kind"]
        line = f"mosaic: {path}: {kind} plugin '{name}' refused: {reason} ({hint})"
        assert r.stderr.splitlines().count(line) == 1, r.stderr
    assert entry(doc, cases / "short-desc" / "mosaic-device-short-desc.so")["state"] == "refused"
    assert entry(doc, cases / "good" / "mosaic-device-good.so")["state"] == "available"
    refusals = [l for l in r.stderr.splitlines() if " refused: " in l]
    assert len(refusals) == len(REFUSED) + 3  # + short-desc, short-symbol, truncated


def test_older_minor_loads(mosaic, env, cases):
    doc = listing(mosaic, env, *path_args(cases, "older-minor-ok"))
    e = entry(doc, cases / "older-minor-ok" / "mosaic-device-older-minor.so")
    assert (e["state"], e["abi"]) == ("available", "1.0")


def test_duplicate_first_wins(mosaic, env, cases):
    doc = listing(mosaic, env, *path_args(cases, "duplicate", "good"))
    first = cases / "duplicate" / "mosaic-device-good.so"
    assert entry(doc, first)["state"] == "available"
    second = entry(doc, cases / "good" / "mosaic-device-good.so")
    assert (second["state"], second["reason"]) == ("refused", f"duplicate of {first}")


def test_plugin_path_env(mosaic, env, cases):
    env["MOSAIC_PLUGIN_PATH"] = f"{cases / 'older-minor-ok'}:{cases / 'good'}"
    doc = listing(mosaic, env)
    assert entry(doc, cases / "good" / "mosaic-device-good.so")["state"] == "available"
    assert entry(doc, cases / "older-minor-ok" / "mosaic-device-older-minor.so")


def test_policy_file_disables(mosaic, env, cases, tmp_path):
    conf = tmp_path / "deploy.ini"
    conf.write_text("# test deployment\n[plugins]\ndeny = device-g*\n")
    env["MOSAIC_PLUGINS_CONF"] = str(conf)
    doc = listing(mosaic, env, *path_args(cases, "good"))
    e = entry(doc, cases / "good" / "mosaic-device-good.so")
    assert (e["state"], e["rule"], e["reason"]) == ("disabled", f"{conf}:3", "deny = device-g*")
    assert entry(doc, cases / "good" / "mosaic-accel-good.so")["state"] == "available"
    r = run(mosaic, env, "--list-plugins", *path_args(cases, "good"))
    assert f"disabled by {conf}:3" in r.stdout


def test_cmdline_overrides_files(mosaic, env, cases, tmp_path):
    conf = tmp_path / "deploy.ini"
    conf.write_text("[plugins]\ndeny-kinds = device\n")
    env["MOSAIC_PLUGINS_CONF"] = str(conf)
    doc = listing(mosaic, env, "--enable-plugin", "device-good", "--disable-plugin", "accel-good",
                  *path_args(cases, "good"))
    assert entry(doc, cases / "good" / "mosaic-device-good.so")["state"] == "available"
    e = entry(doc, cases / "good" / "mosaic-accel-good.so")
    assert (e["state"], e["rule"]) == ("disabled", "the command line")


def test_bad_policy_file_is_an_error(mosaic, env, cases, tmp_path):
    conf = tmp_path / "deploy.ini"
    conf.write_text("[plugins]\ndeny = kvm\nalow = tcg\n")
    env["MOSAIC_PLUGINS_CONF"] = str(conf)
    r = run(mosaic, env, "--list-plugins", *path_args(cases, "good"))
    assert r.returncode != 0
    assert f"{conf}:3: unknown key 'alow'" in r.stderr


def test_plugins_enable_disable(mosaic, env, cases, tmp_path):
    user = tmp_path / "config" / "mosaic" / "plugins.ini"
    user.parent.mkdir(parents=True)
    user.write_text("# mine\n[plugins]\ndeny = gpu-*   ; keep this\n")
    r = run(mosaic, env, "plugins", "disable", "device-good")
    assert r.returncode == 0, r.stderr
    assert user.read_text() == "# mine\n[plugins]\ndeny = gpu-*   ; keep this\n" \
                               "disable = device-good\n"
    doc = listing(mosaic, env, *path_args(cases, "good"))
    e = entry(doc, cases / "good" / "mosaic-device-good.so")
    assert (e["state"], e["rule"]) == ("disabled", f"{user}:4")
    r = run(mosaic, env, "plugins", "enable", "device-good")
    assert r.returncode == 0, r.stderr
    assert user.read_text() == "# mine\n[plugins]\ndeny = gpu-*   ; keep this\n" \
                               "enable = device-good\n"
    doc = listing(mosaic, env, *path_args(cases, "good"))
    assert entry(doc, cases / "good" / "mosaic-device-good.so")["state"] == "available"
    r = run(mosaic, env, "plugins", "list", "--json", *path_args(cases, "good"))
    assert r.returncode == 0, r.stderr
    assert entry(json.loads(r.stdout), cases / "good" / "mosaic-device-good.so")


def test_plugins_usage(mosaic, env):
    r = run(mosaic, env, "plugins", "frobnicate")
    assert r.returncode == 2
    assert "usage: mosaic plugins" in r.stderr
