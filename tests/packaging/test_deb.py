# SPDX-License-Identifier: GPL-2.0-or-later
"""The Debian packages, end to end (slow: a full package build; run by scripts/test-deb,
not by scripts/test): dpkg-buildpackage -us -uc on a clean copy of the tree, lintian
without errors, then the packages installed on this machine (root), a shipped machine
from /usr/share booted with the installed binaries only, an out-of-tree plugin built
against the installed libmosaic-sdk-dev, and everything removed again."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.1.0"
MA = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                    text=True).stdout.strip()
PACKAGES = ["mosaic", "mosaic-plugins-audio", "mosaic-plugins-gpu", "libmosaic-sdk-dev"]


def sh(*args, **kw):
    kw.setdefault("timeout", 3600)
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{args}: {r.stdout[-4000:]}{r.stderr[-4000:]}"
    return r


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    work = tmp_path_factory.mktemp("deb")
    src = work / f"mosaic-{VERSION}"
    files = sh("git", "ls-files", "-co", "--exclude-standard", cwd=ROOT).stdout.split("\n")
    for f in files:
        if f and not f.startswith("build/") and (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=%d" % (os.cpu_count() or 1))
    sh("dpkg-buildpackage", "-us", "-uc", cwd=src, env=env)
    found = {p.name.split("_")[0]: p for p in work.glob("*.deb")
             if not p.name.split("_")[0].endswith("-dbgsym")}
    assert sorted(found) == sorted(PACKAGES)
    return work, found


@pytest.mark.needs_tools("lintian")
def test_lintian_reports_no_error(debs):
    work, _ = debs
    changes = next(work.glob("*.changes"))
    r = subprocess.run(["lintian", "--no-tag-display-limit", str(changes)],
                       capture_output=True, text=True, timeout=1800)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert not errors, r.stdout


def test_package_contents(debs):
    _, found = debs
    def contents(pkg):
        return sh("dpkg-deb", "-c", found[pkg]).stdout
    main = contents("mosaic")
    for path in ["./usr/bin/mosaic", "./usr/bin/mosaic-ctl", "./usr/bin/mosaic-backup",
                 f"./usr/lib/{MA}/libmosaic-core.so.1", "./usr/lib/mosaic/1/mosaic-accel-tcg.so",
                 "./usr/share/mosaic/configs/riscv-virt-bare.ini",
                 "./usr/lib/systemd/system/mosaic@.service", "./etc/mosaic/machines/",
                 "./usr/share/man/man5/mosaic-machine.ini.5.gz"]:
        assert path in main, path
    assert "monitor-test" not in main
    # The heavy families go to their own packages, and only there.
    audio, gpu = contents("mosaic-plugins-audio"), contents("mosaic-plugins-gpu")
    assert "./usr/lib/mosaic/1/mosaic-audio-gst.so" in audio
    assert "./usr/lib/mosaic/1/mosaic-gpu-virgl.so" in gpu
    assert "mosaic-audio-" not in main and "mosaic-gpu-" not in main
    dev = contents("libmosaic-sdk-dev")
    for path in ["./usr/include/mosaic-1/mosaic/plugin.h", f"./usr/lib/{MA}/pkgconfig/mosaic-sdk.pc",
                 "./usr/share/doc/libmosaic-sdk-dev/examples/mmio-hello/Makefile"]:
        assert path in dev, path


@pytest.fixture(scope="module")
def installed(debs):
    if os.geteuid() != 0:
        pytest.skip("installing packages needs root")
    _, found = debs
    for p in PACKAGES:
        assert subprocess.run(["dpkg-query", "-W", p], capture_output=True).returncode != 0, \
            f"{p} is already installed on this machine: remove it first"
    sh("dpkg", "-i", *found.values())
    yield
    sh("dpkg", "--purge", *PACKAGES)
    for path in ["/usr/bin/mosaic", f"/usr/lib/{MA}/libmosaic-core.so.1", "/usr/lib/mosaic/1",
                 "/usr/include/mosaic-1", "/usr/share/mosaic"]:
        assert not os.path.exists(path), f"{path} left after dpkg --purge"


def clean_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"),
               PATH="/usr/bin:/bin")
    return env


def test_installed_packages_boot_a_shipped_machine(installed, tmp_path):
    env = clean_env(tmp_path)
    r = sh("/usr/bin/mosaic", "--list-plugins", "--json", env=env)
    paths = [p["path"] for p in json.loads(r.stdout)["plugins"] if p["path"]]
    assert paths and all(p.startswith("/usr/lib/mosaic/1/") for p in paths)
    assert "RUNPATH" not in sh("readelf", "-d", "/usr/bin/mosaic").stdout
    elf = ROOT / "build" / "guests" / "tests" / "rv64i.elf"
    assert elf.is_file()
    r = subprocess.run(["/usr/bin/mosaic", "/usr/share/mosaic/configs/riscv-virt-bare.ini",
                        "--set", f"machine.kernel={elf}"], capture_output=True, text=True,
                       env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    r = sh("man", "--warnings", "-l", "/usr/share/man/man5/mosaic-machine.ini.5.gz", env=env)
    assert "riscv-virt" in r.stdout


def test_out_of_tree_plugin_against_installed_sdk(installed, tmp_path):
    src = tmp_path / "hello"
    shutil.copytree("/usr/share/doc/libmosaic-sdk-dev/examples/mmio-hello", src)
    for gz in src.glob("*.gz"):
        sh("gunzip", gz)
    sh("make", cwd=src, env=clean_env(tmp_path))
    so = src / "mosaic-device-mmio-hello.so"
    r = sh("/usr/bin/mosaic", "--plugin-path", src, "--list-plugins", "--json",
           env=clean_env(tmp_path))
    found = [p for p in json.loads(r.stdout)["plugins"] if p["path"] == str(so)]
    assert found and found[0]["state"] == "available"
