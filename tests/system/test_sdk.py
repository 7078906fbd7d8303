# SPDX-License-Identifier: GPL-2.0-or-later
"""The SDK end to end: `scons install` into a staging directory, build
sdk/examples/mmio-hello out of tree with nothing but `pkg-config mosaic-sdk`, and let the
installed mosaic find it.

The install is staged with DESTDIR (the default PREFIX stays): changing PREFIX changes
the directories compiled into the core and would rebuild the whole build tree.
`pkg-config --define-prefix` then makes the staged .pc point into the stage.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/usr/local"


@pytest.fixture(scope="module")
def stage(build, tmp_path_factory):
    dest = tmp_path_factory.mktemp("stage")
    args = ["scons", "-Q", "-j2", "install", f"DESTDIR={dest}", f"PREFIX={PREFIX}"]
    if build.name == "asan":
        args.append("asan=1")
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return dest / PREFIX.lstrip("/")


def pkg_env(stage):
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = str(stage / "lib" / "pkgconfig")
    env["PKG_CONFIG"] = "pkg-config --define-prefix"
    return env


def pkgconf(stage, *args):
    r = subprocess.run(["pkg-config", "--define-prefix", *args, "mosaic-sdk"],
                       env=pkg_env(stage), capture_output=True, text=True, check=True)
    return r.stdout.strip()


def test_install_layout(stage):
    assert (stage / "include" / "mosaic-1" / "mosaic" / "plugin.h").is_file()
    assert (stage / "include" / "mosaic-1" / "mosaic" / "mosaic.h").is_file()
    lib = stage / "lib" / "libmosaic-core.so"
    assert lib.is_symlink() and os.readlink(lib) == "libmosaic-core.so.1"
    assert (stage / "lib" / "libmosaic-core.so.1").is_file()
    assert (stage / "share" / "mosaic-sdk-1" / "plugin.map").is_file()
    assert os.access(stage / "bin" / "mosaic", os.X_OK)
    assert (stage / "lib" / "mosaic" / "1").is_dir()  # PLUGINDIR, ABI major in the path


def test_installs_the_product_plugins_only(stage, build):
    """Every plugins/<kind>-<name>/ plugin is installed, and no test plugin
    (tests/plugins*/) is: those live in build/<variant>/tests/, never in PLUGINDIR."""
    installed = sorted(p.name for p in (stage / "lib" / "mosaic" / "1").glob("*.so"))
    built = sorted(p.name for p in (build / "plugins").glob("mosaic-*.so"))
    assert installed == built and installed
    tests = {p.name for p in (build / "tests").glob("plugins*/**/mosaic-*.so")}
    assert "mosaic-misc-monitor-test.so" in tests
    assert not tests & set(installed)


def test_pkg_config(stage):
    assert pkgconf(stage, "--variable=abi_major") == "1"
    assert pkgconf(stage, "--variable=abi_minor") == "1"
    assert pkgconf(stage, "--variable=plugindir") == str(stage / "lib" / "mosaic" / "1")
    assert pkgconf(stage, "--cflags") == f"-I{stage}/include/mosaic-1"
    assert "-lmosaic-core" in pkgconf(stage, "--libs").split()


@pytest.fixture(scope="module")
def hello(stage, tmp_path_factory):
    src = tmp_path_factory.mktemp("mmio-hello")
    for f in (ROOT / "sdk" / "examples" / "mmio-hello").iterdir():
        shutil.copy(f, src)
    env = pkg_env(stage)
    r = subprocess.run(["make", "PKG_CONFIG=pkg-config --define-prefix"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    so = src / "mosaic-device-mmio-hello.so"
    assert so.is_file()
    return so


def test_example_exports_only_the_descriptor(hello):
    r = subprocess.run(["nm", "--dynamic", "--defined-only", str(hello)], capture_output=True,
                       text=True, check=True)
    names = {l.split()[-1] for l in r.stdout.splitlines() if l.strip()}
    assert names == {"mosaic_plugin"}, names


def test_installed_mosaic_lists_example(stage, hello):
    env = dict(os.environ)
    env.pop("MOSAIC_PLUGIN_PATH", None)
    env.pop("MOSAIC_PLUGINS_CONF", None)
    env["XDG_CONFIG_HOME"] = str(hello.parent / "config")
    r = subprocess.run([str(stage / "bin" / "mosaic"), "--plugin-path", str(hello.parent),
                        "--list-plugins", "--json"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    found = [p for p in json.loads(r.stdout)["plugins"] if p["path"] == str(hello)]
    assert len(found) == 1
    p = found[0]
    assert (p["name"], p["kind"], p["version"], p["abi"], p["state"]) == \
        ("mmio-hello", "device", "1.0.0", "1.1", "available")
    # The table form too.
    r = subprocess.run([str(stage / "bin" / "mosaic"), "--plugin-path", str(hello.parent),
                        "--list-plugins"], capture_output=True, text=True, env=env, timeout=60)
    row = next(l for l in r.stdout.splitlines() if str(hello) in l)
    assert row.split()[0] == "mmio-hello" and row.split()[-1] == "available"


def test_example_make_install(stage, hello):
    r = subprocess.run(["make", "install", "PKG_CONFIG=pkg-config --define-prefix"],
                       cwd=hello.parent, env=pkg_env(stage), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (stage / "lib" / "mosaic" / "1" / hello.name).is_file()


def sdk_exports(*args):
    r = subprocess.run([str(ROOT / "scripts" / "sdk-exports"), *args], capture_output=True,
                       text=True, check=True)
    return set(r.stdout.split())


def dynamic_symbols(lib, *nm_args):
    r = subprocess.run(["nm", "-D", "--with-symbol-versions", *nm_args, str(lib)],
                       capture_output=True, text=True, check=True)
    return [line.split()[-1] for line in r.stdout.splitlines()]


def test_core_exports_exactly_the_sdk(build):
    """No glob: the SDK's MOSAIC_API functions in MOSAIC_1, the program's entry point in
    MOSAIC_PRIVATE, nothing else."""
    declared = sdk_exports("--list")
    assert len(declared) > 100 and "mosaic_main" not in declared
    got = set(dynamic_symbols(build / "core" / "libmosaic-core.so", "--defined-only"))
    want = {f"{n}@@MOSAIC_1" for n in declared} | {f"{n}@@MOSAIC_PRIVATE"
                                                    for n in sdk_exports("--private")}
    assert got - {"MOSAIC_1", "MOSAIC_PRIVATE"} == want


def test_plugins_call_only_the_sdk(build):
    declared = sdk_exports("--list")
    for so in sorted((build / "plugins").glob("*.so")):
        ours = {s.split("@")[0] for s in dynamic_symbols(so, "--undefined-only")
                if s.startswith("mosaic_")}
        assert ours <= declared, f"{so.name} calls {sorted(ours - declared)}"
