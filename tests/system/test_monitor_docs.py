# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/commands.md is generated from the registered command schemas; it must match.
Regenerate with:  build/release/core/mosaic --list-commands > docs/commands.md"""
import json
import os
import subprocess


def run(mosaic, *args):
    env = dict(os.environ)
    return subprocess.run([str(mosaic), *args], capture_output=True, text=True, timeout=60, env=env)


def test_commands_md_is_current(mosaic, top):
    r = run(mosaic, "--list-commands")
    assert r.returncode == 0, r.stderr
    committed = (top / "docs" / "commands.md").read_text()
    assert r.stdout == committed, \
        "docs/commands.md is stale: run `build/release/core/mosaic --list-commands > docs/commands.md`"


def test_list_commands_json(mosaic):
    r = run(mosaic, "--list-commands", "--json")
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    names = {e["name"] for e in schema if e["meta-type"] == "command"}
    assert {"qmp_capabilities", "query-status", "quit", "pmemsave", "qom-set"} <= names
    for e in schema:
        if e["meta-type"] == "command":
            for a in e["arguments"]:
                assert a["type"] in ("string", "int", "bool", "number", "any")
