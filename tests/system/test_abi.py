# SPDX-License-Identifier: GPL-2.0-or-later
"""The exported ABI of libmosaic-core against the committed baseline (sdk/abi/, made by
scripts/abi-baseline with libabigail's abidw), and the rule that judges a difference."""
import importlib.machinery
import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "abi-baseline"


def load_script():
    loader = importlib.machinery.SourceFileLoader("abi_baseline", str(SCRIPT))
    spec = importlib.util.spec_from_loader("abi_baseline", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_core_abi_keeps_the_baseline(build):
    r = subprocess.run([str(SCRIPT), "--check", str(build)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("keeps baseline") == 2


def test_baseline_is_this_abi_version():
    abi = load_script()
    recorded = tuple(int(x) for x in (ROOT / "sdk" / "abi" / "VERSION").read_text().split("."))
    assert recorded == abi.header_version()


def abidiff_status(tmp_path, old_src, new_src):
    """abidiff's status between two tiny libraries built from C sources."""
    libs = []
    for name, src in (("old", old_src), ("new", new_src)):
        c = tmp_path / f"{name}.c"
        c.write_text(src)
        so = tmp_path / f"lib{name}.so"
        subprocess.run(["gcc", "-g", "-shared", "-fPIC", "-o", so, c], check=True)
        libs.append(so)
    xml = tmp_path / "old.abi"
    subprocess.run(["abidw", "--out-file", xml, libs[0]], check=True)
    return subprocess.run(["abidiff", xml, libs[1]], capture_output=True).returncode


API = "struct s { int a; int b; };\nint f(struct s *p) { return p->a; }\n"


@pytest.mark.parametrize("new, base, current, allowed", [
    # a function removed: incompatible, only a major bump allows it
    ("int f(int x) { return x; }\n", (1, 0), (1, 0), False),
    ("int f(int x) { return x; }\n", (1, 0), (1, 1), False),
    ("int f(int x) { return x; }\n", (1, 0), (2, 0), True),
    # a function added: a minor bump at least
    ("int f(int x) { return x; }\nint g(int x) { return x; }\nint h(void) { return 0; }\n",
     (1, 0), (1, 0), False),
    ("int f(int x) { return x; }\nint g(int x) { return x; }\nint h(void) { return 0; }\n",
     (1, 0), (1, 1), True),
])
def test_version_rule_judges_real_abidiff_results(tmp_path, new, base, current, allowed):
    abi = load_script()
    old = "int f(int x) { return x; }\nint g(int x) { return x; }\n"
    status = abidiff_status(tmp_path, old, new)
    assert status != 0
    assert (abi.verdict(status, base, current) is None) == allowed


def test_layout_change_needs_a_bump(tmp_path):
    """A struct that crosses the boundary changed shape: not allowed without a bump."""
    abi = load_script()
    status = abidiff_status(tmp_path, API, API.replace("int a;", "long x; int a;"))
    assert status & abi.ABI_CHANGE
    assert abi.verdict(status, (1, 0), (1, 0)) is not None
    assert abi.verdict(0, (1, 0), (1, 0)) is None
