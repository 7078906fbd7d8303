# SPDX-License-Identifier: GPL-2.0-or-later
"""`mosaic --describe all [--json]`: every section kind and plugin type, from the same
tables --describe NAME prints (the man page and the completion are built from it)."""
import json


def test_json_and_text_list_the_same_keys(run_mosaic):
    r = run_mosaic("--describe", "all", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    kinds = {s["kind"] for s in d["sections"]}
    assert {"machine", "accel", "device", "blockdev", "chardev"} <= kinds
    assert "throttle-group" in kinds  # a section kind a plugin owns
    names = {t["name"] for t in d["types"]}
    assert {"tcg", "riscv-virt", "virtio-blk", "qcow2", "file"} <= names
    text = run_mosaic("--describe", "all").stdout
    for s in d["sections"]:
        assert f"[{s['kind']}" in text
        for k in s["keys"]:
            assert f"  {k['key']} = {k['type']}" in text, (s["kind"], k["key"])
    for t in d["types"]:
        assert f"{t['name']}: {t['kind']} plugin" in text
        for k in t["keys"]:
            assert f"  {k['key']} = {k['type']}" in text, (t["name"], k["key"])


def test_json_of_one_type_matches_its_text(run_mosaic):
    d = json.loads(run_mosaic("--describe", "riscv-virt", "--json").stdout)
    assert [t["name"] for t in d["types"]] == ["riscv-virt"] and d["sections"] == []
    keys = {k["key"]: k for k in d["types"][0]["keys"]}
    assert keys["mmu"]["type"] == "enum" and "sv48" in keys["mmu"]["choices"]
    assert keys["mmu"]["default"] == "sv48"
    assert d["types"][0]["selected_by"] == "machine.type"
    machine = json.loads(run_mosaic("--describe", "machine", "--json").stdout)["sections"][0]
    cpus = next(k for k in machine["keys"] if k["key"] == "cpus")
    assert (cpus["min"], cpus["max"], cpus["default"]) == (1, 64, "1")


def test_unknown_name_is_an_error(run_mosaic):
    r = run_mosaic("--describe", "no-such-thing", "--json")
    assert r.returncode == 1 and "no plugin type or section kind named 'no-such-thing'" in r.stderr
