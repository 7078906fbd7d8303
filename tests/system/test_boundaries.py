# SPDX-License-Identifier: GPL-2.0-or-later
"""The boundaries between the core, the plugins and the tools, as the build and the
sources keep them: plugins and tools see the SDK only, the core names no plugin, and
scripts/core-share says how big the core is."""
import json
import re
import subprocess
from pathlib import Path

import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_SHARE = ROOT / "scripts" / "core-share"


def test_plugin_including_a_core_header_fails_to_build(build):
    """tests/plugins/includes-core is compiled with the very environment MosaicPlugin
    uses; the compiler must not find the core header."""
    verdict = (build / "tests" / "plugins" / "includes-core" / "verdict").read_text()
    status, _, messages = verdict.partition("\n")
    assert status != "0", "a plugin compiled with a core header:\n" + messages
    assert "block/block-internal.h: No such file or directory" in messages


INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def test_no_source_outside_the_core_reaches_into_it():
    """Nor by a relative path: no file of plugins/, tools/ or sdk/ includes one of core/
    (tests/ may: unit tests reach internal functions on purpose)."""
    core = ROOT / "core"
    hits = []
    for part in ("plugins", "tools", "sdk"):
        for f in sorted((ROOT / part).rglob("*.[ch]")):
            for inc in INCLUDE.findall(f.read_text(errors="replace")):
                target = (f.parent / inc).resolve()
                if target.is_relative_to(core):
                    hits.append(f"{f.relative_to(ROOT)}: {inc}")
    assert hits == []


def plugin_descriptors():
    """{file: {field: string}} of the string fields of every MOSAIC_PLUGIN(...) under
    plugins/."""
    found = {}
    for f in sorted(ROOT.glob("plugins/*/*.c")):
        for call in re.findall(r"MOSAIC_PLUGIN\((.*?)\);", f.read_text(), re.S):
            found[f.relative_to(ROOT)] = dict(re.findall(r'\.(\w+)\s*=\s*"([^"]*)"', call))
    return found


def plugin_names():
    return {d["name"] for d in plugin_descriptors().values()}


# Words that are the core's own vocabulary and also a plugin's short name: the plugin is
# chosen only by its section's selector key, never named by the core.
OWN_WORDS = {
    "socket": "chardev backend=socket and the monitor's socket keys; the plugin is "
              "net-socket, chosen by [netdev] type",
}


def builtin_names():
    """Types the core defines itself (the machine `none`, the `file` and `raw` drivers):
    their names are the core's own words even where a plugin of another kind shares one
    (audio-none)."""
    names = set()
    for f in (ROOT / "core").rglob("*.c"):
        for body in re.findall(r"MosaicPluginDesc\s+\w+\s*=\s*\{(.*?)\};", f.read_text(), re.S):
            names.update(re.findall(r'\.name\s*=\s*"([^"]+)"', body))
    return names


def test_every_plugin_has_the_project_licence():
    """LICENSE is GPL-2.0-or-later; the plugins of this tree declare just that."""
    assert "SPDX-License-Identifier: GPL-2.0-or-later" in (ROOT / "LICENSE").read_text()
    licences = {str(f): d.get("license") for f, d in plugin_descriptors().items()}
    assert len(licences) >= 6
    assert {f: l for f, l in licences.items() if l != "GPL-2.0-or-later"} == {}


def test_contributing_speaks_of_the_project_only():
    """CONTRIBUTING.md and the design map are the project's: no paths of one machine, no
    roles of one team's workflow (issue 11, item 8)."""
    for doc in ("CONTRIBUTING.md", "docs/design.md", "README.md", "sdk/README.md"):
        text = (ROOT / doc).read_text()
        assert not re.search(r"/work/|/home/|integrator|worktree", text, re.I), doc


def test_every_plugin_folder_has_a_readme():
    """Each plugin folder, plugins/<kind>-<name>, holds its code, its SConscript and a short
    README (issue 11, item 6)."""
    folders = sorted(d for d in (ROOT / "plugins").iterdir() if d.is_dir())
    assert len(folders) >= 20
    missing = [d.name for d in folders if not (d / "README.md").is_file()
               or not (d / "SConscript").is_file()]
    assert missing == []
    kinds = ("accel", "machine", "device", "block", "audio", "net", "gpu", "misc", "debug",
             "export", "pci")
    assert [d.name for d in folders if d.name.split("-")[0] not in kinds] == []


STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def core_strings_naming(names):
    """file:line: name for every string literal of core/ that holds a plugin's name as a
    word (code, messages, help and INI text alike; comments and #include lines aside)."""
    words = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(names))) + r")(?![\w-])")
    hits = []
    for f in sorted((ROOT / "core").rglob("*.[ch]")):
        code = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), f.read_text())
        for no, line in enumerate(code.splitlines(), 1):
            if line.lstrip().startswith("#include"):
                continue
            for s in STRING.findall(line):
                hits += [f"{f.relative_to(ROOT)}:{no}: {n}" for n in words.findall(s)]
    return hits


def test_plugin_names_are_found():
    assert {"qcow2", "throttle", "tcg", "riscv-virt"} <= plugin_names()


def test_core_names_no_plugin():
    """No string literal of core/ holds a plugin's name as a word: defaults come from
    the board or the deployment, drivers are found by capability or URI scheme,
    commands and sections load their plugin on first use."""
    assert builtin_names() >= {"none", "file", "raw"}
    assert core_strings_naming(plugin_names() - builtin_names() - OWN_WORDS.keys()) == []


def test_the_name_check_can_fail(tmp_path, monkeypatch):
    """The check finds a plugin's name in a string (and not in a comment)."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "x.c").write_text('/* "qcow2" */\nconst char *d = "qcow2";\n')
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert core_strings_naming({"qcow2"}) == ["core/x.c:2: qcow2"]


def core_share(*args):
    r = subprocess.run([str(CORE_SHARE), "--json", *map(str, args)], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)


def test_core_share_counts_product_code_only(tmp_path):
    """On a tree of known size: tests, fuzz targets and test harnesses do not count."""
    def write(rel, n):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x;\n" * n)
    write("core/a/a.c", 30)
    write("core/a/a.h", 10)
    write("plugins/block-x/x.c", 40)
    write("plugins/block-x/tests/test-x.c", 500)
    write("plugins/block-x/fuzz/fuzz-x.c", 500)
    write("tools/t/t.c", 15)
    write("tools/t/test-harness/h.c", 500)
    write("sdk/include/mosaic/m.h", 5)
    write("sdk/README.md", 500)
    got = core_share(tmp_path)
    assert got["lines"] == {"core": 40, "plugins": 40, "tools": 15, "sdk": 5}
    assert (got["total"], got["core_percent"]) == (100, 40.0)


def test_core_share_of_this_tree():
    got = core_share()
    assert got["total"] == sum(got["lines"].values()) > 10000
    print(f"core/ is {got['core_percent']}% of the product's C")


def test_core_is_at_most_45_percent():
    assert core_share()["core_percent"] <= 45.0


def test_every_source_file_has_an_spdx_line():
    """scripts/spdx lists the tracked sources without a licence line; none may lack one."""
    r = subprocess.run([str(ROOT / "scripts" / "spdx")], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "", r.stdout
